/* json_walk_cursor.c - the validating cursor of json_walk.h.
 *
 * Strings are validated by json.c's own string scanner and every other value a walker
 * takes by cl_json_scan_value, so what the cursor accepts is what the validating reader
 * accepts; the cursor itself only checks what lies between values (',' ':' and the
 * brackets, as json.c's scan_key/after_value do) and counts the containers it enters
 * against the same depth limit. */
#include "json_walk.h"

#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
    /* the usual case, no whitespace: whitespace bytes are all <= ' ', so one compare */
    if (p < end && (unsigned char)*p > ' ')
        return p;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* Stops the cursor: every later call sees the end. */
static void fail(struct cl_jw_cursor *c)
{
    c->failed = 1;
    c->p = c->end;
}

/* Past the closing quote of the string at p ('"') when all it holds is printable ASCII
 * without escapes (0x20..0x7F but '"' and '\\': what the reader accepts without a
 * second look, flags 0); NULL for anything else, which the reader then validates. Most
 * strings of a body are such, so this spares the reader's set-up per string. */
static const char *plain_string_end(const char *p, const char *end)
{
    p++;
#ifdef __SSE2__
    /* signed bytes: one compare finds both controls (< 0x20) and bytes >= 0x80 */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i special =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                         _mm_cmplt_epi8(x, space));
        int m = _mm_movemask_epi8(special);
        if (m) {
            p += __builtin_ctz((unsigned)m);
            return *p == '"' ? p + 1 : NULL;
        }
        p += 16;
    }
#endif
    for (; p < end; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"')
            return p + 1;
        if (ch < 0x20 || ch >= 0x80 || ch == '\\')
            return NULL;
    }
    return NULL;
}

/* Past an integer at p (-?(0|[1-9][0-9]*)) that nothing of a longer number follows;
 * NULL otherwise (the reader validates the rest: fractions, exponents, errors). */
static const char *plain_int_end(const char *p, const char *end)
{
    p += p < end && *p == '-';
    if (p >= end || *p < '0' || *p > '9')
        return NULL;
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E'))
        return NULL;
    return p;
}

/* The string at c->p validated into *v (c->p at its '"'); the end, or NULL (failed). */
static const char *string_at(struct cl_jw_cursor *c, struct cl_json_value *v)
{
    const char *e = plain_string_end(c->p, c->end);
    if (e) {
        *v = (struct cl_json_value){CL_JSON_STRING, 0, c->p, (size_t)(e - c->p)};
        return e;
    }
    struct cl_json_reader r;
    cl_json_reader_init(&r, c->p, (size_t)(c->end - c->p), 1);
    if (cl_json_scan_string_value(&r, v) != 0) {
        fail(c);
        return NULL;
    }
    return c->p + r.pos;
}

void cl_jw_cursor_text(struct cl_jw_cursor *c, const char *text, size_t len, int max_depth)
{
    if (max_depth <= 0) /* as cl_json_reader_init clamps */
        max_depth = CL_JSON_DEFAULT_MAX_DEPTH;
    *c = (struct cl_jw_cursor){
        text, text + len,
        0,    max_depth < CL_JSON_MAX_DEPTH_LIMIT ? max_depth : CL_JSON_MAX_DEPTH_LIMIT,
        0,    0};
    c->p = skip_ws(c->p, c->end);
}

void cl_jw_cursor_at(struct cl_jw_cursor *c, const struct cl_json_value *v)
{
    /* validated already, within the body's limit: any limit at least its nesting */
    *c = (struct cl_jw_cursor){
        v->ptr, v->len ? v->ptr + v->len : v->ptr, 0, CL_JSON_MAX_DEPTH_LIMIT, 0, 0};
}

int cl_jw_cursor_done(struct cl_jw_cursor *c)
{
    return !c->failed && skip_ws(c->p, c->end) == c->end;
}

