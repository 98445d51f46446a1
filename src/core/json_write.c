/* json_write.c - JSON string escaping for responses and error messages. */
#include "json_write.h"

#include "common.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t cl_utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k = c < 0x80                 ? 1
               : c >= 0xC2 && c <= 0xDF ? 2
               : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4
                                        : 0;
    if (k == 0 || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0; /* overlong, surrogate or above U+10FFFF */
    return k;
}

/* 1 if one of the 8 bytes in w needs a look of its own: a control character, '"', '\\'
 * or a byte >= 0x80 (SWAR: (x - 0x01..) & ~x & 0x80.. is nonzero iff a byte of x is 0). */
static int any_special8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
    uint64_t ctl = w - ones * 0x20; /* a byte below 0x20 borrows into its high bit */
    return ((w | (ctl & ~w) | ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash)) & high) != 0;
}

/* Appends the escape for the byte c (a control character, '"' or '\\'). */
static int write_escape(struct cl_buf *b, unsigned char c)
{
    char esc[8];
    switch (c) {
    case '"':
        return cl_buf_append(b, "\\\"", 2);
    case '\\':
        return cl_buf_append(b, "\\\\", 2);
    case '\n':
        return cl_buf_append(b, "\\n", 2);
    case '\r':
        return cl_buf_append(b, "\\r", 2);
    case '\t':
        return cl_buf_append(b, "\\t", 2);
    default:
        snprintf(esc, sizeof esc, "\\u%04x", c);
        return cl_buf_append(b, esc, 6);
    }
}

/* Length of the prefix of s[0..len) that is plain ASCII needing no escape (a byte after
 * it may still be a valid UTF-8 character: the caller looks). */
static size_t plain_prefix(const char *s, size_t len)
{
    size_t i = 0;
    uint64_t w;
    for (; len - i >= 8; i += 8) {
        memcpy(&w, s + i, 8);
        if (any_special8(w))
            break;
    }
    if (len - i < 8) { /* the tail, padded with spaces (plain) to one word */
        w = 0x2020202020202020ull;
        if (len > i) /* s may be NULL when len is 0 */
            memcpy(&w, s + i, len - i);
        if (!any_special8(w))
            return len;
    }
    while (i < len && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x80 && s[i] != '"' &&
           s[i] != '\\')
        i++;
    return i;
}

int cl_json_write_string(struct cl_buf *b, const char *s, size_t len)
{
    int rc = cl_buf_reserve(b, len + 2); /* the common case: nothing to escape */
    if (rc)
        return rc;
    size_t i = plain_prefix(s, len);
    if (i == len) { /* room reserved above */
        b->data[b->len++] = '"';
        if (len)
            memcpy(b->data + b->len, s, len);
        b->len += len;
        b->data[b->len++] = '"';
        b->data[b->len] = '\0';
        return CL_OK;
    }
    rc = cl_buf_append_char(b, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    while (i < len && rc == CL_OK) {
        uint64_t w;
        if (len - i >= 8 && (memcpy(&w, s + i, 8), !any_special8(w))) {
            i += 8; /* eight plain ASCII bytes: copied with the run */
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t k = cl_utf8_seq_len((const unsigned char *)s + i, len - i);
            if (k) {
                i += k; /* a whole valid character: copied with the run */
                continue;
            }
            /* Invalid UTF-8 (a client's bytes echoed in a message): U+FFFD keeps the
             * document valid JSON whatever was sent. */
            rc = cl_buf_append(b, s + run, i - run);
            rc = rc ? rc : cl_buf_append(b, "\\ufffd", 6);
            run = ++i;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        rc = cl_buf_append(b, s + run, i - run);
        rc = rc ? rc : write_escape(b, c);
        run = ++i;
    }
    if (rc == CL_OK)
        rc = cl_buf_append(b, s + run, len - run);
    if (rc == CL_OK)
        rc = cl_buf_append_char(b, '"');
    return rc;
}

int cl_json_write_uint(struct cl_buf *b, uint64_t v)
{
    char d[20];
    size_t n = 0;
    do
        d[sizeof d - ++n] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return cl_buf_append(b, d + sizeof d - n, n);
}

int cl_json_write_int(struct cl_buf *b, int64_t v)
{
    if (v >= 0)
        return cl_json_write_uint(b, (uint64_t)v);
    int rc = cl_buf_append_char(b, '-');
    return rc ? rc : cl_json_write_uint(b, 0 - (uint64_t)v); /* INT64_MIN included */
}
