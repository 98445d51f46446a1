/* ingest.c - the ingest stage as one call: content checks, gzip, parse, durable send,
 * and the HTTP answer. Shared by the daemon and the Lambda ingestor. */
#include "ingest.h"

#include "codec.h"
#include "common.h"
#include "ingest_idem.h"
#include "json_write.h"
#include "cl_limits.h"
#include "units.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Media types we parse as JSON / NDJSON. Format is detected from the body itself, so
 * any of them may carry any of the three body forms. */
static const char *const accepted_types[] = {
    "application/json",        "application/x-ndjson",  "application/ndjson", "application/jsonl",
    "application/x-jsonlines", "application/jsonlines", "application/x-json",
};

/* The media types a browser sends cross-site without a CORS preflight (a form POST or a
 * no-cors fetch from any web page). Refusing them means no page can write logs through a
 * visitor's browser: a JSON type forces a preflight, which we never answer. */
static const char *const cors_simple_types[] = {
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
};

enum ct_class { CT_OK, CT_CORS_SIMPLE, CT_UNSUPPORTED };

static int type_in(const char *ct, size_t len, const char *const *types, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(types[i]) == len && strncasecmp(ct, types[i], len) == 0)
            return 1;
    return 0;
}

/* Classifies the media type of a Content-Type value (before ';', trimmed). */
static enum ct_class content_type_class(const char *ct)
{
    if (!ct)
        return CT_OK; /* absent: assume JSON, like most log shippers' defaults */
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t len = strcspn(ct, ";");
    while (len && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
        len--;
    if (type_in(ct, len, accepted_types, CL_ARRAY_LEN(accepted_types)))
        return CT_OK;
    if (type_in(ct, len, cors_simple_types, CL_ARRAY_LEN(cors_simple_types)))
        return CT_CORS_SIMPLE;
    return CT_UNSUPPORTED;
}

enum encoding { ENC_IDENTITY, ENC_GZIP, ENC_UNSUPPORTED };

static enum encoding parse_encoding(const char *ce)
{
    if (!ce || !*ce || strcasecmp(ce, "identity") == 0)
        return ENC_IDENTITY;
    if (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0)
        return ENC_GZIP;
    return ENC_UNSUPPORTED;
}

void cl_ingest_respond_error(struct cl_ingest_response *resp, int status, const char *msg)
{
    resp->status = status;
    cl_buf_reset(&resp->body);
    cl_buf_append_str(&resp->body, "{\"error\":");
    cl_json_write_string(&resp->body, msg, strlen(msg));
    cl_buf_append_str(&resp->body, "}");
}

static void respond_parsed(struct cl_ingest_response *resp, int status, const char *msg,
                           const struct cl_ingest_parse_result *pr)
{
    struct cl_buf *b = &resp->body;
    resp->status = status;
    cl_buf_reset(b);
    cl_buf_append_char(b, '{');
    if (msg) {
        cl_buf_append_str(b, "\"error\":");
        cl_json_write_string(b, msg, strlen(msg));
        cl_buf_append_char(b, ',');
    }
    cl_buf_printf(b, "\"accepted\":%u,\"rejected\":%u,\"errors\":", pr->accepted, pr->rejected);
    if (pr->errors.len)
        cl_buf_append(b, pr->errors.data, pr->errors.len);
    else
        cl_buf_append_str(b, "[]");
    if (pr->errors_truncated)
        cl_buf_append_str(b, ",\"errors_truncated\":true");
    cl_buf_append_char(b, '}');
}

/* The one check of the answer's sticky buffer: a body that could not be built whole is
 * never sent half-written. The limits make this unreachable; if it happens anyway the
 * status stays (a 202 means the records are durable, so it must not turn into an error
 * the client would retry) and only the errors list is dropped. */
static void check_response(struct cl_ingest_response *resp, const struct cl_ingest_parse_result *pr)
{
    if (!cl_buf_failed(&resp->body))
        return;
    cl_buf_reset(&resp->body);
    cl_buf_printf(&resp->body,
                  "{\"accepted\":%u,\"rejected\":%u,\"errors\":[],\"errors_truncated\":true}",
                  pr->accepted, pr->rejected);
}

/* Undoes Content-Encoding into *decoded when needed; sets body and len to the bytes to
 * parse. Returns 0, or an HTTP status with the response already filled. */
static int decode_body(const struct cl_ingest_request *req, const struct cl_ingest_limits *lim,
                       struct cl_buf *decoded, const char **body, size_t *len,
                       struct cl_ingest_response *resp)
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
        cl_ingest_respond_error(resp, 413, msg);
        return 413;
    }
    if (rc != CL_OK) {
        cl_ingest_respond_error(resp, 400, "body is not valid gzip (Content-Encoding: gzip)");
        return 400;
    }
    *body = decoded->data ? decoded->data : "";
    *len = decoded->len;
    return 0;
}

