/* otlp_json.c - OTLP/HTTP logs in JSON ({"resourceLogs":[...]}) -> input records.
 *
 * The body is walked once with a validating cursor (json_walk.h) that descends into
 * resource logs, scope logs, records and attributes where they are, checking each byte
 * as it passes: no separate validating pass. A
 * record's members are collected as key, value pairs that point into the body (or at
 * values made here: timestamp, level, service, lowercased ids, nested values), in the
 * order otlp_common.h gives, then written out as one copy whose members the normalizer
 * takes as they are (cl_proto_doc.members). OTLP JSON is protobuf's JSON mapping:
 * lowerCamelCase names, 64-bit integers (timeUnixNano, intValue) as decimal strings
 * (numbers accepted too), trace and span ids as hex strings, bytes as base64. */
#include "proto.h"

#include "common.h"
#include "json.h"
#include "json_walk.h"
#include "json_write.h"
#include "otlp_common.h"
#include "record.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a pair's value is: in the body or a static text (ptr set), or made in one of the
 * walk's buffers (ptr NULL until the record is handed on; off is the offset). */
enum where { IN_PLACE, IN_RECORD, IN_RESOURCE, N_WHERE };

struct pair {
    struct cl_json_value key, val;
    enum where where;
    size_t off;
};

/* Pairs of one record or resource, with what the copy path must know about them. */
struct pairs {
    struct pair *p;
    size_t n, cap;
    unsigned seen; /* CL_JW_PAIRS_ESCAPED_KEY, CL_JW_PAIRS_SPACE among them */
    int max_nest;  /* deepest nesting of containers in their values */
};

struct walk {
    int depth; /* reader depth for nested values */
    const struct cl_proto_sink *sink;
    int norm_depth;              /* the normalizer's max_depth */
    int nest, max_nest;          /* containers open in the value being made; the deepest */
    int reread;                  /* a value only the normalizer's reading may take (scalar_json) */
    enum where target;           /* where values are made now */
    struct cl_buf made[N_WHERE]; /* [IN_RECORD] per record, [IN_RESOURCE] per resource */
    struct pairs body, attrs, res, all;
    char ts[32];  /* the record's timestamp token */
    char svc[80]; /* the resource's service token (svc_len 0: none) */
    size_t svc_len;
    struct cl_buf out; /* the record's copy */
    struct cl_proto_rec rec;
    struct cl_jw_pairs mem; /* the copy's members, for the sink's document callback */
};

#define LIT(tok) ((struct cl_json_value){CL_JSON_STRING, 0, tok, sizeof(tok) - 1})
#define NULL_VALUE ((struct cl_json_value){CL_JSON_NULL, 0, "null", 4})

/* cl_json_key_is(key, lit, 0) for a string literal, its length known at compile time. */
#define KEY_IS(key, lit)                                                                           \
    ((key)->len == sizeof(lit) + 1 && !((key)->flags & CL_JSON_F_ESCAPED) &&                       \
     memcmp((key)->ptr + 1, lit, sizeof(lit) - 1) == 0)

static void pairs_push(struct pairs *ps, const struct pair *p)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->p = cl_realloc(ps->p, ps->cap * sizeof *ps->p);
    }
    ps->p[ps->n++] = *p;
    if (p->key.flags & CL_JSON_F_ESCAPED)
        ps->seen |= CL_JW_PAIRS_ESCAPED_KEY;
}

static void pairs_add(struct pairs *ps, struct cl_json_value key, struct cl_json_value val)
{
    struct pair p = {key, val, IN_PLACE, 0};
    pairs_push(ps, &p);
}

static void pairs_reset(struct pairs *ps)
{
    ps->n = 0;
    ps->seen = 0;
    ps->max_nest = 0;
}

/* Appends src's pairs to dst. */
static void pairs_append(struct pairs *dst, const struct pairs *src)
{
    for (size_t i = 0; i < src->n; i++)
        pairs_push(dst, &src->p[i]);
    dst->seen |= src->seen;
    dst->max_nest = CL_MAX(dst->max_nest, src->max_nest);
}

