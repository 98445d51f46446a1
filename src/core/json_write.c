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

int cl_json_write_string(struct cl_buf *b, const char *s, size_t len)
{
    int rc = cl_buf_reserve(b, len + 2); /* the common case: nothing to escape */
    rc = rc ? rc : cl_buf_append_char(b, '"');
    size_t run = 0, i = 0; /* run: start of the pending run of bytes that need no escaping */
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
