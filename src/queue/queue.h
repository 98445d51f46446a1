/* queue.h - the queue interface every backend implements (SQS semantics).
 *
 * A message is one compressed batch of normalized records plus attributes. Backends
 * (local SQLite, Amazon SQS) are tables of function pointers behind an opaque handle;
 * callers use the cl_queue_* wrappers and never include a backend header.
 *
 * Semantics (as SQS): receive hides a message for a visibility timeout and increments
 * its receive count; delete acknowledges it by receipt handle; a message that would be
 * received more than max_receive_count times moves to the dead-letter queue (DLQ)
 * with its last error instead; redrive moves DLQ messages back; messages older than
 * the retention period are dropped. Beyond SQS (optional ops, NULL where a backend
 * cannot): release a message without counting the receive, dead-letter one at once,
 * and store an idempotency key with a send.
 */
#ifndef CL_QUEUE_H
#define CL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct cl_msg_attrs {
    uint32_t record_count;
    uint64_t raw_bytes; /* uncompressed size of the records */
    int64_t min_ts_ms;  /* smallest record timestamp */
    int64_t max_ts_ms;  /* largest record timestamp */
    char encoding[16];  /* body encoding, e.g. "gzip" (NDJSON inside) */
};

/* A message to send; the body is borrowed for the duration of the call. */
struct cl_msg_out {
    const void *body;
    size_t len;
    struct cl_msg_attrs attrs;
};

/* A received (or DLQ-listed) message; owned by the caller, freed with cl_msgs_free. */
struct cl_msg {
    char *id;      /* stable message id */
    char *receipt; /* receipt handle for delete / change-visibility (NULL for DLQ list) */
    void *body;    /* NULL when listed without bodies */
    size_t len;
    struct cl_msg_attrs attrs;
    uint32_t receive_count;
    int64_t sent_ms;          /* when it was first sent */
    int64_t first_receive_ms; /* 0 if never received */
    char *last_error;         /* NULL if none */
};

struct cl_queue_stats {
    uint64_t visible;   /* messages ready for receive */
    uint64_t inflight;  /* received, not yet deleted, still hidden */
    uint64_t bytes;     /* stored body bytes of the main queue */
    uint64_t records;   /* records held in the main queue */
    uint64_t dlq_depth; /* messages in the DLQ */
    uint64_t dlq_bytes;
    int64_t oldest_ms; /* sent time of the oldest main-queue message, 0 if empty */
    uint64_t redriven; /* messages ever moved back from the DLQ (0 where unknown) */
};

/* An idempotency record (POST /v1/logs Idempotency-Key, docs/ingest.md): the client's
 * key, a fingerprint of its request and the answer it got. Sent with the request's
 * messages and stored in the same transaction; everything borrowed for the call. */
struct cl_idem {
    const char *key;
    unsigned char fingerprint[32]; /* SHA-256 over the request (ingest.c says which parts) */
    int status;                    /* HTTP status of the first answer */
    const char *answer;            /* its body */
    size_t answer_len;
};

/* A stored idempotency record; answer owned by the caller (free()). */
struct cl_idem_answer {
    unsigned char fingerprint[32];
    int status;
    char *answer;
    size_t answer_len;
};

