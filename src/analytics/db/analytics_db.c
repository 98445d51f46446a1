/* analytics_db.c - the SQLite side of analytics_db.h: schema and the writer. Pattern ids
 * are stored as SQLite integers (the 64-bit id's bits, signed). */
#include "analytics_db_int.h"

#include "common.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000
#define PRUNE_EVERY_MS 3600000

/* The writer's statements, prepared on first use and kept until close (preparing one
 * per pattern was a tenth of the analytics thread's CPU, docs/analytics.md). */
enum stmt { ST_COUNT, ST_RENAME0, ST_RENAME3 = ST_RENAME0 + 3, ST_UPSERT, ST_ANOMALY, ST_N };

struct cl_analytics_db {
    sqlite3 *db;
    int64_t pruned_ms;
    sqlite3_stmt *st[ST_N];
};

/* The statement for sql in slot i, reset and unbound, or NULL. Borrowed from d. */
static sqlite3_stmt *stmt(struct cl_analytics_db *d, enum stmt i, const char *sql)
{
    if (!d->st[i] && sqlite3_prepare_v2(d->db, sql, -1, &d->st[i], NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(d->st[i]);
    sqlite3_clear_bindings(d->st[i]);
    return d->st[i];
}

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS patterns(service TEXT NOT NULL, id INTEGER NOT NULL,"
    " template TEXT NOT NULL, example TEXT, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
    " PRIMARY KEY(service, id));"
    "CREATE TABLE IF NOT EXISTS pattern_counts(service TEXT NOT NULL, minute INTEGER NOT NULL,"
    " id INTEGER NOT NULL, level INTEGER NOT NULL, count INTEGER NOT NULL,"
    " PRIMARY KEY(service, minute, id, level)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS pattern_counts_id ON pattern_counts(service, id);"
    "CREATE INDEX IF NOT EXISTS pattern_counts_minute ON pattern_counts(minute);"
    "CREATE TABLE IF NOT EXISTS anomalies(ts_ms INTEGER NOT NULL, service TEXT NOT NULL,"
    " kind TEXT NOT NULL, observed REAL, expected REAL, lo REAL, hi REAL, score REAL,"
    " p1 INTEGER, p2 INTEGER, p3 INTEGER, text TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS anomalies_ts ON anomalies(ts_ms);";

static int fail(sqlite3 *db, const char *what, char *err, size_t err_len)
{
    snprintf(err, err_len, "analytics database: %s: %s", what, db ? sqlite3_errmsg(db) : "?");
    return -1;
}

int cl_analytics_db_open(const char *path, int readonly, struct cl_analytics_db **out, char *err,
                         size_t err_len)
{
    sqlite3 *db = NULL;
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        fail(db, path, err, err_len);
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    if (!readonly && sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        fail(db, "schema", err, err_len);
        sqlite3_close(db);
        return -1;
    }
    *out = cl_calloc(1, sizeof **out);
    (*out)->db = db;
    return 0;
}

void cl_analytics_db_close(struct cl_analytics_db *db)
{
    if (!db)
        return;
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(db->st[i]);
    sqlite3_close(db->db);
    free(db);
}

sqlite3 *cl_analytics_db_handle(struct cl_analytics_db *db)
{
    return db->db;
}

/* ---- writer ---- */

static int exec_counts(struct cl_analytics_db *d, const struct cl_analytics_batch *b)
{
    static const char sql[] =
        "INSERT INTO pattern_counts(service, minute, id, level, count) VALUES(?,?,?,?,?)"
        " ON CONFLICT(service, minute, id, level) DO UPDATE SET count = count + excluded.count";
    sqlite3_stmt *st = stmt(d, ST_COUNT, sql);
    if (!st)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < b->n_counts && !rc; i++) {
        const struct cl_pattern_count *c = &b->counts[i];
        sqlite3_bind_text(st, 1, c->service, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, c->minute);
        sqlite3_bind_int64(st, 3, (int64_t)c->id);
        sqlite3_bind_int(st, 4, c->level);
        sqlite3_bind_int64(st, 5, (int64_t)c->count);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
    }
    return rc;
}

/* Folds prev_id's counts and catalog row into id (a template that generalized). */
static int exec_rename(struct cl_analytics_db *d, const struct cl_pattern_info *p)
{
    static const char *const sql[] = {
        "INSERT INTO pattern_counts(service, minute, id, level, count)"
        " SELECT service, minute, ?3, level, count FROM pattern_counts"
        " WHERE service = ?1 AND id = ?2"
        " ON CONFLICT(service, minute, id, level) DO UPDATE SET count = count + excluded.count",
        "DELETE FROM pattern_counts WHERE service = ?1 AND id = ?2",
        "INSERT INTO patterns(service, id, template, example, first_ms, last_ms)"
        " SELECT service, ?3, template, example, first_ms, last_ms FROM patterns"
        " WHERE service = ?1 AND id = ?2"
        " ON CONFLICT(service, id) DO UPDATE SET first_ms = min(first_ms, excluded.first_ms),"
        " last_ms = max(last_ms, excluded.last_ms), example = coalesce(example, excluded.example)",
        "DELETE FROM patterns WHERE service = ?1 AND id = ?2"};
    for (size_t i = 0; i < CL_ARRAY_LEN(sql); i++) {
        sqlite3_stmt *st = stmt(d, ST_RENAME0 + (enum stmt)i, sql[i]);
        if (!st)
            return -1;
        sqlite3_bind_text(st, 1, p->service, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)p->prev_id);
        sqlite3_bind_int64(st, 3, (int64_t)p->id);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

static int exec_upsert(struct cl_analytics_db *d, const struct cl_pattern_info *p)
{
    static const char sql[] =
        "INSERT INTO patterns(service, id, template, example, first_ms, last_ms)"
        " VALUES(?,?,?,?,?,?) ON CONFLICT(service, id) DO UPDATE SET"
        " template = excluded.template, first_ms = min(first_ms, excluded.first_ms),"
        " last_ms = max(last_ms, excluded.last_ms), example = coalesce(example, excluded.example)";
    sqlite3_stmt *st = stmt(d, ST_UPSERT, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, p->service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)p->id);
    sqlite3_bind_text(st, 3, p->tmpl, -1, SQLITE_STATIC);
    if (p->example)
        sqlite3_bind_text(st, 4, p->example, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, p->first_ms);
    sqlite3_bind_int64(st, 6, p->last_ms);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

static int exec_anomalies(struct cl_analytics_db *d, const struct cl_analytics_batch *b)
{
    static const char sql[] = "INSERT INTO anomalies VALUES(?,?,?,?,?,?,?,?,?,?,?,?)";
    sqlite3_stmt *st = stmt(d, ST_ANOMALY, sql);
    if (!st)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < b->n_anomalies && !rc; i++) {
        const struct cl_anomaly_event *e = &b->anomalies[i];
        sqlite3_bind_int64(st, 1, e->ts_ms);
        sqlite3_bind_text(st, 2, e->service, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, cl_anomaly_kind_name(e->kind), -1, SQLITE_STATIC);
        double v[] = {e->observed, e->expected, e->lo, e->hi, e->score};
        for (int k = 0; k < 5; k++)
            sqlite3_bind_double(st, 4 + k, v[k]);
        for (int k = 0; k < CL_ANOMALY_PATTERNS; k++)
            sqlite3_bind_int64(st, 9 + k, (int64_t)e->patterns[k]);
        sqlite3_bind_text(st, 12, e->text, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
    }
    return rc;
}

static int prune(struct cl_analytics_db *d, int64_t now_ms)
{
    if (now_ms - d->pruned_ms < PRUNE_EVERY_MS)
        return 0;
    d->pruned_ms = now_ms;
    char sql[512];
    snprintf(sql, sizeof sql,
             "DELETE FROM pattern_counts WHERE minute < %lld;"
             "DELETE FROM patterns WHERE last_ms < %lld;"
             "DELETE FROM anomalies WHERE ts_ms < %lld;",
             (long long)((now_ms - CL_ANALYTICS_RETENTION_MS) / 60000),
             (long long)(now_ms - CL_ANALYTICS_RETENTION_MS),
             (long long)(now_ms - CL_ANALYTICS_ANOMALY_RETENTION_MS));
    return sqlite3_exec(d->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int cl_analytics_db_apply(struct cl_analytics_db *d, const struct cl_analytics_batch *b,
                          int64_t now_ms, char *err, size_t err_len)
{
    sqlite3 *db = d->db;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, "begin", err, err_len);
    int rc = exec_counts(d, b);
    for (size_t i = 0; i < b->n_patterns && !rc; i++)
        rc =
            b->patterns[i].tmpl ? exec_upsert(d, &b->patterns[i]) : exec_rename(d, &b->patterns[i]);
    if (!rc)
        rc = exec_anomalies(d, b);
    if (!rc)
        rc = prune(d, now_ms);
    if (rc) {
        fail(db, "write", err, err_len);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fail(db, "commit", err, err_len);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

long cl_analytics_db_load_known(struct cl_analytics_db *d, struct cl_analytics *a)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d->db, "SELECT service, id FROM patterns", -1, &st, NULL) != SQLITE_OK)
        return -1;
    long n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        cl_analytics_known(a, (const char *)sqlite3_column_text(st, 0),
                           (uint64_t)sqlite3_column_int64(st, 1));
        n++;
    }
    sqlite3_finalize(st);
    return n;
}
