/* json_write.c - JSON string escaping for responses and error messages. */
#include "json_write.h"

#include "common.h"

#include <stdio.h>

int cl_json_write_string(struct cl_buf *b, const char *s, size_t len)
{
    int rc = cl_buf_append_char(b, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; i < len && rc == CL_OK; i++) {
        unsigned char c = (unsigned char)s[i];
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
