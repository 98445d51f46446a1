/* http.c - the daemon's HTTP routes on libmicrohttpd: POST /v1/logs, /healthz, /readyz,
 * GET /metrics (rendered by http_metrics.c).
 *
 * libmicrohttpd calls on_request several times per request: once after the headers
 * (we decide early answers there: 401, 404, 405, 413 by Content-Length, 503), once per
 * chunk of body (appended, bounded), and once more at the end. There the connection is
 * suspended and the body handed to an ingest worker, which parses it, waits for the
 * queue's group commit and resumes the connection; the next call sends the answer.
 * So a few HTTP threads serve any number of connections without blocking on fsync,
 * and per-thread parse buffers exist once per worker, not once per connection. */
#include "daemon.h"

#include "common.h"
#include "json_write.h"
#include "cl_limits.h"
#include "host_check.h"
#include "listen.h"
#include "http_analytics.h"
#include "http_dashboard.h"
#include "http_alarms.h"
#include "http_loki.h"
#include "http_metrics.h"
#include "http_query.h"
#include "http_queue.h"
#include "http_tail.h"
#include "log.h"
#include "retention_thread.h"
#include "tls.h"
#include "workers.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static enum route route_of(const char *url, const char *es_prefix, enum cl_ingest_route *ingest)
{
    switch (cl_ingest_path_of(url, es_prefix, ingest)) { /* /v1/logs and the shippers' paths */
    case CL_PATH_INGEST:
        return ROUTE_LOGS;
    case CL_PATH_HEC_HEALTH:
        return ROUTE_HEC_HEALTH;
    case CL_PATH_ES_INFO:
        return ROUTE_ES_INFO;
    case CL_PATH_OTHER:
        break;
    }
    if (cl_http_analytics_route(url))
        return ROUTE_ANALYTICS;
    if (strcmp(url, "/v1/query") == 0)
        return ROUTE_QUERY;
    if (strcmp(url, CL_TAIL_PATH) == 0) /* before the other Loki routes: a WebSocket */
        return ROUTE_TAIL;
    if (strncmp(url, "/loki/api/v1/", 13) == 0)
        return ROUTE_LOKI;
    if (strcmp(url, "/healthz") == 0)
        return ROUTE_HEALTH;
    if (strcmp(url, "/readyz") == 0)
        return ROUTE_READY;
    if (strcmp(url, "/") == 0)
        return ROUTE_INDEX;
    if (strcmp(url, "/metrics") == 0)
        return ROUTE_METRICS;
    if (strcmp(url, "/v1/alarms") == 0)
        return ROUTE_ALARMS;
    if (strcmp(url, "/explore") == 0)
        return ROUTE_EXPLORE;
    return ROUTE_NONE;
}

/* Builds a response; takes ownership of body (malloc'd by a cl_buf). A body whose sticky
 * buffer failed is never sent half-written: *status becomes 500. NULL when libmicrohttpd
 * cannot allocate the response (body freed; cl_http_queue answers 500). */
