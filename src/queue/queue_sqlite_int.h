/* queue_sqlite_int.h - state shared by the SQLite queue's source files (private). */
#ifndef CL_QUEUE_SQLITE_INT_H
#define CL_QUEUE_SQLITE_INT_H

#define SQ_SCHEMA_VERSION 4 /* the queue file's schema this build reads and writes */
/* The oldest schema whose catalog tables (objects, progress) are those of
 * SQ_SCHEMA_VERSION: a catalog reader opens those without migrating. */
#define SQ_CATALOG_MIN_VERSION 3

#include "catalog.h"
#include "queue.h"
#include "queue_sqlite.h"

#include "phase_clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdint.h>

/* Prepared statements, compiled once per connection (see sq_sql in queue_sqlite_sql.c). */
enum sq_stmt {
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_DATA_VERSION,
    SQ_INSERT,
    SQ_LEASE_ADD,
    SQ_LEASE_DEL,
    SQ_PICK,
    SQ_TO_DLQ,
    SQ_ROW_SIZE,
    SQ_DEL_ID,
    SQ_RECEIVE,
    SQ_LEASE_GET,
    SQ_BODY,
    SQ_VIS_GET,
    SQ_VIS_SET,
    SQ_INFLIGHT,
    SQ_OLDEST,
    SQ_MAIN_COUNT,
    SQ_MAIN_BYTES,
    SQ_DLQ_COUNT,
    SQ_DLQ_LIST,
    SQ_DLQ_IDS,
    SQ_REDRIVE,
    SQ_DLQ_DEL,
    SQ_PURGE_STATS,
    SQ_EXPIRE_TO_DLQ,
    SQ_LEASE_PURGE,
    SQ_PURGE,
    SQ_DLQ_PURGE_STATS,
    SQ_DLQ_PURGE,
    SQ_PROGRESS_DEL,
    SQ_PROGRESS_PURGE,
    SQ_DLQ_PROGRESS_PURGE,
    SQ_OBJ_INSERT,
    SQ_PROGRESS_ADD,
    SQ_PROGRESS_GET,
    SQ_PROGRESS_ANY,
    SQ_REDRIVEN_GET,
    SQ_REDRIVEN_ADD,
    SQ_OBJ_UNPUBLISHED,
    SQ_OBJ_PUBLISH,
    SQ_OBJ_STAGING,
    SQ_OBJ_STATS,
    SQ_UNCOUNT,
    SQ_SET_ERROR,
    SQ_EPOCH_NEXT,
    SQ_OWNER_RELEASE,
    SQ_GIVE_BACK,
    SQ_LEASE_ORPHAN_DEL,
    SQ_IDEM_PUT,
    SQ_IDEM_GET,
    SQ_IDEM_PURGE,
    SQ_NSTMT
};

/* Changes a transaction makes to the counters; applied only once it commits. */
struct sq_delta {
    int64_t msgs, bytes, records, inflight, dlq, dlq_bytes;
    int64_t redriven; /* messages ever redriven (meta 'redriven_total') */
};

/* One send() call waiting for the committer (lives on the sender's stack). */
struct sq_send_req {
    const struct cl_msg_out *msgs;
    size_t n;
    const struct cl_idem *idem; /* NULL: no idempotency key */
    int own_rc;                 /* CL_ERR_EXISTS: its key was taken, its messages skipped */
    int rc;
    int done;
    struct sq_send_req *next;
};

struct sq_queue {
    struct cl_queue_opts opts;
    int64_t (*now_fn)(void *arg);
    void *now_arg;

    /* The one connection, used by one thread at a time. Lock order: db_mu, then mu. */
    pthread_mutex_t db_mu;
    atomic_int send_waiting; /* the committer waits for db_mu (sq_yield_to_send) */
    sqlite3 *db;
    sqlite3_stmt *st[SQ_NSTMT];
    int64_t data_version; /* last seen PRAGMA data_version (other processes' commits) */
    int64_t epoch;        /* owner epoch stored in holder at receive; 0: not the owner */
    int lock_fd;          /* the owner lock (queue_sqlite_owner.c), -1 if none */
    int64_t last_purge_ms;

    /* Everything below is guarded by mu. */
    pthread_mutex_t mu;
    pthread_cond_t work_cv;     /* committer: pending sends or stop */
    pthread_cond_t done_cv;     /* senders: a commit finished */
    pthread_cond_t arrival_cv;  /* receivers: messages may have become visible */
    pthread_cond_t send_got_cv; /* sq_yield_to_send: the committer has db_mu */
    int send_yielders;          /* threads waiting on send_got_cv */
    struct sq_send_req *head, *tail;
    size_t npending;
    size_t last_group; /* senders in the previous commit: expected concurrency */
    int stopping;
    int committer_started;
    pthread_t committer;
    uint64_t arrival_gen;
    struct cl_phase_clock send_clock; /* the committer's, when CLOUDLOG_PHASES is set */

