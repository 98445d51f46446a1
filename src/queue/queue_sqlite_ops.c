/* queue_sqlite_ops.c - visibility, dead-lettering, the DLQ and retention for the SQLite
 * queue (receive and delete: queue_sqlite_receive.c). */
#include "queue_sqlite_int.h"

#include "common.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PURGE_INTERVAL_MS 60000 /* retention runs at most once a minute */

/* Reads record_count, raw_bytes, min_ts, max_ts, encoding, sent_at, receive_count,
 * first_receive_at, last_error from consecutive columns starting at col. */
static void read_attrs(sqlite3_stmt *st, int col, struct cl_msg *m)
{
    m->attrs.record_count = (uint32_t)sqlite3_column_int64(st, col);
    m->attrs.raw_bytes = (uint64_t)sqlite3_column_int64(st, col + 1);
    m->attrs.min_ts_ms = sqlite3_column_int64(st, col + 2);
    m->attrs.max_ts_ms = sqlite3_column_int64(st, col + 3);
    const unsigned char *enc = sqlite3_column_text(st, col + 4);
    snprintf(m->attrs.encoding, sizeof m->attrs.encoding, "%s", enc ? (const char *)enc : "");
    m->sent_ms = sqlite3_column_int64(st, col + 5);
    m->receive_count = (uint32_t)sqlite3_column_int64(st, col + 6);
    m->first_receive_ms = sqlite3_column_int64(st, col + 7);
    m->last_error = sq_column_strdup(st, col + 8);
}

/* Updates one message's visibility inside the caller's transaction. A visibility of 0
 * or an error means the holder gives the message back: it is no longer held. */
static int set_visibility(struct sq_queue *s, int64_t id, int64_t count, int64_t now,
                          int visibility_s, const char *error, struct sq_delta *d)
{
    sqlite3_bind_int64(s->st[SQ_VIS_GET], 1, id);
    sqlite3_bind_int64(s->st[SQ_VIS_GET], 2, count);
    int r = sq_step_row(s, SQ_VIS_GET);
    int64_t old_visible_at = r == 1 ? sqlite3_column_int64(s->st[SQ_VIS_GET], 0) : 0;
    sq_finish(s, SQ_VIS_GET, r);
    if (r <= 0)
        return r < 0 ? -r : CL_ERR_STALE;
    int64_t visible_at = now + (int64_t)visibility_s * 1000;
    sqlite3_stmt *st = s->st[SQ_VIS_SET];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, visible_at);
    if (error)
        sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, error != NULL || visibility_s == 0);
    r = sq_finish(s, SQ_VIS_SET, sq_step_row(s, SQ_VIS_SET));
    d->inflight += (visible_at > now) - (old_visible_at > now);
    return r < 0 ? -r : CL_OK;
}

/* set_visibility, then with uncount takes back the receive count the holder's receive
 * added. */
static int visibility_txn(struct sq_queue *s, int64_t id, int64_t count, int64_t now,
                          int visibility_s, const char *error, int uncount, struct sq_delta *d)
{
    int rc = set_visibility(s, id, count, now, visibility_s, error, d);
    if (rc != CL_OK || !uncount)
        return rc;
    sqlite3_bind_int64(s->st[SQ_UNCOUNT], 1, id);
    return sq_exec(s, SQ_UNCOUNT);
}

/* change_visibility (uncount 0) and release (uncount 1). */
static int visibility_call(struct sq_queue *s, const char *receipt, int visibility_s,
                           const char *error, int uncount)
{
    int64_t id, count;
    if (visibility_s < 0)
        return CL_ERR_INVAL;
    if (sq_parse_receipt(receipt, &id, &count) != 0)
        return CL_ERR_STALE;
    struct sq_delta d = {0};
    sq_lock(s);
    int64_t now = sq_now(s);
    int rc = sq_begin(s);
    if (rc == CL_OK)
        rc = visibility_txn(s, id, count, now, visibility_s, error, uncount, &d);
    rc = sq_end(s, rc, &d);
    pthread_mutex_unlock(&s->db_mu);
    if (rc == CL_OK && visibility_s == 0)
        sq_notify_arrival(s);
    return rc;
}

