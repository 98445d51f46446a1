/* json_walk.h - walking JSON values that were already validated as a whole (the OTLP
 * JSON, Loki, HEC and _bulk decoders): array elements, object members, a member by name,
 * plain strings.
 *
 * The walkers do not validate again: a value is skipped by finding its end (string quotes
 * and brackets only), several times cheaper than the validating reader of json.h. So
 * every value handed to them MUST come from a validating scan (cl_json_scan_value,
 * cl_jw_body_array, cl_json_values_each) or from a walker over such a value. Reported
 * values carry the same type and flags (CL_JSON_F_ESCAPED, CL_JSON_F_SPACE) as the
 * validating reader would give them. The depth arguments are kept for the callers and
 * unused: the validating scan already enforced the nesting limit.
 */
#ifndef CL_JSON_WALK_H
#define CL_JSON_WALK_H

#include "json.h"

#include <stddef.h>

struct cl_jw_array {
    struct cl_json_reader r;
};

struct cl_jw_object {
    const char *p, *end; /* the next member (or '}') is at or after p */
};

/* Starts iterating the array value v (-1 if v is no array); depth as the reader's. */
int cl_jw_array_begin(struct cl_jw_array *it, const struct cl_json_value *v, int depth);
/* 1 with the next element in *e, 0 at the end. */
int cl_jw_array_next(struct cl_jw_array *it, struct cl_json_value *e);
/* Starts iterating the members of the object value v (-1 if v is no object). */
int cl_jw_object_begin(struct cl_jw_object *it, const struct cl_json_value *v);
/* 1 with the next member's key (a string value, quotes included) and value, 0 at the end. */
int cl_jw_object_next(struct cl_jw_object *it, struct cl_json_value *key,
                      struct cl_json_value *val);
/* The member `name` of object v, or an absent value (ptr NULL, type CL_JSON_INVALID). */
struct cl_json_value cl_jw_member(const struct cl_json_value *v, const char *name, int depth);
/* The members names[0..n) of object v in one pass (the first of each name; absent ones as
 * cl_jw_member gives them) into out[0..n): a decoder reading several members of one
 * object scans it once instead of once per name. */
#define CL_JW_MEMBERS_MAX 16 /* names cl_jw_members looks up at most (more are absent) */
void cl_jw_members(const struct cl_json_value *v, const char *const *names, size_t n,
                   struct cl_json_value *out, int depth);
/* The text of a string value without quotes when it has no escapes; NULL otherwise. */
const char *cl_jw_plain_text(const struct cl_json_value *v, size_t *len);
/* The unescaped text of a string value into buf[cap] (cap >= 1), NUL-terminated and cut
 * at cap - 1 bytes (which may split a character: for names and level words, never stored
 * as they are); returns its length. No allocation, unlike cl_json_string_dup. */
size_t cl_jw_text(const struct cl_json_value *v, char *buf, size_t cap);
int cl_jw_is_space(char c);

/* An object's members as key, value pairs kv[2i], kv[2i+1] (what cl_proto_doc.members
 * hands the normalizer). Zero-initialize; free with cl_jw_pairs_free. */
struct cl_jw_pairs {
    struct cl_json_value *kv;
    size_t n, cap; /* pairs */
};
/* What cl_jw_pairs_add saw among the members it added. */
#define CL_JW_PAIRS_CONTAINER 0x1u   /* a value is an object or array */
#define CL_JW_PAIRS_ESCAPED_KEY 0x2u /* a key holds escapes */
#define CL_JW_PAIRS_SPACE 0x4u       /* a value holds whitespace */
/* Appends the pair key: val (grown as needed). */
void cl_jw_pairs_push(struct cl_jw_pairs *m, const struct cl_json_value *key,
                      const struct cl_json_value *val);
/* Appends the members of the object value v (walked, as every walker here); returns the
 * CL_JW_PAIRS_* it saw. */
unsigned cl_jw_pairs_add(struct cl_jw_pairs *m, const struct cl_json_value *v);
void cl_jw_pairs_free(struct cl_jw_pairs *m);
/* A cursor over validated JSON (as every walker here): a decoder descends into the value
 * at the cursor instead of skipping it and walking it again, so each byte of a nested
 * body is visited once (OTLP JSON: record, attributes, attribute, AnyValue). */
struct cl_jw_cursor {
    const char *p, *end;
};
/* What the inline cursor calls (json_walk.c): past the validated string at p (its
 * CL_JSON_F_ESCAPED into *flags); the validated value at p into *v, returning its end. */
