/* http_int.h - what http.c shares with http_respond.c (the response builder) and
 * http_ingest.c (the POST routes of every protocol): a request's state and the
 * functions between them. Internal to src/server. */
#ifndef CL_HTTP_INT_H
#define CL_HTTP_INT_H

#include "daemon.h"

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

enum route {
    ROUTE_NONE,
    ROUTE_LOGS,
    ROUTE_QUERY,
    ROUTE_HEALTH,
    ROUTE_READY,
    ROUTE_INDEX,
    ROUTE_METRICS,
    ROUTE_ALARMS,
    ROUTE_HEC_HEALTH,
    ROUTE_ES_INFO,
    ROUTE_ANALYTICS, /* /v1/patterns, /v1/anomalies, /loki/api/v1/patterns */
    ROUTE_LOKI,      /* /loki/api/v1/...: http_loki.c */
    ROUTE_TAIL,
    ROUTE_EXPLORE
};
enum job_state { JOB_NONE, JOB_RUNNING, JOB_DONE };

struct request {
    enum route route;
    enum cl_ingest_route ingest_route; /* for ROUTE_LOGS: the protocol's route */
    char *path;                        /* the URL, for routes that read it (/es/{index}/_bulk) */
    int status; /* non-zero: answer decided early; the body is read and dropped */
    char message[200];
    int retry_after_s;
    struct cl_buf body;
    size_t reserved;  /* bytes counted in d->inflight_bytes for this request */
    size_t discarded; /* body bytes dropped after an early answer */
    int64_t received_ms;
    int64_t started_us; /* monotonic, for IngestLatency */
    struct cl_daemon *d;
    struct MHD_Connection *conn;
    enum job_state job;
    struct cl_ingest_request ingest;
    struct cl_ingest_response resp;
    void *query;              /* GET /v1/query's stream (http_query.c), NULL before it starts */
    void *loki;               /* a /loki/api/v1/ request (http_loki.c) */
    void *tail;               /* GET /loki/api/v1/tail's tail (http_tail.c), NULL unless accepted */
    struct cl_api_keys *keys; /* ingest: the keys it was checked against, held to the end */
    int key;                  /* ... and the index of its key, -1 if none */
};

/* Builds a response; takes ownership of body (malloc'd by a cl_buf). A body whose sticky
 * buffer failed is never sent half-written: *status becomes 500. NULL when libmicrohttpd
 * cannot allocate the response (body freed; cl_http_queue answers 500). */
struct MHD_Response *cl_http_new_response(int *status, struct cl_buf *body,
                                          const char *content_type, int retry_after_s,
                                          const char *allow);
/* cl_http_respond, plus Elasticsearch's product header when es_product is set. */
enum MHD_Result cl_http_respond_product(struct MHD_Connection *c, int status, struct cl_buf *body,
                                        const char *content_type, int retry_after_s,
                                        const char *allow, int es_product);
/* Answers {"error": msg} with status. */
enum MHD_Result cl_http_respond_error(struct MHD_Connection *c, int status, const char *msg,
                                      int retry_after_s, const char *allow);
/* Answers a fixed JSON text with status. */
enum MHD_Result cl_http_respond_text(struct MHD_Connection *c, int status, const char *text);

/* The ingest routes (http_ingest.c). _begin: the first call (method, API key, limits,
 * backpressure, cross-site checks, before any body byte); _body: one chunk of body
 * (MHD_NO drops a connection that keeps sending far past an early answer); _error: an
 * answer decided before parsing, in the protocol's shape; _finish: hands the body to an
 * ingest worker (connection suspended), then sends its answer once resumed. */
enum MHD_Result cl_http_ingest_begin(struct cl_daemon *d, struct MHD_Connection *c,
                                     struct request *r, const char *method);
enum MHD_Result cl_http_ingest_body(struct cl_daemon *d, struct request *r, const char *data,
                                    size_t n);
enum MHD_Result cl_http_ingest_error(struct cl_daemon *d, struct request *r, int status,
                                     const char *msg, int retry_after_s, const char *allow);
enum MHD_Result cl_http_ingest_finish(struct cl_daemon *d, struct MHD_Connection *c,
                                      struct request *r);

#endif