int sq_change_visibility(void *impl, const char *receipt, int visibility_s, const char *error)
{
    return visibility_call(impl, receipt, visibility_s, error, 0);
}

int sq_release(void *impl, const char *receipt, int visibility_s, const char *error)
{
    return visibility_call(impl, receipt, visibility_s, error, 1);
}

/* Records error on the received message, then moves it to the DLQ (caller's txn). */
static int dead_letter_txn(struct sq_queue *s, int64_t id, int64_t count, int64_t now,
                           const char *error, struct sq_delta *d)
{
    sqlite3_stmt *st = s->st[SQ_SET_ERROR];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, count);
    sqlite3_bind_text(st, 3, error ? error : "moved to the DLQ by its holder", -1, SQLITE_STATIC);
    int r = sq_finish(s, SQ_SET_ERROR, sq_step_row(s, SQ_SET_ERROR));
    if (r < 0)
        return -r;
    if (sqlite3_changes(s->db) == 0)
        return CL_ERR_STALE;
    /* It was in flight: the move takes it out of the in-flight count too. */
    d->inflight--;
    return sq_move_to_dlq(s, id, now, d);
}

int sq_dead_letter(void *impl, const char *receipt, const char *error)
{
    struct sq_queue *s = impl;
    int64_t id, count;
    if (sq_parse_receipt(receipt, &id, &count) != 0)
        return CL_ERR_STALE;
    struct sq_delta d = {0};
    sq_lock(s);
    int rc = sq_begin(s);
    if (rc == CL_OK)
        rc = dead_letter_txn(s, id, count, sq_now(s), error, &d);
    rc = sq_end(s, rc, &d);
    pthread_mutex_unlock(&s->db_mu);
    if (rc == CL_OK)
        cl_log(CL_LOG_WARN, "queue: message %lld moved to the DLQ at once: %s", (long long)id,
               error ? error : "(no reason given)");
    return rc;
}

static void read_dlq_row(sqlite3_stmt *st, struct cl_msg *m)
{
    m->id = sq_fmt_id(sqlite3_column_int64(st, 0));
    if (sqlite3_column_type(st, 1) != SQLITE_NULL)
        m->body = sq_column_blob_dup(st, 1, &m->len);
    m->len = (size_t)sqlite3_column_int64(st, 2);
    read_attrs(st, 3, m);
}

