/* queue_sqlite_receive.c - receive and delete for the SQLite queue: a receive takes
 * a message's lease (leases row) and reads its body; a delete drops both rows. */
#include "queue_sqlite_int.h"

#include "common.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECEIVE_MAX 1000 /* messages per receive call (SQS allows 10) */
#define WAIT_POLL_MS 100 /* receive re-checks this often for expired timeouts */
#define YIELD_MAX_MS 5   /* sq_yield_to_send waits at most this long for the committer */

int sq_parse_u63(const char *p, const char *end, int64_t *v)
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

int sq_parse_receipt(const char *r, int64_t *id, int64_t *count)
{
    const char *colon = r ? strchr(r, ':') : NULL;
    if (!colon)
        return -1;
    if (sq_parse_u63(r, colon, id) != 0)
        return -1;
    return sq_parse_u63(colon + 1, colon + strlen(colon), count);
}

char *sq_fmt_id(int64_t id)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)id);
    return cl_strdup(buf);
}

char *sq_column_strdup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? cl_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, col)) : NULL;
}

void *sq_column_blob_dup(sqlite3_stmt *st, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(st, col);
    *len = (size_t)sqlite3_column_bytes(st, col);
    void *copy = cl_malloc(*len);
    if (*len)
        memcpy(copy, p, *len);
    return copy;
}

/* Deletes message id's row (caller's transaction), taking it out of the totals in d;
 * *len gets its body's length. Returns 1 if it was there, 0 if not, or -cl_err. */
static int delete_message_row(struct sq_queue *s, int64_t id, struct sq_delta *d, int64_t *len)
{
    sqlite3_stmt *st = s->st[SQ_ROW_SIZE];
    sqlite3_bind_int64(st, 1, id);
    int r = sq_step_row(s, SQ_ROW_SIZE);
    *len = r == 1 ? sqlite3_column_int64(st, 0) : 0;
    int64_t records = r == 1 ? sqlite3_column_int64(st, 1) : 0;
    sq_finish(s, SQ_ROW_SIZE, r);
    if (r != 1)
        return r;
    sqlite3_bind_int64(s->st[SQ_DEL_ID], 1, id);
    int rc = sq_exec(s, SQ_DEL_ID);
    if (rc != CL_OK)
        return -rc;
    d->msgs--;
    d->bytes -= *len;
    d->records -= records;
    return 1;
}

int sq_move_to_dlq(struct sq_queue *s, int64_t id, int64_t now, struct sq_delta *d)
{
    sqlite3_bind_int64(s->st[SQ_TO_DLQ], 1, id);
    sqlite3_bind_int64(s->st[SQ_TO_DLQ], 2, now);
    int r = sq_finish(s, SQ_TO_DLQ, sq_step_row(s, SQ_TO_DLQ));
    if (r < 0)
        return -r;
    int64_t len;
    r = delete_message_row(s, id, d, &len);
    if (r < 0)
        return -r;
    d->dlq += r;
    d->dlq_bytes += len;
    sqlite3_bind_int64(s->st[SQ_LEASE_DEL], 1, id);
    return sq_exec(s, SQ_LEASE_DEL);
}

/* Reads message id's body and attributes into m (caller's transaction): 1 if found,
 * 0 if not, or -cl_err. */
static int read_message(struct sq_queue *s, int64_t id, struct cl_msg *m)
{
    sqlite3_stmt *st = s->st[SQ_BODY];
    sqlite3_bind_int64(st, 1, id);
    int r = sq_step_row(s, SQ_BODY);
    if (r == 1) {
        m->body = sq_column_blob_dup(st, 0, &m->len);
        m->attrs.record_count = (uint32_t)sqlite3_column_int64(st, 1);
        m->attrs.raw_bytes = (uint64_t)sqlite3_column_int64(st, 2);
        m->attrs.min_ts_ms = sqlite3_column_int64(st, 3);
        m->attrs.max_ts_ms = sqlite3_column_int64(st, 4);
        const unsigned char *enc = sqlite3_column_text(st, 5);
        snprintf(m->attrs.encoding, sizeof m->attrs.encoding, "%s", enc ? (const char *)enc : "");
        m->sent_ms = sqlite3_column_int64(st, 6);
    }
    return sq_finish(s, SQ_BODY, r);
}

