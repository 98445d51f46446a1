/* ingestor.c - log_ingestor: routes like the daemon (POST /v1/logs and the Splunk HEC
 * paths, cl_ingest_path_of; 404 elsewhere, 405 for other methods), checks API keys like the daemon
 * (auth.c), and runs the same cl_ingest_handle, so validation, limits and response bodies cannot
 * drift. */
#include "ingestor.h"

#include "apigw.h"
#include "apikeys.h"
#include "keylimit.h"
#include "common.h"
#include "json_write.h"
#include "cl_limits.h"
#include "log.h"
#include "pipeline_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ingest rows of `cloudlog serve` (pipeline_opts.h), read from the environment. */
static int read_limits(struct cl_ingestor *ing, struct cl_ingest_limits *l, char *err,
                       size_t err_len)
{
    static const struct cl_option rows[] = {CL_OPT_INCLUDE_ROWS(cl_ingest_options, 0)};
    struct cl_ingest_opts o = {0};
    if (cl_env_options(rows, CL_ARRAY_LEN(rows), &o, NULL, err, err_len) != 0)
        return -1;
    cl_ingest_limits_default(l);
    cl_ingest_opts_to_limits(&o, l);
    ing->idem_window_ms = o.idempotency_window_ms;
    return cl_ingest_check_protocols(l, "CLOUDLOG_ES_PREFIX", "CLOUDLOG_LOKI_SERVICE_LABELS", err,
                                     err_len);
}

/* CLOUDLOG_IDEMPOTENCY_STORE (s3://BUCKET/PREFIX, optional): where Idempotency-Key
 * records live, since SQS keeps none. Opened create-only (if_none_match=1). */
static int open_idem_store(struct cl_ingestor *ing, char *err, size_t err_len)
{
    const char *url = getenv("CLOUDLOG_IDEMPOTENCY_STORE");
    if (!url || !*url)
        return 0;
    char full[4200], why[512];
    snprintf(full, sizeof full, "%s%sif_none_match=1", url, strchr(url, '?') ? "&" : "?");
    if (cl_store_open(&ing->idem_store, full, why, sizeof why) != CL_OK) {
        snprintf(err, err_len, "CLOUDLOG_IDEMPOTENCY_STORE %.200s: %.300s", url, why);
        return -1;
    }
    ing->idem_store_open = 1;
    return 0;
}

int cl_ingestor_init(void *ctx, char *err, size_t err_len)
{
    struct cl_ingestor *ing = ctx;
    memset(ing, 0, sizeof *ing);
    ing->key_usage = cl_key_usage_new();
    if (cl_lambda_metrics_init(&ing->lm, CL_LAMBDA_INGEST, err, err_len) != 0)
        return -1;
    ing->metrics_ready = 1;
    if (read_limits(ing, &ing->limits, err, err_len) != 0)
        return -1;
    /* The required variable first: a bare environment names it, as the processor's does. */
    const char *url = cl_env_required("CLOUDLOG_QUEUE_URL", err, err_len);
    if (!url || cl_lambda_read_keys(&ing->keys, err, err_len) != 0)
        return -1;
    struct cl_queue_opts qo;
    cl_queue_opts_default(&qo);
    char why[512];
    if (cl_queue_open(&ing->queue, url, &qo, why, sizeof why) != CL_OK) {
        snprintf(err, err_len, "CLOUDLOG_QUEUE_URL %.200s: %.300s", url, why);
        return -1;
    }
    ing->queue_open = 1;
    return open_idem_store(ing, err, err_len);
}

void cl_ingestor_free(void *ctx)
{
    struct cl_ingestor *ing = ctx;
    if (ing->queue_open)
        cl_queue_close(&ing->queue);
    if (ing->idem_store_open)
        cl_store_close(&ing->idem_store);
    cl_api_keys_free(ing->keys);
    cl_key_usage_free(ing->key_usage);
    if (ing->metrics_ready)
        cl_lambda_metrics_free(&ing->lm);
    memset(ing, 0, sizeof *ing);
}

