/* buf.h - growable byte buffer with a hard maximum (after curl's dynbuf). */
#ifndef CL_BUF_H
#define CL_BUF_H

#include <stddef.h>

/* A buffer owns `data` (heap). `max` bounds `len` (name every maximum in cl_limits.h).
 * data is always NUL-terminated when non-NULL so text can be used as a C string.
 *
 * Errors are sticky, as in curl's dynbuf: the first append, printf or reserve that would
 * pass `max` fails with CL_ERR_TOO_LARGE and poisons the buffer; every later append,
 * printf and reserve fails at once without writing, so a run of appends needs one check,
 * cl_buf_failed(), where the text is finished or sent. Unlike dynbuf the bytes written
 * before the failure stay readable (callers that roll back to a mark keep working), but
 * they are incomplete: never send a failed buffer. cl_buf_reset, cl_buf_free and
 * cl_buf_take clear the poison (the buffer is then empty and reusable). */
struct cl_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
    int failed; /* sticky: an append failed since the last reset */
};

void cl_buf_init(struct cl_buf *b, size_t max);
/* Frees the memory; the buffer may be reused after cl_buf_init. */
void cl_buf_free(struct cl_buf *b);
/* Empties the buffer, keeping its memory. */
void cl_buf_reset(struct cl_buf *b);
/* Ensures room for `extra` more bytes; returns CL_OK or CL_ERR_TOO_LARGE. */
int cl_buf_reserve(struct cl_buf *b, size_t extra);
int cl_buf_append(struct cl_buf *b, const void *p, size_t n);
int cl_buf_append_str(struct cl_buf *b, const char *s);
/* One byte: inline, as records are built a byte of punctuation at a time; the slow path
 * (growth, the bound, a poisoned buffer) is cl_buf_append's. */
static inline int cl_buf_append_char(struct cl_buf *b, char c)
{
    if (b->len + 2 <= b->cap && !b->failed && b->len < b->max) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return 0;
    }
    return cl_buf_append(b, &c, 1);
}
int cl_buf_printf(struct cl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 if an append, printf or reserve failed since the buffer was last emptied. */
static inline int cl_buf_failed(const struct cl_buf *b)
{
    return b->failed;
}
/* Shrinks len to n (n <= len). Does not clear the poison. */
void cl_buf_truncate(struct cl_buf *b, size_t n);
/* Hands the memory to the caller (who frees it with free()); the buffer becomes empty. */
char *cl_buf_take(struct cl_buf *b, size_t *len);

#endif