struct cl_queue_ops {
    const char *name;
    /* Sends n messages; returns CL_OK only once all are durable (committed). */
    int (*send)(void *impl, const struct cl_msg_out *msgs, size_t n);
    /* Receives up to max visible messages, hiding them for visibility_s seconds;
     * waits up to wait_ms for at least one. *out is an array of *n messages. */
    int (*receive)(void *impl, size_t max, int visibility_s, int wait_ms, struct cl_msg **out,
                   size_t *n);
    /* Deletes by receipt handles; results[i] is CL_OK or CL_ERR_STALE per handle. */
    int (*delete_msgs)(void *impl, const char *const *receipts, size_t n, int *results);
    /* Sets the remaining visibility of a received message (0 = visible now) and, if
     * error is non-NULL, records it as the message's last error. */
    int (*change_visibility)(void *impl, const char *receipt, int visibility_s, const char *error);
    int (*stats)(void *impl, struct cl_queue_stats *st);
    /* Lists up to max DLQ messages oldest first, starting after message id `after`
     * (NULL = from the start); bodies included if with_bodies. */
    int (*dlq_list)(void *impl, const char *after, size_t max, int with_bodies, struct cl_msg **out,
                    size_t *n);
    /* Moves the named DLQ messages (or all when n == 0) back to the main queue with a
     * receive count of 0; *moved counts them. */
    int (*dlq_redrive)(void *impl, const char *const *ids, size_t n, size_t *moved);
    /* Gives a received message back after a failure that was not the message's (store
     * down, disk full): visible again after visibility_s, and that receive does not
     * count toward max_receive_count. NULL where the backend cannot (SQS). */
    int (*release)(void *impl, const char *receipt, int visibility_s, const char *error);
    /* Moves a received message to the DLQ at once with error as its last error (a
     * poison message: it can never succeed). NULL where the backend cannot (SQS). */
    int (*dead_letter)(void *impl, const char *receipt, const char *error);
    /* send, plus idem stored in the same transaction; CL_ERR_EXISTS (nothing sent) if
     * idem->key is already stored. NULL where the backend cannot (SQS). */
    int (*send_keyed)(void *impl, const struct cl_msg_out *msgs, size_t n,
                      const struct cl_idem *idem);
    /* Looks up an idempotency key stored within the window: CL_OK and *out filled, or
     * CL_ERR_NOT_FOUND. */
    int (*idem_get)(void *impl, const char *key, struct cl_idem_answer *out);
    /* Returns CL_OK if a write can be committed now (readiness probe). */
    int (*ping)(void *impl);
    void (*close)(void *impl);
};

struct cl_queue {
    const struct cl_queue_ops *ops;
    void *impl;
};

/* Options common to backends; a backend ignores what it has no use for. */
struct cl_queue_opts {
    int max_receive_count;        /* default 5 */
    int64_t retention_s;          /* default 4 days (SQS default) */
    int64_t dlq_retention_s;      /* 0 (default): DLQ messages are kept until redriven or deleted */
    int64_t idempotency_window_s; /* idempotency keys kept this long (default 24 h) */
    /* 1: this process is the queue's only consumer (cloudlog serve). The backend refuses
     * a second owner and, at open, makes messages a dead owner held visible at once
     * without counting that receive. 0: a tool (CLI) that never receives. */
    int owner;
    int durability_full;     /* 1: fsync every commit (power-loss safe); 0: process-crash safe */
    int group_commit_max_ms; /* upper bound a sender waits for others to join a commit */
};

void cl_queue_opts_default(struct cl_queue_opts *o);

/* Opens the backend named by url: "sqlite:PATH" or a plain path (SQLite file).
 * On failure returns an error and writes a reason into err. Caller closes with
 * cl_queue_close (which frees *q's implementation, not q itself). */
int cl_queue_open(struct cl_queue *q, const char *url, const struct cl_queue_opts *opts, char *err,
                  size_t err_len);

int cl_queue_send(struct cl_queue *q, const struct cl_msg_out *msgs, size_t n);
int cl_queue_receive(struct cl_queue *q, size_t max, int visibility_s, int wait_ms,
                     struct cl_msg **out, size_t *n);
int cl_queue_delete(struct cl_queue *q, const char *const *receipts, size_t n, int *results);
int cl_queue_change_visibility(struct cl_queue *q, const char *receipt, int visibility_s,
                               const char *error);
int cl_queue_stats(struct cl_queue *q, struct cl_queue_stats *st);
int cl_queue_dlq_list(struct cl_queue *q, const char *after, size_t max, int with_bodies,
                      struct cl_msg **out, size_t *n);
int cl_queue_dlq_redrive(struct cl_queue *q, const char *const *ids, size_t n, size_t *moved);
/* Falls back to change_visibility (the receive counts) where release is not offered. */
int cl_queue_release(struct cl_queue *q, const char *receipt, int visibility_s, const char *error);
/* CL_ERR_UNSUPPORTED where the backend cannot move a message to its DLQ itself. */
int cl_queue_dead_letter(struct cl_queue *q, const char *receipt, const char *error);
/* CL_ERR_UNSUPPORTED where the backend has no idempotency store. */
int cl_queue_send_keyed(struct cl_queue *q, const struct cl_msg_out *msgs, size_t n,
                        const struct cl_idem *idem);
int cl_queue_idem_get(struct cl_queue *q, const char *key, struct cl_idem_answer *out);
int cl_queue_ping(struct cl_queue *q);
void cl_queue_close(struct cl_queue *q);

/* Frees an array of n messages returned by receive or dlq_list. */
void cl_msgs_free(struct cl_msg *msgs, size_t n);

#endif
