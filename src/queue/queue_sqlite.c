/* queue_sqlite.c - durable local queue with SQS semantics in one SQLite file (WAL mode).
 *
 * The file's tables and migrations: queue_sqlite_schema.c; its statements:
 * queue_sqlite_sql.c; transactions and counters: queue_sqlite_txn.c; send (group
 * commit): queue_sqlite_commit.c; receive and delete: queue_sqlite_receive.c;
 * visibility, DLQ and retention: queue_sqlite_ops.c.
 *
 * MESSAGE LIFECYCLE
 *
 *   send ─► visible ─receive─► in flight ─delete─► gone
 *              ▲                  │
 *              └──────────────────┘  visibility timeout expires, or
 *                                    change_visibility(0, error)
 *   visible with receive_count >= max_receive_count ─(next receive that reaches it)─► dlq
 *   dlq ─redrive─► visible again (same id, receive_count 0, no error, sent_at = now)
 *   in flight ─release─► visible again, that receive not counted (receive_count - 1)
 *   in flight ─dead_letter─► dlq at once (poison), with its error
 *   held by a dead owner ─(next owner's open)─► visible at once, receive_count - 1
 *   sent_at older than retention, or moved_at older than dlq retention (opt-in; 0 =
 *   never, the default) ─► dropped (logged); idempotency rows older than the window too
 *
 * "Visible" and "in flight" are not stored states: a message is in flight exactly while
 * its lease's visible_at > now. Receive picks leases with visible_at <= now in
 * (visible_at, id) order, which walks leases_visible and costs O(max) whatever the
 * backlog, then updates the lease and reads the message row without writing it; for
 * messages never received this is id order (visible_at = sent_at). A message whose
 * timeout expired queues behind those that became visible before it. A message due for
 * the DLQ moves there when a receive reaches it, as in SQS; until then it counts as
 * visible.
 *
 * RECEIPTS
 *
 * A receipt handle is "<id>:<receive_count>" as of the receive that returned it.
 * Every receive increments the lease's receive_count, so delete or change_visibility
 * with a receipt from an earlier receive, or for a message that is gone, matches no
 * lease: CL_ERR_STALE.
 *
 * GROUP COMMIT (queue_sqlite_commit.c)
 *
 * send() returns only after its rows are committed. Senders queue a request on a list
 * and sleep; one committer thread inserts every pending request in one transaction,
 * commits (one fsync for all), then wakes them with the shared result: all or nothing.
 * The committer starts at once when it was idle. When it finds work already waiting
 * after a commit (i.e. under load), it lingers up to group_commit_max_ms until the
 * senders of the previous commit have rejoined those already waiting, so closed-loop
 * clients share fsyncs instead of alternating between half-full groups.
 *
 * CONCURRENCY
 *
 * One connection, guarded by db_mu, does all reads and writes of this process (SQLite
 * serializes writers anyway, and one connection keeps the prepared-statement cache
 * simple), except the catalog reads of queries: each opens a connection of its own
 * (catalog_read.c), so a long read never holds db_mu; and the checkpointer thread, whose
 * own connection copies the WAL into the file (queue_sqlite_checkpoint.c). Other processes (the
 * CLI's "dlq list" while the daemon runs) open the same file; busy_timeout makes them wait for the
 * write lock instead of failing, and every write transaction checks PRAGMA data_version
 * to notice their commits and recount.
 *
 * DURABILITY
 *
 * durability_full: synchronous=FULL, the WAL is fsync'd at every commit, so a commit
 * survives power loss. Otherwise synchronous=NORMAL: in WAL mode a commit survives a
 * crash or kill -9 of the process (the WAL is in the OS page cache), but the last
 * transactions may be lost, never corrupted, on power loss or kernel crash. Receives,
 * published marks and the deletes that follow a catalog commit never wait for the disk
 * (sq_lazy_sync): start-up recovery or the next receive undoes their loss
 * (docs/pipeline.md, "Exactly-once output"). Ingest's group commit and the catalog
 * commit write their frames under db_mu and fdatasync the WAL after giving it up, before
 * anything depends on them (queue_sqlite_walsync.c).
 *
 * COUNTERS
 *
 * stats() runs on every ingest request, so it reads in-memory counters. Message, byte,
 * record and DLQ totals are exact: loaded by SQL at open (and after another process
 * commits), then adjusted by each committed transaction. "In flight" also changes as
 * timeouts expire, so it is adjusted on receive/delete/visibility changes and recounted
 * with an indexed query when the cached value is older than STATS_REFRESH_MS (never
 * blocking: skipped while a write holds the connection). visible = total - in flight.
 */
