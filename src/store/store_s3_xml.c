/* store_s3_xml.c - the S3 store's XML: entity decoding, element lookup, escaping, and
 * S3 error responses turned into clear messages. */
#include "store_s3_int.h"

#include "common.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends the XML-decoded text of s[0..len) to out: the five named entities and numeric
 * character references. Returns CL_OK, CL_ERR_CORRUPT or CL_ERR_TOO_LARGE. */
static int s3_xml_decode(struct cl_buf *out, const char *s, size_t len)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    int rc = CL_OK;
    for (size_t i = 0; i < len && rc == CL_OK; i++) {
        if (s[i] != '&') {
            rc = cl_buf_append_char(out, s[i]);
            continue;
        }
        const char *semi = memchr(s + i, ';', len - i);
        if (!semi)
            return CL_ERR_CORRUPT;
        size_t n = (size_t)(semi - (s + i)) + 1, k;
        for (k = 0; k < CL_ARRAY_LEN(ents); k++)
            if (n - 1 == strlen(ents[k].name) && memcmp(s + i + 1, ents[k].name, n - 1) == 0)
                break;
        if (k < CL_ARRAY_LEN(ents)) {
            rc = cl_buf_append_char(out, ents[k].c);
        } else if (n > 3 && s[i + 1] == '#') {
            int hex = s[i + 2] == 'x';
            char *end;
            unsigned long cp = strtoul(s + i + 2 + hex, &end, hex ? 16 : 10);
            if (end != semi || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return CL_ERR_CORRUPT;
            unsigned char u[4];
            int ul = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
            for (int b = ul - 1; b > 0; b--, cp >>= 6)
                u[b] = (unsigned char)(0x80 | (cp & 0x3F));
            u[0] = (unsigned char)(lead[ul] | cp);
            rc = cl_buf_append(out, u, (size_t)ul);
        } else {
            return CL_ERR_CORRUPT;
        }
        i += n - 1;
    }
    return rc;
}

/* An empty element <tag/> is not expected from S3 for the tags we read. */
int s3_xml_find(const char **pos, const char *end, const char *tag, const char **text,
                size_t *text_len)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *o = memmem(*pos, (size_t)(end - *pos), open, strlen(open));
    if (!o)
        return 0;
    const char *t = o + strlen(open);
    const char *c = memmem(t, (size_t)(end - t), close, strlen(close));
    if (!c)
        return 0;
    *text = t;
    *text_len = (size_t)(c - t);
    *pos = c + strlen(close);
    return 1;
}

int s3_xml_text(const char *p, const char *end, const char *tag, struct cl_buf *out)
{
    const char *t;
    size_t tl;
    cl_buf_reset(out);
    if (!p || !s3_xml_find(&p, end, tag, &t, &tl))
        return 0;
    return s3_xml_decode(out, t, tl) == CL_OK;
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

int s3_fail(struct s3_store *s, const struct s3_call *c)
{
    const struct cl_http_response *r = &c->resp;
    const char *b = r->body.data, *e = b ? b + r->body.len : NULL;
    struct cl_buf code, msg;
    cl_buf_init(&code, 256);
    cl_buf_init(&msg, 4096);
    int from_body = s3_xml_text(b, e, "Code", &code);
    const char *guess = from_body ? NULL : s3_code_from_status(r->status);
    if (!from_body)
        cl_buf_printf(&code, "%s", guess ? guess : "HTTP error");
    s3_xml_text(b, e, "Message", &msg);
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