const char *cl_jw_skip_string(const char *p, const char *end, unsigned *flags);
const char *cl_jw_take_value(const char *p, const char *end, struct cl_json_value *v);

/* The cursor runs for every member of every record (OTLP JSON): inline, so a member
 * costs no call but the skip of its bytes. */
static inline int cl_jw_space_(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A cursor at the start of the validated value v. */
static inline void cl_jw_cursor_at(struct cl_jw_cursor *c, const struct cl_json_value *v)
{
    c->p = v->ptr;
    c->end = v->len ? v->ptr + v->len : v->ptr; /* an absent value: NULL, no arithmetic */
}

/* A validated value's type from its first byte ('-' and digits: a number). */
static inline enum cl_json_type cl_jw_type_at(char c)
{
    static const unsigned char types[256] = {
        ['{'] = CL_JSON_OBJECT, ['['] = CL_JSON_ARRAY, ['"'] = CL_JSON_STRING,
        ['t'] = CL_JSON_TRUE,   ['f'] = CL_JSON_FALSE, ['n'] = CL_JSON_NULL};
    unsigned char t = types[(unsigned char)c];
    return t ? (enum cl_json_type)t : CL_JSON_NUMBER;
}

/* The type of the value at the cursor (CL_JSON_INVALID at the end). */
static inline enum cl_json_type cl_jw_cursor_type(const struct cl_jw_cursor *c)
{
    return c->p < c->end ? cl_jw_type_at(*c->p) : CL_JSON_INVALID;
}

/* Takes the value at the cursor into *v (skipped whole) and moves past it. */
static inline void cl_jw_cursor_take(struct cl_jw_cursor *c, struct cl_json_value *v)
{
    if (c->p >= c->end) {
        *v = (struct cl_json_value){CL_JSON_INVALID, 0, NULL, 0};
        return;
    }
    c->p = cl_jw_take_value(c->p, c->end, v);
}

/* Enters the object or array at the cursor (the caller checked its type). */
static inline void cl_jw_cursor_enter(struct cl_jw_cursor *c)
{
    c->p++;
}

/* In an entered object: 1 with the next key in *key and the cursor at its value (which
 * the caller takes or enters), 0 past the closing '}'. */
static inline int cl_jw_cursor_key(struct cl_jw_cursor *c, struct cl_json_value *key)
{
    const char *p = c->p, *end = c->end;
    unsigned flags = 0;
    while (p < end && (*p == ',' || cl_jw_space_(*p)))
        p++;
    if (p >= end || *p != '"') {
        c->p = p < end ? p + 1 : end; /* past '}' */
        return 0;
    }
    const char *e = cl_jw_skip_string(p, end, &flags);
    *key = (struct cl_json_value){CL_JSON_STRING, flags, p, (size_t)(e - p)};
    while (e < end && cl_jw_space_(*e))
        e++;
    e += e < end; /* ':' */
    while (e < end && cl_jw_space_(*e))
        e++;
    c->p = e;
    return 1;
}

/* In an entered array: 1 with the cursor at the next element, 0 past the closing ']'. */
static inline int cl_jw_cursor_element(struct cl_jw_cursor *c)
{
    const char *p = c->p, *end = c->end;
    while (p < end && (*p == ',' || cl_jw_space_(*p)))
        p++;
    c->p = p < end && *p == ']' ? p + 1 : p;
    return p < end && *p != ']';
}

/* Validates a body that must be one JSON object (no index is built); 0, or -1 with err
 * ("invalid <what>: ...") set. *top gets the object. */
int cl_jw_body_object(const char *body, size_t len, int depth, const char *what,
                      struct cl_json_value *top, char *err, size_t err_len);

/* Validates a body that must be one JSON object whose member `name` is an array, and
 * starts iterating that array. Returns 0, or -1 with err ("invalid <what>: ...") set.
 * On 0 the body's containers are indexed for this thread (walks inside the body find a
 * container's end without skipping its bytes) until cl_jw_body_end, which the caller
 * MUST call before the body's memory is released or reused. */
int cl_jw_body_array(const char *body, size_t len, int depth, const char *name, const char *what,
                     struct cl_jw_array *it, char *err, size_t err_len);
/* Frees this thread's index of the body cl_jw_body_array validated. */
void cl_jw_body_end(void);

#endif