    struct sq_delta c; /* msgs, bytes, records, dlq, dlq_bytes exact; inflight approx. */
    int64_t oldest_ms;
    int64_t refreshed_ms; /* queue clock at the last inflight/oldest refresh */
    struct cl_queue_sqlite_counters counters;
    struct cl_catalog catalog; /* {sq_catalog_ops, this queue} (cl_queue_catalog) */

    /* The checkpointer (queue_sqlite_checkpoint.c): its connection and thread. ck_wanted
     * and ck_stop are guarded by ck_mu, taken after db_mu (the WAL hook runs under it). */
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cv;
    sqlite3 *ck_db;
    pthread_t ck_thread;
    int ck_started, ck_wanted, ck_stop;
    int ck_frames, ck_inline_frames; /* WAL frames that wake it, that checkpoint inline */

    /* Durable commits synced after db_mu (queue_sqlite_walsync.c). wal_fd: the WAL, -1
     * when commits sync inside; wal_seq: durable commits made so far (bumped under db_mu
     * after each). The rest is guarded by sync_mu (taken alone). */
    int wal_fd;
    char wal_path[4096];
    atomic_uint_fast64_t wal_seq;
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    uint64_t synced_seq, failed_seq; /* every commit up to: synced; whose sync failed */
    int syncing;
    uint64_t wal_syncs, wal_sync_shared; /* fdatasyncs made; commits covered by another's */
    /* Set for good by the first failed sync (read without a lock): no durable commit
     * starts and no checkpoint runs after it (queue_sqlite_walsync.c). */
    atomic_int wal_failed;
};

/* Takes db_mu, the wait charged to the calling thread's phase clock (phase_clock.h). */
static inline void sq_lock(struct sq_queue *s)
{
    int prev = cl_phase_enter(CL_PHASE_LOCK_WAIT);
    pthread_mutex_lock(&s->db_mu);
    cl_phase_enter(prev);
}

/* The backend behind q, or NULL if q is not an SQLite queue. */
struct sq_queue *sq_from_queue(struct cl_queue *q);
/* The catalog's implementation (catalog_sqlite.c, catalog_read.c). */
extern const struct cl_catalog_ops sq_catalog_ops;
int sqc_objects(void *impl, const char *dt_from, const char *dt_to,
                int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg);
/* The registry's open_catalog_reader (catalog_read.c; cl_catalog_open_reader). */
int cl_queue_sqlite_catalog_reader(const char *path, struct cl_catalog **out, char *err,
                                   size_t err_len);
int sqc_select(void *impl, const struct cl_catalog_filter *f,
               int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg,
               uint64_t *considered);
int sqc_rows(void *impl, struct cl_catalog_row **rows, size_t *n);
int sqc_add_published(void *impl, const struct cl_catalog_object *o);
int sqc_mark_lost(void *impl, int64_t object_id, const char *reason);
int sqc_lost_count(void *impl, uint64_t *n);
int64_t sq_now(struct sq_queue *s);

/* queue_sqlite_schema.c: connection settings, then creates or migrates the schema. */
/* path: the queue file, for the upgrade lock of a non-owner open. */
int sq_schema_open(struct sq_queue *s, const char *path, char *err, size_t err_len);

/* queue_sqlite_sql.c: the statements (sq_sql) and the helpers that run them. */
extern const char *const sq_sql[SQ_NSTMT];
/* Compiles every statement of sq_sql on s->db; sq_finalize_all frees them. */
int sq_prepare_all(struct sq_queue *s, char *err, size_t err_len);
void sq_finalize_all(struct sq_queue *s);
/* Maps an SQLite result code to a cl_err. */
int sq_err(int rc);
/* Runs a statement that returns no rows (or ignores them) and resets it. */
int sq_exec(struct sq_queue *s, enum sq_stmt id);
/* Runs a one-row query of numeric columns, binding ?1 to bind1 if the statement has
 * parameters; missing rows and NULLs read as 0. */
int sq_query_int64s(struct sq_queue *s, enum sq_stmt id, int64_t bind1, int64_t *out, int ncol);
/* Steps a statement once: 1 = row, 0 = done, <0 = -cl_err (logged). */
int sq_step_row(struct sq_queue *s, enum sq_stmt id);
/* Resets a statement and clears its bindings; returns rc. */
int sq_finish(struct sq_queue *s, enum sq_stmt id, int rc);

