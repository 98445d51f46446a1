/* queue_sqlite_ops.c - receive, delete, visibility, DLQ and retention for the SQLite queue. */
#include "queue_sqlite_int.h"

#include "common.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECEIVE_MAX 1000        /* messages per receive call (SQS allows 10) */
#define WAIT_POLL_MS 100        /* receive re-checks this often for expired timeouts */
#define PURGE_INTERVAL_MS 60000 /* retention runs at most once a minute */

/* Parses a non-negative decimal integer that spans [p, end); returns 0 or -1. */
static int parse_u63(const char *p, const char *end, int64_t *v)
{
    if (p == end || end - p > 18)
        return -1;
    int64_t x = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        x = x * 10 + (*p - '0');
    }
    *v = x;
    return 0;
}

/* Splits a receipt "<id>:<receive_count>"; returns 0 or -1 if malformed. */
static int parse_receipt(const char *r, int64_t *id, int64_t *count)
{
    const char *colon = r ? strchr(r, ':') : NULL;
    if (!colon)
        return -1;
    if (parse_u63(r, colon, id) != 0)
        return -1;
    return parse_u63(colon + 1, colon + strlen(colon), count);
}

static char *fmt_id(int64_t id)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)id);
    return cl_strdup(buf);
}

static char *column_strdup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? cl_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, col)) : NULL;
}

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
    m->last_error = column_strdup(st, col + 8);
}

/* Copies a blob column into a new heap buffer (caller frees). */
static void *column_blob_dup(sqlite3_stmt *st, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(st, col);
    *len = (size_t)sqlite3_column_bytes(st, col);
    void *copy = cl_malloc(*len);
    if (*len)
        memcpy(copy, p, *len);
    return copy;
}

/* Moves one message to the DLQ inside the caller's transaction. */
static int move_to_dlq(struct sq_queue *s, int64_t id, int64_t now, struct sq_delta *d)
{
    sqlite3_bind_int64(s->st[SQ_TO_DLQ], 1, id);
    sqlite3_bind_int64(s->st[SQ_TO_DLQ], 2, now);
    int r = sq_finish(s, SQ_TO_DLQ, sq_step_row(s, SQ_TO_DLQ));
    if (r < 0)
        return -r;
    sqlite3_stmt *st = s->st[SQ_DEL_ID];
    sqlite3_bind_int64(st, 1, id);
    r = sq_step_row(s, SQ_DEL_ID);
    if (r == 1) {
        d->msgs--;
        d->bytes -= sqlite3_column_int64(st, 0);
        d->records -= sqlite3_column_int64(st, 1);
        d->dlq++;
        d->dlq_bytes += sqlite3_column_int64(st, 0);
    }
    sq_finish(s, SQ_DEL_ID, r);
    return r < 0 ? -r : CL_OK;
}

/* Hides one visible message and fills m from it (inside the caller's transaction). */
static int receive_row(struct sq_queue *s, int64_t id, int64_t now, int visibility_s,
                       struct cl_msg *m, struct sq_delta *d)
{
    sqlite3_stmt *st = s->st[SQ_RECEIVE];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now + (int64_t)visibility_s * 1000);
    sqlite3_bind_int64(st, 3, now);
    if (s->epoch > 0)
        sqlite3_bind_int64(st, 4, s->epoch);
    int r = sq_step_row(s, SQ_RECEIVE);
    if (r == 1) {
        m->body = column_blob_dup(st, 0, &m->len);
        read_attrs(st, 1, m);
        m->id = fmt_id(id);
        char receipt[48];
        snprintf(receipt, sizeof receipt, "%lld:%u", (long long)id, m->receive_count);
        m->receipt = cl_strdup(receipt);
        d->inflight += visibility_s > 0;
    }
    sq_finish(s, SQ_RECEIVE, r);
    return r < 0 ? -r : CL_OK;
}

static int already_received(const struct cl_msg *msgs, size_t n, int64_t id)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)id);
    for (size_t i = 0; i < n; i++)
        if (strcmp(msgs[i].id, buf) == 0)
            return 1;
    return 0;
}

