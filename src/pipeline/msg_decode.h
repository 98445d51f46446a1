/* msg_decode.h - reading one queue message's records: shared by the embedded processor
 * (process.c) and the stateless batch processor (batch_process.c), so both accept and
 * reject exactly the same messages with the same reasons. */
#ifndef CL_MSG_DECODE_H
#define CL_MSG_DECODE_H

#include "buf.h"
#include "codec.h"
#include "partition.h"
#include "queue.h"

#include <stddef.h>

/* Decompresses a message body into out (reset first, bounded by out->max). Only the
 * "gzip" encoding exists. Returns 0, or -1 with err set ("unsupported message encoding
 * 'x'", "cannot decode message body: ..."). */
int cl_msg_decode(const struct cl_msg_attrs *attrs, const void *body, size_t len,
                  struct cl_buf *out, char *err, size_t err_len);

/* As cl_msg_decode, and also reports the body's gzip members (codec.h): *members
 * (caller frees; NULL on error) gets *n entries. */
int cl_msg_decode_members(const struct cl_msg_attrs *attrs, const void *body, size_t len,
                          struct cl_buf *out, struct cl_gzip_member **members, size_t *n, char *err,
                          size_t err_len);

/* Calls fn for every line of decoded NDJSON (without its '\n') with the line's parsed
 * head. Stops at the first line that is not a normalized record: returns -1 with err set
 * ("record N is not a normalized log record"), or at fn's first non-zero return, which it
 * returns; else 0. */
int cl_msg_lines(const struct cl_buf *decoded,
                 int (*fn)(void *arg, const char *line, size_t len, const struct cl_line_head *h),
                 void *arg, char *err, size_t err_len);

#endif
