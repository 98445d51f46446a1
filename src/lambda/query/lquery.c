/* lquery.c - log_query: an API Gateway HTTP API event for /loki/api/v1/... becomes a
 * cl_loki_request, answered by cl_loki_serve (the daemon's handlers, loki_read.h) over the
 * store of CLOUDLOG_STORE, within API Gateway's 30 s and the 6 MB response limit. */
#include "lquery.h"

#include "apigw.h"
#include "apikeys.h"
#include "cl_version.h"
#include "codec.h"
#include "common.h"
#include "lambda_env.h"
#include "log.h"
#include "loki_read.h"
#include "query_opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The query budget rows of `cloudlog serve`, read from the environment. The deadline's
 * default leaves API Gateway's 30 s room for a cold start and the answer. */
struct limit_opts {
    int64_t timeout_ms;
    uint64_t max_bytes;
    int match, depth;
    uint64_t heap;
};
#define OFF(f) offsetof(struct limit_opts, f)
static const struct cl_option limit_rows[] = {
    CL_QUERY_LIMIT_OPTIONS("25s", "16GiB", OFF(timeout_ms), OFF(max_bytes), OFF(match), OFF(depth),
                           OFF(heap)),
};
#undef OFF

static int read_limits(struct cl_query *q, char *err, size_t err_len)
{
    struct limit_opts o = {0};
    if (cl_env_options(limit_rows, CL_ARRAY_LEN(limit_rows), &o, NULL, err, err_len) != 0)
        return -1;
    memset(q, 0, sizeof *q);
    q->timeout_ms = o.timeout_ms;
    q->max_bytes = o.max_bytes;
    q->regex_match_limit = (uint32_t)o.match;
    q->regex_depth_limit = (uint32_t)o.depth;
    q->regex_heap_limit = o.heap;
    return 0;
}

int cl_lquery_init(void *ctx, char *err, size_t err_len)
{
    struct cl_lquery *lq = ctx;
    memset(lq, 0, sizeof *lq);
    if (cl_lambda_metrics_init(&lq->lm, CL_LAMBDA_QUERY, err, err_len) != 0)
        return -1;
    lq->metrics_ready = 1;
    if (read_limits(&lq->limits, err, err_len) != 0)
        return -1;
    /* The required variable first: a bare environment names it, as the other functions do. */
    if (cl_lambda_open_store(&lq->store, err, err_len) != 0)
        return -1;
    lq->store_open = 1;
    return cl_lambda_read_keys(&lq->keys, err, err_len);
}

void cl_lquery_free(void *ctx)
{
    struct cl_lquery *lq = ctx;
    if (lq->store_open)
        cl_store_close(&lq->store);
    cl_api_keys_free(lq->keys);
    if (lq->metrics_ready)
        cl_lambda_metrics_free(&lq->lm);
    memset(lq, 0, sizeof *lq);
}

/* The deadline of one query: the configured one, cut to what API Gateway still waits
 * (from requestContext.timeEpoch, when plausible) and what the invocation has left. */
static int64_t query_timeout_ms(const struct cl_lquery *lq, const struct cl_apigw_request *req,
                                const struct cl_lambda_invocation *inv, int64_t now_ms)
{
    int64_t t = lq->limits.timeout_ms > 0 ? lq->limits.timeout_ms : INT64_MAX;
    int64_t apigw = CL_LQ_APIGW_TIMEOUT_MS - CL_LQ_DEADLINE_MARGIN_MS;
    int64_t waited = now_ms - req->time_epoch_ms;
    if (req->time_epoch_ms > 0 && waited >= 0 && waited < apigw)
        apigw -= waited;
    t = CL_MIN(t, apigw);
    int64_t left = cl_lambda_remaining_ms(inv);
    if (left != INT64_MAX)
        t = CL_MIN(t, left - CL_LQ_DEADLINE_MARGIN_MS);
    return CL_MAX(t, (int64_t)1);
}

/* A 408 from the engine names --query-timeout; here the limit is API Gateway's or the
 * environment's, so the message says which. */
static void explain_deadline(struct cl_loki_response *r, int64_t timeout_ms)
{
    char msg[400];
    snprintf(msg, sizeof msg,
             "query deadline exceeded: stopped after %.1f s (API Gateway answers a Lambda "
             "within 30 s; CLOUDLOG_QUERY_TIMEOUT); narrow the time range or the selector, or "
             "query `cloudlog serve` over the same store",
             (double)timeout_ms / 1000.0);
    cl_loki_error(r, 408, msg);
}

static void serve(struct cl_lquery *lq, const struct cl_apigw_request *req,
                  const struct cl_lambda_invocation *inv, struct cl_loki_response *r)
{
    struct cl_query_source src = {.store = &lq->store}; /* no catalog: pruning by keys */
    struct cl_loki_ctx ctx = {.src = &src,
                              .base = lq->limits,
                              .now_ms = cl_now_ms(),
                              .version = CL_VERSION,
                              .revision = CL_COMMIT,
                              .max_response = CL_LQ_MAX_PAYLOAD};
    ctx.base.timeout_ms = query_timeout_ms(lq, req, inv, ctx.now_ms);
    /* compressed, an answer of the daemon's size may still fit API Gateway's 6 MB */
    if (cl_apigw_accepts_gzip(req->accept_encoding))
        ctx.max_response = 0;
    struct cl_loki_request rq = {.method = req->method,
                                 .path = req->path + strlen(CL_LOKI_PREFIX),
                                 .authorization = req->authorization,
                                 .keys = lq->keys,
                                 .form_len = req->body_len};
    cl_loki_serve(&ctx, &rq, req->raw_query, strlen(req->raw_query), req->body, req->body_len, r);
    if (r->status == 408)
        explain_deadline(r, ctx.base.timeout_ms);
}