#include "queue_sqlite_int.h"
#include "queue_sqlite_quarantine.h"

#include "common.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t default_clock(void *arg)
{
    (void)arg;
    return cl_now_ms();
}

int64_t sq_now(struct sq_queue *s)
{
    return s->now_fn(s->now_arg);
}

static int sq_ping(void *impl)
{
    struct sq_queue *s = impl;
    if (sq_wal_failed(s))
        return CL_ERR_IO; /* it takes no durable write until a restart (walsync.c) */
    pthread_mutex_lock(&s->db_mu);
    int rc = sq_exec(s, SQ_BEGIN);
    if (rc == CL_OK)
        sq_rollback(s);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

static void free_db(struct sq_queue *s)
{
    sq_finalize_all(s);
    sqlite3_close(s->db);
}

static void sq_free(struct sq_queue *s)
{
    sq_committer_stop(s); /* both no-ops when not started */
    sq_checkpointer_stop(s);
    free_db(s);
    sq_walsync_close(s);
    sq_drop_ownership(s); /* after the close: no other owner may open it before */
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->done_cv);
    pthread_cond_destroy(&s->arrival_cv);
    pthread_cond_destroy(&s->send_got_cv);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->db_mu);
    pthread_cond_destroy(&s->ck_cv);
    pthread_mutex_destroy(&s->ck_mu);
    free(s);
}

/* Finishes pending sends, stops the committer and folds the WAL into the database.
 * The caller must have stopped every other use of the queue. */
static void sq_close(void *impl)
{
    struct sq_queue *s = impl;
    sq_committer_stop(s);
    sq_checkpointer_stop(s);
    pthread_mutex_lock(&s->db_mu);
    if (sq_wal_failed(s)) {
        /* No checkpoint after a failed sync, not even SQLite's own when the last
         * connection closes: the next open recovers the WAL (queue_sqlite_walsync.c). */
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    } else {
        int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            cl_log(CL_LOG_WARN, "queue: checkpoint at close: %s", sqlite3_errmsg(s->db));
    }
    pthread_mutex_unlock(&s->db_mu);
    sq_free(s);
}

static struct cl_catalog *sq_catalog(void *impl)
{
    struct sq_queue *s = impl;
    return &s->catalog;
}

static const struct cl_queue_ops sq_ops = {
    .name = "sqlite",
    .send = sq_send,
    .receive = sq_receive,
    .delete_msgs = sq_delete,
    .change_visibility = sq_change_visibility,
    .stats = sq_stats,
    .dlq_list = sq_dlq_list,
    .dlq_find = sq_dlq_find,
    .dlq_redrive = sq_dlq_redrive,
    .release = sq_release,
    .dead_letter = sq_dead_letter,
    .send_keyed = sq_send_keyed,
    .idem_get = sq_idem_get,
    .catalog = sq_catalog,
    .integrity = sq_integrity,
    .salvage = sq_salvage,
    .ping = sq_ping,
    .close = sq_close,
};

static int check_opts(const struct cl_queue_opts *o, char *err, size_t err_len)
{
    if (o->max_receive_count < 1 || o->retention_s < 1 || o->dlq_retention_s < 0 ||
        o->idempotency_window_s < 0 || o->group_commit_max_ms < 0) {
        snprintf(err, err_len,
                 "invalid queue options (max_receive_count >= 1, retention > 0, "
                 "DLQ retention and idempotency window >= 0)");
        return CL_ERR_INVAL;
    }
    return CL_OK;
}