void cl_jw_cursor_take(struct cl_jw_cursor *c, struct cl_json_value *v)
{
    struct cl_json_reader r;
    const char *e;
    if (c->p >= c->end) {
        *v = (struct cl_json_value){CL_JSON_INVALID, 0, NULL, 0};
        return;
    }
    if (*c->p == '"') {
        e = string_at(c, v);
        c->p = e ? e : c->end;
        return;
    }
    if ((e = plain_int_end(c->p, c->end)) != NULL) {
        *v = (struct cl_json_value){CL_JSON_NUMBER, 0, c->p, (size_t)(e - c->p)};
        c->p = e;
        return;
    }
    /* the value nests at most as deep as the levels left (a scalar needs none) */
    int left = c->max_depth - c->depth;
    cl_json_reader_init(&r, c->p, (size_t)(c->end - c->p), left > 0 ? left : 1);
    if ((left <= 0 && (*c->p == '{' || *c->p == '[')) || cl_json_scan_value(&r, v) != 0) {
        *v = (struct cl_json_value){CL_JSON_INVALID, 0, NULL, 0};
        fail(c);
        return;
    }
    c->p += r.pos;
}

void cl_jw_cursor_enter(struct cl_jw_cursor *c)
{
    if (c->depth >= c->max_depth) {
        fail(c);
        return;
    }
    c->depth++;
    c->first = 1;
    c->p = skip_ws(c->p + 1, c->end);
}

/* At the closing bracket of the container entered last: leaves it; returns 0. */
static int leave(struct cl_jw_cursor *c)
{
    c->p++;
    c->depth--;
    c->first = 0; /* in the parent, a value was just read */
    return 0;
}

/* Before an item of the entered container: past the ',' that must separate it from the
 * one before (none before the first); 0 if the cursor failed. */
static int separate(struct cl_jw_cursor *c)
{
    if (!c->first) {
        if (*c->p != ',') {
            fail(c);
            return 0;
        }
        c->p = skip_ws(c->p + 1, c->end);
    }
    c->first = 0;
    return 1;
}

/* In an entered object, before a member: 1 with the cursor at its key, 0 past the '}'
 * (or failed). */
static int before_key(struct cl_jw_cursor *c)
{
    c->p = skip_ws(c->p, c->end);
    if (c->p >= c->end) {
        if (!c->failed)
            fail(c); /* unterminated object (a cursor at an absent value never enters) */
        return 0;
    }
    if (*c->p == '}')
        return leave(c);
    if (!separate(c))
        return 0;
    if (c->p >= c->end || *c->p != '"') {
        fail(c);
        return 0;
    }
    return 1;
}

/* Past the ':' after a key ending at p, at the member's value; 0 if failed. */
static int after_key(struct cl_jw_cursor *c, const char *p)
{
    p = skip_ws(p, c->end);
    if (p >= c->end || *p != ':') {
        fail(c);
        return 0;
    }
    c->p = skip_ws(p + 1, c->end);
    if (c->p >= c->end) {
        fail(c);
        return 0;
    }
    return 1;
}

int cl_jw_cursor_key(struct cl_jw_cursor *c, struct cl_json_value *key)
{
    if (!before_key(c))
        return 0;
    const char *p = string_at(c, key);
    return p && after_key(c, p);
}

int cl_jw_cursor_before_key_(struct cl_jw_cursor *c)
{
    return before_key(c);
}

int cl_jw_cursor_key_rest_(struct cl_jw_cursor *c, struct cl_json_value *key)
{
    const char *p = string_at(c, key);
    return p && after_key(c, p);
}

int cl_jw_cursor_element(struct cl_jw_cursor *c)
{
    c->p = skip_ws(c->p, c->end);
    if (c->p >= c->end) {
        if (!c->failed)
            fail(c);
        return 0;
    }
    if (*c->p == ']')
        return leave(c);
    if (!separate(c))
        return 0;
    if (c->p >= c->end || *c->p == ']') { /* "[1,]" */
        fail(c);
        return 0;
    }
    return 1;
}
