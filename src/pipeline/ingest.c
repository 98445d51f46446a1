/* ingest.c - the ingest stage as one call: content checks, gzip, parse (cloudlog JSON or a
 * shipper protocol's decoder), durable send, and the HTTP answer in the protocol's shape.
 * Shared by the daemon and the Lambda ingestor. */
#include "ingest.h"

#include "codec.h"
#include "common.h"
#include "cl_limits.h"
#include "ingest_format.h"
#include "ingest_idem.h"
#include "units.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum encoding { ENC_IDENTITY, ENC_GZIP, ENC_UNSUPPORTED };

static enum encoding parse_encoding(const char *ce)
{
    if (!ce || !*ce || strcasecmp(ce, "identity") == 0)
        return ENC_IDENTITY;
    if (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0)
        return ENC_GZIP;
    return ENC_UNSUPPORTED;
}

void cl_ingest_respond_error(enum cl_ingest_format f, struct cl_ingest_response *resp, int status,
                             const char *msg)
{
    cl_ingest_render(f, resp, status, msg, NULL);
}

/* The one check of the answer's sticky buffer: a body that could not be built whole is
 * never sent half-written. Only the lists of an answer can grow (cloudlog's errors, which
 * the limits bound, and _bulk's items, one per record): they are dropped and the status
 * stays (a success means the records are durable, so it must not turn into an error the
 * client would retry). */