/* {"error": msg}\n as the daemon's respond_error writes it. */
static void error_response(struct cl_buf *out, int status, const char *msg,
                           const struct cl_apigw_headers *h)
{
    struct cl_buf body;
    cl_buf_init(&body, CL_MAX_ERROR_RESPONSE);
    cl_buf_append_str(&body, "{\"error\":");
    cl_json_write_string(&body, msg, strlen(msg));
    cl_buf_append_str(&body, "}\n");
    cl_apigw_response(out, status, body.data, body.len, h);
    cl_buf_free(&body);
}

/* Counts an answered POST /v1/logs as the daemon's count_ingest does. */
static void count(struct cl_ingestor *ing, int status, const struct cl_ingest_response *resp,
                  int64_t started_us)
{
    const struct cl_std_metrics *m = &ing->lm.m;
    cl_counter_add_at(m->ingest_requests, cl_status_class_of(status), 1);
    if (resp) {
        cl_counter_add(m->ingested_log_count, resp->accepted);
        cl_counter_add(m->rejected_log_count, resp->rejected);
        cl_counter_add(m->ingested_bytes, resp->accepted_bytes);
    }
    if (status >= 200 && status < 300)
        cl_histogram_observe(m->ingest_latency, (uint64_t)(cl_mono_us() - started_us));
}

static void ingest(struct cl_ingestor *ing, const struct cl_apigw_request *req,
                   enum cl_ingest_route route, int64_t started_us, struct cl_buf *out)
{
    struct cl_ingest_request ir = {
        .route = route,
        .path = req->path,
        .content_type = req->content_type,
        .content_encoding = req->content_encoding,
        .service_header = req->service_header,
        .idempotency_key = req->idempotency_key,
        .has_credentials = req->authorization != NULL,
        .idem_store = ing->idem_store_open ? &ing->idem_store : NULL,
        .idem_window_ms = ing->idem_window_ms,
        .body = req->body,
        .body_len = req->body_len,
        /* records without a timestamp get the time API Gateway received the request */
        .received_ms = req->time_epoch_ms > 0 ? req->time_epoch_ms : cl_now_ms(),
    };
    struct cl_ingest_response resp;
    cl_ingest_handle(&ir, &ing->limits, &ing->queue, &resp);
    struct cl_apigw_headers h = {.retry_after_s = resp.retry_after_s,
                                 .content_type = resp.content_type,
                                 .es_product = resp.es_product,
                                 .idempotent_replayed = resp.replayed};
    cl_apigw_response(out, resp.status, resp.body.data, resp.body.len, &h);
    count(ing, resp.status, &resp, started_us);
    int key = cl_api_keys_match(ing->keys, req->authorization);
    if (key >= 0)
        cl_key_usage_record(ing->key_usage, cl_api_keys_at(ing->keys, (size_t)key), resp.status,
                            resp.accepted, req->body_len, cl_mono_ms());
    cl_buf_free(&resp.body);
}

/* An answer decided before the ingest stage, counted, in the route's shape (cloudlog's
 * {"error":...}, or HEC's {"text":...,"code":N} on the HEC routes), as the daemon gives it. */
static void refuse(struct cl_ingestor *ing, const struct cl_apigw_request *req,
                   enum cl_ingest_route route, int status, const char *msg,
                   struct cl_apigw_headers h, int64_t started_us, struct cl_buf *out)
{
    if (route == CL_ROUTE_LOGS) {
        h.www_authenticate = status == 401 ? "Bearer" : NULL;
        error_response(out, status, msg, &h);
    } else {
        struct cl_ingest_response resp;
        cl_ingest_early_answer(route, status, msg, req->authorization != NULL, &resp);
        h.content_type = resp.content_type;
        h.es_product = resp.es_product;
        h.www_authenticate = resp.status == 401 ? "Bearer" : NULL;
        cl_apigw_response(out, resp.status, resp.body.data, resp.body.len, &h);
        cl_buf_free(&resp.body);
    }
    count(ing, status, NULL, started_us);
}

/* GET /es/, the handshake of Elasticsearch clients: behind the API keys, like the
 * daemon's read routes. */