/* A uint64 given as a decimal string or a JSON number (0 when absent or not one). */
static uint64_t u64_of(const struct cl_json_value *v)
{
    uint64_t x = 0;
    size_t n;
    const char *s = cl_jw_plain_text(v, &n);
    if (s)
        return cl_otlp_parse_u64(s, n, &x) == 0 ? x : 0;
    if (v->type != CL_JSON_NUMBER)
        return 0;
    if (cl_otlp_parse_u64(v->ptr, v->len, &x) == 0)
        return x;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*s", (int)CL_MIN(v->len, (size_t)63), v->ptr);
    double d = strtod(tmp, NULL); /* 1.7e18 from an encoder that wrote a double */
    return d > 0 && d < 1.8e19 ? (uint64_t)d : 0;
}

/* ---- AnyValue -> JSON ---- */

/* The text of an intValue string that is a JSON integer ("-12" -> -12), else NULL. */
static const char *int_text(const struct cl_json_value *v, size_t *n)
{
    const char *s = cl_jw_plain_text(v, n);
    size_t d = s && *n && *s == '-' ? 1 : 0;
    if (!s || *n <= d || *n > 20 || (s[d] == '0' && *n > d + 1))
        return NULL; /* "007" is no JSON number: kept as the string it is */
    for (size_t i = d; i < *n; i++)
        if (!isdigit((unsigned char)s[i]))
            return NULL;
    return s;
}

/* What an AnyValue member holds, by its key. */
enum any_kind { ANY_NONE, ANY_SCALAR, ANY_INT, ANY_ARRAY, ANY_KVLIST };

static enum any_kind any_kind(const struct cl_json_value *key)
{
    if (KEY_IS(key, "stringValue") || KEY_IS(key, "boolValue") || KEY_IS(key, "doubleValue") ||
        KEY_IS(key, "bytesValue"))
        return ANY_SCALAR;
    if (KEY_IS(key, "intValue"))
        return ANY_INT;
    if (KEY_IS(key, "arrayValue"))
        return ANY_ARRAY;
    return KEY_IS(key, "kvlistValue") ? ANY_KVLIST : ANY_NONE;
}

/* The JSON of a scalar or intValue member: the value itself (a container where a scalar
 * belongs is null), an intValue's digits as a number. An intValue that is neither is
 * copied as it is; if that is a container, only the normalizer's own reading may take
 * it (its nesting and whitespace were not looked at), so w->reread is set. */
static struct cl_json_value scalar_json(struct walk *w, enum any_kind k,
                                        const struct cl_json_value *val)
{
    size_t n;
    const char *s;
    int container = val->type == CL_JSON_ARRAY || val->type == CL_JSON_OBJECT;
    if (k == ANY_SCALAR)
        return container ? NULL_VALUE : *val; /* scalars hold no whitespace */
    if ((s = int_text(val, &n)) != NULL)
        return (struct cl_json_value){CL_JSON_NUMBER, 0, s, n};
    if (container)
        w->reread = 1;
    return *val;
}

static void write_any(struct walk *w, struct cl_buf *out, const struct cl_json_value *v);

static void write_array(struct walk *w, struct cl_buf *out, const struct cl_json_value *av)
{
    struct cl_json_value values = cl_jw_member(av, "values", w->depth), e;
    struct cl_jw_array it;
    int first = 1;
    cl_buf_append_char(out, '[');
    w->max_nest = CL_MAX(w->max_nest, ++w->nest);
    if (cl_jw_array_begin(&it, &values, w->depth) == 0)
        while (cl_jw_array_next(&it, &e)) {
            if (!first)
                cl_buf_append_char(out, ',');
            first = 0;
            write_any(w, out, &e);
        }
    w->nest--;
    cl_buf_append_char(out, ']');
}