/* Checks the request as received; returns 0 if it may be parsed. */
static int check_request(const struct cl_ingest_request *req, const struct cl_ingest_limits *lim,
                         struct cl_ingest_response *resp)
{
    char msg[300], size[32];
    enum ct_class ctc = content_type_class(req->content_type);
    if (ctc == CT_CORS_SIMPLE) {
        snprintf(msg, sizeof msg,
                 "Content-Type '%.80s' is refused: browsers send it cross-site without a CORS "
                 "check, so any web page could write logs; send application/json or "
                 "application/x-ndjson",
                 req->content_type);
        cl_ingest_respond_error(resp, 415, msg);
        return 415;
    }
    if (ctc == CT_UNSUPPORTED) {
        snprintf(msg, sizeof msg,
                 "unsupported Content-Type '%.80s'; send application/json or "
                 "application/x-ndjson",
                 req->content_type);
        cl_ingest_respond_error(resp, 415, msg);
        return 415;
    }
    if (parse_encoding(req->content_encoding) == ENC_UNSUPPORTED) {
        snprintf(msg, sizeof msg, "unsupported Content-Encoding '%.80s'; send gzip or identity",
                 req->content_encoding);
        cl_ingest_respond_error(resp, 415, msg);
        return 415;
    }
    if (req->body_len > lim->max_body_bytes) {
        cl_format_size(lim->max_body_bytes, size, sizeof size);
        snprintf(msg, sizeof msg, "body exceeds the %s limit", size);
        cl_ingest_respond_error(resp, 413, msg);
        return 413;
    }
    return 0;
}

/* Halvings of the message size tried when the queue refuses a message as too large (its
 * limit is below max_message_bytes: an SQS queue's MaximumMessageSize can be 1 KiB),
 * never below INGEST_MIN_MESSAGE. */
#define INGEST_SPLIT_TRIES 4
#define INGEST_MIN_MESSAGE (16u << 10)

static void respond_sent(struct cl_ingest_response *resp, int rc,
                         const struct cl_ingest_parse_result *pr, size_t message_bytes)
{
    char msg[200], size[32];
    if (rc == CL_OK) {
        resp->accepted = pr->accepted;
        resp->rejected = pr->rejected;
        resp->accepted_bytes = pr->accepted_bytes;
        respond_parsed(resp, 202, NULL, pr);
    } else if (rc == CL_ERR_FULL) {
        resp->retry_after_s = 5;
        cl_ingest_respond_error(resp, 503,
                                "queue storage is full; nothing was accepted, retry later");
    } else if (rc == CL_ERR_TOO_LARGE) {
        cl_format_size(message_bytes, size, sizeof size);
        snprintf(msg, sizeof msg,
                 "a record does not fit the queue's message size limit, even in messages of "
                 "%s; nothing was accepted",
                 size);
        cl_ingest_respond_error(resp, 413, msg);
    } else {
        snprintf(msg, sizeof msg, "queue write failed (%s); nothing was accepted", cl_strerror(rc));
        resp->retry_after_s = 1;
        cl_ingest_respond_error(resp, 503, msg);
    }
}

/* Parses body with lim into batch and pr. Returns 1 when there are records to send, else 0
 * with the response filled. */
