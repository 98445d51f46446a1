/* json_walk.c - walking validated JSON values (json_walk.h). */
#include "json_walk.h"

#include "common.h"

#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

int cl_jw_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && cl_jw_is_space(*p))
        p++;
    return p;
}

/* The first '"' or '\\' in [p, end), or end: eight bytes at a time (a borrow can only
 * flag bytes above a true hit, so the lowest flag is exact). */
static const char *quote_or_backslash(const char *p, const char *end)
{
#ifdef __SSE2__
    /* Sixteen bytes at a time where SSE2 is there (every x86-64): strings are most of
     * what a walk over OTLP JSON skips. */
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        int m =
            _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
        if (m)
            return p + __builtin_ctz((unsigned)m);
        p += 16;
    }
#endif
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
        uint64_t m = ((q - ONES) & ~q & HIGHS) | ((b - ONES) & ~b & HIGHS);
        if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return p + (__builtin_ctzll(m) >> 3);
#else
            break;
#endif
        }
        p += 8;
    }
    while (p < end && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* Past the closing quote of the validated string at p ('"'); ESCAPED into *flags. */
static const char *skip_string(const char *p, const char *end, unsigned *flags)
{
    for (p++;;) {
        p = quote_or_backslash(p, end);
        if (p >= end)
            return end;
        if (*p == '"')
            return p + 1;
        *flags |= CL_JSON_F_ESCAPED;
        p += 2;
    }
}

/* Past the validated container at p ('{' or '['), strings skipped whole; its flags. */
static const char *skip_container(const char *p, const char *end, unsigned *flags)
{
    size_t depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p = skip_string(p, end, flags);
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return p + 1;
        } else if (cl_jw_is_space(c)) {
            *flags |= CL_JSON_F_SPACE;
        }
        p++;
    }
    return end;
}

/* The containers of the body cl_jw_body_array validated: where each one opens and
 * closes (offsets into the body, in order of opening). With it a walker finds a
 * container's end by a lookup instead of skipping its bytes: without it OTLP JSON's
 * nesting (record, attributes, attribute, value) has every byte skipped four or five
 * times. One per thread, from cl_jw_body_array to cl_jw_body_end. */
struct bracket_index {
    const char *base;
    size_t len;
    uint32_t *open, *close;
    unsigned char *flags; /* the container's CL_JSON_F_* as the validating reader gives them */
    size_t n, cap, hint;
};

static __thread struct bracket_index tls_ix;

static void index_add(struct bracket_index *ix, size_t open)
{
    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 256;
        ix->open = cl_realloc(ix->open, ix->cap * sizeof *ix->open);
        ix->close = cl_realloc(ix->close, ix->cap * sizeof *ix->close);
        ix->flags = cl_realloc(ix->flags, ix->cap);
    }
    ix->flags[ix->n] = 0;
    ix->open[ix->n++] = (uint32_t)open;
}

static void index_free(struct bracket_index *ix)
{
    free(ix->open);
    free(ix->close);
    free(ix->flags);
    memset(ix, 0, sizeof *ix);
}

/* Records every container of the validated body[0..len) (len < 4 GiB); open ones wait
 * on a stack of their indexes for their closing bracket. A container's flags are those of
 * its own strings and whitespace, passed up to its parent when it closes. */
static void index_build(struct bracket_index *ix, const char *body, size_t len)
{
    size_t *stack = NULL, depth = 0, cap = 0;
    const char *p = body, *end = body + len;
    *ix = (struct bracket_index){.base = body, .len = len};
    while (p < end) {
        char c = *p;
        unsigned flags = 0;
        if (c == '"') {
            p = skip_string(p, end, &flags);
            if (depth > 0)
                ix->flags[stack[depth - 1]] |= (unsigned char)flags;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == cap) {
                cap = cap ? cap * 2 : 64;
                stack = cl_realloc(stack, cap * sizeof *stack);
            }
            stack[depth++] = ix->n;
            index_add(ix, (size_t)(p - body));
        } else if ((c == '}' || c == ']') && depth > 0) {
            size_t i = stack[--depth];
            ix->close[i] = (uint32_t)(p - body);
            if (depth > 0)
                ix->flags[stack[depth - 1]] |= ix->flags[i];
        } else if (depth > 0 && cl_jw_is_space(c)) {
            ix->flags[stack[depth - 1]] |= CL_JSON_F_SPACE;
        }
        p++;
    }
    free(stack);
}

