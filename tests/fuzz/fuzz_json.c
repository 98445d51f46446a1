/* fuzz_json.c - libFuzzer target for the JSON scanner: no crash, and its layers agree. */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH 64

static void check(int cond)
{
    if (!cond)
        abort();
}

/* An independent UTF-8 check (decode, then test the code point), used as an oracle. */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
        if (k == 9 || n - i <= k)
            return 0;
        uint32_t cp = k == 0 ? c : c & (0x3Fu >> k);
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3Fu);
        }
        uint32_t min = k == 0 ? 0 : k == 1 ? 0x80 : k == 2 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

static void check_unescape(const struct cl_json_value *s)
{
    char *out = malloc(s->len);
    size_t n = cl_json_unescape(s, out);
    check(n <= s->len - 2);
    check(valid_utf8((const unsigned char *)out, n));
    if (!(s->flags & CL_JSON_F_ESCAPED))
        check(n == s->len - 2 && memcmp(out, s->ptr + 1, n) == 0);
    free(out);
}

/* compact(v) must be valid, of the same type, free of whitespace and a fixed point. */
static void check_compact(const struct cl_json_value *v, int depth)
{
    char *out = malloc(v->len), *again = malloc(v->len);
    size_t n = cl_json_compact(v, out);
    check(n <= v->len && n > 0);
    struct cl_json_reader r;
    struct cl_json_value c;
    cl_json_reader_init(&r, out, n, depth);
    check(cl_json_scan_value(&r, &c) == 0 && r.pos == n);
    check(c.type == v->type && !(c.flags & CL_JSON_F_SPACE));
    check(c.flags == (v->flags & ~CL_JSON_F_SPACE));
    check(cl_json_compact(&c, again) == n && memcmp(out, again, n) == 0);
    free(again);
    free(out);
}

/* Iterates an object; returns 0 if it was well-formed (r->pos is then past '}'). */
static int walk_object(struct cl_json_reader *r)
{
    struct cl_json_value k, v;
    int rc;
    if (cl_json_object_open(r))
        return -1;
    while ((rc = cl_json_object_next(r, &k, &v)) == 1) {
        check(k.type == CL_JSON_STRING && v.type != CL_JSON_INVALID);
        check_unescape(&k);
        if (v.type == CL_JSON_STRING)
            check_unescape(&v);
        check_compact(&v, DEPTH - 1);
    }
    return rc;
}

struct split_count {
    size_t n, valid;
};

static int on_elem(void *arg, const char *elem, size_t len)
{
    struct split_count *sc = arg;
    struct cl_json_reader r;
    struct cl_json_value v;
    check(len > 0);
    cl_json_reader_init(&r, elem, len, DEPTH - 1);
    sc->n++;
    if (cl_json_scan_value(&r, &v) == 0 && cl_json_at_end(&r))
        sc->valid++;
    return 0;
}

/* Properties of an input the reader accepted as one complete value. */
static void check_valid(const char *buf, size_t size, const struct cl_json_value *v, size_t end)
{
    check_compact(v, DEPTH);
    if (v->type == CL_JSON_STRING)
        check_unescape(v);
    if (v->type == CL_JSON_OBJECT) {
        struct cl_json_reader r;
        cl_json_reader_init(&r, buf, size, DEPTH);
        check(walk_object(&r) == 0 && r.pos == end);
    }
    if (v->type == CL_JSON_ARRAY) {
        struct split_count sc = {0, 0};
        check(cl_json_split_array(buf, size, on_elem, &sc, NULL) == 0);
        check(sc.n == sc.valid);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, buf, size, DEPTH);
    if (cl_json_scan_value(&r, &v) == 0) {
        check(v.type != CL_JSON_INVALID && v.ptr >= buf && v.ptr + v.len == buf + r.pos);
        size_t end = r.pos;
        if (cl_json_at_end(&r))
            check_valid(buf, size, &v, end);
    } else {
        check(r.err.msg != NULL && r.err.offset <= size);
    }
    cl_json_reader_init(&r, buf, size, DEPTH);
    walk_object(&r);
    struct split_count sc = {0, 0};
    cl_json_split_array(buf, size, on_elem, &sc, NULL);
    return 0;
}