/* An attribute ({"key":..., "value":...}): both members in one pass. */
static void key_value(struct walk *w, const struct cl_json_value *e, struct cl_json_value *key,
                      struct cl_json_value *val)
{
    static const char *const names[] = {"key", "value"};
    struct cl_json_value kv[2];
    cl_jw_members(e, names, 2, kv, w->depth);
    *key = kv[0];
    *val = kv[1];
}

static void write_kvlist(struct walk *w, struct cl_buf *out, const struct cl_json_value *kl)
{
    struct cl_json_value values = cl_jw_member(kl, "values", w->depth), e;
    struct cl_jw_array it;
    int first = 1;
    cl_buf_append_char(out, '{');
    w->max_nest = CL_MAX(w->max_nest, ++w->nest);
    if (cl_jw_array_begin(&it, &values, w->depth) == 0)
        while (cl_jw_array_next(&it, &e)) {
            struct cl_json_value key, val;
            key_value(w, &e, &key, &val);
            if (key.type != CL_JSON_STRING)
                continue;
            if (!first)
                cl_buf_append_char(out, ',');
            first = 0;
            cl_buf_append(out, key.ptr, key.len);
            cl_buf_append_char(out, ':');
            write_any(w, out, &val);
        }
    w->nest--;
    cl_buf_append_char(out, '}');
}

/* Writes the JSON of the value of an AnyValue member of kind k (not ANY_NONE) to out. */
static void write_member(struct walk *w, struct cl_buf *out, enum any_kind k,
                         const struct cl_json_value *val)
{
    if (k == ANY_ARRAY) {
        write_array(w, out, val);
    } else if (k == ANY_KVLIST) {
        write_kvlist(w, out, val);
    } else {
        struct cl_json_value j = scalar_json(w, k, val);
        cl_buf_append(out, j.ptr, j.len);
    }
}

/* A nested AnyValue (in an array or map) to out; its first known member counts. */
static void write_any(struct walk *w, struct cl_buf *out, const struct cl_json_value *v)
{
    struct cl_json_value key, val;
    struct cl_jw_object it;
    if (cl_jw_object_begin(&it, v) == 0)
        while (cl_jw_object_next(&it, &key, &val) == 1) {
            enum any_kind k = any_kind(&key);
            if (k != ANY_NONE) {
                write_member(w, out, k, &val);
                return;
            }
        }
    cl_buf_append_str(out, "null");
}

/* The AnyValue at the cursor (a record's or resource's attribute) as the pair's value:
 * in place for scalars, made in w->made[w->target] for arrays and maps. */
static void any_value(struct walk *w, struct cl_jw_cursor *c, struct pair *p)
{
    struct cl_json_value key, val;
    enum any_kind k = ANY_NONE;
    p->val = NULL_VALUE;
    p->where = IN_PLACE;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &val);
        return;
    }
    cl_jw_cursor_enter(c);
    while (cl_jw_cursor_key(c, &key)) {
        cl_jw_cursor_take(c, &val);
        if (k != ANY_NONE || (k = any_kind(&key)) == ANY_NONE)
            continue;
        if (k == ANY_SCALAR || k == ANY_INT) {
            p->val = scalar_json(w, k, &val);
            continue;
        }
        struct cl_buf *m = &w->made[w->target];
        p->off = m->len;
        p->where = w->target;
        write_member(w, m, k, &val);
        p->val = (struct cl_json_value){k == ANY_ARRAY ? CL_JSON_ARRAY : CL_JSON_OBJECT, 0, NULL,
                                        m->len - p->off};
    }
}

/* ---- attributes ---- */

/* The resource's service.name: the stringValue of the first attribute of that key. */
struct service_ref {
    int seen;
    struct cl_json_value value;
};

/* One attribute ({"key":..., "value":{AnyValue}}) at the cursor into ps; svc (resource
 * attributes) leaves service.name out and notes its value. A log record's attribute
 * value is read where it is, whatever the order of key and value. */