static struct MHD_Response *new_response(int *status, struct cl_buf *body, const char *content_type,
                                         int retry_after_s, const char *allow)
{
    if (cl_buf_failed(body)) {
        cl_buf_reset(body);
        cl_buf_append_str(body, "{\"error\":\"internal error: the response exceeded its size "
                                "limit\"}\n");
        *status = 500, content_type = "application/json", retry_after_s = 0;
    }
    size_t len;
    char *data = cl_buf_take(body, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) { /* libmicrohttpd frees a MUST_FREE buffer only with its response */
        free(data);
        return NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (*status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (*status == MHD_HTTP_REQUEST_TIMEOUT) /* RFC 9110: the server closes after a 408 */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    return resp;
}

static enum MHD_Result queue_response(struct MHD_Connection *c, int status,
                                      struct MHD_Response *resp)
{
    return cl_http_queue(c, (unsigned)status, resp);
}

/* Queues a response; takes ownership of body (malloc'd by a cl_buf). es_product adds the
 * header Elasticsearch's clients check on the /es routes. */
static enum MHD_Result respond_product(struct MHD_Connection *c, int status, struct cl_buf *body,
                                       const char *content_type, int retry_after_s,
                                       const char *allow, int es_product)
{
    struct MHD_Response *resp = new_response(&status, body, content_type, retry_after_s, allow);
    if (es_product && resp)
        MHD_add_response_header(resp, CL_ES_PRODUCT_HEADER, CL_ES_PRODUCT);
    return queue_response(c, status, resp);
}

enum MHD_Result cl_http_respond(struct MHD_Connection *c, int status, struct cl_buf *body,
                                const char *content_type, int retry_after_s, const char *allow)
{
    return respond_product(c, status, body, content_type, retry_after_s, allow, 0);
}

enum MHD_Result cl_http_respond_no_store(struct MHD_Connection *c, int status, struct cl_buf *body,
                                         const char *content_type)
{
    struct MHD_Response *resp = new_response(&status, body, content_type, 0, NULL);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return queue_response(c, status, resp);
}

/* Answers {"error": msg} with status. */
static enum MHD_Result respond_error(struct MHD_Connection *c, int status, const char *msg,
                                     int retry_after_s, const char *allow)
{
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_ERROR_RESPONSE);
    cl_buf_append_str(&b, "{\"error\":");
    cl_json_write_string(&b, msg, strlen(msg));
    cl_buf_append_str(&b, "}\n");
    return cl_http_respond(c, status, &b, "application/json", retry_after_s, allow);
}

static enum MHD_Result respond_text(struct MHD_Connection *c, int status, const char *text)
{
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_ERROR_RESPONSE);
    cl_buf_append_str(&b, text);
    return cl_http_respond(c, status, &b, "application/json", 0, NULL);
}

static int is_get(const char *method)
{
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result answer_status_route(struct cl_daemon *d, struct MHD_Connection *c,
                                           enum route route, const char *method)
{
    if (!is_get(method))
        return respond_error(c, 405, "method not allowed", 0, "GET, HEAD");
    if (route == ROUTE_HEALTH)
        return respond_text(c, 200, "{\"status\":\"ok\"}\n");
    if (route == ROUTE_HEC_HEALTH)
        return respond_text(c, 200, CL_HEC_HEALTH_BODY);
    if (route == ROUTE_INDEX && cl_http_dashboard_wanted(c))
        return cl_http_dashboard(c);
    if (route == ROUTE_EXPLORE)
        return cl_http_explore(c);
    if (route == ROUTE_INDEX)
        return respond_text(
            c, 200,
            "{\"service\":\"cloudlog\",\"endpoints\":[\"POST /v1/logs\",\"GET /v1/query\","
            "\"GET /healthz\",\"GET /readyz\",\"GET /metrics\"]}\n");
    if (atomic_load(&d->shutting_down))
        return respond_error(c, 503, "shutting down", 1, NULL);
    if (cl_queue_ping(&d->queue) != CL_OK)
        return respond_error(c, 503, "queue is not writable", 1, NULL);
    char why[400];
    if (!cl_store_ready(d->retention, why, sizeof why))
        return respond_error(c, 503, why, 5, NULL);
    /* Still ready (ingest works on the fresh queue), but say what waits for a salvage. */
    if (cl_gauge_get(d->m.queue_quarantine_pending) > 0)
        return respond_text(c, 200,
                            "{\"status\":\"ready\",\"queue_quarantined\":\"a damaged queue file "
                            "waits in DATA/quarantine: run 'cloudlog verify --repair'\"}\n");
    return respond_text(c, 200, "{\"status\":\"ready\"}\n");
}

/* 1 if the daemon has keys and auth names none of them. */
static int key_refused(struct cl_daemon *d, const char *auth)
{
    if (!d->keyed)
        return 0;
    struct cl_api_keys *k = cl_daemon_keys(d);
    int refused = !cl_api_keys_check(k, auth);
    cl_api_keys_free(k);
    return refused;
}

/* The checks of every read route (GET/HEAD, API key when keys are configured).
 * Returns 1 with the 405/401 answer queued in *res when the request must stop here. */
static int refuse_read(struct cl_daemon *d, struct MHD_Connection *c, const char *method,
                       enum MHD_Result *res)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!is_get(method))
        *res = respond_error(c, 405, "method not allowed; use GET", 0, "GET, HEAD");
    else if (key_refused(d, auth))
        *res = respond_error(
            c, 401, "missing or invalid API key (send Authorization: Bearer <key>)", 0, NULL);
    else
        return 0;
    return 1;
}

