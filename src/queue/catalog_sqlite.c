/* catalog_sqlite.c - the object catalog and exactly-once ledger in the SQLite queue's file. */
#include "catalog.h"
#include "queue_sqlite_int.h"

#include "common.h"
#include "log.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The progress key of an object: "service=S/dt=D/hour=HH", as cl_partition_key writes
 * it (caller frees). */
static char *partition_of(const struct cl_catalog_object *o)
{
    size_t len = strlen(o->service) + strlen(o->dt) + sizeof "service=/dt=/hour=00";
    char *p = cl_malloc(len);
    snprintf(p, len, "service=%s/dt=%s/hour=%02d", o->service, o->dt, o->hour);
    return p;
}

/* The SQLite queue's message ids are its rowids written in decimal: only this backend
 * reads them as numbers. Returns CL_OK, or CL_ERR_INVAL for an id of another format. */
static int msg_rowid(const char *id, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = id ? strtoll(id, &end, 10) : 0;
    if (!id || end == id || *end || errno || v <= 0)
        return CL_ERR_INVAL;
    *out = (int64_t)v;
    return CL_OK;
}

static int check_flush(const struct cl_catalog_flush *f)
{
    const struct cl_catalog_object *o = f ? f->obj : NULL;
    if (!o || !o->key || !o->service || !o->dt || o->hour < 0 || o->hour > 23)
        return CL_ERR_INVAL;
    if ((f->n_msg_ids && !f->msg_ids) || (f->n_delete && !f->delete_receipts))
        return CL_ERR_INVAL;
    int64_t id;
    for (size_t i = 0; i < f->n_msg_ids; i++)
        if (msg_rowid(f->msg_ids[i], &id) != CL_OK)
            return CL_ERR_INVAL;
    return CL_OK;
}

static void bind_text(sqlite3_stmt *st, int col, const char *v)
{
    if (v)
        sqlite3_bind_text(st, col, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

/* Inserts the catalog row (unpublished) inside the caller's transaction. */
static int insert_object(struct sq_queue *s, const struct cl_catalog_object *o, int64_t now,
                         int64_t *object_id)
{
    sqlite3_stmt *st = s->st[SQ_OBJ_INSERT];
    bind_text(st, 1, o->key);
    bind_text(st, 2, o->staging_key);
    bind_text(st, 3, o->service);
    bind_text(st, 4, o->dt);
    sqlite3_bind_int(st, 5, o->hour);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)o->records);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)o->bytes);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)o->raw_bytes);
    sqlite3_bind_int64(st, 9, o->min_ts_ms);
    sqlite3_bind_int64(st, 10, o->max_ts_ms);
    for (int i = 0; i < CL_CATALOG_LEVELS; i++)
        sqlite3_bind_int64(st, 11 + i, (sqlite3_int64)o->level_counts[i]);
    sqlite3_bind_int64(st, 17, now);
    int r = sq_finish(s, SQ_OBJ_INSERT, sq_step_row(s, SQ_OBJ_INSERT));
    if (r < 0)
        return -r;
    *object_id = sqlite3_last_insert_rowid(s->db);
    return CL_OK;
}

/* Records that the object holds each message's records for partition. */
static int add_progress(struct sq_queue *s, const struct cl_catalog_flush *f, const char *partition)
{
    sqlite3_stmt *st = s->st[SQ_PROGRESS_ADD];
    int r = 0;
    for (size_t i = 0; r >= 0 && i < f->n_msg_ids; i++) {
        int64_t id = 0;
        msg_rowid(f->msg_ids[i], &id); /* checked by check_flush */
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, partition, -1, SQLITE_STATIC);
        r = sq_finish(s, SQ_PROGRESS_ADD, sq_step_row(s, SQ_PROGRESS_ADD));
    }
    return r < 0 ? -r : CL_OK;
}

static int flush_txn(struct sq_queue *s, const struct cl_catalog_flush *f, const char *partition,
                     int64_t *object_id)
{
    int rc = insert_object(s, f->obj, sq_now(s), object_id);
    return rc == CL_OK ? add_progress(s, f, partition) : rc;
}