static void es_info(struct cl_ingestor *ing, const struct cl_apigw_request *req, int get,
                    struct cl_buf *out)
{
    if (!get)
        error_response(out, 405, "method not allowed; use GET",
                       &(struct cl_apigw_headers){.allow = "GET, HEAD"});
    else if (ing->keys && !cl_api_keys_check(ing->keys, req->authorization))
        error_response(out, 401, "missing or invalid API key (send Authorization: Bearer <key>)",
                       &(struct cl_apigw_headers){.www_authenticate = "Bearer"});
    else
        cl_apigw_response(out, 200, CL_ES_INFO_BODY, strlen(CL_ES_INFO_BODY),
                          &(struct cl_apigw_headers){.es_product = 1});
}

/* Route and auth checks in the daemon's order; then the ingest stage. */
static void answer(struct cl_ingestor *ing, const struct cl_apigw_request *req, int64_t started_us,
                   struct cl_buf *out)
{
    enum cl_ingest_route route;
    enum cl_ingest_path kind = cl_ingest_path_of(req->path, ing->limits.es_prefix, &route);
    int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (kind == CL_PATH_HEC_HEALTH && get) {
        cl_apigw_response(out, 200, CL_HEC_HEALTH_BODY, strlen(CL_HEC_HEALTH_BODY), NULL);
    } else if (kind == CL_PATH_HEC_HEALTH) {
        error_response(out, 405, "method not allowed",
                       &(struct cl_apigw_headers){.allow = "GET, HEAD"});
    } else if (kind == CL_PATH_ES_INFO) {
        es_info(ing, req, get, out);
    } else if (kind != CL_PATH_INGEST) {
        error_response(out, 404, "not found", NULL);
    } else if (strcmp(req->method, "POST") != 0) {
        refuse(ing, req, route, 405, "method not allowed; use POST",
               (struct cl_apigw_headers){.allow = "POST"}, started_us, out);
    } else if (ing->keys && !cl_api_keys_check(ing->keys, req->authorization)) {
        refuse(ing, req, route, 401,
               "missing or invalid API key (send Authorization: Bearer <key>)",
               (struct cl_apigw_headers){0}, started_us, out);
    } else if (req->body_len > ing->limits.max_body_bytes) {
        /* The daemon's answer when Content-Length is over the limit (API Gateway always
         * knows the length), before any parsing. */
        char msg[160];
        snprintf(msg, sizeof msg, "body of %zu bytes exceeds the %zu-byte limit", req->body_len,
                 ing->limits.max_body_bytes);
        refuse(ing, req, route, 413, msg, (struct cl_apigw_headers){0}, started_us, out);
    } else {
        ingest(ing, req, route, started_us, out);
    }
}

/* The per-key EMF documents of this invocation, after the registry's, on stdout. */
static void emit_key_usage(struct cl_ingestor *ing)
{
    const char *ns = getenv("CLOUDLOG_EMF_NAMESPACE");
    struct cl_buf b;
    cl_buf_init(&b, 1 << 20);
    cl_key_usage_emf(ing->key_usage, ns && *ns ? ns : "cloudlog", cl_now_ms(), &b);
    if (b.len && (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0))
        cl_log(CL_LOG_WARN, "lambda: cannot write EMF metrics to stdout");
    cl_buf_free(&b);
}

void cl_ingestor_handle(void *ctx, const struct cl_lambda_invocation *inv,
                        struct cl_lambda_result *res)
{
    struct cl_ingestor *ing = ctx;
    int64_t started_us = cl_mono_us();
    struct cl_apigw_request req;
    char err[300];
    if (cl_apigw_parse(inv->event.data, inv->event.len, &req, err, sizeof err) != CL_OK) {
        /* Not an HTTP API event: a wiring mistake, reported as a function error. */
        cl_lambda_result_fail(res, "Function.InvalidEvent", "%s", err);
    } else {
        answer(ing, &req, started_us, &res->body);
        cl_apigw_request_free(&req);
    }
    cl_lambda_metrics_emit(&ing->lm);
    emit_key_usage(ing);
}