static enum MHD_Result query_error(struct MHD_Connection *c, int status, const char *msg,
                                   int retry_after_s)
{
    return respond_error(c, status, msg, retry_after_s, NULL);
}

static enum MHD_Result answer_query(struct cl_daemon *d, struct MHD_Connection *c,
                                    const char *method, struct request *r)
{
    enum MHD_Result refused;
    if (r->query) /* the query resumed the connection: its answer is ready */
        return cl_http_query_answer(c, r->query, query_error);
    if (refuse_read(d, c, method, &refused))
        return refused;
    if (atomic_load(&d->shutting_down))
        return respond_error(c, 503, "shutting down", 1, NULL);
    return cl_http_query_start(d, c, &r->query, query_error);
}

/* GET /metrics: behind the API keys, like the /v1 routes, when keys are configured. */
static enum MHD_Result answer_metrics(struct cl_daemon *d, struct MHD_Connection *c,
                                      const char *method)
{
    enum MHD_Result refused;
    if (refuse_read(d, c, method, &refused))
        return refused;
    return cl_http_metrics(d, c);
}

/* GET /es/: the handshake Elasticsearch clients make, behind the API keys. */
static enum MHD_Result answer_es_info(struct cl_daemon *d, struct MHD_Connection *c,
                                      const char *method)
{
    enum MHD_Result refused;
    if (refuse_read(d, c, method, &refused))
        return refused;
    struct cl_buf b;
    cl_buf_init(&b, 4096);
    cl_buf_append_str(&b, CL_ES_INFO_BODY);
    return respond_product(c, 200, &b, "application/json", 0, NULL, 1);
}

/* GET /v1/alarms: alarm states and transitions (http_alarms.c), behind the API keys. */
static enum MHD_Result answer_alarms(struct cl_daemon *d, struct MHD_Connection *c,
                                     const char *method)
{
    enum MHD_Result refused;
    if (refuse_read(d, c, method, &refused))
        return refused;
    return cl_http_alarms(d, c);
}

/* The analytics routes (http_analytics.c), behind the API keys. */
static enum MHD_Result answer_analytics(struct cl_daemon *d, struct MHD_Connection *c,
                                        const char *method, const char *url)
{
    enum MHD_Result refused;
    if (refuse_read(d, c, method, &refused))
        return refused;
    int which = cl_http_analytics_route(url);
    if (which == 1)
        return cl_http_patterns(d, c);
    return which == 2 ? cl_http_anomalies(d, c) : cl_http_loki_patterns(d, c);
}

/* Counts an answered POST /v1/logs: IngestRequests by status class, the records of a
 * parsed body (resp, NULL for answers given before parsing) and, for a 2xx, the
 * latency from arrival to durable acknowledgement. */
static void count_ingest(struct cl_daemon *d, struct request *r, int status,
                         const struct cl_ingest_response *resp)
{
    cl_counter_add_at(d->m.ingest_requests, cl_status_class_of(status), 1);
    if (r->key >= 0)
        cl_key_usage_record(d->key_usage, cl_api_keys_at(r->keys, (size_t)r->key), status,
                            resp ? resp->accepted : 0, resp ? r->ingest.body_len : 0, cl_mono_ms());
    if (resp) {
        cl_counter_add(d->m.ingested_log_count, resp->accepted);
        cl_counter_add(d->m.rejected_log_count, resp->rejected);
        cl_counter_add(d->m.ingested_bytes, resp->accepted_bytes);
    }
    if (status >= 200 && status < 300)
        cl_histogram_observe(d->m.ingest_latency, (uint64_t)(cl_mono_us() - r->started_us));
}

/* Answers a POST /v1/logs with an error decided before parsing. */
static enum MHD_Result ingest_error(struct cl_daemon *d, struct request *r, int status,
                                    const char *msg, int retry_after_s, const char *allow)
{
    count_ingest(d, r, status, NULL);
    if (r->ingest_route == CL_ROUTE_LOGS)
        return respond_error(r->conn, status, msg, retry_after_s, allow);
    /* HEC's clients expect HEC's {"text":...,"code":N} answers. */
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    cl_ingest_early_answer(r->ingest_route, status, msg, auth != NULL, &r->resp);
    return respond_product(r->conn, r->resp.status, &r->resp.body, r->resp.content_type,
                           retry_after_s, allow, r->resp.es_product);
}