/* The 2.0 response of r into event: gzip-compressed (base64, Content-Encoding: gzip) when
 * the client takes it and the body is worth it, else the JSON as text. */
static void encode(const struct cl_loki_response *r, int gzip_ok, struct cl_buf *event)
{
    struct cl_apigw_headers h = {.retry_after_s = r->retry_after_s,
                                 .content_type = r->content_type,
                                 .allow = r->status == 405 ? CL_LOKI_ALLOW : NULL,
                                 .www_authenticate = r->status == 401 ? "Bearer" : NULL};
    struct cl_buf z;
    cl_buf_init(&z, CL_LQ_MAX_PAYLOAD);
    if (gzip_ok && r->body.len >= CL_LQ_GZIP_MIN &&
        cl_gzip_compress(r->body.data, r->body.len, CL_GZIP_LEVEL_DEFAULT, &z) == CL_OK) {
        h.content_encoding = "gzip";
        cl_apigw_response(event, r->status, z.data, z.len, &h);
    } else {
        cl_apigw_response(event, r->status, r->body.data, r->body.len, &h);
    }
    cl_buf_free(&z);
}

/* r as an HTTP API 2.0 response into out, or a Loki-shaped 500 when it would pass
 * the 6 MB a synchronous Lambda may answer (escaping can double a JSON body, base64
 * adds a third to a gzip one). Returns the status sent. */
static int respond(const struct cl_loki_response *r, int gzip_ok, struct cl_buf *out)
{
    int status = r->status;
    struct cl_buf event;
    cl_buf_init(&event, 2 * (size_t)CL_LQ_MAX_PAYLOAD + 65536);
    encode(r, gzip_ok, &event);
    if (cl_buf_failed(&event) || event.len > CL_LQ_MAX_PAYLOAD) {
        struct cl_loki_response e = {0};
        char msg[300];
        cl_buf_init(&e.body, 4096);
        snprintf(msg, sizeof msg,
                 "the answer exceeds the 6 MB a Lambda may return through API Gateway "
                 "(%zu bytes of JSON%s): narrow the query (a shorter range, a lower limit, a "
                 "larger step)",
                 r->body.len, gzip_ok ? ", gzip-compressed" : "; send Accept-Encoding: gzip");
        cl_loki_error(&e, 500, msg);
        status = e.status;
        cl_buf_reset(&event);
        cl_apigw_response(&event, e.status, e.body.data, e.body.len,
                          &(struct cl_apigw_headers){.content_type = e.content_type});
        cl_buf_free(&e.body);
    }
    cl_buf_append(out, event.data, event.len);
    cl_buf_free(&event);
    return status;
}

/* Route: only /loki/api/v1/... (and not its WebSocket tail) reaches the handlers.
 * Returns the status sent. */
static int answer(struct cl_lquery *lq, const struct cl_apigw_request *req,
                  const struct cl_lambda_invocation *inv, struct cl_buf *out)
{
    struct cl_loki_response r = {0};
    cl_buf_init(&r.body, 4096);
    size_t plen = strlen(CL_LOKI_PREFIX);
    if (strncmp(req->path, CL_LOKI_PREFIX, plen) != 0)
        cl_loki_error(&r, 404, "404 page not found");
    else if (strcmp(req->path + plen, "tail") == 0)
        cl_loki_error(&r, 404,
                      "the live tail (/loki/api/v1/tail, a WebSocket) is served by `cloudlog "
                      "serve` only: API Gateway's HTTP API carries no WebSocket");
    else {
        cl_buf_free(&r.body); /* cl_loki_serve initializes its own */
        serve(lq, req, inv, &r);
    }
    int status = respond(&r, cl_apigw_accepts_gzip(req->accept_encoding), out);
    cl_buf_free(&r.body);
    return status;
}

void cl_lquery_handle(void *ctx, const struct cl_lambda_invocation *inv,
                      struct cl_lambda_result *res)
{
    struct cl_lquery *lq = ctx;
    struct cl_apigw_request req;
    char err[300];
    if (cl_apigw_parse(inv->event.data, inv->event.len, &req, err, sizeof err) != CL_OK) {
        /* Not an HTTP API event: a wiring mistake, reported as a function error. */
        cl_lambda_result_fail(res, "Function.InvalidEvent", "%s", err);
        return;
    }
    int64_t started_us = cl_mono_us();
    int status = answer(lq, &req, inv, &res->body);
    cl_lambda_query_count(&lq->lm, status, started_us);
    cl_log(CL_LOG_DEBUG, "log_query: %s %s: %d in %lld ms", req.method, req.path, status,
           (long long)((cl_mono_us() - started_us) / 1000));
    cl_apigw_request_free(&req);
    cl_lambda_metrics_emit(&lq->lm);
}
