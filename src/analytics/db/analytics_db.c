/* analytics_db.c - the SQLite side of analytics_db.h: opening and the writer (the schema
 * is in analytics_schema.c). Pattern ids are stored as SQLite integers (the 64-bit id's
 * bits, signed). */
#include "analytics_db_int.h"
#include "analytics_rare.h"
#include "analytics_written.h"

#include "common.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000
#define PRUNE_EVERY_MS 3600000

/* The writer's statements, prepared on first use and kept until close (preparing one
 * per pattern was a tenth of the analytics thread's CPU, docs/analytics.md). */
enum stmt {
    ST_COUNT,
    ST_RENAME0,
    ST_RENAME3 = ST_RENAME0 + 3,
    ST_UPSERT,
    ST_ANOMALY,
    ST_PRUNE_COUNTS,
    ST_EXISTS,
    ST_N
};

struct cl_analytics_db {
    sqlite3 *db;
    int64_t pruned_ms;
    sqlite3_stmt *st[ST_N];
    struct cl_an_written *written; /* the writer's only: pattern rows as last written */
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

static int fail(sqlite3 *db, const char *what, char *err, size_t err_len)
{
    snprintf(err, err_len, "analytics database: %s: %s", what, db ? sqlite3_errmsg(db) : "?");
    return -1;
}

/* Fills the writer's filter of pattern rows from the catalog. */
static int load_rows(struct cl_analytics_db *d)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d->db, "SELECT service, id FROM patterns", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cl_an_rows_add(d->written, (const char *)sqlite3_column_text(st, 0),
                       (uint64_t)sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
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
    if (!readonly && cl_analytics_schema_setup(db, err, err_len) != 0) {
        sqlite3_close(db);
        return -1;
    }
    *out = cl_calloc(1, sizeof **out);
    (*out)->db = db;
    (*out)->written = readonly ? NULL : cl_an_written_new();
    if (!readonly && load_rows(*out) != 0) {
        fail(db, "patterns", err, err_len);
        cl_analytics_db_close(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

void cl_analytics_db_close(struct cl_analytics_db *db)
{
    if (!db)
        return;
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(db->st[i]);
    sqlite3_close(db->db);
    cl_an_written_free(db->written);
    free(db);
}

sqlite3 *cl_analytics_db_handle(struct cl_analytics_db *db)
{
    return db->db;
}

/* ---- writer ---- */

static int exec_count(sqlite3_stmt *st, const struct cl_pattern_count *c)
{
    sqlite3_bind_text(st, 1, c->service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c->minute);
    sqlite3_bind_int64(st, 3, (int64_t)c->id);
    sqlite3_bind_int(st, 4, c->level);
    sqlite3_bind_int64(st, 5, (int64_t)c->count);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

/* 1 when (service, id) has a pattern row, 0 when not, -1 on an error. */
static int pattern_exists(struct cl_analytics_db *d, const char *service, uint64_t id)
{
    sqlite3_stmt *st = stmt(d, ST_EXISTS, "SELECT 1 FROM patterns WHERE service = ? AND id = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* 1 when (service, id), whose catalog key is key, has a pattern row, 0 when not, -1 on an
 * error: the rows this writer wrote (cache), then the Bloom filter, then the catalog. */
static int has_row_key(struct cl_analytics_db *d, const char *service, uint64_t id, uint64_t key)
{
    if (cl_an_written_has_key(d->written, key))
        return 1;
    return cl_an_rows_may_have_key(d->written, key) ? pattern_exists(d, service, id) : 0;
}

static int has_row(void *ctx, const char *service, uint64_t id)
{
    return has_row_key(ctx, service, id, cl_an_written_key(service, id));
}

static int exec_upsert(struct cl_analytics_db *d, const struct cl_pattern_info *p);

/* Writes b's counts; those of a pattern with no row and none in b (a rename's: none where
 * its counts end, cl_an_rare_init) go to its service's "<rare>" pattern (analytics_rare.h),
 * which gets its row here. */
static int exec_counts(struct cl_analytics_db *d, const struct cl_analytics_batch *b)
{
    static const char sql[] =
        "INSERT INTO pattern_counts(service, minute, id, level, count) VALUES(?,?,?,?,?)"
        " ON CONFLICT(service, minute, id, level) DO UPDATE SET count = count + excluded.count";
    sqlite3_stmt *st = stmt(d, ST_COUNT, sql);
    if (!st)
        return -1;
    struct cl_an_rare r;
    int rc = cl_an_rare_init(&r, b, has_row, d);
    const char *svc = NULL; /* a service's rows share one name pointer: hashed once a run */
    uint64_t svc_hash = 0;
    for (size_t i = 0; i < b->n_counts && !rc; i++) {
        const struct cl_pattern_count *c = &b->counts[i];
        if (c->service != svc) {
            svc = c->service;
            svc_hash = cl_an_service_hash(svc);
        }
        uint64_t key = cl_an_written_key_h(svc_hash, c->id);
        if (!cl_an_rare_kept_key(&r, key)) {
            int has = has_row_key(d, c->service, c->id, key);
            if (has == 0) {
                cl_an_rare_fold(&r, c);
                continue;
            }
            rc = has < 0 ? -1 : 0;
        }
        if (!rc)
            rc = exec_count(st, c);
    }
    for (size_t i = 0; i < r.n_rows && !rc; i++)
        rc = exec_count(st, &r.rows[i]);
    cl_an_rare_finish(&r);
    for (size_t i = 0; i < r.n_infos && !rc; i++)
        rc = exec_upsert(d, &r.infos[i]);
    cl_an_rare_free(&r);
    return rc;
}

/* Folds prev_id's counts and catalog row into id (a template that generalized). Its counts
 * are found by the (service, id) index: without INDEXED BY the planner (no statistics)
 * took the primary key's service range, every count row of the service. */
static int exec_rename(struct cl_analytics_db *d, const struct cl_pattern_info *p)
{
    static const char *const sql[] = {
        "INSERT INTO pattern_counts(service, minute, id, level, count)"
        " SELECT service, minute, ?3, level, count FROM pattern_counts INDEXED BY pattern_counts_id"
        " WHERE service = ?1 AND id = ?2"
        " ON CONFLICT(service, minute, id, level) DO UPDATE SET count = count + excluded.count",
        "DELETE FROM pattern_counts WHERE service = ?1 AND id = ?2",
        "INSERT INTO patterns(service, id, template, example, first_ms, last_ms)"
        " SELECT service, ?3, template, example, first_ms, last_ms FROM patterns"
        " WHERE service = ?1 AND id = ?2"
        " ON CONFLICT(service, id) DO UPDATE SET first_ms = min(first_ms, excluded.first_ms),"
        " last_ms = max(last_ms, excluded.last_ms), example = coalesce(example, excluded.example)",
        "DELETE FROM patterns WHERE service = ?1 AND id = ?2"};
    cl_an_written_forget(d->written, p->service, p->prev_id);
    cl_an_written_forget(d->written, p->service, p->id);
    cl_an_rows_add(d->written, p->service, p->id);
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

/* Upserts p's row unless the row as last written shows the same (first seen, last seen to
 * the minute, an example): most drains only move a live pattern's last seen by seconds. */
static int exec_upsert(struct cl_analytics_db *d, const struct cl_pattern_info *p)
{
    if (cl_an_written_covers(d->written, p->service, p->id, p->first_ms, p->last_ms))
        return 0;
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
    if (rc == 0)
        cl_an_rows_add(d->written, p->service, p->id);
    if (rc == 0 && p->example) /* a row without example is written again until it has one */
        cl_an_written_note(d->written, p->service, p->id, p->first_ms, p->last_ms);
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

/* Counts past retention, service by service (one range of the primary key each). */
static int prune_counts(struct cl_analytics_db *d, int64_t before_minute)
{
    static const char sql[] = CL_ANALYTICS_SERVICES_CTE
        "DELETE FROM pattern_counts WHERE service IN (SELECT name FROM svc) AND minute < ?1";
    sqlite3_stmt *st = stmt(d, ST_PRUNE_COUNTS, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, before_minute);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

static int prune(struct cl_analytics_db *d, int64_t now_ms)
{
    if (now_ms - d->pruned_ms < PRUNE_EVERY_MS)
        return 0;
    d->pruned_ms = now_ms;
    /* The cache is kept: a row it names that goes here has a last seen past retention, and
     * a pattern it covers has no later record (else it would not be covered). */
    char sql[256];
    snprintf(sql, sizeof sql,
             "DELETE FROM patterns WHERE last_ms < %lld;"
             "DELETE FROM anomalies WHERE ts_ms < %lld;",
             (long long)(now_ms - CL_ANALYTICS_RETENTION_MS),
             (long long)(now_ms - CL_ANALYTICS_ANOMALY_RETENTION_MS));
    if (prune_counts(d, (now_ms - CL_ANALYTICS_RETENTION_MS) / 60000) != 0)
        return -1;
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
        cl_an_written_clear(d->written);
        return -1;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fail(db, "commit", err, err_len);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        cl_an_written_clear(d->written);
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