/* Adds n bytes to the global in-memory budget; returns 0, or -1 if over it. */
static int reserve(struct cl_daemon *d, struct request *r, size_t n)
{
    size_t before = atomic_fetch_add(&d->inflight_bytes, n);
    if (before + n > d->cfg->max_inflight && before > 0) {
        atomic_fetch_sub(&d->inflight_bytes, n);
        return -1;
    }
    r->reserved += n;
    return 0;
}

/* Decides, from the headers alone, whether a POST /v1/logs is answered early. */
static void check_ingest_headers(struct cl_daemon *d, struct MHD_Connection *c, struct request *r)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
    struct cl_queue_stats st;

    int wait_s = 0;
    if (d->keyed) {
        r->keys = cl_daemon_keys(d);
        r->key = cl_api_keys_match(r->keys, auth);
    }
    if (d->keyed && r->key < 0) {
        r->status = 401;
        snprintf(r->message, sizeof r->message,
                 "missing or invalid API key "
                 "(send Authorization: Bearer <key>)");
    } else if (atomic_load(&d->shutting_down)) {
        r->status = 503, r->retry_after_s = 1;
        snprintf(r->message, sizeof r->message, "shutting down");
    } else if (cl && len > d->limits.max_body_bytes) {
        r->status = 413;
        snprintf(r->message, sizeof r->message, "body of %llu bytes exceeds the %zu-byte limit",
                 len, d->limits.max_body_bytes);
    } else if (r->key >= 0 &&
               (wait_s = cl_key_usage_admit(d->key_usage, cl_api_keys_at(r->keys, (size_t)r->key),
                                            cl_mono_ms())) > 0) {
        r->status = 429, r->retry_after_s = wait_s;
        snprintf(r->message, sizeof r->message,
                 "API key '%s' is over its rate limit; retry in %d s",
                 cl_api_keys_at(r->keys, (size_t)r->key)->name, wait_s);
    } else if (cl_daemon_queue_stats(d, &st) == CL_OK &&
               (st.visible + st.inflight >= (uint64_t)d->cfg->queue_max_depth ||
                st.bytes >= d->cfg->queue_max_bytes)) {
        r->status = 503, r->retry_after_s = 5;
        snprintf(r->message, sizeof r->message,
                 "queue is over capacity (%llu messages, %llu bytes); retry later",
                 (unsigned long long)(st.visible + st.inflight), (unsigned long long)st.bytes);
    } else if (reserve(d, r,
                       cl ? CL_MIN((size_t)len, CL_INFLIGHT_RESERVE_STEP)
                          : CL_INFLIGHT_RESERVE_STEP) != 0) {
        /* Only a first step is reserved: a Content-Length is a promise, not bytes, and
         * idle connections announcing large bodies must not exhaust --max-inflight.
         * take_body reserves the rest as the bytes arrive. */
        r->status = 503, r->retry_after_s = 1;
        snprintf(r->message, sizeof r->message, "server busy: too many request bytes in memory");
    }
}

/* Takes one chunk of body. Returns MHD_NO to drop a connection that keeps sending
 * far past an early answer. */
static enum MHD_Result take_body(struct cl_daemon *d, struct request *r, const char *data, size_t n)
{
    if (!r->status && r->body.len + n > d->limits.max_body_bytes) {
        r->status = 413;
        snprintf(r->message, sizeof r->message, "body exceeds the %zu-byte limit",
                 d->limits.max_body_bytes);
        cl_buf_free(&r->body);
    }
    if (!r->status && r->body.len + n > r->reserved &&
        reserve(d, r, CL_MAX(n, CL_INFLIGHT_RESERVE_STEP)) != 0) {
        r->status = 503, r->retry_after_s = 1;
        snprintf(r->message, sizeof r->message, "server busy: too many request bytes in memory");
        cl_buf_free(&r->body);
    }
    if (r->status) {
        r->discarded += n;
        return r->discarded > 4 * d->limits.max_body_bytes + (1u << 20) ? MHD_NO : MHD_YES;
    }
    cl_buf_append(&r->body, data, n);
    return MHD_YES;
}