/* Deletes the messages the committed flushes finished, all flushes' receipts in one
 * sq_delete_stored call: results[k][i] (each may be NULL) gets CL_OK, CL_ERR_STALE, or
 * the failure of its transaction. Messages whose delete failed are given back uncounted
 * with every partition's progress row, so their next receive deletes them (logged). */
static void delete_finished(struct sq_queue *s, const struct cl_catalog_flush *f, size_t n,
                            int *const *results)
{
    size_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += f[k].n_delete;
    if (total == 0)
        return;
    const char **receipts = cl_malloc(total * sizeof *receipts);
    int *res = cl_malloc(total * sizeof *res);
    for (size_t k = 0, at = 0; k < n; at += f[k++].n_delete)
        memcpy(receipts + at, f[k].delete_receipts, f[k].n_delete * sizeof *receipts);
    int rc = sq_delete_stored(s, receipts, total, res);
    if (rc != CL_OK)
        cl_log(CL_LOG_WARN,
               "catalog: deleting stored messages failed (%s); given back uncounted, their "
               "next receive deletes them",
               cl_strerror(rc));
    for (size_t k = 0, at = 0; k < n; at += f[k++].n_delete)
        if (results && results[k])
            memcpy(results[k], res + at, f[k].n_delete * sizeof *res);
    free(receipts);
    free(res);
}

static int sqc_commit_flushes(void *impl, const struct cl_catalog_flush *f, size_t n,
                              int *const *delete_results)
{
    struct sq_queue *s = impl;
    int rc = n && f ? CL_OK : CL_ERR_INVAL;
    for (size_t k = 0; rc == CL_OK && k < n; k++)
        rc = check_flush(&f[k]);
    if (rc == CL_OK && sq_wal_failed(s))
        rc = CL_ERR_IO; /* nothing committed after a failed sync (queue_sqlite_walsync.c) */
    if (rc != CL_OK)
        return rc;
    int64_t *ids = cl_calloc(n, sizeof *ids);
    int prev = cl_phase_enter(CL_PHASE_CATALOG);
    sq_lock(s);
    if (sq_wal_failed(s)) { /* again under the lock: a sync may have failed meanwhile */
        pthread_mutex_unlock(&s->db_mu);
        cl_phase_enter(prev);
        free(ids);
        return CL_ERR_IO;
    }
    int deferred = sq_durable_begin(s);
    rc = sq_begin(s);
    for (size_t k = 0; rc == CL_OK && k < n; k++) {
        char *partition = partition_of(f[k].obj);
        rc = flush_txn(s, &f[k], partition, &ids[k]);
        free(partition);
    }
    rc = sq_end(s, rc, NULL);
    uint64_t seq = sq_durable_end(s, deferred);
    pthread_mutex_unlock(&s->db_mu);
    /* Durable before anything depends on it (the deletes, the moves into place), synced
     * after the lock is given up (queue_sqlite_walsync.c). A failed sync cannot undo the
     * commit, which this connection already reads: its progress rows make the messages'
     * next receives skip what it stored, so its objects must be kept (discarding them
     * would lose their records), but only staged: moved into place, a power loss that
     * took its rows would leave them beside the same records stored again. Start-up
     * recovery settles them either way (catalog.h); nothing is deleted. */
    cl_phase_enter(CL_PHASE_WAL_SYNC);
    if (rc == CL_OK && sq_wal_sync(s, seq) != CL_OK) {
        cl_log(CL_LOG_ERROR, "catalog: a flush's commit could not be synced; its objects stay "
                             "staged until a restart");
        rc = CL_ERR_NOT_DURABLE;
    }
    /* The deletes follow the synced commit instead of riding in it: each frees its body's
     * overflow pages, reading them one by one, and ~100 of them in the flush's transaction
     * held the queue's lock for 40-90 ms on average, during which no ingest group commit
     * could start (docs/performance.md, "Deletes after the catalog commit"). The progress
     * rows just committed already record every partition of these messages as stored. */
    cl_phase_enter(CL_PHASE_DELETE);
    if (rc == CL_OK)
        delete_finished(s, f, n, delete_results);
    cl_phase_enter(prev);
    for (size_t k = 0; k < n; k++) {
        if ((rc == CL_OK || rc == CL_ERR_NOT_DURABLE) && f[k].object_id)
            *f[k].object_id = ids[k];
        int *res = delete_results ? delete_results[k] : NULL;
        /* Rolled back or not synced: no delete happened. */
        for (size_t i = 0; rc != CL_OK && res && i < f[k].n_delete; i++)
            res[i] = rc;
    }
    free(ids);
    return rc;
}