static void attribute(struct walk *w, struct cl_jw_cursor *c, struct pairs *ps,
                      struct service_ref *svc)
{
    struct cl_json_value mk, key = {0}, val = {0}, skip;
    struct pair p = {.val = NULL_VALUE};
    int have_value = 0;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &skip);
        return;
    }
    cl_jw_cursor_enter(c);
    w->nest = w->max_nest = w->reread = 0;
    while (cl_jw_cursor_key(c, &mk))
        if (key.type == CL_JSON_INVALID && KEY_IS(&mk, "key")) {
            cl_jw_cursor_take(c, &key);
        } else if (!have_value && KEY_IS(&mk, "value")) {
            have_value = 1;
            if (svc)
                cl_jw_cursor_take(c, &val); /* read below, once service.name is ruled out */
            else
                any_value(w, c, &p);
        } else {
            cl_jw_cursor_take(c, &skip);
        }
    if (key.type != CL_JSON_STRING)
        return;
    if (svc && cl_json_key_is(&key, "service.name", 0)) {
        if (!svc->seen)
            svc->value = cl_jw_member(&val, "stringValue", w->depth);
        svc->seen = 1;
        return;
    }
    if (svc) {
        struct cl_jw_cursor vc;
        cl_jw_cursor_at(&vc, &val);
        any_value(w, &vc, &p);
    }
    p.key = key;
    ps->max_nest = CL_MAX(ps->max_nest, w->max_nest);
    ps->seen |= w->reread ? CL_JW_PAIRS_SPACE : 0u; /* read by the normalizer, as whitespace is */
    pairs_push(ps, &p);
}

/* The attributes array at the cursor into ps (anything else is skipped). */
static void attributes(struct walk *w, struct cl_jw_cursor *c, struct pairs *ps,
                       struct service_ref *svc)
{
    struct cl_json_value skip;
    if (cl_jw_cursor_type(c) != CL_JSON_ARRAY) {
        cl_jw_cursor_take(c, &skip);
        return;
    }
    cl_jw_cursor_enter(c);
    while (cl_jw_cursor_element(c))
        attribute(w, c, ps, svc);
}

/* ---- log records ---- */

/* A string body is the message, a map body's members are fields, any other body is
 * written as JSON text for the message. */
static void body(struct walk *w, const struct cl_json_value *b)
{
    static const char *const names[] = {"stringValue", "kvlistValue"};
    struct cl_json_value sk[2];
    cl_jw_members(b, names, 2, sk, w->depth);
    if (sk[0].type == CL_JSON_STRING) {
        pairs_add(&w->body, LIT("\"message\""), sk[0]);
    } else if (sk[1].type == CL_JSON_OBJECT) {
        struct cl_json_value values = cl_jw_member(&sk[1], "values", w->depth);
        struct cl_jw_cursor c;
        cl_jw_cursor_at(&c, &values);
        attributes(w, &c, &w->body, NULL);
    } else if (b->type == CL_JSON_OBJECT) {
        struct cl_buf text;
        cl_buf_init(&text, SIZE_MAX / 2);
        write_any(w, &text, b); /* inside a string: its nesting counts for nothing */
        struct cl_buf *m = &w->made[IN_RECORD];
        size_t start = m->len;
        cl_json_write_string(m, text.data, text.len);
        cl_buf_free(&text);
        int esc = memchr(m->data + start, '\\', m->len - start) != NULL;
        struct pair p = {LIT("\"message\""),
                         {CL_JSON_STRING, esc ? CL_JSON_F_ESCAPED : 0, NULL, m->len - start},
                         IN_RECORD,
                         start};
        pairs_push(&w->body, &p); /* a string: its nesting and whitespace are no members' */
    }
}

/* trace_id/span_id: a hex string in lowercase (made only when it has capitals). */
static void hex_id(struct walk *w, struct cl_json_value key, const struct cl_json_value *v)
{
    size_t n, i = 0;
    const char *s = cl_jw_plain_text(v, &n);
    if (!s || n == 0)
        return;
    while (i < n && !isupper((unsigned char)s[i]))
        i++;
    if (i == n) {
        pairs_add(&w->all, key, *v);
        return;
    }
    struct cl_buf *m = &w->made[IN_RECORD];
    struct pair p = {key, {CL_JSON_STRING, 0, NULL, n + 2}, IN_RECORD, m->len};
    cl_buf_append_char(m, '"');
    for (i = 0; i < n; i++)
        cl_buf_append_char(m, (char)tolower((unsigned char)s[i]));
    cl_buf_append_char(m, '"');
    pairs_push(&w->all, &p);
}

