/* loki_json.c - the Loki push API in JSON (POST /loki/api/v1/push):
 * {"streams":[{"stream":{...},"values":[[ns, line], [ns, line, {metadata}], ...]}]};
 * every value is one entry, written by loki.c. A plain line takes a fast path (its
 * string unescaped a word at a time); anything else goes through the JSON walker. */
#include "loki.h"

#include "common.h"
#include "json_walk.h"
#include "json_write.h"
#include "otlp_common.h"
#include "proto_record.h"
#include "record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Unescapes the validated JSON string whose text starts at s (after its opening quote)
 * into out, which has room for its length + 8 (whole words are stored); bound: a limit
 * past its closing quote. Returns the position past the closing quote with the text's
 * length in *n, or NULL for a \u escape (cl_json_unescape decodes those). Eight bytes at
 * a time: a line's run between escapes is copied as words, not by a memchr and a memcpy
 * per run (pino's lines are objects: two escapes per key and per string value). */
static const char *unescape_line(const char *s, const char *bound, char *out, size_t *n)
{
    char *o = out;
    for (;;) {
        while (bound - s >= 8) {
            uint64_t x;
            memcpy(&x, s, 8);
            memcpy(o, &x, 8);
            uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
            uint64_t m = ((q - ONES) & ~q & HIGHS) | ((b - ONES) & ~b & HIGHS);
            if (m) {
                size_t k = (size_t)__builtin_ctzll(m) >> 3; /* the lowest flag is exact */
                s += k, o += k;
                break;
            }
            s += 8, o += 8;
        }
        while (s < bound && *s != '"' && *s != '\\')
            *o++ = *s++;
        if (s >= bound || *s == '"')
            break;
        static const char simple[256] = {['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
                                         ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};
        char c = simple[(unsigned char)s[1]];
        if (!c)
            return NULL; /* \u */
        *o++ = c;
        s += 2;
    }
    *n = (size_t)(o - out);
    return s + 1;
}

/* The decimal s[0..n) into *v; 0, or -1. Up to 19 digits cannot overflow, so they are
 * read without cl_otlp_parse_u64's division per digit (Loki's times have 19). */
static int parse_ns(const char *s, size_t n, uint64_t *v)
{
    if (n == 0 || n > 19)
        return cl_otlp_parse_u64(s, n, v);
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';
        if (d > 9)
            return -1;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && cl_jw_is_space(*p))
        p++;
    return p;
}

/* The document path's entry [ts, line(, meta)] read in one sweep: the line unescaped as
 * its end is found (no walk over it first). Returns 0 when written, -1 for anything
 * unusual (escapes in the time, a \u in the line, not 2 or 3 elements): the caller then
 * reads the entry element by element, with the same result. */
static int entry_fast(struct cl_loki *l, const struct cl_json_value *labels,
                      const struct cl_json_value *e)
{
    const char *p = e->ptr + 1, *end = e->ptr + e->len, *q;
    uint64_t ns;
    size_t n;
    p = skip_space(p, end);
    if (p >= end || *p != '"' || !(q = memchr(p + 1, '"', (size_t)(end - p - 1))) ||
        parse_ns(p + 1, (size_t)(q - p - 1), &ns) != 0)
        return -1; /* an escaped quote in the time fails the digits too */
    p = skip_space(q + 1, end);
    if (p >= end || *p != ',')
        return -1;
    p = skip_space(p + 1, end);
    if (p >= end || *p != '"')
        return -1;
    cl_buf_reset(&l->line);
    if (cl_buf_reserve(&l->line, (size_t)(end - p) + 8) != CL_OK)
        return -1;
    const char *after = unescape_line(p + 1, end, l->line.data, &n);
    if (!after)
        return -1;
    struct cl_json_value line = {CL_JSON_STRING, 0, p, (size_t)(after - p)}, meta = {0}, more;
    l->line.len = n;
    l->line.data[n] = '\0';
    /* the rest, (, meta) ], by the array walker from where the line ends (its reader's
     * pos is an offset into the array value, json_walk.h) */
    struct cl_jw_array it;
    cl_jw_array_begin(&it, e, l->depth);
    it.r.pos = (size_t)(after - e->ptr);
    if (cl_jw_array_next(&it, &meta) && cl_jw_array_next(&it, &more))
        return -1; /* four or more elements */
    cl_loki_write_doc_entry(l, labels, ns, &line, l->line.data, n, &meta);
    return 0;
}

static void entry(struct cl_loki *l, const struct cl_json_value *labels,
                  const struct cl_json_value *e)
{
    struct cl_jw_array it;
    struct cl_json_value ts = {0}, line = {0}, meta = {0}, v;
    int i = 0;
    if (l->sink->document && e->type == CL_JSON_ARRAY && entry_fast(l, labels, e) == 0)
        return;
    if (cl_jw_array_begin(&it, e, l->depth) == 0)
        for (; cl_jw_array_next(&it, &v); i++)
            *(i == 0 ? &ts : i == 1 ? &line : &meta) = v;
    size_t tn;
    const char *t = cl_jw_plain_text(&ts, &tn);
    uint64_t ns;
    if (i < 2 || i > 3 || !t || cl_otlp_parse_u64(t, tn, &ns) != 0 || line.type != CL_JSON_STRING) {
        l->sink->reject(l->sink->arg, "entry is not [\"<unix ns>\", \"<line>\"(, {metadata})]");
        return;
    }
    cl_loki_write_entry(l, labels, ns, &line, &meta);
}

int cl_loki_json_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                        const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    struct cl_loki l;
    struct cl_json_value s, e;
    struct cl_jw_array it, vit;
    if (cl_jw_body_array(body, len, o->max_depth + 4, "streams", "Loki push JSON", &it, err,
                         err_len))
        return -1;
    cl_loki_init(&l, sink, o);
    while (cl_jw_array_next(&it, &s)) {
        struct cl_json_value labels = cl_jw_member(&s, "stream", l.depth);
        struct cl_json_value values = cl_jw_member(&s, "values", l.depth);
        if (labels.type != CL_JSON_OBJECT)
            labels = (struct cl_json_value){CL_JSON_OBJECT, 0, "{}", 2};
        if (cl_jw_array_begin(&vit, &values, l.depth) == 0)
            while (cl_jw_array_next(&vit, &e))
                entry(&l, &labels, &e);
    }
    cl_jw_body_end();
    cl_loki_free(&l);
    return 0;
}
