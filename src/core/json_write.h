/* json_write.h - appending JSON text (escaped strings) to a buffer. */
#ifndef CL_JSON_WRITE_H
#define CL_JSON_WRITE_H

#include "buf.h"

#include <stddef.h>

/* Appends s[0..len) as a JSON string literal with quotes, escaping '"', '\\' and
 * control characters; bytes >= 0x80 are copied as they are (callers pass UTF-8). */
int cl_json_write_string(struct cl_buf *b, const char *s, size_t len);

/* Length of the valid UTF-8 sequence at s[0..n) (1-4), or 0 if it is not one (overlong,
 * surrogate, above U+10FFFF, cut short). */
size_t cl_utf8_seq(const unsigned char *s, size_t n);

/* As cl_json_write_string, for text that may not be UTF-8 (syslog, error messages that
 * quote input): each invalid byte becomes U+FFFD, so the output is always valid JSON. */
int cl_json_write_string_lossy(struct cl_buf *b, const char *s, size_t len);

#endif
