/* json_write.h - appending JSON text (escaped strings) to a buffer. */
#ifndef CL_JSON_WRITE_H
#define CL_JSON_WRITE_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* Appends s[0..len) as a JSON string literal with quotes, escaping '"', '\\' and
 * control characters; valid UTF-8 is copied as it is and each byte that is not part of
 * a valid UTF-8 sequence becomes \ufffd, so the result is always valid JSON. */
int cl_json_write_string(struct cl_buf *b, const char *s, size_t len);

/* Appends v in decimal (what printf's %llu / %lld write, without printf's cost). */
int cl_json_write_uint(struct cl_buf *b, uint64_t v);
int cl_json_write_int(struct cl_buf *b, int64_t v);

/* Length (1-4) of the valid UTF-8 sequence at s[0..n), or 0 if it is not one (overlong
 * forms, surrogates and code points above U+10FFFF are not). n must be > 0. */
size_t cl_utf8_seq_len(const unsigned char *s, size_t n);

#endif
