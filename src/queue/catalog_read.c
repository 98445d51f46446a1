/* catalog_read.c - catalog reads for queries, each on a connection of its own (catalog.h,
 * "CATALOG READS"): the query's partitions, services and pruning as SQL. */
#include "catalog.h"
#include "queue_sqlite_int.h"

#include "buf.h"
#include "common.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READER_BUSY_TIMEOUT_MS 5000
#define SERVICE_PARAM0 10 /* ?10, ?11, ...: one parameter per service */

static const char *const level_columns[CL_CATALOG_LEVELS] = {"n_trace", "n_debug", "n_info",
                                                             "n_warn",  "n_error", "n_fatal"};

static const char columns_sql[] =
    "SELECT key, service, dt, hour, records, bytes, raw_bytes, min_ts, max_ts, n_trace,"
    " n_debug, n_info, n_warn, n_error, n_fatal FROM objects WHERE ";

/* cl_fnmatch(glob, name): 1 if name matches the fnmatch(3) glob, as the planner's
 * --service does. */
static void sql_fnmatch(sqlite3_context *c, int n, sqlite3_value **v)
{
    (void)n;
    const char *glob = (const char *)sqlite3_value_text(v[0]);
    const char *name = (const char *)sqlite3_value_text(v[1]);
    sqlite3_result_int(c, glob && name && fnmatch(glob, name, 0) == 0);
}

/* The connection one read uses: its own, or (a queue without a file) the queue's, with
 * db_mu held until reader_close. */
struct reader {
    struct sq_queue *s;
    sqlite3 *db;
    int shared;
};

/* The queue's file name (caller frees), or NULL for an in-memory or temporary queue. */
static char *queue_path(struct sq_queue *s)
{
    pthread_mutex_lock(&s->db_mu);
    const char *p = sqlite3_db_filename(s->db, "main");
    char *path = p && *p ? cl_strdup(p) : NULL;
    pthread_mutex_unlock(&s->db_mu);
    return path;
}

static int open_own(const char *path, sqlite3 **db)
{
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(*db, READER_BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(*db, "PRAGMA query_only=1", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        sqlite3_close(*db);
        *db = NULL;
    }
    return rc == SQLITE_OK ? CL_OK : sq_err(rc);
}

static int reader_open(struct sq_queue *s, struct reader *r)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    char *path = queue_path(s);
    int rc = CL_OK;
    if (path) {
        rc = open_own(path, &r->db);
        free(path);
    } else {
        pthread_mutex_lock(&s->db_mu);
        r->db = s->db;
        r->shared = 1;
    }
    if (rc == CL_OK)
        sqlite3_create_function(r->db, "cl_fnmatch", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                sql_fnmatch, NULL, NULL);
    return rc;
}

static void reader_close(struct reader *r)
{
    if (r->shared)
        pthread_mutex_unlock(&r->s->db_mu);
    else
        sqlite3_close(r->db);
    r->db = NULL;
}

/* Fills o from the current row of a columns_sql query (strings borrowed from st). */
static void object_from_row(sqlite3_stmt *st, struct cl_catalog_object *o)
{
    memset(o, 0, sizeof *o);
    o->key = (const char *)sqlite3_column_text(st, 0);
    o->service = (const char *)sqlite3_column_text(st, 1);
    o->dt = (const char *)sqlite3_column_text(st, 2);
    o->hour = sqlite3_column_int(st, 3);
    o->records = (uint64_t)sqlite3_column_int64(st, 4);
    o->bytes = (uint64_t)sqlite3_column_int64(st, 5);
    o->raw_bytes = (uint64_t)sqlite3_column_int64(st, 6);
    o->min_ts_ms = sqlite3_column_int64(st, 7);
    o->max_ts_ms = sqlite3_column_int64(st, 8);
    for (int i = 0; i < CL_CATALOG_LEVELS; i++)
        o->level_counts[i] = (uint64_t)sqlite3_column_int64(st, 9 + i);
}

/* Steps st to the end, calling fn per row; returns CL_OK, fn's stop or the SQL error. */
static int walk_rows(sqlite3_stmt *st, int (*fn)(void *arg, const struct cl_catalog_object *o),
                     void *arg)
{
    int r = SQLITE_DONE, rc = CL_OK;
    while (rc == CL_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        struct cl_catalog_object o;
        object_from_row(st, &o);
        if (o.key && o.service && o.dt)
            rc = fn(arg, &o);
    }
    if (rc == CL_OK && r != SQLITE_DONE)
        rc = sq_err(r);
    return rc;
}

static int objects_on(sqlite3 *db, const char *dt_from, const char *dt_to,
                      int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg)
{
    static const char order_sql[] =
        "published = 1 AND dt >= ?1 AND dt <= ?2 ORDER BY service, dt, hour, key";
    char sql[sizeof columns_sql + sizeof order_sql];
    memcpy(sql, columns_sql, sizeof columns_sql - 1);
    memcpy(sql + sizeof columns_sql - 1, order_sql, sizeof order_sql);
    sqlite3_stmt *st = NULL;
    int sr = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    int rc = sr == SQLITE_OK ? CL_OK : sq_err(sr);
    if (rc == CL_OK) {
        sqlite3_bind_text(st, 1, dt_from, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, dt_to, -1, SQLITE_STATIC);
        rc = walk_rows(st, fn, arg);
    }
    sqlite3_finalize(st);
    return rc;
}

