/* json.h - strict, zero-copy RFC 8259 scanner.
 *
 * Nothing is built: values are reported as borrowed spans of the input plus a type
 * and flags, so a caller can copy original bytes instead of re-serializing. Every
 * byte is validated (grammar, UTF-8 including overlongs and surrogates, escapes,
 * number syntax). Nesting is bounded by max_depth, without recursion on the C stack.
 *
 * Two layers:
 *  - the reader (cl_json_reader_*, cl_json_object_*, cl_json_scan_value) validates
 *    strictly;
 *  - cl_json_split_array is a fast structural pass that only tracks strings and
 *    brackets to find the elements of a top-level array, so one malformed element
 *    can be rejected alone while its neighbours are still accepted.
 */
#ifndef CL_JSON_H
#define CL_JSON_H

#include <stddef.h>
#include <stdint.h>

enum cl_json_type {
    CL_JSON_INVALID = 0,
    CL_JSON_NULL,
    CL_JSON_FALSE,
    CL_JSON_TRUE,
    CL_JSON_NUMBER,
    CL_JSON_STRING,
    CL_JSON_ARRAY,
    CL_JSON_OBJECT
};

/* Value flags. */
#define CL_JSON_F_ESCAPED 0x1u /* a string (or a container) holds backslash escapes */
#define CL_JSON_F_SPACE 0x2u   /* a container holds insignificant whitespace */

/* A scanned value: [ptr, ptr+len) is its exact text (strings include their quotes). */
struct cl_json_value {
    enum cl_json_type type;
    unsigned flags;
    const char *ptr;
    size_t len;
};

struct cl_json_error {
    size_t offset;   /* byte offset into the reader's buffer */
    const char *msg; /* static text, e.g. "invalid UTF-8 in string" */
};

struct cl_json_reader {
    const char *buf;
    size_t len;
    size_t pos;
    int max_depth;
    struct cl_json_error err;
};

#define CL_JSON_DEFAULT_MAX_DEPTH 64
/* Largest nesting a reader accepts; a larger max_depth is clamped to it (the open
 * containers are tracked in a fixed bitset of this many bits). */
#define CL_JSON_MAX_DEPTH_LIMIT 4096

/* max_depth <= 0 selects CL_JSON_DEFAULT_MAX_DEPTH. */
void cl_json_reader_init(struct cl_json_reader *r, const char *buf, size_t len, int max_depth);

/* Skips whitespace, then validates exactly one value; on success fills *v and leaves
 * r->pos just past it. Returns 0, or -1 with r->err set. */
int cl_json_scan_value(struct cl_json_reader *r, struct cl_json_value *v);

/* Skips whitespace; returns 1 if only whitespace remains, else 0. */
int cl_json_at_end(struct cl_json_reader *r);

/* Validates the string value at r->pos (its opening quote, no whitespace before it):
 * fills *v and leaves r->pos past it. Returns 0, or -1 with r->err set. For decoders that
 * validate as they walk (json_walk.h's checking cursor): a string costs no more than in
 * cl_json_scan_value, without its set-up per value. */
int cl_json_scan_string_value(struct cl_json_reader *r, struct cl_json_value *v);

/* Object iteration, validating as it goes (one pass):
 * cl_json_object_open skips whitespace and consumes '{' (-1 if absent);
 * cl_json_object_next returns 1 with the next member (key is a CL_JSON_STRING with
 * quotes), 0 once '}' is consumed, -1 on a syntax error (r->err set). Nested values
 * count against max_depth with the object itself at depth 1. */
int cl_json_object_open(struct cl_json_reader *r);
int cl_json_object_next(struct cl_json_reader *r, struct cl_json_value *key,
                        struct cl_json_value *val);

/* Writes the value's text without insignificant whitespace to out (needs v->len bytes
 * of room); returns the number of bytes written. v must have been validated. */
size_t cl_json_compact(const struct cl_json_value *v, char *out);

/* Decodes a validated JSON string value (with quotes) into out (needs v->len bytes of
 * room, always enough), producing UTF-8; returns the decoded length. \u0000 decodes to
 * a NUL byte, so use the length, not strlen. (The reader rejects \u escapes of
 * surrogates that are not a proper high+low pair, so the output is always valid UTF-8.) */
size_t cl_json_unescape(const struct cl_json_value *v, char *out);

/* Structural split of a top-level array starting at buf[pos] ('[' after optional
 * whitespace). Calls fn(arg, elem_start, elem_len) for each element, trimmed of
 * surrounding whitespace (elements are NOT validated). Returns 0 if the array's
 * brackets, strings and commas are well-formed and nothing but whitespace follows it;
 * -1 with *err otherwise; or the first non-zero value fn returned. */
int cl_json_split_array(const char *buf, size_t len,
                        int (*fn)(void *arg, const char *elem, size_t elem_len), void *arg,
                        struct cl_json_error *err);

/* ---- Reading small documents (events, state files): json_get.c ---- */

/* Heap copy of a validated JSON string value, unescaped and NUL-terminated; *len (may be
 * NULL) gets its length, which may include NULs from \u0000. Caller frees. */
char *cl_json_string_dup(const struct cl_json_value *v, size_t *len);
/* 1 if key (a JSON string value, quotes included) is name; with icase ASCII letters
 * compare case-insensitively (HTTP header names). A key with escapes never matches. */
int cl_json_key_is(const struct cl_json_value *key, const char *name, int icase);
/* Starts iterating the object value v with r (max_depth as cl_json_reader_init);
 * returns cl_json_object_open's result. v must outlive r. */
int cl_json_object_enter(struct cl_json_reader *r, const struct cl_json_value *v, int max_depth);
/* A number value that is a non-negative integer of at most 18 digits: its value, else
 * -1. */
int64_t cl_json_uint(const struct cl_json_value *v);

#endif