/* Takes message id's lease until now + visibility_s (caller's transaction) and fills
 * m's delivery fields: 1 if taken, 0 if the message has no lease, or -cl_err. */
static int take_lease(struct sq_queue *s, int64_t id, int64_t now, int visibility_s,
                      struct cl_msg *m)
{
    sqlite3_stmt *st = s->st[SQ_RECEIVE];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now + (int64_t)visibility_s * 1000);
    sqlite3_bind_int64(st, 3, now);
    if (s->epoch > 0)
        sqlite3_bind_int64(st, 4, s->epoch);
    int r = sq_finish(s, SQ_RECEIVE, sq_step_row(s, SQ_RECEIVE));
    if (r < 0 || sqlite3_changes(s->db) != 1)
        return r;
    st = s->st[SQ_LEASE_GET];
    sqlite3_bind_int64(st, 1, id);
    r = sq_step_row(s, SQ_LEASE_GET);
    if (r == 1) {
        m->receive_count = (uint32_t)sqlite3_column_int64(st, 0);
        m->first_receive_ms = sqlite3_column_int64(st, 1);
        m->last_error = sq_column_strdup(st, 2);
    }
    return sq_finish(s, SQ_LEASE_GET, r);
}

/* Hides one visible message and fills m's delivery fields, id and receipt (inside the
 * caller's transaction); its body is read after the commit (read_bodies). Returns 1 if
 * received, 0 if it was not there, or -cl_err. */
static int receive_row(struct sq_queue *s, int64_t id, int64_t now, int visibility_s,
                       struct cl_msg *m, struct sq_delta *d)
{
    int r = take_lease(s, id, now, visibility_s, m);
    if (r != 1)
        return r;
    m->id = sq_fmt_id(id);
    char receipt[48];
    snprintf(receipt, sizeof receipt, "%lld:%u", (long long)id, m->receive_count);
    m->receipt = cl_strdup(receipt);
    d->inflight += visibility_s > 0;
    return 1;
}

/* Drops the lease of a message whose row is gone (a retention purge since the lease was
 * taken, or a hand-edited file; caller holds db_mu): nothing to deliver, and it would be
 * picked forever. One statement that checks the row is still gone and the lease still
 * this receive's. Not synced: a lost drop is made again at the next receive. */
static void drop_orphan_lease(struct sq_queue *s, int64_t id, int64_t count)
{
    sq_lazy_sync(s, 1);
    sqlite3_bind_int64(s->st[SQ_LEASE_ORPHAN_DEL], 1, id);
    sqlite3_bind_int64(s->st[SQ_LEASE_ORPHAN_DEL], 2, count);
    if (sq_exec(s, SQ_LEASE_ORPHAN_DEL) != CL_OK)
        cl_log(CL_LOG_WARN, "queue: dropping lease %lld: %s", (long long)id, sqlite3_errmsg(s->db));
    else if (sqlite3_changes(s->db) > 0)
        cl_log(CL_LOG_WARN, "queue: lease %lld has no message (purged): dropped", (long long)id);
    sq_lazy_sync(s, 0);
}

static void free_msg_fields(struct cl_msg *m)
{
    free(m->id);
    free(m->receipt);
    free(m->body);
    free(m->last_error);
    memset(m, 0, sizeof *m);
}

/* The messages from msgs[from] on, whose bodies were not read: their receives undone
 * (sq_give_back) and their fields freed. */
static void give_back_unread(struct sq_queue *s, struct cl_msg *msgs, size_t from, size_t n)
{
    int64_t *ids = cl_malloc((n - from) * sizeof *ids);
    int64_t *counts = cl_malloc((n - from) * sizeof *counts);
    for (size_t i = from; i < n; i++) {
        sq_parse_u63(msgs[i].id, msgs[i].id + strlen(msgs[i].id), &ids[i - from]);
        counts[i - from] = msgs[i].receive_count;
        free_msg_fields(&msgs[i]);
    }
    sq_give_back(s, ids, counts, n - from, "a failed body read");
    free(ids);
    free(counts);
}