static int sqc_partition_done(void *impl, const char *msg_id, const char *partition, int *done)
{
    struct sq_queue *s = impl;
    int64_t id;
    if (!partition || !done || msg_rowid(msg_id, &id) != CL_OK)
        return CL_ERR_INVAL;
    sq_lock(s);
    sqlite3_stmt *st = s->st[SQ_PROGRESS_GET];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, partition, -1, SQLITE_STATIC);
    int r = sq_finish(s, SQ_PROGRESS_GET, sq_step_row(s, SQ_PROGRESS_GET));
    pthread_mutex_unlock(&s->db_mu);
    *done = r == 1;
    return r < 0 ? -r : CL_OK;
}

static int sqc_message_has_progress(void *impl, const char *msg_id, int *has)
{
    struct sq_queue *s = impl;
    int64_t id;
    if (!has || msg_rowid(msg_id, &id) != CL_OK)
        return CL_ERR_INVAL;
    sq_lock(s);
    sqlite3_bind_int64(s->st[SQ_PROGRESS_ANY], 1, id);
    int r = sq_finish(s, SQ_PROGRESS_ANY, sq_step_row(s, SQ_PROGRESS_ANY));
    pthread_mutex_unlock(&s->db_mu);
    *has = r == 1;
    return r < 0 ? -r : CL_OK;
}

static int sqc_messages_have_progress(void *impl, const char *const *msg_ids, size_t n, int *has)
{
    struct sq_queue *s = impl;
    int64_t *ids = cl_malloc((n ? n : 1) * sizeof *ids);
    int rc = has ? CL_OK : CL_ERR_INVAL;
    for (size_t i = 0; rc == CL_OK && i < n; i++)
        rc = msg_rowid(msg_ids[i], &ids[i]);
    if (rc == CL_OK) {
        int prev = cl_phase_enter(CL_PHASE_PROGRESS);
        sq_lock(s); /* once for all: receives hold up to 10 messages */
        for (size_t i = 0; rc == CL_OK && i < n; i++) {
            sqlite3_bind_int64(s->st[SQ_PROGRESS_ANY], 1, ids[i]);
            int r = sq_finish(s, SQ_PROGRESS_ANY, sq_step_row(s, SQ_PROGRESS_ANY));
            has[i] = r == 1;
            rc = r < 0 ? -r : CL_OK;
        }
        pthread_mutex_unlock(&s->db_mu);
        cl_phase_enter(prev);
    }
    free(ids);
    return rc;
}

struct unpublished_row {
    int64_t id;
    char *staging_key; /* NULL if the row has none */
    char *key;
};

static char *column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? cl_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, col)) : NULL;
}

/* Reads every unpublished row (caller frees each string and *rows). */
static int list_unpublished(struct sq_queue *s, struct unpublished_row **rows, size_t *n)
{
    sqlite3_stmt *st = s->st[SQ_OBJ_UNPUBLISHED];
    size_t cap = 16;
    *rows = cl_malloc(cap * sizeof **rows);
    *n = 0;
    int r;
    while ((r = sq_step_row(s, SQ_OBJ_UNPUBLISHED)) == 1) {
        if (*n == cap)
            *rows = cl_realloc(*rows, (cap *= 2) * sizeof **rows);
        struct unpublished_row *row = &(*rows)[(*n)++];
        row->id = sqlite3_column_int64(st, 0);
        row->staging_key = column_dup(st, 1);
        row->key = column_dup(st, 2);
    }
    sq_finish(s, SQ_OBJ_UNPUBLISHED, r);
    return r < 0 ? -r : CL_OK;
}

/* fn runs without the connection lock, so it may call cl_catalog_mark_published (or any
 * queue function); a result other than CL_OK stops the walk and is returned. */