int sq_dlq_list(void *impl, const char *after, size_t max, int with_bodies, struct cl_msg **out,
                size_t *n)
{
    struct sq_queue *s = impl;
    int64_t after_id = 0;
    *out = NULL;
    *n = 0;
    if (after && *after && sq_parse_u63(after, after + strlen(after), &after_id) != 0)
        return CL_ERR_INVAL;
    if (max == 0)
        return CL_OK;
    size_t cap = CL_MIN(max, (size_t)64);
    struct cl_msg *msgs = cl_calloc(cap, sizeof *msgs);
    sqlite3_stmt *st = s->st[SQ_DLQ_LIST];
    sq_lock(s);
    sqlite3_bind_int64(st, 1, after_id);
    sqlite3_bind_int64(st, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    sqlite3_bind_int(st, 3, with_bodies != 0);
    int r;
    while ((r = sq_step_row(s, SQ_DLQ_LIST)) == 1) {
        if (*n == cap) {
            cap *= 2;
            msgs = cl_realloc(msgs, cap * sizeof *msgs);
            memset(msgs + *n, 0, (cap - *n) * sizeof *msgs);
        }
        read_dlq_row(st, &msgs[(*n)++]);
    }
    sq_finish(s, SQ_DLQ_LIST, r);
    pthread_mutex_unlock(&s->db_mu);
    if (r < 0 || *n == 0) {
        cl_msgs_free(msgs, *n);
        *n = 0;
        return r < 0 ? -r : CL_OK;
    }
    *out = msgs;
    return CL_OK;
}

/* Moves one DLQ message back (inside the caller's transaction); *moved += 1 if found. */
static int redrive_one(struct sq_queue *s, int64_t id, int64_t now, struct sq_delta *d,
                       size_t *moved)
{
    sqlite3_bind_int64(s->st[SQ_REDRIVE], 1, id);
    sqlite3_bind_int64(s->st[SQ_REDRIVE], 2, now);
    int r = sq_finish(s, SQ_REDRIVE, sq_step_row(s, SQ_REDRIVE));
    if (r < 0)
        return -r;
    if (sqlite3_changes(s->db) == 0)
        return CL_OK; /* not in the DLQ (already redriven or purged) */
    sqlite3_bind_int64(s->st[SQ_LEASE_ADD], 1, id);
    sqlite3_bind_int64(s->st[SQ_LEASE_ADD], 2, now);
    int rc = sq_exec(s, SQ_LEASE_ADD);
    if (rc != CL_OK)
        return rc;
    sqlite3_stmt *st = s->st[SQ_DLQ_DEL];
    sqlite3_bind_int64(st, 1, id);
    r = sq_step_row(s, SQ_DLQ_DEL);
    if (r == 1) {
        int64_t len = sqlite3_column_int64(st, 0);
        d->msgs++;
        d->bytes += len;
        d->records += sqlite3_column_int64(st, 1);
        d->dlq--;
        d->dlq_bytes -= len;
        (*moved)++;
    }
    sq_finish(s, SQ_DLQ_DEL, r);
    return r < 0 ? -r : CL_OK;
}

/* Lists every DLQ id (caller frees *ids). */
static int all_dlq_ids(struct sq_queue *s, int64_t **ids, size_t *n)
{
    size_t cap = 64;
    *ids = cl_malloc(cap * sizeof **ids);
    *n = 0;
    int r;
    while ((r = sq_step_row(s, SQ_DLQ_IDS)) == 1) {
        if (*n == cap)
            *ids = cl_realloc(*ids, (cap *= 2) * sizeof **ids);
        (*ids)[(*n)++] = sqlite3_column_int64(s->st[SQ_DLQ_IDS], 0);
    }
    sq_finish(s, SQ_DLQ_IDS, r);
    return r < 0 ? -r : CL_OK;
}

/* Parses the caller's id strings (caller frees *out). */
static int parse_ids(const char *const *ids, size_t n, int64_t **out)
{
    *out = cl_malloc(n * sizeof **out);
    for (size_t i = 0; i < n; i++)
        if (!ids[i] || sq_parse_u63(ids[i], ids[i] + strlen(ids[i]), &(*out)[i]) != 0)
            return CL_ERR_INVAL;
    return CL_OK;
}

int sq_dlq_redrive(void *impl, const char *const *ids, size_t n, size_t *moved)
{
    struct sq_queue *s = impl;
    int64_t *list = NULL;
    size_t count = n;
    struct sq_delta d = {0};
    *moved = 0;
    int rc = n ? parse_ids(ids, n, &list) : CL_OK;
    sq_lock(s);
    int64_t now = sq_now(s);
    if (rc == CL_OK)
        rc = sq_begin(s);
    if (rc == CL_OK && n == 0)
        rc = all_dlq_ids(s, &list, &count);
    for (size_t i = 0; rc == CL_OK && i < count; i++)
        rc = redrive_one(s, list[i], now, &d, moved);
    if (rc == CL_OK && *moved) {
        sqlite3_bind_int64(s->st[SQ_REDRIVEN_ADD], 1, (int64_t)*moved);
        rc = sq_exec(s, SQ_REDRIVEN_ADD);
        d.redriven = (int64_t)*moved;
    }
    rc = sq_end(s, rc, &d);
    if (rc != CL_OK)
        *moved = 0;
    pthread_mutex_unlock(&s->db_mu);
    free(list);
    if (*moved)
        sq_notify_arrival(s);
    return rc;
}

/* Deletes rows older than cut from one table, counting them first, and the progress
 * rows of the messages it drops (caller's txn). */
static int purge_table(struct sq_queue *s, enum sq_stmt stats, enum sq_stmt progress,
                       enum sq_stmt del, int64_t cut, int64_t *figures)
{
    int rc = sq_query_int64s(s, stats, cut, figures, 2);
    if (rc != CL_OK || figures[0] == 0)
        return rc;
    sqlite3_bind_int64(s->st[progress], 1, cut);
    rc = sq_exec(s, progress);
    if (rc == CL_OK) {
        sqlite3_bind_int64(s->st[del], 1, cut);
        rc = sq_exec(s, del);
    }
    return rc;
}

/* Idempotency keys older than the window (caller's txn); *n counts them. */
static int purge_idempotency(struct sq_queue *s, int64_t now, int64_t *n)
{
    *n = 0;
    if (s->opts.idempotency_window_s <= 0)
        return CL_OK;
    sqlite3_bind_int64(s->st[SQ_IDEM_PURGE], 1, now - s->opts.idempotency_window_s * 1000);
    int rc = sq_exec(s, SQ_IDEM_PURGE);
    *n = rc == CL_OK ? sqlite3_changes(s->db) : 0;
    return rc;
}

/* Moves main-queue messages older than cut to the DLQ (caller's txn), counting them in
 * figures (messages, records, bytes). Their progress rows stay, as for any DLQ move, so a
 * redrive stores only what was not stored. */
static int expire_to_dlq(struct sq_queue *s, int64_t cut, int64_t now, int64_t *figures)
{
    int rc = sq_query_int64s(s, SQ_PURGE_STATS, cut, figures, 3);
    if (rc != CL_OK || figures[0] == 0)
        return rc;
    sqlite3_bind_int64(s->st[SQ_EXPIRE_TO_DLQ], 1, cut);
    sqlite3_bind_int64(s->st[SQ_EXPIRE_TO_DLQ], 2, now);
    rc = sq_exec(s, SQ_EXPIRE_TO_DLQ);
    if (rc == CL_OK) {
        sqlite3_bind_int64(s->st[SQ_LEASE_PURGE], 1, cut);
        rc = sq_exec(s, SQ_LEASE_PURGE);
    }
    if (rc == CL_OK) {
        sqlite3_bind_int64(s->st[SQ_PURGE], 1, cut);
        rc = sq_exec(s, SQ_PURGE);
    }
    return rc;
}

/* The retention pass, in the caller's transaction. Messages past the retention period hold
 * acknowledged records that were never stored (a store down for days): they move to the
 * DLQ with the reason instead of being dropped. DLQ retention is opt-in (dlq_retention_s
 * 0 = never): a DLQ entry holds acknowledged records. */
static int purge_all(struct sq_queue *s, int64_t now, int64_t *m, int64_t *q, int64_t *keys)
{
    int rc = expire_to_dlq(s, now - s->opts.retention_s * 1000, now, m);
    if (rc == CL_OK && s->opts.dlq_retention_s > 0)
        rc = purge_table(s, SQ_DLQ_PURGE_STATS, SQ_DLQ_PROGRESS_PURGE, SQ_DLQ_PURGE,
                         now - s->opts.dlq_retention_s * 1000, q);
    if (rc == CL_OK)
        rc = purge_idempotency(s, now, keys);
    return rc;
}

void sq_purge_expired(struct sq_queue *s)
{
    int64_t now = sq_now(s);
    if (now >= s->last_purge_ms && now - s->last_purge_ms < PURGE_INTERVAL_MS)
        return;
    s->last_purge_ms = now;
    int64_t m[3] = {0}, q[2] = {0}, keys = 0;
    int rc = sq_begin(s);
    if (rc == CL_OK)
        rc = purge_all(s, now, m, q, &keys);
    if (rc == CL_OK && (m[0] || q[0] || keys))
        rc = sq_commit(s);
    else
        sq_rollback(s);
    if (rc != CL_OK) {
        cl_log(CL_LOG_ERROR, "queue: retention purge failed: %s", cl_strerror(rc));
        return;
    }
    if (!m[0] && !q[0])
        return;
    struct sq_delta d = {.msgs = -m[0],
                         .records = -m[1],
                         .bytes = -m[2],
                         .dlq = m[0] - q[0],
                         .dlq_bytes = m[2] - q[1]};
    sq_apply(s, &d);
    sq_invalidate_stats(s);
    if (m[0])
        cl_log(CL_LOG_ERROR,
               "queue: %lld messages (%lld records) were not stored within the retention period "
               "(%llds): moved to the dead-letter queue (cloudlog dlq list; redrive when the "
               "store works)",
               (long long)m[0], (long long)m[1], (long long)s->opts.retention_s);
    if (q[0])
        cl_log(CL_LOG_WARN, "queue: DLQ retention dropped %lld messages older than %llds",
               (long long)q[0], (long long)s->opts.dlq_retention_s);
}
