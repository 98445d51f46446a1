/* http.c - the daemon's HTTP server on libmicrohttpd: routing, the read routes' checks,
 * /healthz, /readyz and the request lifecycle. The POST routes are in http_ingest.c, the
 * response builder in http_respond.c, each other route in its http_*.c.
 *
 * libmicrohttpd calls on_request several times per request: once after the headers
 * (we decide early answers there: 401, 404, 405, 413 by Content-Length, 503), once per
 * chunk of body (appended, bounded), and once more at the end. There the connection is
 * suspended and the body handed to an ingest worker, which parses it, waits for the
 * queue's group commit and resumes the connection; the next call sends the answer.
 * So a few HTTP threads serve any number of connections without blocking on fsync,
 * and per-thread parse buffers exist once per worker, not once per connection. */
#include "http_int.h"

#include "common.h"
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

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int is_get(const char *method)
{
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result answer_status_route(struct cl_daemon *d, struct MHD_Connection *c,
                                           enum route route, const char *method)
{
    if (!is_get(method))
        return cl_http_respond_error(c, 405, "method not allowed", 0, "GET, HEAD");
    if (route == ROUTE_HEALTH)
        return cl_http_respond_text(c, 200, "{\"status\":\"ok\"}\n");
    if (route == ROUTE_HEC_HEALTH)
        return cl_http_respond_text(c, 200, CL_HEC_HEALTH_BODY);
    if (route == ROUTE_INDEX && cl_http_dashboard_wanted(c))
        return cl_http_dashboard(c);
    if (route == ROUTE_EXPLORE)
        return cl_http_explore(c);
    if (route == ROUTE_INDEX)
        return cl_http_respond_text(
            c, 200,
            "{\"service\":\"cloudlog\",\"endpoints\":[\"POST /v1/logs\",\"GET /v1/query\","
            "\"GET /healthz\",\"GET /readyz\",\"GET /metrics\"]}\n");
    if (atomic_load(&d->shutting_down))
        return cl_http_respond_error(c, 503, "shutting down", 1, NULL);
    if (cl_queue_ping(&d->queue) != CL_OK)
        return cl_http_respond_error(c, 503, "queue is not writable", 1, NULL);
    char why[400];
    if (!cl_store_ready(d->retention, why, sizeof why))
        return cl_http_respond_error(c, 503, why, 5, NULL);
    /* Still ready (ingest works on the fresh queue), but say what waits for a salvage. */
    if (cl_gauge_get(d->m.queue_quarantine_pending) > 0)
        return cl_http_respond_text(
            c, 200,
            "{\"status\":\"ready\",\"queue_quarantined\":\"a damaged queue file "
            "waits in DATA/quarantine: run 'cloudlog verify --repair'\"}\n");
    return cl_http_respond_text(c, 200, "{\"status\":\"ready\"}\n");
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
        *res = cl_http_respond_error(c, 405, "method not allowed; use GET", 0, "GET, HEAD");
    else if (key_refused(d, auth))
        *res = cl_http_respond_error(
            c, 401, "missing or invalid API key (send Authorization: Bearer <key>)", 0, NULL);
    else
        return 0;
    return 1;
}

static enum MHD_Result query_error(struct MHD_Connection *c, int status, const char *msg,
                                   int retry_after_s)
{
    return cl_http_respond_error(c, status, msg, retry_after_s, NULL);
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
        return cl_http_respond_error(c, 503, "shutting down", 1, NULL);
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
    return cl_http_respond_product(c, 200, &b, "application/json", 0, NULL, 1);
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
    return cl_http_respond_error(c, 421, msg, 0, NULL);
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
        return cl_http_respond_error(c, 404, "not found", 0, NULL);
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
        return cl_http_ingest_begin(d, c, r, method);
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
        return cl_http_ingest_body(d, r, upload, n);
    }
    if (r->status)
        return cl_http_ingest_error(d, r, r->status, r->message, r->retry_after_s, NULL);
    return cl_http_ingest_finish(d, c, r);
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
