/* message.c - the queue message contract (message.h): encode a sealed batch, decode a
 * body into normalized lines with their heads, size as sent, and freeing messages. */
#include "message.h"

#include "batch.h"
#include "codec.h"
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_msgs_free(struct cl_msg *msgs, size_t n)
{
    if (!msgs)
        return;
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].id);
        free(msgs[i].receipt);
        free(msgs[i].body);
        free(msgs[i].last_error);
    }
    free(msgs);
}

void cl_msg_from_sealed(const struct cl_batch_sealed *s, struct cl_msg_out *m)
{
    memset(m, 0, sizeof *m);
    m->body = s->gz;
    m->len = s->gz_len;
    m->attrs.record_count = s->count;
    m->attrs.raw_bytes = s->raw_bytes;
    m->attrs.min_ts_ms = s->min_ts_ms;
    m->attrs.max_ts_ms = s->max_ts_ms;
    memcpy(m->attrs.encoding, "gzip", 5);
}

size_t cl_msg_sent_size(size_t body_len)
{
    return cl_msg_text_len(body_len) + CL_MSG_ATTR_ROOM;
}

int cl_msg_decode(const struct cl_msg_attrs *attrs, const void *body, size_t len,
                  struct cl_buf *out, char *err, size_t err_len)
{
    cl_buf_reset(out);
    if (strcmp(attrs->encoding, "gzip") != 0) {
        snprintf(err, err_len, "unsupported message encoding '%s'", attrs->encoding);
        return -1;
    }
    int rc = cl_gzip_decompress(body, len, out);
    if (rc != CL_OK) {
        snprintf(err, err_len, "cannot decode message body: %s", cl_strerror(rc));
        return -1;
    }
    return 0;
}

int cl_msg_decode_members(const struct cl_msg_attrs *attrs, const void *body, size_t len,
                          struct cl_buf *out, struct cl_gzip_member **members, size_t *n, char *err,
                          size_t err_len)
{
    cl_buf_reset(out);
    *members = NULL;
    *n = 0;
    if (strcmp(attrs->encoding, "gzip") != 0) {
        snprintf(err, err_len, "unsupported message encoding '%s'", attrs->encoding);
        return -1;
    }
    int rc = cl_gzip_decompress_members(body, len, out, members, n);
    if (rc != CL_OK) {
        snprintf(err, err_len, "cannot decode message body: %s", cl_strerror(rc));
        return -1;
    }
    return 0;
}

int cl_msg_lines(const struct cl_buf *decoded,
                 int (*fn)(void *arg, const char *line, size_t len, const struct cl_line_head *h),
                 void *arg, char *err, size_t err_len)
{
    const char *p = decoded->data ? decoded->data : "", *end = p + decoded->len;
    struct cl_line_head h;
    for (size_t count = 0; p < end; count++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (cl_line_head_parse(p, len, &h) != 0) {
            snprintf(err, err_len, "record %zu is not a normalized log record", count);
            return -1;
        }
        int rc = fn(arg, p, len, &h);
        if (rc)
            return rc;
        p += len + 1;
    }
    return 0;
}