/* Runs on an ingest worker while the connection is suspended. */
static void run_ingest_job(void *arg)
{
    struct request *r = arg;
    cl_ingest_handle(&r->ingest, &r->d->limits, &r->d->queue, &r->resp);
    /* The body is no longer needed (the answer is built): its memory and its share of
     * --max-inflight go back now, before the answer is sent, so a client that posts again
     * right after its 202 finds the budget free. The connection is suspended, so no other
     * thread touches r->reserved until the resume. */
    cl_buf_free(&r->body);
    atomic_fetch_sub(&r->d->inflight_bytes, r->reserved);
    r->reserved = 0;
    r->job = JOB_DONE; /* published to the HTTP thread by resume's lock */
    MHD_resume_connection(r->conn);
}

static enum MHD_Result finish_ingest(struct cl_daemon *d, struct MHD_Connection *c,
                                     struct request *r)
{
    if (r->job == JOB_DONE) {
        count_ingest(d, r, r->resp.status, &r->resp);
        struct MHD_Response *resp = new_response(&r->resp.status, &r->resp.body,
                                                 r->resp.content_type, r->resp.retry_after_s, NULL);
        if (r->resp.es_product)
            MHD_add_response_header(resp, CL_ES_PRODUCT_HEADER, CL_ES_PRODUCT);
        if (r->resp.replayed) /* as Stripe: says the answer is the stored one */
            MHD_add_response_header(resp, "Idempotent-Replayed", "true");
        return queue_response(c, r->resp.status, resp);
    }
    r->ingest = (struct cl_ingest_request){
        .route = r->ingest_route,
        .path = r->path,
        .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
        .content_encoding = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding"),
        .service_header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Cloudlog-Service"),
        .idempotency_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key"),
        .has_credentials = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization") != NULL,
        .body = r->body.data ? r->body.data : "",
        .body_len = r->body.len,
        .received_ms = r->received_ms,
    };
    r->job = JOB_RUNNING;
    MHD_suspend_connection(c);
    cl_workers_submit(d->workers, run_ingest_job, r);
    return MHD_YES;
}

/* A daemon without API keys answers only Host names a web page cannot rebind to it
 * (host_check.h). Returns MHD_YES/MHD_NO after queueing a 421, or -1 to go on. */
static int refuse_host(struct cl_daemon *d, struct MHD_Connection *c)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (d->keyed || cl_host_allowed(host, d->cfg->listen))
        return -1;
    char msg[400];
    snprintf(msg, sizeof msg,
             "Host '%.100s' is refused: without API keys this server answers only localhost, "
             "loopback addresses and its --listen host (a defense against DNS rebinding); "
             "configure --api-key-file to serve other names",
             host);
    return respond_error(c, 421, msg, 0, NULL);
}

/* A browser's cross-site write with no Content-Type (a no-cors fetch of an untyped
 * body) carries Origin; shippers and the CLI send neither Origin nor a form type. */
static int cross_site_untyped(struct MHD_Connection *c)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin") &&
           !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
}

/* A request's state, made at its first call (freed by on_completed). */
static struct request *new_request(struct cl_daemon *d, struct MHD_Connection *c, const char *url)
{
    struct request *r = cl_calloc(1, sizeof *r);
    r->received_ms = cl_now_ms();
    r->started_us = cl_mono_us();
    r->route = route_of(url, d->limits.es_prefix, &r->ingest_route);
    r->path = cl_strdup(url);
    r->d = d;
    r->conn = c;
    r->key = -1;
    cl_buf_init(&r->body, d->limits.max_body_bytes);
    atomic_fetch_add(&d->active_requests, 1);
    return r;
}

/* The first call of an ingest request: method, headers and cross-site checks before any
 * body byte is read. */
