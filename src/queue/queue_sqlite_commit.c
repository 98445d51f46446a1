/* queue_sqlite_commit.c - group commit: concurrent sends share one transaction and fsync. */
#include "queue_sqlite_int.h"

#include "common.h"
#include "log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static struct timespec mono_deadline(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static int insert_one(struct sq_queue *s, const struct cl_msg_out *m, int64_t now,
                      struct sq_delta *d)
{
    sqlite3_stmt *st = s->st[SQ_INSERT];
    const char *enc = m->attrs.encoding;
    sqlite3_bind_blob64(st, 1, m->body ? m->body : "", m->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, m->attrs.record_count);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)m->attrs.raw_bytes);
    sqlite3_bind_int64(st, 4, m->attrs.min_ts_ms);
    sqlite3_bind_int64(st, 5, m->attrs.max_ts_ms);
    sqlite3_bind_text(st, 6, enc, (int)strnlen(enc, sizeof m->attrs.encoding), SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, now);
    int rc = sqlite3_step(st);
    sqlite3_clear_bindings(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        cl_log(CL_LOG_ERROR, "queue: insert: %s", sqlite3_errmsg(s->db));
        return sq_err(rc);
    }
    sqlite3_bind_int64(s->st[SQ_LEASE_ADD], 1, sqlite3_last_insert_rowid(s->db));
    sqlite3_bind_int64(s->st[SQ_LEASE_ADD], 2, now);
    int lrc = sq_exec(s, SQ_LEASE_ADD);
    if (lrc != CL_OK)
        return lrc;
    d->msgs++;
    d->bytes += (int64_t)m->len;
    d->records += m->attrs.record_count;
    return CL_OK;
}

/* One request of the group: its idempotency key first, so a request whose key is
 * already stored (a concurrent retry) adds nothing and gets CL_ERR_EXISTS alone. */
static int insert_request(struct sq_queue *s, struct sq_send_req *r, int64_t now,
                          struct sq_delta *d)
{
    int rc = r->idem ? sq_idem_put(s, r->idem, now) : CL_OK;
    if (rc == CL_ERR_EXISTS) {
        r->own_rc = rc;
        return CL_OK;
    }
    for (size_t i = 0; rc == CL_OK && i < r->n; i++)
        rc = insert_one(s, &r->msgs[i], now, d);
    return rc;
}

/* Inserts every request of the group in one transaction; all or nothing. Durable before
 * it returns CL_OK; its WAL sync runs after db_mu is given up (queue_sqlite_walsync.c),
 * so receives and deletes need not wait for the disk. */
static int commit_group(struct sq_queue *s, struct sq_send_req *group)
{
    struct sq_delta d = {0};
    if (sq_wal_failed(s))
        return CL_ERR_IO; /* nothing committed: the client's retry adds no copy */
    atomic_store(&s->send_waiting, 1);
    sq_lock(s);
    sq_send_got_lock(s);
    if (sq_wal_failed(s)) { /* again under the lock: a sync may have failed meanwhile */
        pthread_mutex_unlock(&s->db_mu);
        return CL_ERR_IO;
    }
    cl_phase_enter(CL_PHASE_SEND_INSERT);
    int64_t now = sq_now(s);
    int deferred = sq_durable_begin(s);
    int rc = sq_begin(s);
    for (struct sq_send_req *r = group; rc == CL_OK && r; r = r->next)
        rc = insert_request(s, r, now, &d);
    cl_phase_enter(CL_PHASE_SEND_COMMIT);
    rc = sq_end(s, rc, &d);
    uint64_t seq = sq_durable_end(s, deferred);
    pthread_mutex_unlock(&s->db_mu);
    cl_phase_enter(CL_PHASE_WAL_SYNC);
    if (rc == CL_OK)
        rc = sq_wal_sync(s, seq);
    cl_phase_enter(CL_PHASE_SEND_WAIT);
    return rc;
}

/* Under load (work was waiting when the last commit ended), waits up to
 * group_commit_max_ms for the senders of the last group to come back: the expected
 * concurrency is the last group plus those that queued during its commit, all distinct
 * senders. Without this, two closed-loop senders alternate in groups of one. */
