/* message_text.c - a message as text (message.h): base64 bodies and attributes parsed
 * from name/value text, for transports that carry text only (SQS, Lambda events). */
#include "message.h"

#include "base64.h"
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

size_t cl_msg_text_len(size_t len)
{
    return cl_base64_encoded_len(len);
}

char *cl_msg_body_to_text(const void *body, size_t len, size_t *out_len)
{
    char *out = malloc(cl_base64_encoded_len(len) + 1);
    if (!out)
        return NULL;
    size_t w = cl_base64_encode(out, body, len);
    if (out_len)
        *out_len = w;
    return out;
}

int cl_msg_body_from_text(const char *text, size_t len, void **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    unsigned char *buf = cl_malloc(len / 4 * 3 + 1);
    long got = cl_base64_decode(buf, text, len);
    if (got < 0) {
        free(buf);
        return CL_ERR_INVAL;
    }
    *out = buf;
    *out_len = (size_t)got;
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