/* Allocates the backend with its locks; freed by sq_free. */
static struct sq_queue *sq_new(const struct cl_queue_opts *opts)
{
    struct sq_queue *s = cl_calloc(1, sizeof *s);
    s->opts = *opts;
    s->now_fn = default_clock;
    s->lock_fd = -1;
    s->wal_fd = -1;
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->work_cv, &ca);
    pthread_cond_init(&s->done_cv, &ca);
    pthread_cond_init(&s->arrival_cv, &ca);
    pthread_cond_init(&s->send_got_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->ck_mu, NULL);
    pthread_cond_init(&s->ck_cv, NULL);
    return s;
}

static int open_db(struct sq_queue *s, const char *path, char *err, size_t err_len)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, err_len, "open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        return sq_err(rc);
    }
    sqlite3_extended_result_codes(s->db, 1);
    int crc = sq_schema_open(s, path, err, err_len);
    if (crc == CL_OK)
        crc = sq_prepare_all(s, err, err_len);
    if (crc == CL_OK && (crc = sq_check_data_version(s)) != CL_OK)
        snprintf(err, err_len, "reading queue totals: %s", sqlite3_errmsg(s->db));
    return crc;
}

int cl_queue_sqlite_open(struct cl_queue *q, const char *path, const struct cl_queue_opts *opts,
                         char *err, size_t err_len)
{
    memset(q, 0, sizeof *q);
    int rc = check_opts(opts, err, err_len);
    if (rc != CL_OK)
        return rc;
    struct sq_queue *s = sq_new(opts);
    s->catalog = (struct cl_catalog){&sq_catalog_ops, s};
    s->data_version = -1; /* forces the first check to load the totals */
    /* The owner lock first: opening may migrate the schema, which must not happen under
     * a running daemon of an older build (its statements would fail until restarted). */
    if (opts->owner)
        rc = sq_lock_owner(s, path, err, err_len);
    if (rc == CL_OK)
        rc = open_db(s, path, err, err_len);
    sq_walsync_open(s); /* closed by sq_free, opened or not */
    if (rc == CL_OK)
        sq_walsync_check_marker(s, opts->owner);
    if (rc == CL_OK && opts->owner)
        rc = sq_claim_ownership(s, err, err_len);
    if (rc == CL_OK && (rc = sq_committer_start(s)) != CL_OK)
        snprintf(err, err_len, "cannot start the queue committer thread");
    if (rc == CL_OK)
        rc = sq_checkpointer_start(s, path, err, err_len);
    if (rc != CL_OK) {
        sq_free(s);
        return rc;
    }
    pthread_mutex_lock(&s->db_mu);
    if (!sq_wal_failed(s)) /* it commits: not behind a failed sync's hole */
        sq_purge_expired(s);
    pthread_mutex_unlock(&s->db_mu);
    q->ops = &sq_ops;
    q->impl = s;
    return CL_OK;
}

struct sq_queue *sq_from_queue(struct cl_queue *q)
{
    return q && q->ops == &sq_ops ? q->impl : NULL;
}

int cl_queue_sqlite_counters(struct cl_queue *q, struct cl_queue_sqlite_counters *c)
{
    struct sq_queue *s = sq_from_queue(q);
    if (!s)
        return CL_ERR_INVAL;
    pthread_mutex_lock(&s->mu);
    *c = s->counters;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->sync_mu);
    c->wal_syncs = s->wal_syncs;
    c->wal_syncs_shared = s->wal_sync_shared;
    pthread_mutex_unlock(&s->sync_mu);
    return CL_OK;
}

int cl_queue_sqlite_set_clock(struct cl_queue *q, int64_t (*now)(void *arg), void *arg)
{
    struct sq_queue *s = sq_from_queue(q);
    if (!s)
        return CL_ERR_INVAL;
    pthread_mutex_lock(&s->mu);
    s->now_fn = now ? now : default_clock;
    s->now_arg = now ? arg : NULL;
    s->refreshed_ms = INT64_MIN / 2;
    pthread_mutex_unlock(&s->mu);
    return CL_OK;
}

struct sqlite3 *cl_queue_sqlite_db(struct cl_queue *q)
{
    struct sq_queue *s = sq_from_queue(q);
    return s ? s->db : NULL;
}