static int parse_body(const char *body, size_t len, const struct cl_ingest_request *req,
                      const struct cl_ingest_limits *lim, struct cl_ingest_batch *batch,
                      struct cl_ingest_parse_result *pr, struct cl_ingest_response *resp)
{
    int rc = cl_ingest_parse(body, len, req->service_header, req->received_ms, lim, batch, pr);
    if (rc == CL_ERR_INVAL)
        cl_ingest_respond_error(
            resp, 400, "invalid X-Cloudlog-Service header (expected [A-Za-z0-9._-]{1,64})");
    else if (pr->body_error)
        respond_parsed(resp, 400, pr->body_error_msg, pr);
    else if (pr->accepted == 0)
        respond_parsed(resp, 400, "no valid records", pr);
    return rc != CL_ERR_INVAL && !pr->body_error && pr->accepted > 0;
}

/* Sends the batch; with a key, the 202 answer is built first and stored with it (a
 * replay then answers byte for byte). Returns the queue's answer or CL_IDEM_ANSWERED. */
static int send_batch(struct cl_queue *q, struct cl_ingest_batch *batch,
                      const struct cl_ingest_parse_result *pr, struct cl_idem_ctx *idem,
                      struct cl_ingest_response *resp)
{
    if (!idem->idem.key)
        return cl_queue_send(q, batch->msgs, batch->n_msgs);
    respond_parsed(resp, 202, NULL, pr);
    check_response(resp, pr);
    idem->idem.status = 202;
    idem->idem.answer = resp->body.data;
    idem->idem.answer_len = resp->body.len;
    return cl_idem_send(q, idem, batch->msgs, batch->n_msgs, resp);
}

/* Decodes and parses the request with lim, then sends what was accepted. Returns the
 * queue's answer, or -1 when nothing was sent (the response is then filled). */
static int ingest_once(const struct cl_ingest_request *req, const struct cl_ingest_limits *lim,
                       struct cl_queue *q, struct cl_idem_ctx *idem,
                       struct cl_ingest_parse_result *pr, struct cl_ingest_response *resp)
{
    struct cl_buf decoded;
    cl_buf_init(&decoded, lim->max_decoded_bytes);
    const char *body;
    size_t len;
    struct cl_ingest_batch batch;
    cl_ingest_batch_init(&batch);
    int ok = !decode_body(req, lim, &decoded, &body, &len, resp) &&
             parse_body(body, len, req, lim, &batch, pr, resp);
    cl_buf_free(&decoded); /* records now live, compressed, in the batch */
    int rc = ok ? send_batch(q, &batch, pr, idem, resp) : -1;
    cl_ingest_batch_free(&batch);
    return rc;
}

void cl_ingest_handle(const struct cl_ingest_request *req, const struct cl_ingest_limits *lim,
                      struct cl_queue *q, struct cl_ingest_response *resp)
{
    memset(resp, 0, sizeof *resp);
    cl_buf_init(&resp->body, CL_MAX_INGEST_RESPONSE);
    if (check_request(req, lim, resp))
        return;
    struct cl_idem_ctx idem = {0};
    if (req->idempotency_key && cl_idem_begin(req, q, &idem, resp))
        return;
    struct cl_ingest_limits l = *lim;
    struct cl_ingest_parse_result pr;
    cl_ingest_parse_result_init(&pr);
    int rc = ingest_once(req, &l, q, &idem, &pr, resp);
    /* A refused message was not sent, nor any other of this request (the queue checks
     * sizes before sending), so smaller messages of the same records duplicate nothing. */
    for (int try = 1; rc == CL_ERR_TOO_LARGE && try < INGEST_SPLIT_TRIES &&
                      l.max_message_bytes / 2 >= INGEST_MIN_MESSAGE;
         try++) {
        l.max_message_bytes /= 2;
        rc = ingest_once(req, &l, q, &idem, &pr, resp);
    }
    if (rc != -1) /* -1 (CL_IDEM_ANSWERED too): the response is already filled */
        respond_sent(resp, rc, &pr, l.max_message_bytes);
    check_response(resp, &pr);
    if (resp->status != 202 && !resp->replayed)
        resp->rejected = pr.rejected + pr.accepted;
    cl_ingest_parse_result_free(&pr);
}
