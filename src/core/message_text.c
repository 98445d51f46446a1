/* message_text.c - a message as text (message.h): base64 bodies and attributes parsed
 * from name/value text, for transports that carry text only (SQS, Lambda events). */
#include "message.h"

#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

size_t cl_msg_text_len(size_t len)
{
    return 4 * ((len + 2) / 3);
}

char *cl_msg_body_to_text(const void *body, size_t len, size_t *out_len)
{
    /* EVP_EncodeBlock takes an int length: encode in chunks that are multiples of 3 so
     * the concatenated output is one padded base64 string. */
    enum { CHUNK = 3 * (1 << 20) };
    size_t total = cl_msg_text_len(len);
    char *out = malloc(total + 1);
    if (!out)
        return NULL;
    const unsigned char *src = body;
    size_t done = 0, w = 0;
    while (done < len) {
        size_t n = CL_MIN(len - done, (size_t)CHUNK);
        w += (size_t)EVP_EncodeBlock((unsigned char *)out + w, src + done, (int)n);
        done += n;
    }
    out[w] = '\0';
    if (out_len)
        *out_len = w;
    return out;
}

static int is_b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Strict check of the standard padded form: length a multiple of 4, alphabet only, '='
 * only as the last one or two characters. EVP_DecodeBlock itself skips leading and
 * trailing whitespace and accepts some malformed input, so validate first. */
static int b64_valid(const char *text, size_t len, size_t *pad)
{
    if (len % 4 != 0)
        return 0;
    *pad = 0;
    if (len >= 1 && text[len - 1] == '=')
        *pad = 1;
    if (len >= 2 && text[len - 2] == '=')
        *pad = 2;
    for (size_t i = 0; i < len - *pad; i++)
        if (!is_b64_char((unsigned char)text[i]))
            return 0;
    return 1;
}

int cl_msg_body_from_text(const char *text, size_t len, void **out, size_t *out_len)
{
    size_t pad;
    *out = NULL;
    *out_len = 0;
    if (!b64_valid(text, len, &pad))
        return CL_ERR_INVAL;
    enum { CHUNK = 4 * (1 << 20) }; /* multiple of 4: chunks decode independently */
    unsigned char *buf = cl_malloc(len / 4 * 3 + 1);
    size_t done = 0, w = 0;
    while (done < len) {
        size_t n = CL_MIN(len - done, (size_t)CHUNK);
        int got = EVP_DecodeBlock(buf + w, (const unsigned char *)text + done, (int)n);
        if (got < 0) {
            free(buf);
            return CL_ERR_INVAL;
        }
        w += (size_t)got;
        done += n;
    }
    /* EVP_DecodeBlock's quirk: it returns 3 bytes per 4 characters including the zero
     * bytes the padding stands for; drop them. */
    *out = buf;
    *out_len = w - pad;
    return CL_OK;
}

/* Parses a decimal integer (optionally signed) occupying exactly value[0..len). */
static int parse_i64(const char *value, size_t len, int64_t lo, int64_t hi, int64_t *out)
{
    char tmp[32];
    if (len == 0 || len >= sizeof tmp)
        return CL_ERR_INVAL;
    memcpy(tmp, value, len);
    tmp[len] = '\0';
    if (!(tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9')))
        return CL_ERR_INVAL;
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return CL_ERR_INVAL;
    *out = v;
    return CL_OK;
}

int cl_msg_attr_set(struct cl_msg_attrs *a, const char *name, const char *value, size_t value_len)
{
    int64_t v;
    int rc;
    if (strcmp(name, CL_MSG_ATTR_ENCODING) == 0) {
        if (value_len >= sizeof a->encoding)
            return CL_ERR_INVAL;
        memcpy(a->encoding, value, value_len);
        a->encoding[value_len] = '\0';
        return CL_OK;
    }
    if (strcmp(name, CL_MSG_ATTR_COUNT) == 0) {
        if ((rc = parse_i64(value, value_len, 0, UINT32_MAX, &v)) == CL_OK)
            a->record_count = (uint32_t)v;
        return rc;
    }
    if (strcmp(name, CL_MSG_ATTR_RAW_BYTES) == 0) {
        if ((rc = parse_i64(value, value_len, 0, INT64_MAX, &v)) == CL_OK)
            a->raw_bytes = (uint64_t)v;
        return rc;
    }
    if (strcmp(name, CL_MSG_ATTR_MIN_TS) == 0) {
        if ((rc = parse_i64(value, value_len, INT64_MIN, INT64_MAX, &v)) == CL_OK)
            a->min_ts_ms = v;
        return rc;
    }
    if (strcmp(name, CL_MSG_ATTR_MAX_TS) == 0) {
        if ((rc = parse_i64(value, value_len, INT64_MIN, INT64_MAX, &v)) == CL_OK)
            a->max_ts_ms = v;
        return rc;
    }
    return CL_OK;
}
