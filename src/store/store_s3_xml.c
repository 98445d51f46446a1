/* store_s3_xml.c - the S3 store's XML: answers parsed with libexpat (xml.h), escaping,
 * and S3 error responses turned into clear messages. */
#include "store_s3_int.h"

#include "common.h"
#include "log.h"
#include "xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cl_xml *s3_xml_root(const struct cl_buf *body, const char *root, const char *what)
{
    char err[256];
    struct cl_xml *x = cl_xml_parse(body->data, body->len, err, sizeof err);
    if (x && strcmp(x->name, root) != 0)
        snprintf(err, sizeof err, "root element <%.64s>, expected <%s>", x->name, root);
    if (x && strcmp(x->name, root) == 0)
        return x;
    if (what)
        cl_log(CL_LOG_WARN, "store s3: %s: malformed response: %s", what, err);
    cl_xml_free(x);
    return NULL;
}

void s3_xml_escape(struct cl_buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            cl_buf_append_str(out, "&amp;");
            break;
        case '<':
            cl_buf_append_str(out, "&lt;");
            break;
        case '>':
            cl_buf_append_str(out, "&gt;");
            break;
        case '"':
            cl_buf_append_str(out, "&quot;");
            break;
        case '\'':
            cl_buf_append_str(out, "&apos;");
            break;
        default:
            cl_buf_append_char(out, *s);
        }
    }
}

/* What an S3 error code means for the caller, and what to check. */
struct s3_error_kind {
    const char *code;
    int rc;
    const char *hint;
};

static const struct s3_error_kind s3_errors[] = {
    {"NoSuchKey", CL_ERR_NOT_FOUND, "no such object"},
    {"NoSuchBucket", CL_ERR_IO, "the bucket does not exist: check its name and the endpoint"},
    {"AccessDenied", CL_ERR_IO,
     "access denied: the IAM or bucket policy does not allow this action on this key"},
    {"AllAccessDisabled", CL_ERR_IO, "all access to this bucket has been disabled"},
    {"InvalidAccessKeyId", CL_ERR_IO,
     "S3 does not know this access key id: wrong account, endpoint or credentials source"},
    {"SignatureDoesNotMatch", CL_ERR_IO,
     "signature mismatch: the secret access key does not belong to the key id"},
    {"ExpiredToken", CL_ERR_IO, "the session token has expired"},
    {"InvalidToken", CL_ERR_IO, "the session token is malformed or invalid"},
    {"TokenRefreshRequired", CL_ERR_IO, "the session token must be refreshed"},
    {"RequestTimeTooSkewed", CL_ERR_IO,
     "this machine's clock is more than 15 minutes away from S3's: fix the time (NTP)"},
    {"AuthorizationHeaderMalformed", CL_ERR_IO,
     "the request was signed for another region than the bucket's: set region= or AWS_REGION"},
    {"PermanentRedirect", CL_ERR_IO,
     "the bucket is in another region: set region= (or the endpoint) to the bucket's"},
    {"SlowDown", CL_ERR_FULL, "S3 is throttling requests to this prefix; retry later"},
    {"ServiceUnavailable", CL_ERR_FULL, "S3 is temporarily unavailable; retry later"},
    {"InternalError", CL_ERR_IO, "S3 internal error, still failing after the retries"},
    {"PreconditionFailed", CL_ERR_EXISTS, "the object already exists (If-None-Match: *)"},
    {"ConditionalRequestConflict", CL_ERR_FULL,
     "a concurrent conditional write to the same key is in progress; retry"},
    {"EntityTooSmall", CL_ERR_INVAL, "a multipart part other than the last is under 5 MiB"},
    {"EntityTooLarge", CL_ERR_TOO_LARGE, "the object or part exceeds S3's size limit"},
    {"NoSuchUpload", CL_ERR_NOT_FOUND, "the multipart upload was aborted or completed"},
    {"InvalidPart", CL_ERR_IO, "a part of the multipart upload is missing or changed"},
    {"BadDigest", CL_ERR_CORRUPT, "the checksum sent does not match the bytes S3 received"},
    {"InvalidDigest", CL_ERR_CORRUPT, "the checksum header is malformed"},
    {"XAmzContentSHA256Mismatch", CL_ERR_CORRUPT,
     "the payload hash does not match the bytes S3 received"},
    {"InvalidBucketName", CL_ERR_INVAL, "the bucket name is not valid"},
    {"KeyTooLongError", CL_ERR_INVAL, "the key is longer than 1024 bytes"},
};

/* Code for a response without an XML body (HEAD answers, proxies): from the status. */
static const char *s3_code_from_status(long status)
{
    switch (status) {
    case 403:
        return "AccessDenied";
    case 404:
        return "NoSuchKey";
    case 412:
        return "PreconditionFailed";
    case 503:
        return "SlowDown";
    case 500:
        return "InternalError";
    default:
        return NULL;
    }
}

static const struct s3_error_kind *s3_error_kind(const char *code)
{
    for (size_t i = 0; i < CL_ARRAY_LEN(s3_errors); i++)
        if (strcmp(code, s3_errors[i].code) == 0)
            return &s3_errors[i];
    return NULL;
}

/* The <Code> and <Message> of an <Error> body into code and msg; 1 if a code was found.
 * An empty <Code></Code> counts as none (the status then decides), and so does one longer
 * than code's maximum: no S3 code is, and a failed append leaves code without text. */
static int s3_error_body(const struct cl_buf *body, struct cl_buf *code, struct cl_buf *msg)
{
    struct cl_xml *x = body->data ? s3_xml_root(body, "Error", NULL) : NULL;
    const char *c = cl_xml_child_text(x, "Code"), *m = cl_xml_child_text(x, "Message");
    int found = c && *c && cl_buf_append_str(code, c) == CL_OK;
    if (!found)
        cl_buf_reset(code); /* clears the poison of a failed append */
    if (m)
        cl_buf_append_str(msg, m);
    cl_xml_free(x); /* c and m point into it */
    return found;
}

int s3_fail(struct s3_store *s, const struct s3_call *c)
{
    const struct cl_http_response *r = &c->resp;
    struct cl_buf code, msg;
    cl_buf_init(&code, 256);
    cl_buf_init(&msg, 4096);
    if (!s3_error_body(&r->body, &code, &msg)) {
        const char *guess = s3_code_from_status(r->status);
        cl_buf_printf(&code, "%s", guess ? guess : "HTTP error");
    }
    const struct s3_error_kind *k = s3_error_kind(code.data);
    int rc = k ? k->rc : CL_ERR_IO;
    if (!k && (cl_aws_throttling(code.data) || r->status == 429 || r->status == 503))
        rc = CL_ERR_FULL;
    /* A missing key and an existing one under If-None-Match are answers, not faults. */
    enum cl_log_level lvl =
        rc == CL_ERR_NOT_FOUND || rc == CL_ERR_EXISTS ? CL_LOG_DEBUG : CL_LOG_WARN;
    cl_log(lvl, "store s3: %s s3://%s/%s%s: %s: %s%s%s (HTTP %ld, %d attempt%s)", c->op, s->bucket,
           s->prefix, c->key ? c->key : "", code.data, msg.data ? msg.data : "",
           k || rc == CL_ERR_FULL ? " -- " : "",
           k                   ? k->hint
           : rc == CL_ERR_FULL ? "throttled; retry later"
                               : "",
           r->status, r->attempts, r->attempts == 1 ? "" : "s");
    cl_buf_free(&code);
    cl_buf_free(&msg);
    return rc;
}
