/* queue.h - the queue interface every backend implements (SQS semantics).
 *
 * A message (message.h, the contract in core) is one compressed batch of normalized
 * records plus attributes. Backends
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

#include "message.h"

#include <stddef.h>
#include <stdint.h>

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

struct cl_salvage_result;       /* queue_repair.h */
struct cl_queue_quarantine_ops; /* queue_repair.h */

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
    /* Finds DLQ messages by id: found[i] is message ids[i] (with its body if with_body;
     * caller frees each with cl_msgs_free(found[i], 1)) or NULL when it is not there (an
     * id that is no id of this backend's is not there). */
    int (*dlq_find)(void *impl, const char *const *ids, size_t n, int with_body,
                    struct cl_msg **found);
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
    /* The catalog beside the queue (catalog.h), owned by the queue; NULL member where
     * the backend has none. */
    struct cl_catalog *(*catalog)(void *impl);
    /* cl_queue_integrity and cl_queue_salvage (queue_repair.h); NULL where the backend
     * has no storage of its own to check or no quarantined files to take from. */
    int (*integrity)(void *impl, size_t max_lines, void (*fn)(void *arg, const char *line),
                     void *arg);
    int (*salvage)(void *impl, const char *src_path,
                   int (*check)(void *arg, const struct cl_msg *m, char *why, size_t why_len),
                   void *check_arg, struct cl_salvage_result *r, char *err, size_t err_len);
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
    /* 1: stats also fills oldest_ms where that costs another service (SQS: CloudWatch's
     * ApproximateAgeOfOldestMessage); a backend that always knows it ignores this. */
    int stats_oldest;
};

void cl_queue_opts_default(struct cl_queue_opts *o);

/* THE REGISTRY (queue.c): one entry per backend. A backend is one library (CMake
 * cl_queue_<name>) plus one line in queue.c's table; nothing above src/queue names it.
 * Callers ask for capabilities, never for a backend's name. */

/* Capabilities of a backend (struct cl_queue_backend.caps):
 * LOCAL_FILE: kept in a local file that "scheme:PATH" or a plain path names (opening
 *   creates it); the process is its own durability, not a remote service.
 * CATALOG: a catalog lives beside the queue (cl_queue_catalog is not NULL).
 * EXACT_STATS: stats counts records and bytes exactly; without it, only approximate
 *   depths (the other totals read 0).
 * DLQ_SAMPLE: dlq_list returns a sample of the DLQ (peeked), not all of it in id order;
 *   dlq_find looks only among such samples. */
#define CL_QUEUE_CAP_LOCAL_FILE 0x1u
#define CL_QUEUE_CAP_CATALOG 0x2u
#define CL_QUEUE_CAP_EXACT_STATS 0x4u
#define CL_QUEUE_CAP_DLQ_SAMPLE 0x8u

struct cl_queue_backend {
    const char *name;              /* "sqlite": shown in logs and `status --json` */
    const char *label;             /* for sentences: "SQLite", "SQS" */
    const char *const prefixes[4]; /* URL prefixes claiming this backend (NULL-ended) */
    const char *forms;             /* URL forms for help and errors */
    unsigned caps;
    /* Opens the backend: gets the path for CL_QUEUE_CAP_LOCAL_FILE, else the whole URL.
     * NULL when this program is linked without the backend's library. */
    int (*open)(struct cl_queue *q, const char *url, const struct cl_queue_opts *opts, char *err,
                size_t err_len);
    /* Opens the catalog beside the queue for reads alone (catalog.h,
     * cl_catalog_open_reader); gets what open gets. NULL without CL_QUEUE_CAP_CATALOG. */
    int (*open_catalog_reader)(const char *url, struct cl_catalog **out, char *err, size_t err_len);
    /* Moving a damaged queue file aside and reading it later (queue_repair.h); NULL
     * without CL_QUEUE_CAP_LOCAL_FILE. */
    const struct cl_queue_quarantine_ops *quarantine;
};

/* The backend url names (one of its prefixes, or no scheme at all: the local-file
 * backend), or NULL for an unknown scheme. */
const struct cl_queue_backend *cl_queue_backend_of(const char *url);

/* The file a URL names when its backend keeps the queue in a local file, else NULL;
 * points into url. */
const char *cl_queue_url_file(const char *url);

/* Writes the URL naming the queue file at path with the local-file backend ("scheme:"
 * and path, so a path with a colon is never read as a scheme) into out. Returns 0, or -1
 * if it does not fit or no local-file backend is registered. */
int cl_queue_file_url(const char *path, char *out, size_t out_len);

/* Opens the backend named by url (cl_queue_backend_of). On failure returns an error and
 * writes a reason into err. Caller closes with cl_queue_close (which frees *q's
 * implementation, not q itself). */
int cl_queue_open(struct cl_queue *q, const char *url, const struct cl_queue_opts *opts, char *err,
                  size_t err_len);

/* cl_queue_open of the local-file backend on the queue file at path. */
int cl_queue_open_file(struct cl_queue *q, const char *path, const struct cl_queue_opts *opts,
                       char *err, size_t err_len);

int cl_queue_send(struct cl_queue *q, const struct cl_msg_out *msgs, size_t n);
int cl_queue_receive(struct cl_queue *q, size_t max, int visibility_s, int wait_ms,
                     struct cl_msg **out, size_t *n);
int cl_queue_delete(struct cl_queue *q, const char *const *receipts, size_t n, int *results);
int cl_queue_change_visibility(struct cl_queue *q, const char *receipt, int visibility_s,
                               const char *error);
int cl_queue_stats(struct cl_queue *q, struct cl_queue_stats *st);
int cl_queue_dlq_list(struct cl_queue *q, const char *after, size_t max, int with_bodies,
                      struct cl_msg **out, size_t *n);
int cl_queue_dlq_find(struct cl_queue *q, const char *const *ids, size_t n, int with_body,
                      struct cl_msg **found);
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

#endif
