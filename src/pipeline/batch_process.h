/* batch_process.h - the engine (engine.h) over one handed-over batch: messages in ->
 * objects out, plus per-message stored / failed.
 *
 * Used where the queue hands over a whole batch and wants to know, per message, whether
 * its records are stored (the Lambda processor's SQS event and partial batch response).
 * Each call runs one engine with the conditional commit strategy (commit.h) and flushes
 * everything: one gzip NDJSON object per partition with a DETERMINISTIC id, so a batch
 * retried whole rewrites the same keys with the same records instead of adding
 * duplicates (design.md, "On AWS, object ids are deterministic").
 */
#ifndef CL_BATCH_PROCESS_H
#define CL_BATCH_PROCESS_H

#include "commit.h"
#include "metrics.h"
#include "partition.h"
#include "queue.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* One message of the batch; everything borrowed for the call. */
struct cl_bp_message {
    const char *id;   /* the queue's message id (SQS messageId) */
    const void *body; /* the contract's compressed batch; NULL if it could not be read */
    size_t len;
    struct cl_msg_attrs attrs; /* encoding must be "gzip" */
    int64_t sent_ms;           /* when it was sent (0 if unknown), for EndToEndLatency */
};

struct cl_bp_opts {
    int compression_level;  /* ISA-L level of the objects (default 1) */
    size_t max_message_raw; /* bound on one decoded message (default 64 MiB) */
    int64_t deadline_ms;    /* wall-clock deadline (Unix ms), 0 = none */
    int64_t reserve_ms;     /* no new put starts with less than this left (default 1000) */
    const struct cl_std_metrics *metrics; /* borrowed; NULL: none */
    struct cl_analytics *analytics;       /* borrowed (analytics.h); NULL: off */
};

struct cl_analytics;

void cl_bp_opts_default(struct cl_bp_opts *o);

enum cl_bp_status {
    CL_BP_STORED = 0,   /* every record of the message is in a stored object */
    CL_BP_UNDECODABLE,  /* body unreadable, bad encoding or not normalized records */
    CL_BP_STORE_FAILED, /* a put of a partition holding its records failed */
    CL_BP_DEADLINE      /* a partition holding its records was not written in time */
};

/* Outcome of one call. Caller frees with cl_bp_result_free. */
struct cl_bp_result {
    enum cl_bp_status *status; /* per message, in the order given */
    size_t n;
    char **keys; /* store keys written, in the order written */
    size_t n_keys;
    uint64_t records_stored;
    uint64_t bytes_stored; /* compressed */
    size_t failed;         /* messages not CL_BP_STORED */
};

/* Processes msgs[0..n) into st. Objects go to "<partition>/<id>.ndjson.gz" with
 * cl_commit_object_id. Returns CL_OK (inspect res), CL_ERR_INVAL for bad arguments. */
int cl_batch_process(struct cl_store *st, const struct cl_bp_message *msgs, size_t n,
                     const struct cl_bp_opts *o, struct cl_bp_result *res);
void cl_bp_result_free(struct cl_bp_result *res);

#endif