int sqc_objects(void *impl, const char *dt_from, const char *dt_to,
                int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg)
{
    struct sq_queue *s = impl;
    if (!dt_from || !dt_to || !fn)
        return CL_ERR_INVAL;
    struct reader r;
    int rc = reader_open(s, &r);
    if (rc != CL_OK)
        return rc;
    rc = objects_on(r.db, dt_from, dt_to, fn, arg);
    reader_close(&r);
    return rc;
}

/* A glob with no special characters names exactly one service. */
static int is_literal(const char *s)
{
    return strpbrk(s, "*?[\\") == NULL;
}

/* The WHERE clause of f: its partitions and services, plus its pruning if prune. */
static void where_sql(const struct cl_catalog_filter *f, int prune, struct cl_buf *b)
{
    cl_buf_append_str(b, "published = 1 AND dt >= ?1 AND dt <= ?2 AND (dt > ?1 OR hour >= ?3)"
                         " AND (dt < ?2 OR hour <= ?4)");
    for (size_t i = 0; i < f->n_services; i++)
        cl_buf_printf(
            b, is_literal(f->services[i]) ? "%s service = ?%zu" : "%s cl_fnmatch(?%zu, service)",
            i ? " OR" : " AND (", SERVICE_PARAM0 + i);
    if (f->n_services)
        cl_buf_append_char(b, ')');
    if (!prune)
        return;
    cl_buf_append_str(b, " AND max_ts >= ?5 AND min_ts < ?6");
    if (!f->level_mask)
        return;
    for (int i = 0, first = 1; i < CL_CATALOG_LEVELS; i++)
        if (f->level_mask & (1u << i)) {
            cl_buf_printf(b, "%s %s > 0", first ? " AND (" : " OR", level_columns[i]);
            first = 0;
        }
    cl_buf_append_char(b, ')');
}

/* Prepares f's query (count: SELECT count(*) of the partitions) and binds it. */
static int prepare_filter(sqlite3 *db, const struct cl_catalog_filter *f, int count,
                          sqlite3_stmt **st)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    cl_buf_append_str(&b, count ? "SELECT count(*) FROM objects WHERE " : columns_sql);
    where_sql(f, !count && f->prune, &b);
    cl_buf_append_char(&b, '\0');
    int r = sqlite3_prepare_v2(db, b.data, -1, st, NULL);
    cl_buf_free(&b);
    if (r != SQLITE_OK)
        return sq_err(r);
    /* Parameters the statement does not use are skipped (SQLITE_RANGE). */
    sqlite3_bind_text(*st, 1, f->dt_from, -1, SQLITE_STATIC);
    sqlite3_bind_text(*st, 2, f->dt_to, -1, SQLITE_STATIC);
    sqlite3_bind_int(*st, 3, f->hour_from);
    sqlite3_bind_int(*st, 4, f->hour_to);
    sqlite3_bind_int64(*st, 5, f->from_ms);
    sqlite3_bind_int64(*st, 6, f->to_ms);
    for (size_t i = 0; i < f->n_services; i++)
        sqlite3_bind_text(*st, SERVICE_PARAM0 + (int)i, f->services[i], -1, SQLITE_STATIC);
    return CL_OK;
}

static int count_objects(sqlite3 *db, const struct cl_catalog_filter *f, uint64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare_filter(db, f, 1, &st);
    if (rc == CL_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            *n = (uint64_t)sqlite3_column_int64(st, 0);
        else
            rc = sq_err(r == SQLITE_DONE ? SQLITE_ERROR : r);
    }
    sqlite3_finalize(st);
    return rc;
}

/* The count and the rows in one read transaction, so they agree. */
static int select_txn(sqlite3 *db, const struct cl_catalog_filter *f,
                      int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg,
                      uint64_t *considered)
{
    int r = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (r != SQLITE_OK)
        return sq_err(r);
    uint64_t n = 0;
    int rc = considered ? count_objects(db, f, &n) : CL_OK;
    sqlite3_stmt *st = NULL;
    if (rc == CL_OK)
        rc = prepare_filter(db, f, 0, &st);
    if (rc == CL_OK)
        rc = walk_rows(st, fn, arg);
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL); /* ends a read: cannot fail to commit */
    if (considered)
        *considered = n;
    return rc;
}

static int filter_ok(const struct cl_catalog_filter *f,
                     int (*fn)(void *, const struct cl_catalog_object *))
{
    return f && f->dt_from && f->dt_to && fn && (!f->n_services || f->services);
}

