/* json_write.h - appending JSON text (escaped strings) to a buffer. */
#ifndef CL_JSON_WRITE_H
#define CL_JSON_WRITE_H

#include "buf.h"

#include <stddef.h>

/* Appends s[0..len) as a JSON string literal with quotes, escaping '"', '\\' and
 * control characters; bytes >= 0x80 are copied as they are (callers pass UTF-8). */
int cl_json_write_string(struct cl_buf *b, const char *s, size_t len);

#endif