/* queue_sqlite_txn.c: transactions and counters. */
/* Recounts if another process committed since we last looked (caller holds db_mu). */
int sq_check_data_version(struct sq_queue *s);
/* The queue's stats() from the counters, refreshed when stale without waiting. */
int sq_stats(void *impl, struct cl_queue_stats *st);
/* BEGIN IMMEDIATE, noticing other processes' commits; COMMIT or ROLLBACK. */
int sq_begin(struct sq_queue *s);
int sq_commit(struct sq_queue *s);
void sq_rollback(struct sq_queue *s);
/* Ends a transaction begun by sq_begin: commits and applies d (may be NULL) to the
 * counters if rc is CL_OK, rolls back otherwise. Returns the final result. */
int sq_end(struct sq_queue *s, int rc, const struct sq_delta *d);
/* With on = 1 (around one transaction: before sq_begin, and again with 0 after sq_end),
 * commits stop waiting for the disk when durability_full: they run with
 * synchronous=NORMAL, so they survive a crash of the process but may be lost (never torn)
 * on power loss, and become durable with the next synced commit. Only for transactions
 * whose loss recovery undoes: receives, published marks. */
void sq_lazy_sync(struct sq_queue *s, int on);
/* Applies a committed transaction's delta to the counters (takes mu). */
void sq_apply(struct sq_queue *s, const struct sq_delta *d);
/* Makes the next stats() recount in-flight messages and the oldest age (takes mu). */
void sq_invalidate_stats(struct sq_queue *s);
/* Wakes receivers waiting for messages (takes mu). */
void sq_notify_arrival(struct sq_queue *s);

/* queue_sqlite_commit.c: group commit. */
int sq_committer_start(struct sq_queue *s);
void sq_committer_stop(struct sq_queue *s);
int sq_send(void *impl, const struct cl_msg_out *msgs, size_t n);

int sq_send_keyed(void *impl, const struct cl_msg_out *msgs, size_t n, const struct cl_idem *idem);

/* queue_sqlite_checkpoint.c: WAL checkpoints off the queue connection. Start after
 * the schema is open; stop before the final checkpoint and close (no-op if not started). */
int sq_checkpointer_start(struct sq_queue *s, const char *path, char *err, size_t err_len);
void sq_checkpointer_stop(struct sq_queue *s);

/* queue_sqlite_walsync.c: durable commits synced after db_mu is given up. */
/* After the schema is open: opens the database's WAL when durability_full (else, or if it cannot
 * be opened, commits sync inside as SQLite does). sq_walsync_close closes it. */
void sq_walsync_open(struct sq_queue *s);
void sq_walsync_close(struct sq_queue *s);
/* Under db_mu, around a transaction that must be durable before anything depends on it:
 * sq_durable_begin before sq_begin returns whether its sync is deferred (the commit then
 * runs unsynced); sq_durable_end after sq_end returns its sequence number (0: synced
 * inside, nothing deferred). After db_mu is given up, sq_wal_sync(seq) returns once the
 * commit is durable: CL_OK, or CL_ERR_IO if the sync failed (the commit is then of
 * unknown durability: fail what depended on it). */
int sq_durable_begin(struct sq_queue *s);
uint64_t sq_durable_end(struct sq_queue *s, int deferred);
int sq_wal_sync(struct sq_queue *s, uint64_t seq);
/* Whether a WAL sync has failed since the queue was opened: then every durable commit
 * fails before it starts (CL_ERR_IO) and checkpoints stop, until a restart. */
int sq_wal_failed(struct sq_queue *s);
/* At open, after the database is: an owner removes the marker a failed sync left
 * ("<file>-walfailed"); another process that finds it takes the failure as its own. */
void sq_walsync_check_marker(struct sq_queue *s, int owner);

/* queue_sqlite_idem.c: idempotency records. */
/* Stores idem unless its key exists (caller's txn): CL_OK, CL_ERR_EXISTS, or failure. */
int sq_idem_put(struct sq_queue *s, const struct cl_idem *idem, int64_t now);
int sq_idem_get(void *impl, const char *key, struct cl_idem_answer *out);

/* queue_sqlite_owner.c: single ownership of the queue file. */
/* Takes the owner lock next to path (into s->lock_fd), before the schema is opened: a
 * migration must never run under another daemon's feet. CL_OK, or CL_ERR_FULL with err
 * set (another owner is running). */
int sq_lock_owner(struct sq_queue *s, const char *path, char *err, size_t err_len);
/* For a non-owner open (the CLI) that finds an older schema: the owner lock without the
 * pid, held while it migrates; returns the fd to close after the commit, or -1 with err
 * set (a daemon, necessarily an older build, runs on the file). */