/* Reads the bodies of the n messages just leased, outside the receive's transaction,
 * giving db_mu up between two messages whenever ingest's committer waits for it: a body
 * spans ~19 pages read one by one, and ten of them read inside the receive's transaction
 * held the lock for ~1 ms while ingest's group commit waited (docs/performance.md,
 * "Deletes after the catalog commit"). A message's row is written once by its send and
 * deleted only by a delete with its lease's receipt, a DLQ move or a retention purge
 * (then its lease is an orphan, dropped here), so reading it after the lease committed
 * reads the same bytes. Compacts msgs over messages found gone. A read that fails stops
 * the reads: the messages read are delivered, the failing one and the rest are given back
 * (sq_give_back: visible, uncounted), as the failure is the queue's, not theirs. Returns
 * CL_OK, or the read's error when no message was read (then *n is 0). */
static int read_bodies(struct sq_queue *s, struct cl_msg *msgs, size_t *n)
{
    size_t kept = 0, i = 0;
    int rc = CL_OK, gone = 0;
    int prev = cl_phase_enter(CL_PHASE_BODIES);
    sq_yield_to_send(s);
    sq_lock(s);
    for (; i < *n; i++) {
        int64_t id = 0;
        sq_parse_u63(msgs[i].id, msgs[i].id + strlen(msgs[i].id), &id);
        if (i > 0 && atomic_load(&s->send_waiting)) {
            pthread_mutex_unlock(&s->db_mu);
            sq_yield_to_send(s);
            sq_lock(s);
        }
        int r = read_message(s, id, &msgs[i]);
        if (r < 0) {
            rc = -r;
            break;
        }
        if (r == 0) {
            drop_orphan_lease(s, id, msgs[i].receive_count);
            free_msg_fields(&msgs[i]);
            gone = 1;
            continue;
        }
        struct cl_msg m = msgs[i];
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[kept++] = m;
    }
    pthread_mutex_unlock(&s->db_mu);
    if (rc != CL_OK) {
        cl_log(CL_LOG_WARN,
               "queue: reading a received message failed (%s): %zu delivered, %zu given back",
               cl_strerror(rc), kept, *n - i);
        give_back_unread(s, msgs, i, *n);
    }
    if (gone)
        sq_invalidate_stats(s); /* takes mu: after db_mu is given up, as everywhere */
    cl_phase_enter(prev);
    *n = kept;
    return kept ? CL_OK : rc;
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
                rc = sq_move_to_dlq(s, ids[i], now, d);
                moved = 1;
                cl_log(CL_LOG_WARN, "queue: message %lld moved to the DLQ after %lld receives",
                       (long long)ids[i], (long long)counts[i]);
            } else if (!already_received(msgs, *n, ids[i])) {
                int r = receive_row(s, ids[i], now, visibility_s, &msgs[*n], d);
                rc = r < 0 ? -r : CL_OK;
                *n += r == 1;
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
    sq_yield_to_send(s);
    sq_lock(s);
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
    if (rc == CL_OK && *n)
        rc = read_bodies(s, msgs, n);
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
    int prev = cl_phase_enter(CL_PHASE_IDLE);
    pthread_mutex_lock(&s->mu);
    while (gen == s->arrival_gen && !s->stopping)
        if (pthread_cond_timedwait(&s->arrival_cv, &s->mu, &until) == ETIMEDOUT)
            break;
    int rc = s->stopping ? CL_ERR_CLOSED : CL_OK;
    pthread_mutex_unlock(&s->mu);
    cl_phase_enter(prev);
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
 * or an SQLite failure (negative). The receipt matches the lease; the message row goes
 * with it. */
static int delete_one(struct sq_queue *s, const char *receipt, int64_t now, struct sq_delta *d)
{
    int64_t id, count;
    if (sq_parse_receipt(receipt, &id, &count) != 0)
        return CL_ERR_STALE; /* malformed: matches no message */
    sqlite3_stmt *st = s->st[SQ_VIS_GET];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, count);
    int r = sq_step_row(s, SQ_VIS_GET);
    int64_t visible_at = r == 1 ? sqlite3_column_int64(st, 0) : 0;
    sq_finish(s, SQ_VIS_GET, r);
    if (r != 1)
        return r < 0 ? r : CL_ERR_STALE;
    sqlite3_bind_int64(s->st[SQ_LEASE_DEL], 1, id);
    if ((r = sq_exec(s, SQ_LEASE_DEL)) != CL_OK)
        return -r;
    int64_t len;
    r = delete_message_row(s, id, d, &len);
    if (r < 0)
        return r;
    d->inflight -= r == 1 && visible_at > now;
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

void sq_yield_to_send(struct sq_queue *s)
{
    if (!atomic_load(&s->send_waiting))
        return;
    struct timespec until = mono_after(YIELD_MAX_MS);
    int prev = cl_phase_enter(CL_PHASE_LOCK_WAIT);
    pthread_mutex_lock(&s->mu);
    s->send_yielders++;
    while (atomic_load(&s->send_waiting) && !s->stopping)
        if (pthread_cond_timedwait(&s->send_got_cv, &s->mu, &until) == ETIMEDOUT)
            break;
    s->send_yielders--;
    pthread_mutex_unlock(&s->mu);
    cl_phase_enter(prev);
}

void sq_send_got_lock(struct sq_queue *s)
{
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->send_waiting, 0); /* under mu: no yielder misses the wake-up */
    if (s->send_yielders)
        pthread_cond_broadcast(&s->send_got_cv);
    pthread_mutex_unlock(&s->mu);
}

