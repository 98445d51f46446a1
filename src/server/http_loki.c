/* http_loki.c - the /loki/api/v1/ routes on libmicrohttpd: a thin adapter that reads the
 * URL parameters or a form body, suspends the connection while a query worker runs the
 * route, and sends the answer. What is admitted and what is answered come from
 * src/query/loki_read.h (cl_loki_admit, cl_loki_handle), which the log_query Lambda calls
 * the same way (src/lambda/query/).
 *
 * A route that reads the store runs on a query worker while the connection is
 * suspended (the HTTP threads never scan): --max-queries run at once, as many again
 * times LOKI_QUEUE_FACTOR - 1 wait their turn, and all obey the same deadline, byte
 * budget and regex limits as GET /v1/query. Its answer is built whole
 * (bounded by the API's limits: lines, series, points, 64 MiB) and sent at once. */
#include "http_loki.h"

#include "cl_limits.h"
#include "common.h"
#include "cl_version.h"
#include "loki_read.h"
#include "workers.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define QUERY_NICE 10 /* as GET /v1/query: scans give way to ingest */
/* A dashboard refresh sends a burst of queries (one per panel, often more than
 * --max-queries): up to this many times --max-queries wait in the query workers' FIFO
 * instead of failing with 503. They count against the slots GET /v1/query takes too. */
#define LOKI_QUEUE_FACTOR 4

struct loki_req {
    struct cl_daemon *d;
    struct MHD_Connection *conn;
    char *path;
    char *method;
    enum cl_loki_kind kind;
    int post, too_large, started, done;
    struct cl_buf form;
    struct cl_loki_params params;
    struct cl_loki_response resp;
};

/* Answers through the daemon's one response builder; a 405 names the methods. */
static enum MHD_Result send_response(struct MHD_Connection *c, int status, struct cl_buf *body,
                                     const char *content_type, int retry_after_s)
{
    const char *allow = status == MHD_HTTP_METHOD_NOT_ALLOWED ? CL_LOKI_ALLOW : NULL;
    return cl_http_respond(c, status, body, content_type, retry_after_s, allow);
}

enum MHD_Result cl_http_loki_error(struct MHD_Connection *c, int status, const char *msg,
                                   int retry_after_s)
{
    struct cl_loki_response r;
    cl_buf_init(&r.body, CL_MAX_ERROR_RESPONSE);
    cl_loki_error(&r, status, msg);
    return send_response(c, status, &r.body, r.content_type, retry_after_s);
}

static int loki_cancelled(void *arg)
{
    struct loki_req *q = arg;
    return atomic_load(&q->d->shutting_down);
}

/* The daemon's query limits, as GET /v1/query applies them. */
static void request_ctx(struct loki_req *q, struct cl_query_source *src, struct cl_loki_ctx *ctx)
{
    const struct cl_server_config *cfg = q->d->cfg;
    src->store = &q->d->store;
    src->catalog = cl_queue_catalog(&q->d->queue); /* NULL where the backend keeps none */
    memset(ctx, 0, sizeof *ctx);
    ctx->src = src;
    ctx->now_ms = cl_now_ms();
    ctx->version = CL_VERSION;
    ctx->revision = CL_COMMIT;
    ctx->base.timeout_ms = cfg->query_timeout_ms;
    ctx->base.max_bytes = cfg->query_max_bytes;
    ctx->base.regex_match_limit = (uint32_t)cfg->regex_match_limit;
    ctx->base.regex_depth_limit = (uint32_t)cfg->regex_depth_limit;
    ctx->base.regex_heap_limit = cfg->regex_heap_limit;
    ctx->base.cancelled = loki_cancelled;
    ctx->base.cancel_arg = q;
}

static void run_loki_job(void *arg)
{
    struct loki_req *q = arg;
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), QUERY_NICE);
    struct cl_query_source src;
    struct cl_loki_ctx ctx;
    request_ctx(q, &src, &ctx);
    cl_loki_handle(&ctx, q->path, &q->params, &q->resp);
    atomic_fetch_sub(&q->d->queries_running, 1);
    q->done = 1; /* published to the HTTP thread by resume's lock */
    MHD_resume_connection(q->conn);
}

