/* ingest.c - the ingest stage as one call: content checks, gzip, parse (cloudlog JSON or a
 * shipper protocol's decoder), durable send, and the HTTP answer in the protocol's shape.
 * Shared by the daemon and the Lambda ingestor. */
#include "ingest.h"

#include "codec.h"
#include "common.h"
#include "ingest_format.h"
#include "units.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Response bodies are small documents; bound them generously. */
#define RESPONSE_MAX (4u << 20)

enum encoding { ENC_IDENTITY, ENC_GZIP, ENC_UNSUPPORTED };

static enum encoding parse_encoding(const char *ce)
{
    if (!ce || !*ce || strcasecmp(ce, "identity") == 0)
        return ENC_IDENTITY;
    if (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0)
        return ENC_GZIP;
    return ENC_UNSUPPORTED;
}

/* Undoes Content-Encoding into *decoded when needed; sets body and len to the bytes to
 * parse. Returns 0, or an HTTP status with the response already filled. */
static int decode_body(const struct cl_ingest_request *req, const struct cl_ingest_limits *lim,
                       enum cl_ingest_format fmt, struct cl_buf *decoded, const char **body,
                       size_t *len, struct cl_ingest_response *resp)
{
    char msg[160], size[32];
    *body = req->body;
    *len = req->body_len;
    if (parse_encoding(req->content_encoding) == ENC_IDENTITY)
        return 0;
    int rc = cl_gzip_decompress(req->body, req->body_len, decoded);
    if (rc == CL_ERR_TOO_LARGE) {
        cl_format_size(lim->max_decoded_bytes, size, sizeof size);
        snprintf(msg, sizeof msg, "decompressed body exceeds the %s limit", size);
        cl_ingest_render(fmt, resp, 413, msg, NULL);
        return 413;
    }
    if (rc != CL_OK) {
        cl_ingest_render(fmt, resp, 400, "body is not valid gzip (Content-Encoding: gzip)", NULL);
        return 400;
    }
    *body = decoded->data ? decoded->data : "";
    *len = decoded->len;
    return 0;
}

/* Checks the request as received; returns 0 if it may be parsed. */
static int check_request(const struct cl_ingest_request *req, const struct cl_ingest_limits *lim,
                         enum cl_ingest_format fmt, struct cl_ingest_response *resp)
{
    char msg[240], size[32];
    if (fmt == CL_FMT_LOKI_UNSUPPORTED) {
        cl_ingest_render(fmt, resp, 415,
                         "Loki's protobuf (snappy) push is not supported by this build (the "
                         "Lambda ingestor); send JSON (Content-Type: application/json)",
                         NULL);
        return 415;
    }
    if (fmt == CL_FMT_UNSUPPORTED) {
        snprintf(msg, sizeof msg,
                 "unsupported Content-Type '%.80s'; send application/json, "
                 "application/x-ndjson, application/x-protobuf (OTLP) or application/msgpack",
                 req->content_type);
        cl_ingest_render(fmt, resp, 415, msg, NULL);
        return 415;
    }
    if (parse_encoding(req->content_encoding) == ENC_UNSUPPORTED) {
        snprintf(msg, sizeof msg, "unsupported Content-Encoding '%.80s'; send gzip or identity",
                 req->content_encoding);
        cl_ingest_render(fmt, resp, 415, msg, NULL);
        return 415;
    }
    if (req->body_len > lim->max_body_bytes) {
        cl_format_size(lim->max_body_bytes, size, sizeof size);
        snprintf(msg, sizeof msg, "body exceeds the %s limit", size);
        cl_ingest_render(fmt, resp, 413, msg, NULL);
        return 413;
    }
    return 0;
}