static void check_response(enum cl_ingest_format f, struct cl_ingest_response *resp,
                           const struct cl_ingest_parse_result *pr)
{
    if (!cl_buf_failed(&resp->body))
        return;
    cl_buf_reset(&resp->body);
    if (f == CL_FMT_ES_BULK)
        cl_buf_printf(&resp->body, "{\"took\":0,\"errors\":%s,\"items\":[]}\n",
                      pr->rejected ? "true" : "false");
    else
        cl_buf_printf(&resp->body,
                      "{\"accepted\":%u,\"rejected\":%u,\"errors\":[],\"errors_truncated\":true}\n",
                      pr->accepted, pr->rejected);
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

/* CORS-simple media types are refused with 415 (docs/ingest.md, "Content types"), except
 * on the Splunk HEC routes of a request with an Authorization header: HEC clients may send
 * raw events as text/plain, and always send their token, which no cross-site request of a
 * browser can carry without the preflight we never answer. */
static int refused_cross_site(const struct cl_ingest_request *req)
{
    if (!cl_ingest_cors_simple(req->content_type))
        return 0;
    int hec = req->route == CL_ROUTE_HEC_EVENT || req->route == CL_ROUTE_HEC_RAW;
    return !(hec && req->has_credentials);
}

/* Checks the request as received; returns 0 if it may be parsed. */
static int check_request(const struct cl_ingest_request *req, const struct cl_ingest_limits *lim,
                         enum cl_ingest_format fmt, struct cl_ingest_response *resp)
{
    char msg[300], size[32];
    if (refused_cross_site(req)) {
        snprintf(msg, sizeof msg,
                 "Content-Type '%.80s' is refused: browsers send it cross-site without a CORS "
                 "check, so any web page could write logs; send application/json or "
                 "application/x-ndjson",
                 req->content_type);
        cl_ingest_render(fmt, resp, 415, msg, NULL);
        return 415;
    }
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

/* Halvings of the message size tried when the queue refuses a message as too large (its
 * limit is below max_message_bytes: an SQS queue's MaximumMessageSize can be 1 KiB),
 * never below INGEST_MIN_MESSAGE. */
#define INGEST_SPLIT_TRIES 4
#define INGEST_MIN_MESSAGE (16u << 10)

/* One request, decoded, for each try at a message size. */
struct ingest_job {
    const struct cl_ingest_request *req;
    enum cl_ingest_format fmt;
    const char *target; /* the _bulk path's index, the default service */
    const char *body;   /* decoded; borrowed until the answer is rendered (_bulk lists it) */
    size_t len;
    struct cl_queue *q;
    struct cl_idem_ctx idem;
};

static void respond_sent(enum cl_ingest_format fmt, struct cl_ingest_response *resp, int rc,
                         const struct cl_ingest_parse_result *pr, size_t message_bytes)
{
    char msg[200], size[32];
    if (rc == CL_OK) {
        resp->accepted = pr->accepted;
        resp->rejected = pr->rejected;
        resp->accepted_bytes = pr->accepted_bytes;
        cl_ingest_render(fmt, resp, 202, NULL, pr);
    } else if (rc == CL_ERR_FULL) {
        resp->retry_after_s = 5;
        cl_ingest_render(fmt, resp, 503, "queue storage is full; nothing was accepted, retry later",
                         NULL);
    } else if (rc == CL_ERR_TOO_LARGE) {
        cl_format_size(message_bytes, size, sizeof size);
        snprintf(msg, sizeof msg,
                 "a record does not fit the queue's message size limit, even in messages of "
                 "%s; nothing was accepted",
                 size);
        cl_ingest_render(fmt, resp, 413, msg, NULL);
    } else {
        snprintf(msg, sizeof msg, "queue write failed (%s); nothing was accepted", cl_strerror(rc));
        resp->retry_after_s = 1;
        cl_ingest_render(fmt, resp, 503, msg, NULL);
    }
}

static int parse(const struct ingest_job *j, const struct cl_ingest_limits *lim,
                 struct cl_ingest_batch *batch, struct cl_ingest_parse_result *pr)
{
    const struct cl_ingest_request *req = j->req;
    cl_proto_decode_fn decode = cl_ingest_decoder(j->fmt);
    if (!decode)
        return cl_ingest_parse(j->body, j->len, req->service_header, req->received_ms, lim, batch,
                               pr);
    return cl_ingest_parse_decoded(decode, j->target, j->body, j->len, req->service_header,
                                   req->received_ms, lim, batch, pr);
}

/* Parses the body with lim into batch and pr. Returns 1 when there are records to send,
 * else 0 with the response filled. */
static int parse_body(const struct ingest_job *j, const struct cl_ingest_limits *lim,
                      struct cl_ingest_batch *batch, struct cl_ingest_parse_result *pr,
                      struct cl_ingest_response *resp)
{
    int rc = parse(j, lim, batch, pr);
    if (rc == CL_ERR_INVAL)
        cl_ingest_render(j->fmt, resp, 400,
                         "invalid X-Cloudlog-Service header (expected [A-Za-z0-9._-]{1,64})", NULL);
    else if (pr->body_error)
        cl_ingest_render(j->fmt, resp, 400, pr->body_error_msg, pr);
    else if (pr->accepted == 0)
        cl_ingest_render(j->fmt, resp, 400, "no valid records", pr);
    return rc != CL_ERR_INVAL && !pr->body_error && pr->accepted > 0;
}

/* Sends the batch; with a key, the success answer is rendered first and stored with it
 * (a replay then answers byte for byte, status included). Returns the queue's answer or
 * CL_IDEM_ANSWERED. */
static int send_batch(struct ingest_job *j, struct cl_ingest_batch *batch,
                      const struct cl_ingest_parse_result *pr, struct cl_ingest_response *resp)
{
    if (!j->idem.idem.key)
        return cl_queue_send(j->q, batch->msgs, batch->n_msgs);
    cl_ingest_render(j->fmt, resp, 202, NULL, pr);
    check_response(j->fmt, resp, pr);
    j->idem.idem.status = resp->status;
    j->idem.idem.answer = resp->body.data;
    j->idem.idem.answer_len = resp->body.len;
    return cl_idem_send(j->q, &j->idem, batch->msgs, batch->n_msgs, resp);
}

/* Parses the body with lim, then sends what was accepted. Returns the queue's answer, or
 * -1 when nothing was sent (the response is then filled). */
static int ingest_once(struct ingest_job *j, const struct cl_ingest_limits *lim,
                       struct cl_ingest_parse_result *pr, struct cl_ingest_response *resp)
{
    struct cl_ingest_batch batch;
    cl_ingest_batch_init(&batch);
    int rc = parse_body(j, lim, &batch, pr, resp) ? send_batch(j, &batch, pr, resp) : -1;
    cl_ingest_batch_free(&batch);
    return rc;
}

/* The key, then parse and send, in smaller messages while the queue refuses them. */
static void ingest_decoded(struct ingest_job *j, const struct cl_ingest_limits *lim,
                           struct cl_ingest_response *resp)
{
    if (j->req->idempotency_key && cl_idem_begin(j->req, j->q, j->fmt, &j->idem, resp))
        return;
    char target[256] = "";
    if (j->fmt == CL_FMT_ES_BULK && j->req->path)
        cl_ingest_es_index(j->req->path, lim->es_prefix, target, sizeof target);
    j->target = target;
    struct cl_ingest_limits l = *lim;
    struct cl_ingest_parse_result pr;
    cl_ingest_parse_result_init(&pr);
    int rc = ingest_once(j, &l, &pr, resp);
    /* A refused message was not sent, nor any other of this request (the queue checks
     * sizes before sending), so smaller messages of the same records duplicate nothing. */
    for (int try = 1; rc == CL_ERR_TOO_LARGE && try < INGEST_SPLIT_TRIES &&
                      l.max_message_bytes / 2 >= INGEST_MIN_MESSAGE;
         try++) {
        l.max_message_bytes /= 2;
        rc = ingest_once(j, &l, &pr, resp);
    }
    if (rc != -1) /* -1 (CL_IDEM_ANSWERED too): the response is already filled */
        respond_sent(j->fmt, resp, rc, &pr, l.max_message_bytes);
    check_response(j->fmt, resp, &pr);
    if (rc != CL_OK && !resp->replayed)
        resp->rejected = pr.rejected + pr.accepted;
    cl_ingest_parse_result_free(&pr);
}

void cl_ingest_handle(const struct cl_ingest_request *req, const struct cl_ingest_limits *lim,
                      struct cl_queue *q, struct cl_ingest_response *resp)
{
    memset(resp, 0, sizeof *resp);
    cl_buf_init(&resp->body, CL_MAX_INGEST_RESPONSE);
    enum cl_ingest_format fmt = cl_ingest_format_of(req->route, req->content_type);
    if (check_request(req, lim, fmt, resp))
        return;
    /* Decoded once for every try; kept until the answer is rendered, which may list the
     * body's actions (_bulk). */
    struct cl_buf decoded;
    cl_buf_init(&decoded, lim->max_decoded_bytes);
    struct ingest_job j = {.req = req, .q = q};
    if (decode_body(req, lim, fmt, &decoded, &j.body, &j.len, resp) == 0) {
        j.fmt = cl_ingest_format_refine(fmt, j.body, j.len);
        ingest_decoded(&j, lim, resp);
    }
    cl_buf_free(&decoded);
}

void cl_ingest_early_answer(enum cl_ingest_route route, int status, const char *msg,
                            int has_credentials, struct cl_ingest_response *resp)
{
    memset(resp, 0, sizeof *resp);
    cl_buf_init(&resp->body, CL_MAX_ERROR_RESPONSE);
    enum cl_ingest_format fmt = route == CL_ROUTE_LOGS      ? CL_FMT_JSON
                                : route == CL_ROUTE_ES_BULK ? CL_FMT_ES_BULK
                                : route == CL_ROUTE_LOKI    ? CL_FMT_LOKI_JSON
                                                            : CL_FMT_HEC_EVENT;
    /* HEC tells a missing token (401) from a wrong one (403). */
    if (status == 401 && has_credentials && fmt == CL_FMT_HEC_EVENT)
        status = 403;
    cl_ingest_render(fmt, resp, status, msg, NULL);
}