int sq_lock_for_upgrade(const char *path, char *err, size_t err_len);
/* With the owner lock held: bumps the owner epoch and releases what a dead owner held.
 * Returns CL_OK, or an error with err set (the lock is then dropped). */
int sq_claim_ownership(struct sq_queue *s, char *err, size_t err_len);
void sq_drop_ownership(struct sq_queue *s);

/* queue_sqlite_receive.c: receive and delete, and helpers the other operations share. */
/* Parses a non-negative decimal integer that spans [p, end); returns 0 or -1. */
int sq_parse_u63(const char *p, const char *end, int64_t *v);
/* Splits a receipt "<id>:<receive_count>"; returns 0 or -1 if malformed. */
int sq_parse_receipt(const char *r, int64_t *id, int64_t *count);
/* The decimal form of id, heap-allocated (caller frees). */
char *sq_fmt_id(int64_t id);
/* A text column as a heap string or NULL (caller frees). */
char *sq_column_strdup(sqlite3_stmt *st, int col);
/* Copies a blob column into a new heap buffer (caller frees). */
void *sq_column_blob_dup(sqlite3_stmt *st, int col, size_t *len);
/* Moves one message (row and lease) to the DLQ inside the caller's transaction. */
int sq_move_to_dlq(struct sq_queue *s, int64_t id, int64_t now, struct sq_delta *d);
int sq_receive(void *impl, size_t max, int visibility_s, int wait_ms, struct cl_msg **out,
               size_t *n);
int sq_delete(void *impl, const char *const *receipts, size_t n, int *results);
/* Messages deleted per transaction at most by sq_delete_stored. */
#define SQ_DELETE_MAX 32
/* Deletes n messages whose every partition is stored (after a catalog commit), in
 * transactions that are not synced by themselves (sq_lazy_sync: a delete lost on power
 * loss leaves a message whose progress rows make its next receive delete it). Each
 * transaction lets a waiting ingest commit go first, and ends early, after any message,
 * once the committer waits again, or after SQ_DELETE_MAX messages. results as
 * sq_delete_receipts, or a failed transaction's error for its messages and the rest;
 * returns CL_OK or that error. */
int sq_delete_stored(struct sq_queue *s, const char *const *receipts, size_t n, int *results);
/* Undoes the receives (ids[i], counts[i]: the receipt's message and receive count) the
 * queue could not complete (why, for the log): each message visible now, its receive
 * uncounted, held by no one, in one unsynced transaction (queue_sqlite_give_back.c).
 * A lease received again since is left alone. Takes db_mu. On failure logs it (the
 * messages then come back after their visibility timeout, counted) and returns the
 * error. */
int sq_give_back(struct sq_queue *s, const int64_t *ids, const int64_t *counts, size_t n,
                 const char *why);
/* sq_give_back by receipts (a malformed one is skipped). */
int sq_give_back_receipts(struct sq_queue *s, const char *const *receipts, size_t n,
                          const char *why);
/* A processor's short transactions call this before taking db_mu: while the ingest
 * committer waits for it, waits until the committer has it (at most YIELD_MAX_MS,
 * queue_sqlite_receive.c), so the group commit, on which acknowledgements wait, goes
 * first. */
void sq_yield_to_send(struct sq_queue *s);
/* The committer, once it holds db_mu: wakes the threads sq_yield_to_send holds back. */
void sq_send_got_lock(struct sq_queue *s);
/* Deletes messages by receipt, and their progress rows, inside the caller's
 * transaction. results[i] (results may be NULL) gets CL_OK or CL_ERR_STALE; returns
 * CL_OK or the SQLite failure that must abort the transaction. */
int sq_delete_receipts(struct sq_queue *s, const char *const *receipts, size_t n, int64_t now,
                       int *results, struct sq_delta *d);
int sq_change_visibility(void *impl, const char *receipt, int visibility_s, const char *error);
int sq_release(void *impl, const char *receipt, int visibility_s, const char *error);
int sq_dead_letter(void *impl, const char *receipt, const char *error);
int sq_dlq_list(void *impl, const char *after, size_t max, int with_bodies, struct cl_msg **out,
                size_t *n);
int sq_dlq_find(void *impl, const char *const *ids, size_t n, int with_body, struct cl_msg **found);
int sq_dlq_redrive(void *impl, const char *const *ids, size_t n, size_t *moved);
/* Drops expired messages and DLQ entries at most once a minute (caller holds db_mu). */
void sq_purge_expired(struct sq_queue *s);

#endif
