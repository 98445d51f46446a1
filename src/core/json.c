/* json.c - strict zero-copy RFC 8259 scanner: validation, compaction, unescaping, array split. */
#include "json.h"

#include <stdint.h>
#include <string.h>

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Open containers, one bit per level (1 = object, 0 = array): nesting costs no C stack. */
struct nest {
    uint64_t bits[CL_JSON_MAX_DEPTH_LIMIT / 64];
    int depth;
    int max;
};

static int fail(struct cl_json_reader *r, size_t off, const char *msg)
{
    r->err.offset = off;
    r->err.msg = msg;
    return -1;
}

static inline int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline size_t ws_end(const char *s, size_t p, size_t len)
{
    while (p < len && is_ws((unsigned char)s[p]))
        p++;
    return p;
}

/* Skips whitespace; returns 1 if any was skipped. */
static inline int skip_ws(struct cl_json_reader *r)
{
    size_t p = ws_end(r->buf, r->pos, r->len);
    int skipped = p != r->pos;
    r->pos = p;
    return skipped;
}

static int clamp_depth(int max_depth)
{
    if (max_depth <= 0)
        return CL_JSON_DEFAULT_MAX_DEPTH;
    return max_depth > CL_JSON_MAX_DEPTH_LIMIT ? CL_JSON_MAX_DEPTH_LIMIT : max_depth;
}

void cl_json_reader_init(struct cl_json_reader *r, const char *buf, size_t len, int max_depth)
{
    r->buf = buf;
    r->len = len;
    r->pos = 0;
    r->max_depth = clamp_depth(max_depth);
    r->err.offset = 0;
    r->err.msg = NULL;
}

int cl_json_at_end(struct cl_json_reader *r)
{
    skip_ws(r);
    return r->pos >= r->len;
}

/* ---- strings ---- */

static inline uint64_t has_zero_byte(uint64_t x)
{
    return (x - ONES) & ~x & HIGHS;
}

/* Flags bytes that end an ASCII run in a string: '"', '\\', < 0x20, >= 0x80. Borrows can
 * only add false flags above a true one, so the lowest flag is always exact. */
static inline uint64_t special_bytes(uint64_t x)
{
    uint64_t quote = has_zero_byte(x ^ (ONES * '"'));
    uint64_t bslash = has_zero_byte(x ^ (ONES * '\\'));
    uint64_t ctrl = (x - ONES * 0x20) & ~x & HIGHS;
    return quote | bslash | ctrl | (x & HIGHS);
}

static inline int is_special(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

/* Returns the position of the first special byte at or after p (or len). */
static inline size_t ascii_run(const char *s, size_t p, size_t len)
{
    while (len - p >= 8) {
        uint64_t x;
        memcpy(&x, s + p, 8);
        uint64_t m = special_bytes(x);
        if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return p + ((size_t)__builtin_ctzll(m) >> 3);
#else
            break;
#endif
        }
        p += 8;
    }
    while (p < len && !is_special((unsigned char)s[p]))
        p++;
    return p;
}

/* Length of the well-formed UTF-8 sequence at s (Unicode 15, table 3-7), or 0: this
 * rejects overlongs, UTF-16 surrogates, code points above U+10FFFF and truncation. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : lo;
        hi = c == 0xED ? 0x9F : hi;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static int hex_val(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reads 4 hex digits at s[p..]; returns the value or -1. */