/* Picks up to max visible (id, receive_count) pairs; returns how many or -cl_err. */
static int pick(struct sq_queue *s, int64_t now, size_t max, int64_t *ids, int64_t *counts)
{
    sqlite3_stmt *st = s->st[SQ_PICK];
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, (int64_t)max);
    int n = 0, r;
    while ((r = sq_step_row(s, SQ_PICK)) == 1) {
        ids[n] = sqlite3_column_int64(st, 0);
        counts[n++] = sqlite3_column_int64(st, 1);
    }
    sq_finish(s, SQ_PICK, 0);
    return r < 0 ? r : n;
}

/* One receive transaction. Picks visible messages; those already received
 * max_receive_count times go to the DLQ instead, and then we pick again. */
static int receive_txn(struct sq_queue *s, size_t max, int visibility_s, struct cl_msg *msgs,
                       size_t *n, struct sq_delta *d)
{
    int64_t now = sq_now(s);
    int64_t *ids = cl_malloc(max * sizeof *ids), *counts = cl_malloc(max * sizeof *counts);
    int rc = CL_OK, moved = 1;
    while (rc == CL_OK && moved && *n < max) {
        int got = pick(s, now, max - *n, ids, counts);
        if (got < 0)
            rc = -got;
        moved = 0;
        for (int i = 0; rc == CL_OK && i < got; i++) {
            if (counts[i] >= s->opts.max_receive_count) {
                rc = move_to_dlq(s, ids[i], now, d);
                moved = 1;
                cl_log(CL_LOG_WARN, "queue: message %lld moved to the DLQ after %lld receives",
                       (long long)ids[i], (long long)counts[i]);
            } else if (!already_received(msgs, *n, ids[i])) {
                rc = receive_row(s, ids[i], now, visibility_s, &msgs[*n], d);
                *n += rc == CL_OK;
            }
        }
    }
    free(ids);
    free(counts);
    return rc;
}

/* Receives once without waiting. *out is NULL when nothing was visible. */
static int receive_once(struct sq_queue *s, size_t max, int visibility_s, struct cl_msg **out,
                        size_t *n)
{
    struct cl_msg *msgs = cl_calloc(max, sizeof *msgs);
    struct sq_delta d = {0};
    pthread_mutex_lock(&s->db_mu);
    sq_purge_expired(s);
    /* Not synced: a receive lost on power loss is one start-up recovery takes back anyway
     * (the receive of a dead holder), and a DLQ move it made leaves the message queued. */
    sq_lazy_sync(s, 1);
    int rc = sq_begin(s);
    if (rc == CL_OK)
        rc = receive_txn(s, max, visibility_s, msgs, n, &d);
    rc = sq_end(s, rc, &d);
    sq_lazy_sync(s, 0);
    pthread_mutex_unlock(&s->db_mu);
    if (rc != CL_OK || *n == 0) {
        cl_msgs_free(msgs, *n);
        *n = 0;
        return rc;
    }
    *out = msgs;
    return CL_OK;
}

