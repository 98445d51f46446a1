/* response.c - bench_loadgen's HTTP/1.1 response framing (Content-Length, chunked, close). */
#include "loadgen.h"

#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void parse_header_line(const char *line, size_t n, struct resp *r)
{
    const char *colon = memchr(line, ':', n);
    if (!colon)
        return;
    size_t name_len = (size_t)(colon - line);
    char val[128];
    const char *v = colon + 1, *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    size_t vn = CL_MIN((size_t)(e - v), sizeof(val) - 1);
    memcpy(val, v, vn);
    val[vn] = '\0';
    if (name_len == 14 && !strncasecmp(line, "content-length", 14))
        r->clen = strtoll(val, NULL, 10);
    else if (name_len == 17 && !strncasecmp(line, "transfer-encoding", 17))
        r->chunked = strcasestr(val, "chunked") != NULL;
    else if (name_len == 10 && !strncasecmp(line, "connection", 10))
        r->close = strcasestr(val, "close")        ? true
                   : strcasestr(val, "keep-alive") ? false
                                                   : r->close;
    else if (name_len == 11 && !strncasecmp(line, "retry-after", 11) &&
             isdigit((unsigned char)val[0]))
        r->retry_after = (int)CL_MIN(strtol(val, NULL, 10), 3600L);
}

/* Returns 1 with r filled when the head is complete, 0 when more bytes are needed, -1 if bad. */
static int parse_head(const char *buf, size_t len, struct resp *r)
{
    const char *eoh = memmem(buf, len, "\r\n\r\n", 4);
    if (!eoh)
        return len > HEAD_MAX ? -1 : 0;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (!isdigit((unsigned char)buf[i]))
            return -1;
    *r = (struct resp){.status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0'),
                       .close = buf[7] == '0',
                       .clen = -1,
                       .retry_after = -1,
                       .head_len = (size_t)(eoh - buf) + 4};
    const char *line = (const char *)memchr(buf, '\n', len) + 1;
    while (line < eoh + 2) {
        const char *eol = memmem(line, (size_t)(eoh + 2 - line), "\r\n", 2);
        parse_header_line(line, (size_t)(eol - line), r);
        line = eol + 2;
    }
    return 1;
}

/* Finds the end of a chunked body starting at pos; same return convention as parse_head. */
static int chunked_end(const char *buf, size_t len, size_t pos, size_t *end)
{
    for (;;) {
        const char *eol = memmem(buf + pos, len - pos, "\r\n", 2);
        if (!eol)
            return 0;
        if (!isxdigit((unsigned char)buf[pos]))
            return -1;
        unsigned long n = strtoul(buf + pos, NULL, 16);
        pos = (size_t)(eol - buf) + 2;
        if (n == 0)
            break;
        if (n > RESP_MAX)
            return -1;
        if (len - pos < n + 2)
            return 0;
        pos += n + 2;
    }
    for (;;) { /* trailer lines up to the empty one */
        const char *eol = memmem(buf + pos, len - pos, "\r\n", 2);
        if (!eol)
            return 0;
        bool empty = eol == buf + pos;
        pos = (size_t)(eol - buf) + 2;
        if (empty) {
            *end = pos;
            return 1;
        }
    }
}

/* Returns 1 when a whole response is in buf (r->end set), 0 if incomplete, -1 if malformed. */
int parse_response(const char *buf, size_t len, bool eof, struct resp *r)
{
    int rc = parse_head(buf, len, r);
    if (rc <= 0)
        return rc;
    if (r->status < 200 || r->status == 204 || r->status == 304) {
        r->end = r->head_len;
        return r->status < 200 ? -1 : 1; /* we never send Expect, so 1xx is a protocol error */
    }
    if (r->chunked)
        return chunked_end(buf, len, r->head_len, &r->end);
    if (r->clen >= 0) {
        if ((size_t)r->clen > RESP_MAX)
            return -1;
        if (len - r->head_len < (size_t)r->clen)
            return 0;
        r->end = r->head_len + (size_t)r->clen;
        return 1;
    }
    r->close = true; /* delimited by connection close */
    r->end = len;
    return eof ? 1 : 0;
}

/* Reads the integer after "key": in a JSON text (no full parse: the server's body is flat). */
bool json_int(const char *b, size_t n, const char *key, long long *out)
{
    size_t kn = strlen(key);
    const char *k = memmem(b, n, key, kn);
    if (!k)
        return false;
    const char *p = k + kn, *e = b + n;
    while (p < e && (*p == ' ' || *p == ':' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    long long v = 0;
    const char *digits = p;
    while (p < e && isdigit((unsigned char)*p) && v < (1LL << 50))
        v = v * 10 + (*p++ - '0');
    if (p == digits)
        return false;
    *out = v;
    return true;
}
