/* ingest.h - the ingest stage, runtime-agnostic: request body -> validated, normalized
 * records -> compressed queue messages + per-record result.
 *
 * The daemon's POST /v1/logs and the Lambda ingestor both call cl_ingest_handle, so
 * their validation, limits and responses cannot drift apart.
 */
#ifndef CL_INGEST_H
#define CL_INGEST_H

#include "buf.h"
#include "proto.h"
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

    /* Shipper protocol settings, not limits (docs/shippers.md); NULL means the default.
     * Checked at start-up by cl_ingest_check_es_prefix and cl_loki_service_labels_check. */
    const char *es_prefix;           /* --es-prefix (CL_DEFAULT_ES_PREFIX, "/es") */
    const char *loki_service_labels; /* --loki-service-labels (comma-separated) */
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
    int64_t first_rejected;  /* index of the first rejected record, -1 if none */
    char first_error[160];   /* its reason */
    int empty;               /* a protocol body that decoded to no record at all */
    struct cl_buf outcomes;  /* one byte per record index: 0 accepted, 1 rejected */
    struct cl_buf reasons;   /* the first max_errors rejections' reasons, each NUL-ended */
    const char *body;        /* the parsed body and the decoder's target, borrowed from */
    size_t body_len;         /* the caller until it frees the body (ES answers list the */
    const char *target;      /* body's actions) */
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

/* As cl_ingest_parse for a body in a shipper protocol: decode (proto.h) yields the input
 * records, which go through the same normalizer and packing; record index n is the n-th
 * record the decoder produced. A decoder's body error drops every record of the body. */
int cl_ingest_parse_decoded(cl_proto_decode_fn decode, const char *target, const char *body,
                            size_t len, const char *header_service, int64_t received_ms,
                            const struct cl_ingest_limits *lim, struct cl_ingest_batch *batch,
                            struct cl_ingest_parse_result *res);

void cl_ingest_batch_init(struct cl_ingest_batch *b);
void cl_ingest_batch_free(struct cl_ingest_batch *b);
void cl_ingest_parse_result_init(struct cl_ingest_parse_result *r);
void cl_ingest_parse_result_free(struct cl_ingest_parse_result *r);

/* Which ingest route a request came in on (docs/ingest.md, "Shipper protocols"). On
 * CL_ROUTE_LOGS the body's format is told by Content-Type and shape: cloudlog JSON/NDJSON,
 * OTLP protobuf or JSON, Fluent Bit msgpack or json_stream. */
enum cl_ingest_route {
    CL_ROUTE_LOGS = 0,
    CL_ROUTE_HEC_EVENT,
    CL_ROUTE_HEC_RAW,
    CL_ROUTE_ES_BULK,
    CL_ROUTE_LOKI
};

/* What a request path names, for the daemon and the Lambda ingestor alike: an ingest
 * route (*route set: /v1/logs, Splunk HEC's /services/collector[/event|/raw][/1.0]),
 * HEC's health check (/services/collector/health[/1.0], answered CL_HEC_HEALTH_BODY
 * without a key, as HEC does), or anything else. */
enum cl_ingest_path { CL_PATH_OTHER, CL_PATH_INGEST, CL_PATH_HEC_HEALTH, CL_PATH_ES_INFO };
enum cl_ingest_path cl_ingest_path_of(const char *path, const char *es_prefix,
                                      enum cl_ingest_route *route);
/* Elasticsearch/OpenSearch under es_prefix (--es-prefix, NULL: CL_DEFAULT_ES_PREFIX):
 * GET /es/ (CL_PATH_ES_INFO, answered CL_ES_INFO_BODY), POST /es/_bulk and
 * /es/{index}/_bulk (CL_ROUTE_ES_BULK). Every answer there carries CL_ES_PRODUCT_HEADER:
 * CL_ES_PRODUCT, which Elasticsearch's clients check. */
#define CL_ES_PRODUCT_HEADER "X-Elastic-Product"
#define CL_ES_PRODUCT "Elasticsearch"
#define CL_ES_INFO_BODY                                                                            \
    "{\"name\":\"cloudlog\",\"cluster_name\":\"cloudlog\",\"cluster_uuid\":\"cloudlog\","          \
    "\"version\":{\"number\":\"8.17.0\",\"build_flavor\":\"default\",\"lucene_version\":\"9.12."   \
    "0\","                                                                                         \
    "\"minimum_wire_compatibility_version\":\"7.17.0\","                                           \
    "\"minimum_index_compatibility_version\":\"7.0.0\"},\"tagline\":\"You Know, for Search\"}\n"
/* The index of a _bulk path ("" for /es/_bulk) into out[out_len]; 0, or -1 if the path
 * is no _bulk path under es_prefix or the index does not fit. */
int cl_ingest_es_index(const char *path, const char *es_prefix, char *out, size_t out_len);
/* 0 if prefix is a valid --es-prefix: "/" then segments of [A-Za-z0-9._~-] joined by
 * single "/", no trailing "/", at most CL_MAX_ES_PREFIX bytes, and a first segment that is
 * none of cloudlog's own (v1, loki, services, healthz, readyz, metrics); else -1 with why. */
int cl_ingest_check_es_prefix(const char *prefix, char *why, size_t why_len);
/* Both protocol settings of l; on error err names the setting as es_name or labels_name
 * (the daemon's flag or the Lambda's environment variable). 0 or -1. */
int cl_ingest_check_protocols(const struct cl_ingest_limits *l, const char *es_name,
                              const char *labels_name, char *err, size_t err_len);
#define CL_HEC_HEALTH_BODY "{\"text\":\"HEC is healthy\",\"code\":17}\n"

/* A request as any runtime sees it. Header values may be NULL when absent. */
struct cl_ingest_request {
    enum cl_ingest_route route;
    const char *path; /* the request path (CL_ROUTE_ES_BULK reads its index) */
    const char *content_type;
    const char *content_encoding;
    const char *service_header;
    const char *idempotency_key; /* Idempotency-Key header (docs/ingest.md) */
    /* 1 if the request carried an Authorization header, which no cross-site request of a
     * browser can send without a CORS preflight (the HEC routes' text/plain, ingest.c). */
    int has_credentials;
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
    int status;               /* 202, 400, 409, 413, 415, 422, 500, 503 (or the protocol's) */
    struct cl_buf body;       /* JSON, or the protocol's own answer */
    const char *content_type; /* static string: the body's media type */
    int es_product;           /* 1: send CL_ES_PRODUCT_HEADER (Elasticsearch routes) */
    int retry_after_s;        /* > 0: send a Retry-After header */
    int replayed;             /* 1: the stored answer to an earlier request with the same key */
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

/* Fills resp (initializing its body) with an answer decided before the ingest stage ran
 * (401, 405, 413 by Content-Length, 503), in the shape the route's clients expect:
 * cloudlog's {"error":...} or, on the Splunk HEC routes, HEC's {"text":...,"code":N}.
 * has_credentials tells a missing key (HEC 401) from a wrong one (HEC 403).
 * Caller frees resp->body with cl_buf_free. */
void cl_ingest_early_answer(enum cl_ingest_route route, int status, const char *msg,
                            int has_credentials, struct cl_ingest_response *resp);

#endif