static struct timespec mono_after(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Sleeps until a commit may have made messages visible, or for at most ms.
 * Returns CL_ERR_CLOSED once the queue is closing. */
static int wait_arrival(struct sq_queue *s, uint64_t gen, int64_t ms)
{
    struct timespec until = mono_after(CL_MIN(ms, WAIT_POLL_MS));
    pthread_mutex_lock(&s->mu);
    while (gen == s->arrival_gen && !s->stopping)
        if (pthread_cond_timedwait(&s->arrival_cv, &s->mu, &until) == ETIMEDOUT)
            break;
    int rc = s->stopping ? CL_ERR_CLOSED : CL_OK;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int sq_receive(void *impl, size_t max, int visibility_s, int wait_ms, struct cl_msg **out,
               size_t *n)
{
    struct sq_queue *s = impl;
    *out = NULL;
    *n = 0;
    if (visibility_s < 0)
        return CL_ERR_INVAL;
    if (max == 0)
        return CL_OK;
    max = CL_MIN(max, (size_t)RECEIVE_MAX);
    int64_t deadline = cl_mono_ms() + CL_MAX(wait_ms, 0);
    for (;;) {
        pthread_mutex_lock(&s->mu);
        uint64_t gen = s->arrival_gen;
        pthread_mutex_unlock(&s->mu);
        int rc = receive_once(s, max, visibility_s, out, n);
        int64_t left = deadline - cl_mono_ms();
        if (rc != CL_OK || *n > 0 || left <= 0)
            return rc;
        if ((rc = wait_arrival(s, gen, left)) != CL_OK)
            return rc;
    }
}

/* Deletes one message by receipt inside the caller's transaction: CL_OK, CL_ERR_STALE,
 * or an SQLite failure (negative). */
static int delete_one(struct sq_queue *s, const char *receipt, int64_t now, struct sq_delta *d)
{
    int64_t id, count;
    if (parse_receipt(receipt, &id, &count) != 0)
        return CL_ERR_STALE; /* malformed: matches no message */
    sqlite3_stmt *st = s->st[SQ_DELETE];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, count);
    int r = sq_step_row(s, SQ_DELETE);
    if (r == 1) {
        d->msgs--;
        d->bytes -= sqlite3_column_int64(st, 0);
        d->records -= sqlite3_column_int64(st, 1);
        d->inflight -= sqlite3_column_int64(st, 2) > now;
    }
    sq_finish(s, SQ_DELETE, r);
    if (r != 1)
        return r < 0 ? r : CL_ERR_STALE;
    /* A deleted message is never received again: what it stored is history. */
    sqlite3_bind_int64(s->st[SQ_PROGRESS_DEL], 1, id);
    int rc = sq_exec(s, SQ_PROGRESS_DEL);
    return rc == CL_OK ? CL_OK : -rc;
}

int sq_delete_receipts(struct sq_queue *s, const char *const *receipts, size_t n, int64_t now,
                       int *results, struct sq_delta *d)
{
    for (size_t i = 0; i < n; i++) {
        int r = delete_one(s, receipts[i], now, d);
        if (r < 0)
            return -r;
        if (results)
            results[i] = r;
    }
    return CL_OK;
}

int sq_delete(void *impl, const char *const *receipts, size_t n, int *results)
{
    struct sq_queue *s = impl;
    if (n == 0)
        return CL_OK;
    struct sq_delta d = {0};
    pthread_mutex_lock(&s->db_mu);
    int64_t now = sq_now(s);
    int rc = sq_begin(s);
    if (rc == CL_OK)
        rc = sq_delete_receipts(s, receipts, n, now, results, &d);
    rc = sq_end(s, rc, &d);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
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
    if (parse_receipt(receipt, &id, &count) != 0)
        return CL_ERR_STALE;
    struct sq_delta d = {0};
    pthread_mutex_lock(&s->db_mu);
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
    return move_to_dlq(s, id, now, d);
}

int sq_dead_letter(void *impl, const char *receipt, const char *error)
{
    struct sq_queue *s = impl;
    int64_t id, count;
    if (parse_receipt(receipt, &id, &count) != 0)
        return CL_ERR_STALE;
    struct sq_delta d = {0};
    pthread_mutex_lock(&s->db_mu);
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
    m->id = fmt_id(sqlite3_column_int64(st, 0));
    if (sqlite3_column_type(st, 1) != SQLITE_NULL)
        m->body = column_blob_dup(st, 1, &m->len);
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
    if (after && *after && parse_u63(after, after + strlen(after), &after_id) != 0)
        return CL_ERR_INVAL;
    if (max == 0)
        return CL_OK;
    size_t cap = CL_MIN(max, (size_t)64);
    struct cl_msg *msgs = cl_calloc(cap, sizeof *msgs);
    sqlite3_stmt *st = s->st[SQ_DLQ_LIST];
    pthread_mutex_lock(&s->db_mu);
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
        if (!ids[i] || parse_u63(ids[i], ids[i] + strlen(ids[i]), &(*out)[i]) != 0)
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
    pthread_mutex_lock(&s->db_mu);
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
