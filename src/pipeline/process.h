/* process.h - the daemon's processor: a queue in front of the engine (engine.h).
 *
 * One cl_processor per worker thread. Each receives messages, hands them to its engine
 * (which buffers records per partition and commits a partition by flush_size or
 * flush_age_ms, Kinesis Firehose's buffering hints), and does what the engine's
 * outcomes mean for a queue: delete, release with backoff, give back, dead-letter; it
 * also keeps held messages invisible. On a queue with a catalog (SQLite) the engine
 * commits through the catalog transaction (exactly-once); on one without (SQS) through
 * conditional puts of deterministic ids, flushing after every receive (commit.h).
 */
#ifndef CL_PROCESS_H
#define CL_PROCESS_H

#include "commit.h"
#include "metrics.h"
#include "queue.h"
#include "store.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct cl_buffer_budget;

struct cl_process_opts {
    size_t flush_size;    /* raw NDJSON bytes per partition buffer (default 8 MiB) */
    int64_t flush_age_ms; /* oldest buffered record's age before a flush (10 s) */
    /* Every buffer flushes once receives have found nothing for this long (1 s), or a
     * tenth of it right after full receives (a backlog ran out): a drained backlog is
     * stored at once instead of after flush_age_ms. 0: off. */
    int64_t flush_idle_ms;
    size_t buffer_max; /* all partitions of all workers sharing budget (20 MiB) */
    /* Borrowed; shared by the workers of one process (engine.h). NULL (default): this
     * worker alone is bounded by buffer_max. */
    struct cl_buffer_budget *budget;
    int compression_level;  /* ISA-L level 0..3 for objects (1) */
    int visibility_s;       /* receive hides messages this long; extended while held (60) */
    int64_t retry_base_ms;  /* backoff after a failure: base * 2^(receives-1) (1 s) ... */
    int64_t retry_max_ms;   /* ... capped here (5 min), times a jitter in [0.5, 1] */
    size_t receive_batch;   /* messages per receive (10) */
    size_t max_message_raw; /* bound on one decoded message (64 MiB) */
    /* 0 (default): the catalog strategy (needs the queue's catalog); 1: conditional puts
     * (a queue without one, SQS), every receive flushed at once (flush_age_ms ignored). */
    int conditional_commit;
    const struct cl_std_metrics *metrics; /* borrowed; NULL: none (default) */
    /* Borrowed; shared by the workers of one process (breaker.h). NULL (default): the
     * processor makes its own from retry_base_ms and CL_BREAKER_PROBE_MAX_MS. */
    struct cl_breaker *breaker;
    /* Borrowed; shared by the workers (analytics.h, thread-safe). NULL (default): off. */
    struct cl_analytics *analytics;
    /* Borrowed; shared by the workers of one process: when any of them last received a
     * message (cl_now_ms). The idle flush waits until none has for flush_idle_ms, so a
     * worker that lost the race for a few messages does not flush a partial buffer while
     * the others still receive. NULL (default): this worker's own receives. */
    atomic_int_fast64_t *any_received_ms;
};

/* Longest wait between two probes of a failing store (the breaker's max delay). */
#define CL_BREAKER_PROBE_MAX_MS 30000

struct cl_breaker;
struct cl_analytics;

void cl_process_opts_default(struct cl_process_opts *o);

/* Counters since start (for status and metrics). */
struct cl_process_counters {
    uint64_t messages_received;
    uint64_t messages_deleted;
    uint64_t records_stored;
    uint64_t objects_written;
    uint64_t bytes_stored;
    uint64_t failures; /* flushes or messages that failed and were retried */
};

struct cl_processor;

struct cl_held_set;

/* Creates a worker's processor over q and st (borrowed). Processors of one process share held (see
 * held_set.h); NULL gives this one a private set. Caller frees with cl_processor_free. */
struct cl_processor *cl_processor_new(struct cl_queue *q, struct cl_store *st,
                                      const struct cl_process_opts *o, struct cl_held_set *held);

/* One step: receives up to receive_batch messages (waiting up to wait_ms for the first),
 * buffers their records, flushes what is due and extends the visibility of held
 * messages. Returns the number of messages received. */
size_t cl_processor_step(struct cl_processor *p, int wait_ms);

/* Milliseconds until the next partition must flush (flush_age_ms when empty). */
int64_t cl_processor_idle_ms(const struct cl_processor *p);

/* Flushes every buffer (shutdown). On failure the held messages are released for retry. */
void cl_processor_flush_all(struct cl_processor *p);

void cl_processor_counters(const struct cl_processor *p, struct cl_process_counters *c);
void cl_processor_free(struct cl_processor *p);

/* What start-up recovery did. */
struct cl_recover_report {
    size_t published; /* committed objects moved into place */
    size_t discarded; /* uncommitted staging objects deleted */
    size_t missing;   /* catalog rows whose object is gone (neither staged nor final) */
    size_t failed;    /* rows not published for another reason (store down): retried later */
};

/* Start-up recovery (before any worker runs): moves objects that were committed but not
 * yet published into place, and deletes staging objects no catalog row names. A row it
 * cannot publish (its object gone, or the store failing) is logged and counted in
 * *report, and start-up goes on (`cloudlog verify` repairs). Returns CL_OK, or an error
 * with err set if the catalog cannot be read. */
int cl_process_recover(struct cl_queue *q, struct cl_store *st, struct cl_recover_report *report,
                       char *err, size_t err_len);

#endif
