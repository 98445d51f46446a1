/* queue_sqlite_txn.c - the SQLite queue's transactions and the in-memory counters they
 * keep (see COUNTERS in queue_sqlite.c): begin notices other processes' commits and
 * recounts, a commit applies its delta, stats() reads the counters. */
#include "queue_sqlite_int.h"

#include "common.h"
#include "log.h"

#define STATS_REFRESH_MS 200

/* Recounts the cheap-to-query, time-dependent figures (caller holds db_mu). */
static int refresh_inflight(struct sq_queue *s)
{
    int64_t now = sq_now(s), inflight = 0, oldest = 0;
    int rc = sq_query_int64s(s, SQ_INFLIGHT, now, &inflight, 1);
    if (rc == CL_OK)
        rc = sq_query_int64s(s, SQ_OLDEST, 0, &oldest, 1);
    if (rc != CL_OK)
        return rc;
    pthread_mutex_lock(&s->mu);
    s->c.inflight = inflight;
    s->oldest_ms = oldest;
    s->refreshed_ms = now;
    pthread_mutex_unlock(&s->mu);
    return CL_OK;
}

/* Recounts every total from the tables (caller holds db_mu). O(rows), reading row
 * headers and the messages_sent index only, never message bodies. */
static int load_counts(struct sq_queue *s)
{
    int64_t main_count[2], main_bytes, dlq[2];
    int rc = sq_query_int64s(s, SQ_MAIN_COUNT, 0, main_count, 2);
    if (rc == CL_OK)
        rc = sq_query_int64s(s, SQ_MAIN_BYTES, 0, &main_bytes, 1);
    if (rc == CL_OK)
        rc = sq_query_int64s(s, SQ_DLQ_COUNT, 0, dlq, 2);
    int64_t redriven = 0;
    if (rc == CL_OK)
        rc = sq_query_int64s(s, SQ_REDRIVEN_GET, 0, &redriven, 1);
    if (rc != CL_OK)
        return rc;
    pthread_mutex_lock(&s->mu);
    s->c.msgs = main_count[0];
    s->c.records = main_count[1];
    s->c.bytes = main_bytes;
    s->c.dlq = dlq[0];
    s->c.dlq_bytes = dlq[1];
    s->c.redriven = redriven;
    pthread_mutex_unlock(&s->mu);
    return refresh_inflight(s);
}

int sq_check_data_version(struct sq_queue *s)
{
    int64_t v = 0;
    int rc = sq_query_int64s(s, SQ_DATA_VERSION, 0, &v, 1);
    if (rc != CL_OK || v == s->data_version)
        return rc;
    s->data_version = v;
    return load_counts(s);
}

int sq_begin(struct sq_queue *s)
{
    int rc = sq_exec(s, SQ_BEGIN);
    if (rc != CL_OK)
        return rc;
    rc = sq_check_data_version(s);
    if (rc != CL_OK)
        sq_rollback(s);
    return rc;
}

int sq_commit(struct sq_queue *s)
{
    int rc = sq_exec(s, SQ_COMMIT);
    if (rc != CL_OK)
        sq_rollback(s);
    return rc;
}

int sq_end(struct sq_queue *s, int rc, const struct sq_delta *d)
{
    if (rc == CL_OK)
        rc = sq_commit(s);
    else
        sq_rollback(s);
    if (rc == CL_OK && d)
        sq_apply(s, d);
    return rc;
}

void sq_lazy_sync(struct sq_queue *s, int on)
{
    if (!s->opts.durability_full)
        return;
    /* SQLite applies this pragma when it is compiled and refuses it inside a
     * transaction, so it is run as text, outside one. */
    const char *sql = on ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL";
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        cl_log(CL_LOG_WARN, "queue: %s: %s", sql, sqlite3_errmsg(s->db));
}

void sq_rollback(struct sq_queue *s)
{
    /* A failed COMMIT may already have rolled back (e.g. SQLITE_FULL). */
    if (!sqlite3_get_autocommit(s->db))
        sq_exec(s, SQ_ROLLBACK);
}

void sq_apply(struct sq_queue *s, const struct sq_delta *d)
{
    pthread_mutex_lock(&s->mu);
    s->c.msgs += d->msgs;
    s->c.bytes += d->bytes;
    s->c.records += d->records;
    s->c.inflight = CL_MAX(0, CL_MIN(s->c.inflight + d->inflight, s->c.msgs));
    s->c.dlq += d->dlq;
    s->c.dlq_bytes += d->dlq_bytes;
    s->c.redriven += d->redriven;
    if (d->msgs > 0 && s->oldest_ms == 0)
        s->oldest_ms = sq_now(s);
    if (s->c.msgs == 0)
        s->oldest_ms = 0;
    pthread_mutex_unlock(&s->mu);
}

void sq_invalidate_stats(struct sq_queue *s)
{
    pthread_mutex_lock(&s->mu);
    s->refreshed_ms = INT64_MIN / 2;
    pthread_mutex_unlock(&s->mu);
}

void sq_notify_arrival(struct sq_queue *s)
{
    pthread_mutex_lock(&s->mu);
    s->arrival_gen++;
    pthread_cond_broadcast(&s->arrival_cv);
    pthread_mutex_unlock(&s->mu);
}

int sq_stats(void *impl, struct cl_queue_stats *st)
{
    struct sq_queue *s = impl;
    int64_t now = sq_now(s);
    pthread_mutex_lock(&s->mu);
    int stale = now - s->refreshed_ms >= STATS_REFRESH_MS || now < s->refreshed_ms;
    pthread_mutex_unlock(&s->mu);
    /* Never wait behind a commit's fsync: a busy connection means cached figures. */
    if (stale && pthread_mutex_trylock(&s->db_mu) == 0) {
        int rc = sq_check_data_version(s);
        if (rc == CL_OK)
            rc = refresh_inflight(s);
        pthread_mutex_unlock(&s->db_mu);
        if (rc != CL_OK)
            return rc;
    }
    pthread_mutex_lock(&s->mu);
    st->inflight = (uint64_t)CL_MIN(s->c.inflight, s->c.msgs);
    st->visible = (uint64_t)s->c.msgs - st->inflight;
    st->bytes = (uint64_t)s->c.bytes;
    st->records = (uint64_t)s->c.records;
    st->dlq_depth = (uint64_t)s->c.dlq;
    st->dlq_bytes = (uint64_t)s->c.dlq_bytes;
    st->redriven = (uint64_t)s->c.redriven;
    st->oldest_ms = s->oldest_ms;
    pthread_mutex_unlock(&s->mu);
    return CL_OK;
}