static enum MHD_Result take_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    cl_loki_params_add(cls, key, value);
    return MHD_YES;
}

/* Runs the request: at once (buildinfo), or on a query worker (suspending c). */
static enum MHD_Result start(struct loki_req *q, struct MHD_Connection *c)
{
    q->started = 1;
    if (q->too_large) { /* the form's size is known now (its key was checked at first) */
        struct cl_loki_request rq = {
            .method = q->method, .path = q->path, .form_len = CL_LOKI_MAX_FORM + 1};
        (void)cl_loki_admit(&rq, &q->resp);
        return send_response(c, q->resp.status, &q->resp.body, q->resp.content_type, 0);
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, take_arg, &q->params);
    if (q->form.len)
        cl_loki_params_add_form(&q->params, q->form.data, q->form.len);
    if (q->kind != CL_LOKI_SCANNING) {
        struct cl_query_source src;
        struct cl_loki_ctx ctx;
        request_ctx(q, &src, &ctx);
        cl_loki_handle(&ctx, q->path, &q->params, &q->resp);
        return send_response(c, q->resp.status, &q->resp.body, q->resp.content_type, 0);
    }
    int running = atomic_fetch_add(&q->d->queries_running, 1);
    if (running >= LOKI_QUEUE_FACTOR * q->d->cfg->max_queries) {
        atomic_fetch_sub(&q->d->queries_running, 1);
        char msg[200];
        snprintf(msg, sizeof msg,
                 "too many queries running or waiting (%d: 4 x --max-queries); retry later",
                 LOKI_QUEUE_FACTOR * q->d->cfg->max_queries);
        return cl_http_loki_error(c, 503, msg, 1);
    }
    MHD_suspend_connection(c);
    cl_workers_submit(q->d->query_workers, run_loki_job, q);
    return MHD_YES;
}

/* The checks made from the request line and headers (cl_loki_admit). Returns the route's
 * kind, or CL_LOKI_UNKNOWN with the refusal queued in *res. */
static enum cl_loki_kind admit(struct cl_daemon *d, struct MHD_Connection *c, const char *method,
                               const char *path, enum MHD_Result *res)
{
    struct cl_loki_request rq = {
        .method = method,
        .path = path,
        .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
        .keys = d->keys,
        .shutting_down = atomic_load(&d->shutting_down),
    };
    struct cl_loki_response r;
    enum cl_loki_kind kind = cl_loki_admit(&rq, &r);
    if (kind == CL_LOKI_UNKNOWN)
        *res = send_response(c, r.status, &r.body, r.content_type, r.retry_after_s);
    return kind;
}

enum MHD_Result cl_http_loki(struct cl_daemon *d, struct MHD_Connection *c, const char *url,
                             const char *method, const char *upload, size_t *upload_size,
                             void **state)
{
    struct loki_req *q = *state;
    if (!q) {
        const char *path = url + strlen(CL_LOKI_PREFIX);
        enum MHD_Result res;
        enum cl_loki_kind kind = admit(d, c, method, path, &res);
        if (kind == CL_LOKI_UNKNOWN)
            return res;
        q = cl_calloc(1, sizeof *q);
        q->d = d;
        q->conn = c;
        q->path = cl_strdup(path);
        q->method = cl_strdup(method);
        q->kind = kind;
        q->post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
        cl_buf_init(&q->form, CL_LOKI_MAX_FORM);
        *state = q;
        return q->post ? MHD_YES : start(q, c);
    }
    if (q->done)
        return send_response(c, q->resp.status, &q->resp.body, q->resp.content_type,
                             q->resp.retry_after_s);
    if (*upload_size) {
        q->too_large |= cl_buf_append(&q->form, upload, *upload_size) != 0;
        *upload_size = 0;
        return MHD_YES;
    }
    return q->started ? MHD_YES : start(q, c);
}

void cl_http_loki_done(void *state)
{
    struct loki_req *q = state;
    if (!q)
        return;
    cl_loki_params_free(&q->params);
    cl_buf_free(&q->resp.body);
    cl_buf_free(&q->form);
    free(q->path);
    free(q->method);
    free(q);
}