static int sqc_unpublished(void *impl,
                           int (*fn)(void *arg, int64_t object_id, const char *staging_key,
                                     const char *key),
                           void *arg)
{
    struct sq_queue *s = impl;
    if (!fn)
        return CL_ERR_INVAL;
    struct unpublished_row *rows;
    size_t n;
    sq_lock(s);
    int rc = list_unpublished(s, &rows, &n);
    pthread_mutex_unlock(&s->db_mu);
    for (size_t i = 0; i < n; i++) {
        if (rc == CL_OK)
            rc = fn(arg, rows[i].id, rows[i].staging_key, rows[i].key);
        free(rows[i].staging_key);
        free(rows[i].key);
    }
    free(rows);
    return rc;
}

/* CL_ERR_NOT_FOUND if some id names no catalog row; marking twice is harmless. Not
 * synced (catalog.h says why that is safe). */
static int sqc_mark_published(void *impl, const int64_t *ids, size_t n)
{
    struct sq_queue *s = impl;
    int missing = 0;
    int prev = cl_phase_enter(CL_PHASE_PUBLISH);
    sq_lock(s);
    sq_lazy_sync(s, 1);
    int rc = sq_begin(s);
    for (size_t i = 0; rc == CL_OK && i < n; i++) {
        sqlite3_bind_int64(s->st[SQ_OBJ_PUBLISH], 1, ids[i]);
        rc = sq_exec(s, SQ_OBJ_PUBLISH);
        missing |= rc == CL_OK && sqlite3_changes(s->db) == 0;
    }
    rc = sq_end(s, rc, NULL);
    sq_lazy_sync(s, 0);
    pthread_mutex_unlock(&s->db_mu);
    cl_phase_enter(prev);
    return rc == CL_OK && missing ? CL_ERR_NOT_FOUND : rc;
}

static int sqc_staging_referenced(void *impl, const char *staging_key, int *referenced)
{
    struct sq_queue *s = impl;
    if (!staging_key || !referenced)
        return CL_ERR_INVAL;
    sq_lock(s);
    sqlite3_bind_text(s->st[SQ_OBJ_STAGING], 1, staging_key, -1, SQLITE_STATIC);
    int r = sq_finish(s, SQ_OBJ_STAGING, sq_step_row(s, SQ_OBJ_STAGING));
    pthread_mutex_unlock(&s->db_mu);
    *referenced = r == 1;
    return r < 0 ? -r : CL_OK;
}

static int sqc_stats(void *impl, struct cl_catalog_stats *st)
{
    struct sq_queue *s = impl;
    if (!st)
        return CL_ERR_INVAL;
    memset(st, 0, sizeof *st);
    sq_lock(s);
    sqlite3_stmt *stmt = s->st[SQ_OBJ_STATS];
    int r = sq_step_row(s, SQ_OBJ_STATS);
    if (r == 1) {
        st->objects = (uint64_t)sqlite3_column_int64(stmt, 0);
        st->records = (uint64_t)sqlite3_column_int64(stmt, 1);
        st->bytes = (uint64_t)sqlite3_column_int64(stmt, 2);
        st->raw_bytes = (uint64_t)sqlite3_column_int64(stmt, 3);
        st->min_ts_ms = sqlite3_column_int64(stmt, 4);
        st->max_ts_ms = sqlite3_column_int64(stmt, 5);
    }
    sq_finish(s, SQ_OBJ_STATS, r);
    pthread_mutex_unlock(&s->db_mu);
    return r < 0 ? -r : CL_OK;
}

const struct cl_catalog_ops sq_catalog_ops = {
    .commit_flushes = sqc_commit_flushes,
    .partition_done = sqc_partition_done,
    .message_has_progress = sqc_message_has_progress,
    .messages_have_progress = sqc_messages_have_progress,
    .unpublished = sqc_unpublished,
    .mark_published = sqc_mark_published,
    .staging_referenced = sqc_staging_referenced,
    .stats = sqc_stats,
    .objects = sqc_objects,
    .select = sqc_select,
    .rows = sqc_rows,
    .add_published = sqc_add_published,
    .mark_lost = sqc_mark_lost,
    .lost_count = sqc_lost_count,
};
