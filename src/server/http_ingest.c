/* http_ingest.c - the daemon's POST routes (POST /v1/logs and every shipper protocol's
 * path): early answers from the headers (401, 405, 413, 415, 429, 503), the body read in
 * chunks against --max-body and --max-inflight, then the parse and group commit on an
 * ingest worker while the connection is suspended (http.c's file comment). */
#include "http_int.h"

#include "cl_limits.h"
#include "common.h"
#include "http_queue.h"
#include "workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
enum MHD_Result cl_http_ingest_error(struct cl_daemon *d, struct request *r, int status,
                                     const char *msg, int retry_after_s, const char *allow)
{
    count_ingest(d, r, status, NULL);
    if (r->ingest_route == CL_ROUTE_LOGS)
        return cl_http_respond_error(r->conn, status, msg, retry_after_s, allow);
    /* HEC's clients expect HEC's {"text":...,"code":N} answers. */
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    cl_ingest_early_answer(r->ingest_route, status, msg, auth != NULL, &r->resp);
    return cl_http_respond_product(r->conn, r->resp.status, &r->resp.body, r->resp.content_type,
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
         * cl_http_ingest_body reserves the rest as the bytes arrive. */
        r->status = 503, r->retry_after_s = 1;
        snprintf(r->message, sizeof r->message, "server busy: too many request bytes in memory");
    }
}

/* Sizes the body buffer once for the whole announced body (Content-Length, at most
 * max_body_bytes, the buffer's bound) instead of doubling it from 256 bytes: each doubling
 * allocates, faults in and copies a buffer and leaves the old one free in the malloc
 * arena (docs/performance.md, "The processor's memory apart from ingest's"). Only the
 * pages written become resident. */
static void presize_body(struct request *r, size_t first_chunk)
{
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
    if (len > first_chunk && len <= r->body.max)
        (void)cl_buf_reserve(&r->body, (size_t)len); /* on failure, append fails the same */
}

/* Takes one chunk of body. Returns MHD_NO to drop a connection that keeps sending
 * far past an early answer. */
enum MHD_Result cl_http_ingest_body(struct cl_daemon *d, struct request *r, const char *data,
                                    size_t n)
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
    if (r->body.cap == 0)
        presize_body(r, n);
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

enum MHD_Result cl_http_ingest_finish(struct cl_daemon *d, struct MHD_Connection *c,
                                      struct request *r)
{
    if (r->job == JOB_DONE) {
        count_ingest(d, r, r->resp.status, &r->resp);
        struct MHD_Response *resp = cl_http_new_response(
            &r->resp.status, &r->resp.body, r->resp.content_type, r->resp.retry_after_s, NULL);
        if (r->resp.es_product)
            MHD_add_response_header(resp, CL_ES_PRODUCT_HEADER, CL_ES_PRODUCT);
        if (r->resp.replayed) /* as Stripe: says the answer is the stored one */
            MHD_add_response_header(resp, "Idempotent-Replayed", "true");
        return cl_http_queue(c, (unsigned)r->resp.status, resp);
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

/* A browser's cross-site write with no Content-Type (a no-cors fetch of an untyped
 * body) carries Origin; shippers and the CLI send neither Origin nor a form type. */
static int cross_site_untyped(struct MHD_Connection *c)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin") &&
           !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
}

/* The first call of an ingest request: method, headers and cross-site checks before any
 * body byte is read. */
enum MHD_Result cl_http_ingest_begin(struct cl_daemon *d, struct MHD_Connection *c,
                                     struct request *r, const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return cl_http_ingest_error(d, r, 405, "method not allowed; use POST", 0, "POST");
    check_ingest_headers(d, c, r);
    if (!r->status && cross_site_untyped(c)) {
        r->status = 415;
        snprintf(r->message, sizeof r->message,
                 "a cross-site request (Origin) needs Content-Type application/json or "
                 "application/x-ndjson");
    }
    if (r->status == 401 || r->status == 413 || r->status == 415 || r->status == 429 ||
        r->status == 503)
        return cl_http_ingest_error(d, r, r->status, r->message, r->retry_after_s, NULL);
    return MHD_YES;
}
