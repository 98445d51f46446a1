/* buf.c - growable byte buffer with a hard maximum. */
#include "buf.h"

#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_buf_init(struct cl_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->failed = 0;
}

void cl_buf_free(struct cl_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}

void cl_buf_reset(struct cl_buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

int cl_buf_reserve(struct cl_buf *b, size_t extra)
{
    if (b->failed)
        return CL_ERR_TOO_LARGE;
    if (extra > b->max || b->len > b->max - extra) {
        b->failed = 1;
        return CL_ERR_TOO_LARGE;
    }
    size_t need = b->len + extra + 1; /* +1 keeps room for the NUL */
    if (need <= b->cap)
        return CL_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->max < SIZE_MAX && cap > b->max + 1)
        cap = CL_MAX(need, b->max + 1); /* never hold more than the bound allows */
    b->data = cl_realloc(b->data, cap);
    b->cap = cap;
    return CL_OK;
}

int cl_buf_append(struct cl_buf *b, const void *p, size_t n)
{
    int rc = cl_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return CL_OK;
}

int cl_buf_append_str(struct cl_buf *b, const char *s)
{
    return cl_buf_append(b, s, strlen(s));
}

int cl_buf_printf(struct cl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1; /* an encoding error: the text would be incomplete */
        return CL_ERR_INVAL;
    }
    if ((size_t)n < sizeof small)
        return cl_buf_append(b, small, (size_t)n);
    int rc = cl_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return CL_OK;
}

void cl_buf_truncate(struct cl_buf *b, size_t n)
{
    if (n < b->len) {
        b->len = n;
        b->data[n] = '\0';
    }
}

char *cl_buf_take(struct cl_buf *b, size_t *len)
{
    char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
    return d;
}
