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
 * unused: the validating scan already enforced the nesting limit. The one exception is
 * the cursor below (cl_jw_cursor_*), which validates as it walks (OTLP JSON's one pass),
 * so the values it takes may be walked here.
 */
#ifndef CL_JSON_WALK_H
#define CL_JSON_WALK_H

#include "json.h"

#include <stddef.h>
#include <string.h>

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
/* A cursor that validates as it walks: a decoder descends into the value at the cursor
 * instead of skipping it and walking it again, and every byte it passes is checked as
 * the validating reader of json.h checks it (grammar, strings, numbers, the depth
 * limit), so a body walked this way needs no validating pass of its own (OTLP JSON:
 * record, attributes, attribute, AnyValue are each visited once). Values it takes are
 * validated values: the walkers above may walk them. The first malformed byte stops
 * the cursor (`failed`; every call then reports the end); it does not say what is
 * wrong: the caller runs the validating reader over the text for the message (same
 * text, same first error). Enter a container only after cl_jw_cursor_type named it;
 * in an entered object call cl_jw_cursor_key, in an array cl_jw_cursor_element, and
 * take or enter every value they stop at. */
struct cl_jw_cursor {
    const char *p, *end;
    int depth, max_depth; /* containers entered, and the most allowed (the reader's) */
    int first;            /* just entered a container: no ',' before its first item */
    int failed;
};

/* A cursor at the start of text[0..len), which must be one value nesting at most
 * max_depth levels (the reader's clamp applies); whitespace before it is skipped. */
void cl_jw_cursor_text(struct cl_jw_cursor *c, const char *text, size_t len, int max_depth);
/* A cursor at the validated value v (an absent value: at its end at once). */
void cl_jw_cursor_at(struct cl_jw_cursor *c, const struct cl_json_value *v);
/* 1 if only whitespace follows the value walked and nothing failed. */
int cl_jw_cursor_done(struct cl_jw_cursor *c);

/* A value's type from its first byte ('-', digits and anything else: a number, which
 * taking it then validates). */
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

/* Takes the value at the cursor into *v (validated whole) and moves past it; at the
 * end, an absent value. */
void cl_jw_cursor_take(struct cl_jw_cursor *c, struct cl_json_value *v);
/* Enters the object or array at the cursor (the caller checked its type). */
void cl_jw_cursor_enter(struct cl_jw_cursor *c);
/* In an entered object: 1 with the next key in *key and the cursor at its value, 0
 * past the closing '}' (or failed). */
int cl_jw_cursor_key(struct cl_jw_cursor *c, struct cl_json_value *key);
/* What cl_jw_cursor_key_guess calls (json_walk_cursor.c): to the next key's '"' (0 past
 * the '}' or failed); the key at the cursor read and validated, past its ':'. */
int cl_jw_cursor_before_key_(struct cl_jw_cursor *c);
int cl_jw_cursor_key_rest_(struct cl_jw_cursor *c, struct cl_json_value *key);

/* cl_jw_cursor_key for a key the caller expects: tok[0..n) is that key's token and the
 * ':' after it (CL_JW_GUESS("\"key\":"), a plain name), compared as it stands before the
 * key is scanned (OTLP's attributes: "key", "value", "stringValue" in that order); any
 * other key is read as cl_jw_cursor_key reads it. Inline: with n known where it is
 * called, the comparison is a load or two. */
static inline int cl_jw_cursor_key_guess(struct cl_jw_cursor *c, struct cl_json_value *key,
                                         const char *tok, size_t n)
{
    if (!cl_jw_cursor_before_key_(c))
        return 0;
    /* more than n bytes left: a value follows (it must: the object is not closed) */
    if ((size_t)(c->end - c->p) > n && memcmp(c->p, tok, n) == 0) {
        *key = (struct cl_json_value){CL_JSON_STRING, 0, c->p, n - 1};
        c->p += n;
        if ((unsigned char)*c->p > ' ')
            return 1; /* no whitespace before the value (else the reader's way below) */
        c->p -= n;
    }
    return cl_jw_cursor_key_rest_(c, key);
}
#define CL_JW_GUESS(lit) lit, sizeof(lit) - 1 /* the tok, n arguments for a string literal */

/* In an entered array: 1 with the cursor at the next element, 0 past the closing ']'
 * (or failed). */
int cl_jw_cursor_element(struct cl_jw_cursor *c);

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