/* "level" from the severity number or text; 0 when the text (non-empty) named no level,
 * so the caller keeps it as severity_text. */
static int level(struct walk *w, const struct cl_json_value *num, const struct cl_json_value *text)
{
    static const struct cl_json_value names[CL_LEVEL_COUNT] = {LIT("\"trace\""), LIT("\"debug\""),
                                                               LIT("\"info\""),  LIT("\"warn\""),
                                                               LIT("\"error\""), LIT("\"fatal\"")};
    int64_t sev = num->type == CL_JSON_NUMBER ? cl_json_uint(num) : 0;
    char t[128] = ""; /* longer texts name no level either way (level.c) */
    size_t len = text->type == CL_JSON_STRING ? cl_jw_text(text, t, sizeof t) : 0;
    enum cl_level l;
    int known = sev >= 1 && sev <= 24;
    if (known)
        l = (enum cl_level)((sev - 1) / 4); /* four SeverityNumbers per level */
    else if (len)
        known = cl_parse_level_text(t, len, &l) == 0;
    if (known)
        pairs_add(&w->all, LIT("\"level\""), names[l]);
    return known || len == 0;
}

/* The members of a log record log_record reads, in LR_* order. */
enum {
    LR_TIME,
    LR_OBSERVED,
    LR_SEV_NUM,
    LR_SEV_TEXT,
    LR_BODY,
    LR_EVENT,
    LR_TRACE,
    LR_SPAN,
    LR_ATTRS,
    LR_N
};

static int lr_index(const struct cl_json_value *key)
{
    static const char *const names[LR_N] = {"timeUnixNano",   "observedTimeUnixNano",
                                            "severityNumber", "severityText",
                                            "body",           "eventName",
                                            "traceId",        "spanId",
                                            "attributes"};
    static const size_t lens[LR_N] = {12, 20, 14, 12, 4, 9, 7, 6, 10};
    if (key->flags & CL_JSON_F_ESCAPED)
        return -1;
    for (int i = 0; i < LR_N; i++)
        if (key->len == lens[i] + 2 && memcmp(key->ptr + 1, names[i], lens[i]) == 0)
            return i;
    return -1;
}

/* Hands the record (w->all) on. The sink's document callback gets the copy with its
 * members when the normalizer could find nothing else in it: nesting within its depth,
 * no whitespace (the copy's size is then the document's) and no escaped key (keys that
 * differ as tokens could be one name to the normalizer, which rejects such a copy; the
 * checked copy below keeps that answer). Otherwise a checked copy goes as a record. */
static void hand_on(struct walk *w)
{
    struct pairs *a = &w->all;
    size_t size = 2;
    for (size_t i = 0; i < a->n; i++) {
        struct pair *p = &a->p[i];
        if (p->where != IN_PLACE)
            p->val.ptr = w->made[p->where].data + p->off;
        size += p->key.len + p->val.len + 2;
    }
    if (w->sink->document && a->max_nest + 1 < w->norm_depth &&
        !(a->seen & (CL_JW_PAIRS_ESCAPED_KEY | CL_JW_PAIRS_SPACE))) {
        cl_buf_reset(&w->out);
        if (cl_buf_reserve(&w->out, size) != CL_OK)
            return; /* not reached: the buffer has no bound but the body's */
        char *base = w->out.data, *q = base;
        *q++ = '{';
        w->mem.n = 0;
        for (size_t i = 0; i < a->n; i++) {
            struct cl_json_value k = a->p[i].key, v = a->p[i].val;
            if (i)
                *q++ = ',';
            k.ptr = memcpy(q, k.ptr, k.len);
            q += k.len;
            *q++ = ':';
            v.ptr = memcpy(q, v.ptr, v.len);
            q += v.len;
            cl_jw_pairs_push(&w->mem, &k, &v);
        }
        *q++ = '}';
        *q = '\0';
        w->out.len = (size_t)(q - base);
        struct cl_slice part = {base, w->out.len};
        struct cl_proto_doc doc = {&part, 1, NULL, 0, w->mem.kv, w->mem.n};
        w->sink->document(w->sink->arg, &doc);
        return;
    }
    cl_proto_rec_begin(&w->rec);
    for (size_t i = 0; i < a->n; i++)
        if (cl_proto_rec_key_json(&w->rec, a->p[i].key.ptr, a->p[i].key.len))
            cl_buf_append(w->rec.out, a->p[i].val.ptr, a->p[i].val.len);
    cl_proto_rec_ensure_message(&w->rec);
    cl_proto_rec_end(&w->rec);
    w->sink->record(w->sink->arg, w->rec.out->data, w->rec.out->len);
}

