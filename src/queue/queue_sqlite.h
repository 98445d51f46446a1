/* queue_sqlite.h - the local SQLite queue backend's constructor and test hooks. */
#ifndef CL_QUEUE_SQLITE_H
#define CL_QUEUE_SQLITE_H

#include "queue.h"

#include <stdint.h>

/* Opens (creating if needed) the queue file at path. On success q owns the backend
 * until cl_queue_close; on failure q is untouched except zeroed and err says why. */
int cl_queue_sqlite_open(struct cl_queue *q, const char *path, const struct cl_queue_opts *opts,
                         char *err, size_t err_len);

/* Counters that prove group commit works (benchmarks, tests): send calls and messages
 * accepted, and write transactions committed for them; and WAL checkpoints run by the
 * checkpointer thread, and by a commit itself once the WAL passed its size limit. */
struct cl_queue_sqlite_counters {
    uint64_t send_calls;
    uint64_t send_msgs;
    uint64_t send_commits;
    uint64_t checkpoints;
    uint64_t inline_checkpoints;
    /* Durable commits synced after the queue's lock (queue_sqlite_walsync.c): WAL
     * fdatasyncs made, and commits a sync made for another covered. */
    uint64_t wal_syncs;
    uint64_t wal_syncs_shared;
};

/* Returns CL_ERR_INVAL if q is not an SQLite queue. */
int cl_queue_sqlite_counters(struct cl_queue *q, struct cl_queue_sqlite_counters *c);
/* Fault tests: what the queue calls to sync its WAL after a durable commit
 * (queue_sqlite_walsync.c), for every queue of the process; NULL: fdatasync. */
void cl_queue_sqlite_set_wal_sync_fn(int (*fn)(int fd));

/* For tests: replaces the wall clock (ms since the epoch) used for visibility,
 * retention and timestamps; now == NULL restores cl_now_ms. Call before other threads
 * use the queue. */
int cl_queue_sqlite_set_clock(struct cl_queue *q, int64_t (*now)(void *arg), void *arg);

/* For tests: the backend's connection, e.g. to set PRAGMA max_page_count and simulate
 * a full disk. Use it only while no other thread uses the queue. */
struct sqlite3 *cl_queue_sqlite_db(struct cl_queue *q);

#endif