/* The end of the container at p from the index (its flags into *flags), or NULL when p
 * is not in it. */
static const char *index_end(struct bracket_index *ix, const char *p, unsigned *flags)
{
    if (!ix->n || p < ix->base || p >= ix->base + ix->len)
        return NULL;
    uint32_t off = (uint32_t)(p - ix->base);
    size_t i = ix->hint + 1; /* walks mostly go forward: the next container first */
    if (i >= ix->n || ix->open[i] != off) {
        size_t lo = 0, hi = ix->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (ix->open[mid] < off)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo >= ix->n || ix->open[lo] != off)
            return NULL;
        i = lo;
    }
    ix->hint = i;
    *flags |= ix->flags[i];
    return ix->base + ix->close[i] + 1;
}

/* Past the container at p: from the index when it has p, else by skipping. */
static const char *container_end(const char *p, const char *end, unsigned *flags)
{
    const char *e = index_end(&tls_ix, p, flags);
    return e ? e : skip_container(p, end, flags);
}

/* The validated value at p (no whitespace before it) into *v; returns its end. */
static const char *take_value(const char *p, const char *end, struct cl_json_value *v)
{
    unsigned flags = 0;
    const char *e;
    v->type = cl_jw_type_at(*p);
    if (v->type == CL_JSON_STRING)
        e = skip_string(p, end, &flags);
    else if (v->type == CL_JSON_OBJECT || v->type == CL_JSON_ARRAY)
        e = container_end(p, end, &flags);
    else
        for (e = p; e < end && *e != ',' && *e != '}' && *e != ']' && !cl_jw_is_space(*e);)
            e++;
    v->flags = flags;
    v->ptr = p;
    v->len = (size_t)(e - p);
    return e;
}

int cl_jw_array_begin(struct cl_jw_array *it, const struct cl_json_value *v, int depth)
{
    if (v->type != CL_JSON_ARRAY)
        return -1;
    cl_json_reader_init(&it->r, v->ptr, v->len, depth);
    it->r.pos = 1;
    return 0;
}

int cl_jw_array_next(struct cl_jw_array *it, struct cl_json_value *e)
{
    struct cl_json_reader *r = &it->r;
    while (r->pos < r->len && (cl_jw_is_space(r->buf[r->pos]) || r->buf[r->pos] == ','))
        r->pos++;
    if (r->pos >= r->len || r->buf[r->pos] == ']')
        return 0;
    r->pos = (size_t)(take_value(r->buf + r->pos, r->buf + r->len, e) - r->buf);
    return 1;
}

int cl_jw_object_begin(struct cl_jw_object *it, const struct cl_json_value *v)
{
    if (v->type != CL_JSON_OBJECT)
        return -1;
    it->p = v->ptr + 1;
    it->end = v->ptr + v->len;
    return 0;
}

int cl_jw_object_next(struct cl_jw_object *it, struct cl_json_value *key, struct cl_json_value *val)
{
    const char *p = it->p, *end = it->end;
    while (p < end && (cl_jw_is_space(*p) || *p == ','))
        p++;
    if (p >= end || *p != '"')
        return 0; /* '}' */
    p = take_value(p, end, key);
    p = skip_space(p, end);
    p = skip_space(p + 1, end); /* ':' */
    if (p >= end)
        return 0;
    it->p = take_value(p, end, val);
    return 1;
}

/* cl_json_key_is(key, name, 0) with name's length n known: names are measured once per
 * lookup, not once per member. */
static int key_is(const struct cl_json_value *key, const char *name, size_t n)
{
    return key->len == n + 2 && !(key->flags & CL_JSON_F_ESCAPED) &&
           memcmp(key->ptr + 1, name, n) == 0;
}

struct cl_json_value cl_jw_member(const struct cl_json_value *v, const char *name, int depth)
{
    struct cl_json_value none = {0}, key, val;
    struct cl_jw_object it;
    size_t n = strlen(name);
    (void)depth;
    if (cl_jw_object_begin(&it, v) != 0)
        return none;
    while (cl_jw_object_next(&it, &key, &val) == 1)
        if (key_is(&key, name, n))
            return val;
    return none;
}