/* The record's pairs in otlp_common.h's order into w->all. */
static void assemble(struct walk *w, const struct cl_json_value *m,
                     const struct cl_json_value *scope_name)
{
    uint64_t t = u64_of(&m[LR_TIME]);
    pairs_reset(&w->all);
    if (t || (t = u64_of(&m[LR_OBSERVED])) != 0) {
        w->ts[0] = '"';
        cl_format_timestamp((int64_t)(t / 1000000u), w->ts + 1);
        w->ts[25] = '"';
        pairs_add(&w->all, LIT("\"timestamp\""),
                  (struct cl_json_value){CL_JSON_STRING, 0, w->ts, 26});
    }
    int level_known = level(w, &m[LR_SEV_NUM], &m[LR_SEV_TEXT]);
    if (w->svc_len)
        pairs_add(&w->all, LIT("\"service\""),
                  (struct cl_json_value){CL_JSON_STRING, 0, w->svc, w->svc_len});
    pairs_append(&w->all, &w->body);
    if (m[LR_EVENT].type == CL_JSON_STRING)
        pairs_add(&w->all, LIT("\"event_name\""), m[LR_EVENT]);
    hex_id(w, LIT("\"trace_id\""), &m[LR_TRACE]);
    hex_id(w, LIT("\"span_id\""), &m[LR_SPAN]);
    pairs_append(&w->all, &w->attrs);
    if (!level_known && m[LR_SEV_TEXT].type == CL_JSON_STRING)
        pairs_add(&w->all, LIT("\"severity_text\""), m[LR_SEV_TEXT]);
    pairs_append(&w->all, &w->res);
    if (scope_name->type == CL_JSON_STRING && scope_name->len > 2)
        pairs_add(&w->all, LIT("\"scope\""), *scope_name);
}

/* The log record at the cursor: its attributes are read where they are, its other
 * members taken whole (the first of each name). */
static void log_record(struct walk *w, struct cl_jw_cursor *c, const struct cl_json_value *scope)
{
    struct cl_json_value key, v, m[LR_N] = {{0}};
    int attrs_seen = 0;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &v);
        w->sink->reject(w->sink->arg, "log record is not a JSON object");
        return;
    }
    cl_jw_cursor_enter(c);
    pairs_reset(&w->body);
    pairs_reset(&w->attrs);
    cl_buf_reset(&w->made[IN_RECORD]);
    w->target = IN_RECORD;
    while (cl_jw_cursor_key(c, &key)) {
        int i = lr_index(&key);
        if (i == LR_ATTRS && !attrs_seen) {
            attrs_seen = 1;
            attributes(w, c, &w->attrs, NULL);
            continue;
        }
        cl_jw_cursor_take(c, &v);
        if (i >= 0 && m[i].type == CL_JSON_INVALID)
            m[i] = v;
    }
    if (c->failed)
        return; /* the body is malformed: an error, not a record */
    body(w, &m[LR_BODY]);
    assemble(w, m, scope);
    hand_on(w);
}

