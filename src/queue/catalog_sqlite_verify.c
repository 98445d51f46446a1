/* catalog_sqlite_verify.c - catalog walks, integrity check and repairs for
 * `cloudlog verify` (catalog_verify.h). Statements are prepared per call: verify runs
 * them once, so they stay out of the processor's statement cache. */
#include "catalog_verify.h"
#include "queue_sqlite_quarantine.h"
#include "queue_sqlite_int.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char lost_table_sql[] =
    "CREATE TABLE IF NOT EXISTS objects_lost (id INTEGER PRIMARY KEY, key TEXT NOT NULL,"
    " service TEXT, dt TEXT, hour INTEGER, records INTEGER, bytes INTEGER, created_at INTEGER,"
    " lost_at INTEGER NOT NULL, reason TEXT NOT NULL)";

static char *dup_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? cl_strdup((const char *)t) : NULL;
}

static int read_rows(struct sq_queue *s, struct cl_catalog_row **out, size_t *n_out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, key, staging_key, published, records, bytes"
                                " FROM objects ORDER BY key",
                                -1, &st, NULL);
    size_t n = 0, cap = 0;
    struct cl_catalog_row *rows = NULL;
    int step = SQLITE_DONE;
    while (rc == SQLITE_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap)
            rows = cl_realloc(rows, (cap = cap ? cap * 2 : 256) * sizeof *rows);
        struct cl_catalog_row *r = &rows[n++];
        r->id = sqlite3_column_int64(st, 0);
        r->key = dup_text(st, 1);
        r->staging_key = dup_text(st, 2);
        r->published = sqlite3_column_int(st, 3);
        r->records = (uint64_t)sqlite3_column_int64(st, 4);
        r->bytes = (uint64_t)sqlite3_column_int64(st, 5);
    }
    if (rc == SQLITE_OK)
        rc = step;
    sqlite3_finalize(st);
    *out = rows;
    *n_out = n;
    return rc == SQLITE_DONE ? CL_OK : sq_err(rc);
}

int sqc_rows(void *impl, struct cl_catalog_row **rows, size_t *n)
{
    struct sq_queue *s = impl;
    pthread_mutex_lock(&s->db_mu);
    int rc = read_rows(s, rows, n);
    pthread_mutex_unlock(&s->db_mu);
    if (rc != CL_OK) {
        cl_catalog_rows_free(*rows, *n);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

/* Runs each of sqls (each must change a row; CL_ERR_NOT_FOUND otherwise) in one write
 * transaction, after pre_sql, with binder filling their parameters. */
static int write_txn(struct sq_queue *s, const char *pre_sql, const char *const *sqls, size_t n_sql,
                     void (*binder)(sqlite3_stmt *st, const void *arg), const void *arg)
{
    pthread_mutex_lock(&s->db_mu);
    int rc = sq_begin(s), began = rc == CL_OK;
    if (rc == CL_OK && pre_sql)
        rc = sq_err(sqlite3_exec(s->db, pre_sql, NULL, NULL, NULL));
    for (size_t i = 0; rc == CL_OK && i < n_sql; i++) {
        sqlite3_stmt *st = NULL;
        rc = sq_err(sqlite3_prepare_v2(s->db, sqls[i], -1, &st, NULL));
        if (rc == CL_OK) {
            binder(st, arg); /* parameters a statement lacks are ignored (SQLITE_RANGE) */
            int step = sqlite3_step(st);
            rc = (step & 0xff) == SQLITE_CONSTRAINT ? CL_ERR_EXISTS
                 : step == SQLITE_DONE              ? CL_OK
                                                    : sq_err(step);
            if (rc == CL_OK && sqlite3_changes(s->db) == 0)
                rc = CL_ERR_NOT_FOUND;
        }
        sqlite3_finalize(st);
    }
    if (began)
        rc = sq_end(s, rc, NULL);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

static void bind_object(sqlite3_stmt *st, const void *arg)
{
    const struct cl_catalog_object *o = arg;
    sqlite3_bind_text(st, 1, o->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, o->service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, o->dt, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, o->hour);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)o->records);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)o->bytes);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)o->raw_bytes);
    sqlite3_bind_int64(st, 8, o->min_ts_ms);
    sqlite3_bind_int64(st, 9, o->max_ts_ms);
    for (int i = 0; i < CL_CATALOG_LEVELS; i++)
        sqlite3_bind_int64(st, 10 + i, (sqlite3_int64)o->level_counts[i]);
    sqlite3_bind_int64(st, 16, cl_now_ms());
}

int sqc_add_published(void *impl, const struct cl_catalog_object *o)
{
    struct sq_queue *s = impl;
    static const char *const sql[1] = {
        "INSERT INTO objects (key, staging_key, service, dt, hour, records, bytes,"
        " raw_bytes, min_ts, max_ts, n_trace, n_debug, n_info, n_warn, n_error,"
        " n_fatal, created_at, published) VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7,"
        " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 1)"};
    return write_txn(s, NULL, sql, 1, bind_object, o);
}

struct lost_arg {
    int64_t id;
    const char *reason;
};

static void bind_lost(sqlite3_stmt *st, const void *arg)
{
    const struct lost_arg *a = arg;
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_text(st, 2, a->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, cl_now_ms());
}

int sqc_mark_lost(void *impl, int64_t object_id, const char *reason)
{
    struct sq_queue *s = impl;
    struct lost_arg a = {object_id, reason};
    /* Both statements in one transaction: the row is never in both tables or in neither. */
    static const char *const sql[2] = {
        "INSERT INTO objects_lost (id, key, service, dt, hour, records, bytes, created_at,"
        " lost_at, reason) SELECT id, key, service, dt, hour, records, bytes, created_at, ?3, ?2"
        " FROM objects WHERE id = ?1",
        "DELETE FROM objects WHERE id = ?1"};
    return write_txn(s, lost_table_sql, sql, 2, bind_lost, &a);
}

int sqc_lost_count(void *impl, uint64_t *n)
{
    struct sq_queue *s = impl;
    pthread_mutex_lock(&s->db_mu);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM objects_lost", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        *n = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_mu);
    return CL_OK; /* no table yet: nothing was ever marked lost */
}

int sq_integrity(void *impl, size_t max_lines, void (*fn)(void *arg, const char *line), void *arg)
{
    struct sq_queue *s = impl;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA integrity_check(%zu)", max_lines);
    pthread_mutex_lock(&s->db_mu);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    int step = SQLITE_DONE;
    while (rc == SQLITE_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        if (line && strcmp(line, "ok") != 0)
            fn(arg, line);
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_OK)
        fn(arg, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_mu);
    return rc == SQLITE_DONE || rc == SQLITE_OK ? CL_OK : sq_err(rc);
}
