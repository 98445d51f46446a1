/* json_write.c - JSON string escaping for responses and error messages. */
#include "json_write.h"

#include "common.h"

#include <stdio.h>

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

int cl_json_write_string(struct cl_buf *b, const char *s, size_t len)
{
    int rc = cl_buf_append_char(b, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; i < len && rc == CL_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t k = cl_utf8_seq_len((const unsigned char *)s + i, len - i);
            if (k) {
                i += k - 1; /* a whole valid character: copied with the run */
                continue;
            }
            /* Invalid UTF-8 (a client's bytes echoed in a message): U+FFFD keeps the
             * document valid JSON whatever was sent. */
            rc = cl_buf_append(b, s + run, i - run);
            rc = rc ? rc : cl_buf_append(b, "\\ufffd", 6);
            run = i + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = cl_buf_append(b, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"':
            rc = rc ? rc : cl_buf_append(b, "\\\"", 2);
            break;
        case '\\':
            rc = rc ? rc : cl_buf_append(b, "\\\\", 2);
            break;
        case '\n':
            rc = rc ? rc : cl_buf_append(b, "\\n", 2);
            break;
        case '\r':
            rc = rc ? rc : cl_buf_append(b, "\\r", 2);
            break;
        case '\t':
            rc = rc ? rc : cl_buf_append(b, "\\t", 2);
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            rc = rc ? rc : cl_buf_append(b, esc, 6);
        }
    }
    if (rc == CL_OK)
        rc = cl_buf_append(b, s + run, len - run);
    if (rc == CL_OK)
        rc = cl_buf_append_char(b, '"');
    return rc;
}
