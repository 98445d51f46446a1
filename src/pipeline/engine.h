/* engine.h - the one processing engine: queue messages -> partitioned gzip NDJSON objects.
 *
 * Stages (docs/pipeline.md, "Processing"): decode a message whole (a corrupt one is
 * poison and fails alone) -> route each record to its partition in the accumulator
 * (part_acc.h), skipping partitions an earlier delivery stored -> flush a partition by
 * size, age or the buffer budget -> commit it through the commit strategy (commit.h) ->
 * settle its messages: stored everywhere, or failed under the retry policy (retry.h).
 *
 * The engine holds no queue: what "acknowledge" and "retry" mean is the sink's (the
 * daemon's queue in process.c, the Lambda's partial batch response in batch_process.c).
 * One engine per thread; nothing is shared between engines but the breaker.
 */
#ifndef CL_ENGINE_H
#define CL_ENGINE_H

#include "commit.h"
#include "metrics.h"
#include "part_acc.h"
#include "queue.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum cl_engine_outcome {
    CL_ENGINE_STORED = 0,
    CL_ENGINE_POISON,       /* cannot be decoded: no retry can ever store it */
    CL_ENGINE_STORE_FAILED, /* a commit holding its records failed: retry with backoff */
    CL_ENGINE_GIVEN_BACK,   /* systemic failure, not its own: back to the queue uncounted */
    CL_ENGINE_DEADLINE      /* a partition holding its records was not committed in time */
};

/* A message the engine holds (its records wait in one or more partitions). */
struct cl_engine_msg {
    struct cl_acc_member acc; /* first: the accumulator's view */
    char *id;                 /* owned copies */
    char *receipt;
    uint32_t receive_count;
    int64_t sent_ms;                /* for EndToEndLatency */
    int64_t visible_until_ms;       /* the daemon's visibility bookkeeping */
    size_t index;                   /* the caller's position of the message */
    size_t slot;                    /* in the engine's held array */
    enum cl_engine_outcome outcome; /* not STORED once a partition holding it failed */
    int deleted; /* acks_in_commit: the commit deleted it (its delete may fail) */
};

/* What settling a message means: the caller's. m is valid only during the call. */
struct cl_engine_sink {
    void *arg;
    /* Messages whose every record is stored; acked: the commit deleted them already, those
     * with m[i]->deleted set (a failed delete leaves the rest to their next receive). */
    void (*stored)(void *arg, struct cl_engine_msg *const *m, size_t n, int acked);
    void (*failed)(void *arg, const struct cl_engine_msg *m, enum cl_engine_outcome why,
                   const char *error);
    /* An object was committed under key (NULL: not wanted). */
    void (*committed)(void *arg, const char *key);
};

/* One buffer budget for all the engines of a process: the bytes their partitions hold
 * together (used). An engine whose take pushes the total over max commits its own largest
 * partitions until the total would be under 3/4 of max. flushing: the part of used that
 * engines have picked to commit and not yet settled; it stays in used (resident until
 * committed), but another engine over max meanwhile frees only the excess it does not
 * cover (at least its own largest partition), so two engines do not both free it. */
struct cl_buffer_budget {
    atomic_size_t used;
    atomic_size_t flushing;
    /* Resident bytes the engines' partition pools hold beyond used (part_acc.h): each keeps
     * its slack within what max leaves over used and the others' slack, plus
     * CL_ENGINE_POOL_FREE, re-read at every charge and tick (an idle engine's pool is given
     * back), so the buffers' resident bytes stay within max (or used, when over it) plus
     * that much per engine. Two engines charging at the same moment may both count the
     * same room until their next charge: a transient overshoot of at most one pool's cap.
     * Zero-initialized. */
    atomic_size_t slack;
    size_t max;
};

struct cl_engine_opts {
    size_t flush_size;    /* raw bytes of one partition that trigger its flush */
    int64_t flush_age_ms; /* age of a partition's oldest record that triggers it (0: every step) */
    size_t buffer_max;    /* without a budget: this engine's partitions, largest flushes */
    struct cl_buffer_budget *budget;      /* borrowed, shared; NULL: buffer_max for this engine */
    int compression_level;                /* ISA-L level 0..3 of the objects */
    size_t max_message_raw;               /* bound on one decoded message */
    const struct cl_std_metrics *metrics; /* borrowed; NULL: none */
    struct cl_breaker *breaker;           /* borrowed; NULL: none (the Lambda) */
    struct cl_analytics *analytics;       /* borrowed (analytics.h, thread-safe); NULL: off */
};

struct cl_analytics;

/* One received message; borrowed for the call. */
struct cl_engine_in {
    const char *id;
    const char *receipt;
    const void *body; /* NULL: could not be read (poison) */
    size_t len;
    struct cl_msg_attrs attrs;
    uint32_t receive_count;
    int64_t sent_ms;
    size_t index;
};

struct cl_engine_counters {
    uint64_t records_stored;
    uint64_t objects_written;
    uint64_t bytes_stored;
    uint64_t failures; /* poison messages, failed commits */
};

struct cl_engine;

/* commit and sink are borrowed and must outlive the engine. Caller frees with
 * cl_engine_free. */
struct cl_engine *cl_engine_new(const struct cl_engine_opts *o, struct cl_commit *commit,
                                const struct cl_engine_sink *sink);
/* Frees the engine; held messages are dropped without a sink call. */
void cl_engine_free(struct cl_engine *e);

/* Takes a received batch in message-id order (a batch delivered again in any order
 * yields the same objects), each message decoded whole before any record is buffered.
 * Returns CL_OK, or an error after a systemic failure (every held message failed). */
int cl_engine_take(struct cl_engine *e, const struct cl_engine_in *msgs, size_t n);

/* Commits the partitions that are due (size, age, buffer budget). Returns CL_OK, or an
 * error after a systemic failure. */
int cl_engine_flush_due(struct cl_engine *e, int64_t now_ms);
/* Commits every partition, in key order. */
int cl_engine_flush_all(struct cl_engine *e);

/* No commit starts with less than reserve_ms left before deadline_ms (Unix ms; 0: none):
 * its partition's messages fail with CL_ENGINE_DEADLINE. */
void cl_engine_set_deadline(struct cl_engine *e, int64_t deadline_ms, int64_t reserve_ms);

/* The strategy's run-time upkeep (publication retries). */
void cl_engine_tick(struct cl_engine *e, int64_t now_ms);

/* Milliseconds until the next partition is due (flush_age_ms when none is held). */
int64_t cl_engine_due_in_ms(const struct cl_engine *e, int64_t now_ms);

/* The held messages (valid until the next call into the engine). */
struct cl_engine_msg *const *cl_engine_held(const struct cl_engine *e, size_t *n);

void cl_engine_counters(const struct cl_engine *e, struct cl_engine_counters *c);

#endif