/* Returns 1 when the records are durably queued. */
static int send_batch(struct cl_queue *q, enum cl_ingest_format fmt, struct cl_ingest_batch *batch,
                      const struct cl_ingest_parse_result *pr, struct cl_ingest_response *resp)
{
    int rc = cl_queue_send(q, batch->msgs, batch->n_msgs);
    if (rc == CL_OK) {
        resp->accepted = pr->accepted;
        resp->rejected = pr->rejected;
        resp->accepted_bytes = pr->accepted_bytes;
        cl_ingest_render(fmt, resp, 202, NULL, pr);
        return 1;
    }
    if (rc == CL_ERR_FULL) {
        resp->retry_after_s = 5;
        cl_ingest_render(fmt, resp, 503, "queue storage is full; nothing was accepted, retry later",
                         NULL);
    } else {
        char msg[160];
        snprintf(msg, sizeof msg, "queue write failed (%s); nothing was accepted", cl_strerror(rc));
        resp->retry_after_s = 1;
        cl_ingest_render(fmt, resp, 503, msg, NULL);
    }
    return 0;
}

static int parse(enum cl_ingest_format fmt, const char *target, const char *body, size_t len,
                 const struct cl_ingest_request *req, const struct cl_ingest_limits *lim,
                 struct cl_ingest_batch *batch, struct cl_ingest_parse_result *pr)
{
    cl_proto_decode_fn decode = cl_ingest_decoder(fmt);
    if (!decode)
        return cl_ingest_parse(body, len, req->service_header, req->received_ms, lim, batch, pr);
    return cl_ingest_parse_decoded(decode, target, body, len, req->service_header, req->received_ms,
                                   lim, batch, pr);
}

void cl_ingest_handle(const struct cl_ingest_request *req, const struct cl_ingest_limits *lim,
                      struct cl_queue *q, struct cl_ingest_response *resp)
{
    memset(resp, 0, sizeof *resp);
    cl_buf_init(&resp->body, RESPONSE_MAX);
    enum cl_ingest_format fmt = cl_ingest_format_of(req->route, req->content_type);
    if (check_request(req, lim, fmt, resp))
        return;

    struct cl_buf decoded;
    cl_buf_init(&decoded, lim->max_decoded_bytes);
    const char *body;
    size_t len;
    if (decode_body(req, lim, fmt, &decoded, &body, &len, resp)) {
        cl_buf_free(&decoded);
        return;
    }
    fmt = cl_ingest_format_refine(fmt, body, len);

    struct cl_ingest_batch batch;
    struct cl_ingest_parse_result pr;
    cl_ingest_batch_init(&batch);
    cl_ingest_parse_result_init(&pr);
    char target[256] = ""; /* the _bulk path's index, the default service */
    if (fmt == CL_FMT_ES_BULK && req->path)
        cl_ingest_es_index(req->path, target, sizeof target);
    int rc = parse(fmt, target, body, len, req, lim, &batch, &pr), queued = 0;
    if (rc == CL_ERR_INVAL)
        cl_ingest_render(fmt, resp, 400,
                         "invalid X-Cloudlog-Service header (expected [A-Za-z0-9._-]{1,64})", NULL);
    else if (pr.body_error)
        cl_ingest_render(fmt, resp, 400, pr.body_error_msg, &pr);
    else if (pr.accepted == 0)
        cl_ingest_render(fmt, resp, 400, "no valid records", &pr);
    else
        queued = send_batch(q, fmt, &batch, &pr, resp);
    if (!queued)
        resp->rejected = pr.rejected + pr.accepted;
    cl_buf_free(&decoded); /* after the answer, which may list the body's actions (_bulk) */
    cl_ingest_batch_free(&batch);
    cl_ingest_parse_result_free(&pr);
}

void cl_ingest_early_answer(enum cl_ingest_route route, int status, const char *msg,
                            int has_credentials, struct cl_ingest_response *resp)
{
    memset(resp, 0, sizeof *resp);
    cl_buf_init(&resp->body, RESPONSE_MAX);
    enum cl_ingest_format fmt = route == CL_ROUTE_LOGS      ? CL_FMT_JSON
                                : route == CL_ROUTE_ES_BULK ? CL_FMT_ES_BULK
                                : route == CL_ROUTE_LOKI    ? CL_FMT_LOKI_JSON
                                                            : CL_FMT_HEC_EVENT;
    /* HEC tells a missing token (401) from a wrong one (403). */
    if (status == 401 && has_credentials && fmt == CL_FMT_HEC_EVENT)
        status = 403;
    cl_ingest_render(fmt, resp, status, msg, NULL);
}