void cl_jw_members(const struct cl_json_value *v, const char *const *names, size_t n,
                   struct cl_json_value *out, int depth)
{
    struct cl_json_value key, val;
    struct cl_jw_object it;
    size_t lens[CL_JW_MEMBERS_MAX];
    (void)depth;
    memset(out, 0, n * sizeof *out);
    n = CL_MIN(n, (size_t)CL_JW_MEMBERS_MAX);
    if (cl_jw_object_begin(&it, v) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(names[i]);
    while (cl_jw_object_next(&it, &key, &val) == 1)
        for (size_t i = 0; i < n; i++)
            if (out[i].type == CL_JSON_INVALID && key_is(&key, names[i], lens[i])) {
                out[i] = val;
                break;
            }
}

int cl_jw_body_object(const char *body, size_t len, int depth, const char *what,
                      struct cl_json_value *top, char *err, size_t err_len)
{
    struct cl_json_reader r;
    cl_json_reader_init(&r, body, len, depth);
    if (cl_json_scan_value(&r, top) != 0 || !cl_json_at_end(&r) || top->type != CL_JSON_OBJECT) {
        snprintf(err, err_len, "invalid %s: %s at byte %zu", what,
                 r.err.msg ? r.err.msg : "not one JSON object", r.err.offset);
        return -1;
    }
    return 0;
}

int cl_jw_body_array(const char *body, size_t len, int depth, const char *name, const char *what,
                     struct cl_jw_array *it, char *err, size_t err_len)
{
    struct cl_json_value top;
    if (cl_jw_body_object(body, len, depth, what, &top, err, err_len) != 0)
        return -1;
    index_free(&tls_ix);
    if (len < UINT32_MAX)
        index_build(&tls_ix, body, len);
    struct cl_json_value arr = cl_jw_member(&top, name, depth);
    if (cl_jw_array_begin(it, &arr, depth) != 0) {
        cl_jw_body_end();
        snprintf(err, err_len, "invalid %s: %s is not an array", what, name);
        return -1;
    }
    return 0;
}

void cl_jw_body_end(void)
{
    index_free(&tls_ix);
}

const char *cl_jw_plain_text(const struct cl_json_value *v, size_t *len)
{
    if (v->type != CL_JSON_STRING || (v->flags & CL_JSON_F_ESCAPED))
        return NULL;
    *len = v->len - 2;
    return v->ptr + 1;
}

size_t cl_jw_text(const struct cl_json_value *v, char *buf, size_t cap)
{
    size_t n;
    if (v->len <= cap) { /* unescaping never lengthens: v->len bytes are room enough */
        n = cl_json_unescape(v, buf);
    } else {
        char *whole = cl_json_string_dup(v, &n); /* long and cut below: rare */
        n = CL_MIN(n, cap - 1);
        memcpy(buf, whole, n);
        free(whole);
    }
    n = CL_MIN(n, cap - 1);
    buf[n] = '\0';
    return n;
}

void cl_jw_pairs_push(struct cl_jw_pairs *m, const struct cl_json_value *key,
                      const struct cl_json_value *val)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 32;
        m->kv = cl_realloc(m->kv, m->cap * 2 * sizeof *m->kv);
    }
    m->kv[2 * m->n] = *key;
    m->kv[2 * m->n + 1] = *val;
    m->n++;
}

unsigned cl_jw_pairs_add(struct cl_jw_pairs *m, const struct cl_json_value *v)
{
    struct cl_jw_object it;
    struct cl_json_value key, val;
    unsigned seen = 0;
    if (cl_jw_object_begin(&it, v) != 0)
        return 0;
    while (cl_jw_object_next(&it, &key, &val) == 1) {
        if (val.type == CL_JSON_OBJECT || val.type == CL_JSON_ARRAY)
            seen |= CL_JW_PAIRS_CONTAINER;
        if (key.flags & CL_JSON_F_ESCAPED)
            seen |= CL_JW_PAIRS_ESCAPED_KEY;
        if (val.flags & CL_JSON_F_SPACE)
            seen |= CL_JW_PAIRS_SPACE;
        cl_jw_pairs_push(m, &key, &val);
    }
    return seen;
}

void cl_jw_pairs_free(struct cl_jw_pairs *m)
{
    free(m->kv);
    memset(m, 0, sizeof *m);
}