/* One transaction of sq_delete_stored: deletes receipts from *done on, at least one and
 * at most SQ_DELETE_MAX, stopping early once ingest's committer waits for db_mu. On
 * failure nothing of it is deleted and the rest's results get the error. */
static int delete_stored_txn(struct sq_queue *s, const char *const *receipts, size_t n,
                             int *results, size_t *done)
{
    struct sq_delta d = {0};
    size_t start = *done;
    sq_yield_to_send(s);
    sq_lock(s);
    sq_lazy_sync(s, 1);
    int rc = sq_begin(s);
    int64_t now = sq_now(s);
    while (rc == CL_OK && *done < n && *done - start < SQ_DELETE_MAX &&
           (*done == start || !atomic_load(&s->send_waiting))) {
        rc = sq_delete_receipts(s, receipts + *done, 1, now, results ? results + *done : NULL, &d);
        ++*done;
    }
    rc = sq_end(s, rc, &d);
    sq_lazy_sync(s, 0);
    pthread_mutex_unlock(&s->db_mu);
    for (size_t i = start; rc != CL_OK && results && i < n; i++)
        results[i] = rc;
    return rc;
}

int sq_delete_stored(struct sq_queue *s, const char *const *receipts, size_t n, int *results)
{
    int rc = CL_OK;
    size_t done = 0, start = 0;
    while (rc == CL_OK && done < n) {
        start = done;
        rc = delete_stored_txn(s, receipts, n, results, &done);
    }
    /* Stored but not deleted: given back uncounted, so a message on its last allowed
     * receive is not moved to the DLQ; its next receive finds every partition stored and
     * deletes it. */
    if (rc != CL_OK)
        sq_give_back_receipts(s, receipts + start, n - start, "a failed delete of stored messages");
    return rc;
}

int sq_delete(void *impl, const char *const *receipts, size_t n, int *results)
{
    struct sq_queue *s = impl;
    if (n == 0)
        return CL_OK;
    struct sq_delta d = {0};
    sq_lock(s);
    int64_t now = sq_now(s);
    int rc = sq_begin(s);
    if (rc == CL_OK)
        rc = sq_delete_receipts(s, receipts, n, now, results, &d);
    rc = sq_end(s, rc, &d);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}