int sqc_select(void *impl, const struct cl_catalog_filter *f,
               int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg,
               uint64_t *considered)
{
    struct sq_queue *s = impl;
    if (!filter_ok(f, fn))
        return CL_ERR_INVAL;
    struct reader r;
    int rc = reader_open(s, &r);
    if (rc == CL_OK) {
        rc = select_txn(r.db, f, fn, arg, considered);
        reader_close(&r);
    }
    return rc;
}

/* A catalog opened for reads alone (cl_catalog_open_reader): one connection of its own,
 * no queue beside it. */
struct ro_catalog {
    struct cl_catalog cat;
    sqlite3 *db;
};

static int ro_select(void *impl, const struct cl_catalog_filter *f,
                     int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg,
                     uint64_t *considered)
{
    struct ro_catalog *c = impl;
    return filter_ok(f, fn) ? select_txn(c->db, f, fn, arg, considered) : CL_ERR_INVAL;
}

static int ro_objects(void *impl, const char *dt_from, const char *dt_to,
                      int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg)
{
    struct ro_catalog *c = impl;
    return dt_from && dt_to && fn ? objects_on(c->db, dt_from, dt_to, fn, arg) : CL_ERR_INVAL;
}

static void ro_close(void *impl)
{
    struct ro_catalog *c = impl;
    sqlite3_close(c->db);
    free(c);
}

/* The writes and the exactly-once ledger need the queue: a reader has none of them. */
static int ro_no_flush(void *impl, const struct cl_catalog_flush *f, size_t n, int *const *results)
{
    (void)impl, (void)f, (void)n, (void)results;
    return CL_ERR_UNSUPPORTED;
}

static int ro_no_partition(void *impl, const char *msg_id, const char *partition, int *done)
{
    (void)impl, (void)msg_id, (void)partition, (void)done;
    return CL_ERR_UNSUPPORTED;
}

static int ro_no_progress(void *impl, const char *msg_id, int *has)
{
    (void)impl, (void)msg_id, (void)has;
    return CL_ERR_UNSUPPORTED;
}

static int ro_no_unpublished(void *impl, int (*fn)(void *, int64_t, const char *, const char *),
                             void *arg)
{
    (void)impl, (void)fn, (void)arg;
    return CL_ERR_UNSUPPORTED;
}

static int ro_no_mark(void *impl, const int64_t *ids, size_t n)
{
    (void)impl, (void)ids, (void)n;
    return CL_ERR_UNSUPPORTED;
}

static int ro_no_staging(void *impl, const char *staging_key, int *referenced)
{
    (void)impl, (void)staging_key, (void)referenced;
    return CL_ERR_UNSUPPORTED;
}

static int ro_no_stats(void *impl, struct cl_catalog_stats *st)
{
    (void)impl, (void)st;
    return CL_ERR_UNSUPPORTED;
}

static const struct cl_catalog_ops ro_ops = {
    .commit_flushes = ro_no_flush,
    .partition_done = ro_no_partition,
    .message_has_progress = ro_no_progress,
    .unpublished = ro_no_unpublished,
    .mark_published = ro_no_mark,
    .staging_referenced = ro_no_staging,
    .stats = ro_no_stats,
    .objects = ro_objects,
    .select = ro_select,
    .close = ro_close,
};

/* CL_OK when db's catalog tables are the ones this build reads (schema 3 and 4 differ
 * only in the message tables); a queue file of an older version must be opened as a
 * queue first (that migrates it). */
static int check_schema(sqlite3 *db, char *err, size_t err_len)
{
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st,
                               NULL);
    int64_t v = r == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (v >= SQ_CATALOG_MIN_VERSION && v <= SQ_SCHEMA_VERSION)
        return CL_OK;
    snprintf(err, err_len, "catalog schema version %lld, this build reads %d", (long long)v,
             SQ_SCHEMA_VERSION);
    return CL_ERR_UNSUPPORTED;
}

int cl_queue_sqlite_catalog_reader(const char *path, struct cl_catalog **out, char *err,
                                   size_t err_len)
{
    *out = NULL;
    sqlite3 *db = NULL;
    /* No SQLITE_OPEN_CREATE: a reader never makes a file. */
    int r = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (r == SQLITE_OK) {
        sqlite3_busy_timeout(db, READER_BUSY_TIMEOUT_MS);
        /* A reader that closes last must not checkpoint the daemon's WAL (a write and an
         * fsync of the queue file, tens of ms) nor write at all. */
        sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        r = sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL);
    }
    if (r != SQLITE_OK) {
        snprintf(err, err_len, "open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(r));
        sqlite3_close(db);
        return sq_err(r);
    }
    int rc = check_schema(db, err, err_len);
    if (rc != CL_OK) {
        sqlite3_close(db);
        return rc;
    }
    sqlite3_create_function(db, "cl_fnmatch", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                            sql_fnmatch, NULL, NULL);
    struct ro_catalog *c = cl_calloc(1, sizeof *c);
    c->db = db;
    c->cat = (struct cl_catalog){&ro_ops, c};
    *out = &c->cat;
    return CL_OK;
}