/* The first member `name` after the value at the cursor (of an entered object) into a
 * cursor at its value; 0 if there is none. For members a shipper sent in an unusual
 * order (the scope after its records): the usual order is read in one pass. */
static int member_ahead(const struct cl_jw_cursor *c, const char *name, size_t n,
                        struct cl_jw_cursor *at)
{
    struct cl_json_value key, skip;
    *at = *c;
    cl_jw_cursor_take(at, &skip);
    while (cl_jw_cursor_key(at, &key)) {
        if (key.len == n + 2 && !(key.flags & CL_JSON_F_ESCAPED) &&
            memcmp(key.ptr + 1, name, n) == 0)
            return 1;
        cl_jw_cursor_take(at, &skip);
    }
    return 0;
}

static void scope_name(struct walk *w, struct cl_jw_cursor *c, struct cl_json_value *name)
{
    struct cl_json_value scope;
    cl_jw_cursor_take(c, &scope);
    *name = cl_jw_member(&scope, "name", w->depth);
}

static void scope_logs(struct walk *w, struct cl_jw_cursor *c)
{
    struct cl_json_value key, skip, name = {0};
    int scope_seen = 0, logs_seen = 0;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &skip);
        return;
    }
    cl_jw_cursor_enter(c);
    while (cl_jw_cursor_key(c, &key)) {
        if (!scope_seen && KEY_IS(&key, "scope")) {
            scope_seen = 1;
            scope_name(w, c, &name);
        } else if (!logs_seen && KEY_IS(&key, "logRecords") &&
                   cl_jw_cursor_type(c) == CL_JSON_ARRAY) {
            struct cl_jw_cursor at;
            logs_seen = 1;
            if (!scope_seen && member_ahead(c, "scope", 5, &at))
                scope_name(w, &at, &name);
            scope_seen = 1;
            cl_jw_cursor_enter(c);
            while (cl_jw_cursor_element(c))
                log_record(w, c, &name);
        } else {
            logs_seen |= KEY_IS(&key, "logRecords");
            cl_jw_cursor_take(c, &skip);
        }
    }
}

/* The resource at the cursor: its attributes (service.name left out) into w->res, the
 * service token into w->svc. */
static void resource(struct walk *w, struct cl_jw_cursor *c)
{
    struct cl_json_value key, skip;
    struct service_ref svc = {0};
    int attrs_seen = 0;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &skip);
        return;
    }
    cl_jw_cursor_enter(c);
    w->target = IN_RESOURCE;
    while (cl_jw_cursor_key(c, &key))
        if (!attrs_seen && KEY_IS(&key, "attributes")) {
            attrs_seen = 1;
            attributes(w, c, &w->res, &svc);
        } else {
            cl_jw_cursor_take(c, &skip);
        }
    for (size_t i = 0; i < w->res.n; i++) /* made once, read by every record below */
        if (w->res.p[i].where == IN_RESOURCE) {
            w->res.p[i].val.ptr = w->made[IN_RESOURCE].data + w->res.p[i].off;
            w->res.p[i].where = IN_PLACE;
        }
    if (svc.value.type == CL_JSON_STRING) {
        char name[128]; /* cl_proto_service_clean keeps 64 bytes */
        cl_jw_text(&svc.value, name, sizeof name);
        size_t n = cl_proto_service_clean(name, strlen(name)); /* as far as a NUL, as before */
        if (n) {
            w->svc[0] = '"';
            memcpy(w->svc + 1, name, n);
            w->svc[n + 1] = '"';
            w->svc_len = n + 2;
        }
    }
}