static long hex4(const char *s, size_t p, size_t len)
{
    if (len - p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_val((unsigned char)s[p + i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* Validates a \u escape at s[p] == 'u'; returns the position after it (and after its
 * low-surrogate partner), or 0. A surrogate escape that is not part of a proper
 * high+low pair is rejected: it could not be decoded to valid UTF-8. */
static size_t scan_u_escape(struct cl_json_reader *r, size_t p)
{
    long cp = hex4(r->buf, p + 1, r->len);
    if (cp < 0)
        return fail(r, p - 1, "invalid \\u escape"), 0;
    p += 5;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(r, p - 6, "unpaired surrogate escape"), 0;
    if (cp < 0xD800 || cp > 0xDBFF)
        return p;
    if (r->len - p < 2 || r->buf[p] != '\\' || r->buf[p + 1] != 'u')
        return fail(r, p - 6, "unpaired surrogate escape"), 0;
    long lo = hex4(r->buf, p + 2, r->len);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return fail(r, p - 6, "unpaired surrogate escape"), 0;
    return p + 6;
}

/* Validates the escape at s[p] == '\\'; returns the position after it, or 0. */
static size_t scan_escape(struct cl_json_reader *r, size_t p)
{
    if (p + 1 >= r->len)
        return fail(r, p, "unterminated string"), 0;
    switch (r->buf[p + 1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return p + 2;
    case 'u':
        return scan_u_escape(r, p + 1);
    default:
        return fail(r, p, "invalid escape in string"), 0;
    }
}

/* Validates the string starting at r->pos ('"'); leaves r->pos after its closing quote. */
static int scan_string(struct cl_json_reader *r, unsigned *flags)
{
    const char *s = r->buf;
    size_t len = r->len, p = r->pos + 1;
    for (;;) {
        p = ascii_run(s, p, len);
        if (p >= len)
            return fail(r, r->pos, "unterminated string");
        unsigned char c = (unsigned char)s[p];
        if (c == '"') {
            r->pos = p + 1;
            return 0;
        }
        if (c == '\\') {
            *flags |= CL_JSON_F_ESCAPED;
            p = scan_escape(r, p);
            if (!p)
                return -1;
            continue;
        }
        if (c < 0x20)
            return fail(r, p, "control character in string");
        size_t n = utf8_seq((const unsigned char *)s + p, len - p);
        if (!n)
            return fail(r, p, "invalid UTF-8 in string");
        p += n;
    }
}

/* ---- numbers and literals ---- */

static size_t digits_end(const char *s, size_t p, size_t len)
{
    while (p < len && is_digit((unsigned char)s[p]))
        p++;
    return p;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? ; the value is kept as text, any size. */
static int scan_number(struct cl_json_reader *r)
{
    const char *s = r->buf;
    size_t len = r->len, p = r->pos;
    if (s[p] == '-')
        p++;
    if (p >= len || !is_digit((unsigned char)s[p]))
        return fail(r, p, "invalid number");
    if (s[p] == '0') {
        p++;
        if (p < len && is_digit((unsigned char)s[p]))
            return fail(r, p, "leading zero in number");
    } else {
        p = digits_end(s, p, len);
    }
    if (p < len && s[p] == '.') {
        if (++p >= len || !is_digit((unsigned char)s[p]))
            return fail(r, p, "invalid number: digit expected after '.'");
        p = digits_end(s, p, len);
    }
    if (p < len && (s[p] == 'e' || s[p] == 'E')) {
        if (++p < len && (s[p] == '+' || s[p] == '-'))
            p++;
        if (p >= len || !is_digit((unsigned char)s[p]))
            return fail(r, p, "invalid number: digit expected in exponent");
        p = digits_end(s, p, len);
    }
    r->pos = p;
    return 0;
}

static int scan_literal(struct cl_json_reader *r, const char *word, size_t n)
{
    if (r->len - r->pos < n || memcmp(r->buf + r->pos, word, n) != 0)
        return fail(r, r->pos, "invalid literal");
    r->pos += n;
    return 0;
}

static enum cl_json_type type_of(char c)
{
    switch (c) {
    case '{':
        return CL_JSON_OBJECT;
    case '[':
        return CL_JSON_ARRAY;
    case '"':
        return CL_JSON_STRING;
    case 't':
        return CL_JSON_TRUE;
    case 'f':
        return CL_JSON_FALSE;
    case 'n':
        return CL_JSON_NULL;
    default:
        return c == '-' || is_digit((unsigned char)c) ? CL_JSON_NUMBER : CL_JSON_INVALID;
    }
}

/* ---- containers ---- */

static int push(struct cl_json_reader *r, struct nest *n, int is_object)
{
    if (n->depth >= n->max)
        return fail(r, r->pos, "nesting too deep");
    uint64_t bit = 1ull << (n->depth & 63);
    if (is_object)
        n->bits[n->depth >> 6] |= bit;
    else
        n->bits[n->depth >> 6] &= ~bit;
    n->depth++;
    return 0;
}

static int top_is_object(const struct nest *n)
{
    int d = n->depth - 1;
    return (int)(n->bits[d >> 6] >> (d & 63)) & 1;
}

static void skip_inner_ws(struct cl_json_reader *r, unsigned *flags)
{
    if (skip_ws(r))
        *flags |= CL_JSON_F_SPACE;
}

/* Consumes `"key" :` and the whitespace after it (r->pos at the key). */
static int scan_key(struct cl_json_reader *r, unsigned *flags)
{
    if (r->pos >= r->len || r->buf[r->pos] != '"')
        return fail(r, r->pos, "expected a string key");
    if (scan_string(r, flags))
        return -1;
    skip_inner_ws(r, flags);
    if (r->pos >= r->len || r->buf[r->pos] != ':')
        return fail(r, r->pos, "expected ':'");
    r->pos++;
    skip_inner_ws(r, flags);
    return 0;
}

/* Opens a container at r->pos; returns 1 if a value must follow, 0 if it was empty. */
static int open_container(struct cl_json_reader *r, struct nest *n, unsigned *flags)
{
    int is_object = r->buf[r->pos] == '{';
    if (push(r, n, is_object))
        return -1;
    r->pos++;
    skip_inner_ws(r, flags);
    if (r->pos < r->len && r->buf[r->pos] == (is_object ? '}' : ']')) {
        r->pos++;
        n->depth--;
        return 0;
    }
    if (is_object && scan_key(r, flags))
        return -1;
    return 1;
}

/* Scans a scalar, or opens a container; returns 1 if a value must follow, 0 if a complete
 * value was consumed, -1 on error. */
static int scan_item(struct cl_json_reader *r, struct nest *n, unsigned *flags)
{
    if (r->pos >= r->len)
        return fail(r, r->pos, "unexpected end of input");
    switch (r->buf[r->pos]) {
    case '{':
    case '[':
        return open_container(r, n, flags);
    case '"':
        return scan_string(r, flags);
    case 't':
        return scan_literal(r, "true", 4);
    case 'f':
        return scan_literal(r, "false", 5);
    case 'n':
        return scan_literal(r, "null", 4);
    default:
        if (type_of(r->buf[r->pos]) == CL_JSON_NUMBER)
            return scan_number(r);
        return fail(r, r->pos, "expected a value");
    }
}

/* After a value inside a container: consumes ',' (returns 1: a value must follow) or the
 * closing bracket (returns 0: the container is complete). */
static int after_value(struct cl_json_reader *r, struct nest *n, unsigned *flags)
{
    int is_object = top_is_object(n);
    skip_inner_ws(r, flags);
    if (r->pos >= r->len)
        return fail(r, r->pos, is_object ? "unterminated object" : "unterminated array");
    char c = r->buf[r->pos];
    if (c == (is_object ? '}' : ']')) {
        r->pos++;
        n->depth--;
        return 0;
    }
    if (c != ',')
        return fail(r, r->pos, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    r->pos++;
    skip_inner_ws(r, flags);
    if (is_object && scan_key(r, flags))
        return -1;
    return 1;
}

/* Validates one value at r->pos (whitespace already skipped), iteratively; max_depth is
 * already clamped (0 allows scalars only). */
static int scan_nested(struct cl_json_reader *r, unsigned *flags, int max_depth)
{
    struct nest n;
    n.depth = 0;
    n.max = max_depth;
    for (;;) {
        int rc = scan_item(r, &n, flags);
        while (rc == 0 && n.depth > 0)
            rc = after_value(r, &n, flags);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return 0;
    }
}

static int scan_with_depth(struct cl_json_reader *r, struct cl_json_value *v, int max_depth)
{
    unsigned flags = 0;
    v->type = CL_JSON_INVALID;
    v->flags = 0;
    v->ptr = r->buf + r->pos;
    v->len = 0;
    if (r->pos >= r->len)
        return fail(r, r->pos, "expected a value");
    size_t start = r->pos;
    if (scan_nested(r, &flags, max_depth))
        return -1;
    v->type = type_of(r->buf[start]);
    v->flags = flags;
    v->ptr = r->buf + start;
    v->len = r->pos - start;
    return 0;
}

int cl_json_scan_value(struct cl_json_reader *r, struct cl_json_value *v)
{
    skip_ws(r);
    return scan_with_depth(r, v, clamp_depth(r->max_depth));
}

int cl_json_scan_string_value(struct cl_json_reader *r, struct cl_json_value *v)
{
    unsigned flags = 0;
    size_t start = r->pos;
    if (r->pos >= r->len || r->buf[r->pos] != '"')
        return fail(r, r->pos, "expected a string");
    if (scan_string(r, &flags))
        return -1;
    *v = (struct cl_json_value){CL_JSON_STRING, flags, r->buf + start, r->pos - start};
    return 0;
}

/* ---- object iteration ---- */

int cl_json_object_open(struct cl_json_reader *r)
{
    skip_ws(r);
    if (r->pos >= r->len || r->buf[r->pos] != '{')
        return fail(r, r->pos, "expected '{'");
    r->pos++;
    return 0;
}

/* The reader keeps no iteration state, so "first member?" is read from the input: the
 * last significant byte before r->pos is '{' right after cl_json_object_open and never
 * '{' after a member (a value cannot end in '{'). */
static int at_first_member(const struct cl_json_reader *r)
{
    size_t p = r->pos;
    while (p > 0 && is_ws((unsigned char)r->buf[p - 1]))
        p--;
    return p > 0 && r->buf[p - 1] == '{';
}

int cl_json_object_next(struct cl_json_reader *r, struct cl_json_value *key,
                        struct cl_json_value *val)
{
    int first = at_first_member(r);
    skip_ws(r);
    if (r->pos >= r->len)
        return fail(r, r->pos, "unterminated object");
    if (r->buf[r->pos] == '}') {
        r->pos++;
        return 0;
    }
    if (!first) {
        if (r->buf[r->pos] != ',')
            return fail(r, r->pos, "expected ',' or '}'");
        r->pos++;
        skip_ws(r);
    }
    if (r->pos >= r->len || r->buf[r->pos] != '"')
        return fail(r, r->pos, "expected a string key");
    size_t kstart = r->pos;
    unsigned kflags = 0;
    if (scan_string(r, &kflags))
        return -1;
    key->type = CL_JSON_STRING;
    key->flags = kflags;
    key->ptr = r->buf + kstart;
    key->len = r->pos - kstart;
    skip_ws(r);
    if (r->pos >= r->len || r->buf[r->pos] != ':')
        return fail(r, r->pos, "expected ':'");
    r->pos++;
    skip_ws(r);
    return scan_with_depth(r, val, clamp_depth(r->max_depth) - 1) ? -1 : 1;
}

/* ---- compaction and unescaping ---- */

/* Returns a pointer past the closing quote of the validated string at s. */
static const char *string_end(const char *s, const char *end)
{
    const char *p = s + 1;
    while (p < end) {
        if (*p == '\\')
            p += 2;
        else if (*p == '"')
            return p + 1;
        else
            p++;
    }
    return end;
}

size_t cl_json_compact(const struct cl_json_value *v, char *out)
{
    int container = v->type == CL_JSON_ARRAY || v->type == CL_JSON_OBJECT;
    if (!container || !(v->flags & CL_JSON_F_SPACE)) {
        memcpy(out, v->ptr, v->len);
        return v->len;
    }
    const char *s = v->ptr, *end = v->ptr + v->len;
    char *o = out;
    while (s < end) {
        if (*s == '"') {
            const char *e = string_end(s, end);
            memcpy(o, s, (size_t)(e - s));
            o += e - s;
            s = e;
        } else {
            if (!is_ws((unsigned char)*s))
                *o++ = *s;
            s++;
        }
    }
    return (size_t)(o - out);
}

static char *put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Decodes \uXXXX (and its low-surrogate partner) at s; *sp moves past it. A stray
 * surrogate (only possible if v was not validated) becomes U+FFFD. */
static char *decode_u(const char **sp, const char *end, char *o)
{
    const char *s = *sp;
    long cp = end - s >= 6 ? hex4(s, 2, 6) : -1;
    if (cp < 0) {
        *sp = end;
        return o;
    }
    s += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF && end - s >= 6 && s[0] == '\\' && s[1] == 'u') {
        long lo = hex4(s, 2, 6);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            s += 6;
        }
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 0xFFFD;
    *sp = s;
    return put_utf8(o, (unsigned long)cp);
}

/* Decodes the escape at *sp ('\\'); returns the new output position. */
static char *decode_escape(const char **sp, const char *end, char *o)
{
    const char *s = *sp;
    char c = s + 1 < end ? s[1] : '\\';
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = c ? strchr(from, c) : NULL;
    if (c == 'u')
        return decode_u(sp, end, o);
    *sp = s + 2 < end ? s + 2 : end;
    if (hit)
        *o++ = to[hit - from];
    return o;
}

size_t cl_json_unescape(const struct cl_json_value *v, char *out)
{
    if (v->len < 2)
        return 0;
    const char *s = v->ptr + 1, *end = v->ptr + v->len - 1;
    char *o = out;
    while (s < end) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        size_t run = (size_t)((bs ? bs : end) - s);
        memcpy(o, s, run);
        o += run;
        s += run;
        if (!bs)
            break;
        o = decode_escape(&s, end, o);
    }
    return (size_t)(o - out);
}

/* ---- structural array split ---- */

static int split_fail(struct cl_json_error *err, size_t off, const char *msg)
{
    if (err) {
        err->offset = off;
        err->msg = msg;
    }
    return -1;
}

/* Returns the position after the closing quote of the string at buf[p], or 0. */
static size_t skip_string(const char *buf, size_t p, size_t len)
{
    for (p++; p < len; p++) {
        p = ascii_run(buf, p, len);
        if (p >= len)
            break;
        if (buf[p] == '"')
            return p + 1;
        if (buf[p] == '\\')
            p++;
    }
    return 0;
}

/* Trims [start, end) of trailing whitespace (leading whitespace is skipped already). */
static size_t trimmed_len(const char *buf, size_t start, size_t end)
{
    while (end > start && is_ws((unsigned char)buf[end - 1]))
        end--;
    return end - start;
}

static int split_tail(const char *buf, size_t len, size_t p, struct cl_json_error *err)
{
    p = ws_end(buf, p, len);
    return p < len ? split_fail(err, p, "unexpected data after array") : 0;
}

/* Elements are delivered as they are found, so fn may have seen some elements before a
 * later structural error is reported. */
int cl_json_split_array(const char *buf, size_t len,
                        int (*fn)(void *arg, const char *elem, size_t elem_len), void *arg,
                        struct cl_json_error *err)
{
    size_t p = ws_end(buf, 0, len), depth = 0;
    if (p >= len || buf[p] != '[')
        return split_fail(err, p, "expected '['");
    p = ws_end(buf, p + 1, len);
    if (p < len && buf[p] == ']')
        return split_tail(buf, len, p + 1, err);
    size_t start = p;
    while (p < len) {
        char c = buf[p];
        if (c == '"') {
            size_t e = skip_string(buf, p, len);
            if (!e)
                return split_fail(err, p, "unterminated string");
            p = e;
            continue;
        }
        if (c == '[' || c == '{') {
            depth++;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        } else if (depth == 0 && (c == ',' || c == ']' || c == '}')) {
            if (c == '}')
                return split_fail(err, p, "mismatched '}'");
            size_t n = trimmed_len(buf, start, p);
            if (n == 0)
                return split_fail(err, p, c == ',' ? "empty array element" : "trailing comma");
            int rc = fn(arg, buf + start, n);
            if (rc)
                return rc;
            if (c == ']')
                return split_tail(buf, len, p + 1, err);
            start = p = ws_end(buf, p + 1, len);
            continue;
        }
        p++;
    }
    return split_fail(err, len, "unterminated array");
}