static enum MHD_Result begin_ingest(struct cl_daemon *d, struct MHD_Connection *c,
                                    struct request *r, const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return ingest_error(d, r, 405, "method not allowed; use POST", 0, "POST");
    check_ingest_headers(d, c, r);
    if (!r->status && cross_site_untyped(c)) {
        r->status = 415;
        snprintf(r->message, sizeof r->message,
                 "a cross-site request (Origin) needs Content-Type application/json or "
                 "application/x-ndjson");
    }
    if (r->status == 401 || r->status == 413 || r->status == 415 || r->status == 429 ||
        r->status == 503)
        return ingest_error(d, r, r->status, r->message, r->retry_after_s, NULL);
    return MHD_YES;
}

/* The first call of a request: every route but ingest's is answered from here. */
static enum MHD_Result begin_request(struct cl_daemon *d, struct MHD_Connection *c,
                                     struct request *r, const char *url, const char *method,
                                     const char *upload, size_t *upload_size)
{
    int host_rc = refuse_host(d, c);
    if (host_rc >= 0)
        return (enum MHD_Result)host_rc;
    switch (r->route) {
    case ROUTE_NONE:
        return respond_error(c, 404, "not found", 0, NULL);
    case ROUTE_QUERY:
        return answer_query(d, c, method, r);
    case ROUTE_LOKI:
        return cl_http_loki(d, c, url, method, upload, upload_size, &r->loki);
    case ROUTE_METRICS:
        return answer_metrics(d, c, method);
    case ROUTE_ALARMS:
        return answer_alarms(d, c, method);
    case ROUTE_ES_INFO:
        return answer_es_info(d, c, method);
    case ROUTE_ANALYTICS:
        return answer_analytics(d, c, method, url);
    case ROUTE_TAIL:
        return cl_http_tail(d, c, method, &r->tail);
    case ROUTE_LOGS:
        return begin_ingest(d, c, r, method);
    default:
        return answer_status_route(d, c, r->route, method);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct cl_daemon *d = cls;
    struct request *r = *con_cls;
    if (!r) {
        *con_cls = r = new_request(d, c, url);
        return begin_request(d, c, r, url, method, upload, upload_size);
    }
    if (r->route == ROUTE_QUERY)
        return answer_query(d, c, method, r);
    if (r->route == ROUTE_LOKI)
        return cl_http_loki(d, c, url, method, upload, upload_size, &r->loki);
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        return take_body(d, r, upload, n);
    }
    if (r->status)
        return ingest_error(d, r, r->status, r->message, r->retry_after_s, NULL);
    return finish_ingest(d, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct cl_daemon *d = cls;
    struct request *r = *con_cls;
    if (!r)
        return;
    atomic_fetch_sub(&d->inflight_bytes, r->reserved);
    cl_http_query_done(r->query);
    cl_http_loki_done(r->loki);
    cl_http_tail_done(r->tail);
    cl_buf_free(&r->body);
    cl_buf_free(&r->resp.body);
    cl_api_keys_free(r->keys);
    free(r->path);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&d->active_requests, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    cl_log(CL_LOG_WARN, "http: %s", msg);
}

int cl_http_start(struct cl_daemon *d, unsigned *port, char *err, size_t err_len)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (cl_listen_parse(d->cfg->listen, &ss, &len, err, err_len) != 0)
        return -1;
    cl_http_queue_init(); /* the out-of-memory 500, made while memory is available */
    d->tls = cl_tls_load(d->cfg, err, err_len);
    if (!d->tls && err[0])
        return -1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG | cl_tls_mhd_flags(d->tls);
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, d, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, d,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, d,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)d->cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(d->cfg->connection_timeout_ms / 1000),
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)d->cfg->http_threads, MHD_OPTION_ARRAY,
        cl_tls_mhd_options(d->tls), MHD_OPTION_END);
    d->tails = d->mhd ? cl_http_tails_new() : NULL;
    if (!d->mhd) {
        cl_tls_free(d->tls);
        d->tls = NULL;
        snprintf(err, err_len, "cannot listen on %s (address in use or not permitted?)",
                 d->cfg->listen);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    return 0;
}

void cl_http_stop(struct cl_daemon *d)
{
    cl_http_tails_stop(d->tails); /* upgraded connections close before the server stops */
    MHD_stop_daemon(d->mhd);
    cl_http_tails_free(d->tails);
    d->tails = NULL;
    d->mhd = NULL;
    cl_tls_free(d->tls);
    d->tls = NULL;
}