static void resource_logs(struct walk *w, struct cl_jw_cursor *c)
{
    struct cl_json_value key, skip;
    int res_seen = 0, scopes_seen = 0;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &skip);
        return;
    }
    cl_jw_cursor_enter(c);
    pairs_reset(&w->res);
    cl_buf_reset(&w->made[IN_RESOURCE]);
    w->svc_len = 0;
    while (cl_jw_cursor_key(c, &key)) {
        if (!res_seen && KEY_IS(&key, "resource")) {
            res_seen = 1;
            resource(w, c);
        } else if (!scopes_seen && KEY_IS(&key, "scopeLogs") &&
                   cl_jw_cursor_type(c) == CL_JSON_ARRAY) {
            struct cl_jw_cursor at;
            scopes_seen = 1;
            if (!res_seen && member_ahead(c, "resource", 8, &at))
                resource(w, &at);
            res_seen = 1;
            cl_jw_cursor_enter(c);
            while (cl_jw_cursor_element(c))
                scope_logs(w, c);
        } else {
            scopes_seen |= KEY_IS(&key, "scopeLogs");
            cl_jw_cursor_take(c, &skip);
        }
    }
}

static void walk_free(struct walk *w)
{
    for (int i = 0; i < N_WHERE; i++)
        cl_buf_free(&w->made[i]);
    free(w->body.p);
    free(w->attrs.p);
    free(w->res.p);
    free(w->all.p);
    cl_proto_rec_free(&w->rec);
    cl_buf_free(&w->out);
    cl_jw_pairs_free(&w->mem);
}

/* The error of a body the cursor stopped in (or one without a resourceLogs array):
 * the validating reader's message for the first malformed byte, as a body validated
 * before its walk had; -1. */
static int body_error(const char *body, size_t len, int depth, char *err, size_t err_len)
{
    struct cl_json_value top;
    if (cl_jw_body_object(body, len, depth, "OTLP JSON", &top, err, err_len) == 0)
        snprintf(err, err_len, "invalid OTLP JSON: resourceLogs is not an array");
    return -1;
}

int cl_otlp_json_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                        const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    struct walk w = {.depth = 8 + 4 * CL_MIN(o->max_depth, 128), .sink = sink};
    w.norm_depth = o->max_depth > 0 ? CL_MIN(o->max_depth, CL_JSON_MAX_DEPTH_LIMIT)
                                    : CL_JSON_DEFAULT_MAX_DEPTH; /* as the reader clamps */
    struct cl_json_value key, skip;
    struct cl_jw_cursor c;
    int logs_seen = 0;
    /* One pass: the cursor validates what it walks, records are handed on as they are
     * read, and a body found malformed further on is an error all the same (the caller
     * drops the records it received, proto.h). */
    cl_jw_cursor_text(&c, body, len, w.depth);
    if (cl_jw_cursor_type(&c) != CL_JSON_OBJECT)
        return body_error(body, len, w.depth, err, err_len);
    for (int i = 0; i < N_WHERE; i++)
        cl_buf_init(&w.made[i], SIZE_MAX / 2); /* bounded by the decoded body */
    cl_buf_init(&w.out, SIZE_MAX / 2);
    cl_proto_rec_init(&w.rec, &w.out);
    cl_jw_cursor_enter(&c);
    while (cl_jw_cursor_key(&c, &key)) {
        if (logs_seen || !KEY_IS(&key, "resourceLogs")) {
            cl_jw_cursor_take(&c, &skip);
            continue;
        }
        logs_seen = 1;
        if (cl_jw_cursor_type(&c) != CL_JSON_ARRAY) {
            logs_seen = -1; /* an error once the rest is known to be valid JSON */
            break;
        }
        cl_jw_cursor_enter(&c);
        while (cl_jw_cursor_element(&c))
            resource_logs(&w, &c);
    }
    walk_free(&w);
    if (logs_seen != 1 || !cl_jw_cursor_done(&c))
        return body_error(body, len, w.depth, err, err_len);
    return 0;
}

int cl_otlp_json_detect(const char *body, size_t len)
{
    /* Only the first member is looked at: resourceLogs is OTLP's one top-level field,
     * and the normalizer's input records never start with it. */
    size_t i = 0;
    while (i < len && cl_jw_is_space(body[i]))
        i++;
    if (i == len || body[i] != '{')
        return 0;
    i++;
    while (i < len && cl_jw_is_space(body[i]))
        i++;
    return len - i >= 14 && memcmp(body + i, "\"resourceLogs\"", 14) == 0;
}