static void linger(struct sq_queue *s)
{
    size_t target = s->last_group + s->npending;
    if (s->opts.group_commit_max_ms <= 0 || target <= 1)
        return;
    struct timespec until = mono_deadline(s->opts.group_commit_max_ms);
    while (s->npending < target && !s->stopping)
        if (pthread_cond_timedwait(&s->work_cv, &s->mu, &until) == ETIMEDOUT)
            break;
}

static void finish_group(struct sq_queue *s, struct sq_send_req *group, int rc, size_t msgs)
{
    size_t reqs = 0;
    for (struct sq_send_req *r = group; r; r = r->next, reqs++) {
        r->rc = rc == CL_OK ? r->own_rc : rc;
        r->done = 1;
    }
    s->last_group = reqs;
    if (rc == CL_OK) {
        s->counters.send_commits++;
        s->counters.send_msgs += msgs;
        s->arrival_gen++;
        pthread_cond_broadcast(&s->arrival_cv);
    }
    pthread_cond_broadcast(&s->done_cv);
}

/* The committer: runs until stopped, and drains pending sends before it exits. */
static void *committer_main(void *arg)
{
    struct sq_queue *s = arg;
    if (cl_phase_enabled())
        cl_phase_bind(&s->send_clock);
    cl_phase_enter(CL_PHASE_SEND_WAIT);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        int idle = !s->head;
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work_cv, &s->mu);
        if (!s->head)
            break;
        if (!idle)
            linger(s);
        struct sq_send_req *group = s->head;
        size_t msgs = 0;
        for (struct sq_send_req *r = group; r; r = r->next)
            msgs += r->n;
        s->head = s->tail = NULL;
        s->npending = 0;
        pthread_mutex_unlock(&s->mu);
        int rc = commit_group(s, group);
        pthread_mutex_lock(&s->mu);
        finish_group(s, group, rc, msgs);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int sq_committer_start(struct sq_queue *s)
{
    if (pthread_create(&s->committer, NULL, committer_main, s) != 0)
        return CL_ERR_IO;
    s->committer_started = 1;
    return CL_OK;
}

void sq_committer_stop(struct sq_queue *s)
{
    if (!s->committer_started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->work_cv);
    pthread_cond_broadcast(&s->arrival_cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->committer, NULL);
    s->committer_started = 0;
    if (cl_phase_enabled()) {
        cl_phase_report(&s->send_clock, "queue committer");
        cl_log(CL_LOG_INFO,
               "phases queue: %llu send commits, %llu checkpoints, %llu inline, %llu WAL syncs "
               "after the lock, %llu commits covered by another's",
               (unsigned long long)s->counters.send_commits,
               (unsigned long long)s->counters.checkpoints,
               (unsigned long long)s->counters.inline_checkpoints, (unsigned long long)s->wal_syncs,
               (unsigned long long)s->wal_sync_shared);
    }
}

int sq_send(void *impl, const struct cl_msg_out *msgs, size_t n)
{
    return sq_send_keyed(impl, msgs, n, NULL);
}

int sq_send_keyed(void *impl, const struct cl_msg_out *msgs, size_t n, const struct cl_idem *idem)
{
    struct sq_queue *s = impl;
    if (n == 0 && !idem)
        return CL_OK;
    if (n && !msgs)
        return CL_ERR_INVAL;
    if (idem && (!idem->key || (!idem->answer && idem->answer_len)))
        return CL_ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].body && msgs[i].len)
            return CL_ERR_INVAL;
    struct sq_send_req req = {.msgs = msgs, .n = n, .idem = idem};
    pthread_mutex_lock(&s->mu);
    s->counters.send_calls++;
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return CL_ERR_CLOSED;
    }
    if (s->tail)
        s->tail->next = &req;
    else
        s->head = &req;
    s->tail = &req;
    s->npending++;
    pthread_cond_signal(&s->work_cv);
    while (!req.done)
        pthread_cond_wait(&s->done_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return req.rc;
}
