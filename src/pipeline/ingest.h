/* ingest.h - the ingest stage, runtime-agnostic: request body -> validated, normalized
 * records -> compressed queue messages + per-record result.
 *
 * The daemon's POST /v1/logs and the Lambda ingestor both call cl_ingest_handle, so
 * their validation, limits and responses cannot drift apart.
 */
#ifndef CL_INGEST_H
#define CL_INGEST_H

#include "buf.h"
#include "queue.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

struct cl_ingest_limits {
    size_t max_body_bytes;    /* as received (default 10 MiB) -> 413 */
    size_t max_decoded_bytes; /* after Content-Encoding is undone (default 64 MiB) -> 413 */
    size_t max_record_bytes;  /* one record's raw JSON (default 256 KiB) -> rejected record */
    size_t max_errors;        /* errors listed in a 202/400 body (default 100); count exact */
    size_t max_message_bytes; /* uncompressed records per queue message (default 1 MiB) */
    int max_depth;            /* JSON nesting limit per record (default 64) */
    int compression_level;    /* gzip level for queue messages (default 1) */

    /* Timestamp window: a record older than max_record_age_ms (default 7 days) or further
     * ahead than max_record_future_ms (default 10 minutes) is rejected; 0 turns a side off. */
    int64_t max_record_age_ms;
    int64_t max_record_future_ms;
    /* Distinct partitions per queue message (default 64): more start a new message. */
    size_t max_message_partitions;
};

void cl_ingest_limits_default(struct cl_ingest_limits *l);

/* Messages built from one body. Bodies are owned by the batch. */
struct cl_ingest_batch {
    struct cl_msg_out *msgs;
    size_t n_msgs;
    size_t cap;
};

/* Per-request outcome of parsing. */
struct cl_ingest_parse_result {
    uint32_t accepted;
    uint32_t rejected;
    uint64_t accepted_bytes; /* normalized bytes accepted */
    struct cl_buf errors;    /* JSON array text: [{"index":0,"line":1,"error":"..."},...] */
    uint32_t listed;         /* entries in errors */
    int errors_truncated;    /* 1 if some rejections are counted but not listed */
    int body_error;          /* 1 if the body as a whole is unparseable */
    char body_error_msg[200];
};

/* Parses a decoded body (JSON object, array of objects, or NDJSON), normalizes each
 * record and packs accepted records into gzip NDJSON messages appended to *batch.
 * header_service is the X-Cloudlog-Service header (NULL/empty if absent).
 * Returns CL_OK (see res for per-record outcome and body_error) or CL_ERR_INVAL if
 * header_service is invalid. Caller frees res with cl_ingest_parse_result_free and
 * batch with cl_ingest_batch_free. */
int cl_ingest_parse(const char *body, size_t len, const char *header_service, int64_t received_ms,
                    const struct cl_ingest_limits *lim, struct cl_ingest_batch *batch,
                    struct cl_ingest_parse_result *res);

void cl_ingest_batch_init(struct cl_ingest_batch *b);
void cl_ingest_batch_free(struct cl_ingest_batch *b);
void cl_ingest_parse_result_init(struct cl_ingest_parse_result *r);
void cl_ingest_parse_result_free(struct cl_ingest_parse_result *r);

/* A request as any runtime sees it. Header values may be NULL when absent. */
struct cl_ingest_request {
    const char *content_type;
    const char *content_encoding;
    const char *service_header;
    const char *idempotency_key; /* Idempotency-Key header (docs/ingest.md) */
    /* Where keys live when the queue keeps none (SQS), or NULL: the key is not honoured.
     * A store that refuses overwrites (idem_store.h); idem_window_ms: how long. */
    struct cl_store *idem_store;
    int64_t idem_window_ms;
    const char *body;
    size_t body_len;
    int64_t received_ms;
};

/* The HTTP answer to send. */
struct cl_ingest_response {
    int status;         /* 202, 400, 409, 413, 415, 422, 500, 503 */
    struct cl_buf body; /* JSON */
    int retry_after_s;  /* > 0: send a Retry-After header */
    int replayed;       /* 1: the stored answer to an earlier request with the same key */
    uint32_t accepted;
    uint32_t rejected;
    uint64_t accepted_bytes;
};

/* Runs the whole stage: checks content type and encoding (415), undoes gzip within
 * limits (413), parses (400/202), sends the messages to q and waits until they are
 * durable before answering 202 (500 if the queue fails, 503 if it is full).
 * Caller frees resp->body with cl_buf_free. */
void cl_ingest_handle(const struct cl_ingest_request *req, const struct cl_ingest_limits *lim,
                      struct cl_queue *q, struct cl_ingest_response *resp);

#endif
