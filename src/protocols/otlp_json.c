/* otlp_json.c - OTLP/HTTP logs in JSON ({"resourceLogs":[...]}) -> input records.
 *
 * The body is validated once as a whole (json.c, with a depth limit), then walked: every
 * log record becomes one input record mapped as otlp_common.h says. OTLP JSON is
 * protobuf's JSON mapping: lowerCamelCase names, 64-bit integers (timeUnixNano,
 * intValue) as decimal strings (numbers accepted too), trace and span ids as hex
 * strings, bytes as base64. */
#include "proto.h"

#include "common.h"
#include "json.h"
#include "json_write.h"
#include "json_walk.h"
#include "otlp_common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct walk {
    int depth; /* reader depth for nested values */
    struct cl_proto_rec rec;
    struct cl_buf out;
    const struct cl_proto_sink *sink;
    int norm_depth;         /* the normalizer's max_depth */
    int nest, max_nest;     /* containers open in the record's values while it is written */
    struct cl_jw_pairs mem; /* the record's members, for the sink's document callback */
};

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

static void write_any(struct walk *w, struct cl_buf *out, const struct cl_json_value *v);

static void write_int(struct cl_buf *out, const struct cl_json_value *v)
{
    size_t n;
    const char *s = cl_jw_plain_text(v, &n);
    size_t digits = s && n && *s == '-' ? 1 : 0;
    int ok = s && n > digits && n <= 20;
    for (size_t i = digits; ok && i < n; i++)
        ok = isdigit((unsigned char)s[i]);
    if (ok)
        cl_buf_append(out, s, n); /* "123" -> 123 */
    else
        cl_buf_append(out, v->ptr, v->len);
}

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

/* cl_json_key_is(key, lit, 0) for a string literal, its length known at compile time
 * (write_any runs for every attribute). */
#define KEY_IS(key, lit)                                                                           \
    ((key)->len == sizeof(lit) + 1 && !((key)->flags & CL_JSON_F_ESCAPED) &&                       \
     memcmp((key)->ptr + 1, lit, sizeof(lit) - 1) == 0)

static void write_any(struct walk *w, struct cl_buf *out, const struct cl_json_value *v)
{
    struct cl_json_value key, val;
    struct cl_jw_object it;
    if (cl_jw_object_begin(&it, v) == 0)
        while (cl_jw_object_next(&it, &key, &val) == 1) {
            if (KEY_IS(&key, "stringValue") || KEY_IS(&key, "boolValue") ||
                KEY_IS(&key, "doubleValue") || KEY_IS(&key, "bytesValue")) {
                if (val.type == CL_JSON_ARRAY || val.type == CL_JSON_OBJECT)
                    cl_buf_append_str(out, "null");
                else
                    cl_buf_append(out, val.ptr, val.len); /* scalars hold no whitespace */
            } else if (KEY_IS(&key, "intValue")) {
                write_int(out, &val);
            } else if (KEY_IS(&key, "arrayValue")) {
                write_array(w, out, &val);
            } else if (KEY_IS(&key, "kvlistValue")) {
                write_kvlist(w, out, &val);
            } else {
                continue;
            }
            return;
        }
    cl_buf_append_str(out, "null");
}

/* ---- log records ---- */

static void write_attrs(struct walk *w, const struct cl_json_value *attrs, int skip_service)
{
    struct cl_jw_array it;
    struct cl_json_value e;
    if (cl_jw_array_begin(&it, attrs, w->depth) != 0)
        return;
    while (cl_jw_array_next(&it, &e)) {
        struct cl_json_value key, val;
        key_value(w, &e, &key, &val);
        if (key.type != CL_JSON_STRING || (skip_service && cl_json_key_is(&key, "service.name", 0)))
            continue;
        if (cl_proto_rec_key_json(&w->rec, key.ptr, key.len))
            write_any(w, w->rec.out, &val);
    }
}

/* The string value of service.name among resource attributes, or absent. */
static struct cl_json_value service_name(struct walk *w, const struct cl_json_value *attrs)
{
    struct cl_jw_array it;
    struct cl_json_value e, none = {0};
    if (cl_jw_array_begin(&it, attrs, w->depth) != 0)
        return none;
    while (cl_jw_array_next(&it, &e)) {
        struct cl_json_value key = cl_jw_member(&e, "key", w->depth);
        if (cl_json_key_is(&key, "service.name", 0)) {
            struct cl_json_value any = cl_jw_member(&e, "value", w->depth);
            return cl_jw_member(&any, "stringValue", w->depth);
        }
    }
    return none;
}

static void write_string_member(struct walk *w, const char *name, const struct cl_json_value *v)
{
    if (v->type == CL_JSON_STRING && cl_proto_rec_key(&w->rec, name, strlen(name)))
        cl_buf_append(w->rec.out, v->ptr, v->len);
}

static void write_body(struct walk *w, const struct cl_json_value *body)
{
    static const char *const names[] = {"stringValue", "kvlistValue"};
    struct cl_json_value sk[2];
    cl_jw_members(body, names, 2, sk, w->depth);
    struct cl_json_value s = sk[0], kv = sk[1];
    if (s.type == CL_JSON_STRING) {
        write_string_member(w, "message", &s);
    } else if (kv.type == CL_JSON_OBJECT) {
        struct cl_json_value values = cl_jw_member(&kv, "values", w->depth);
        write_attrs(w, &values, 0);
    } else if (body->type == CL_JSON_OBJECT && cl_proto_rec_key(&w->rec, "message", 7)) {
        struct cl_buf text;
        cl_buf_init(&text, SIZE_MAX / 2);
        write_any(w, &text, body);
        cl_json_write_string(w->rec.out, text.data, text.len);
        cl_buf_free(&text);
    }
}

static void write_hex_id(struct walk *w, const char *name, const struct cl_json_value *v)
{
    size_t n;
    const char *s = cl_jw_plain_text(v, &n);
    if (!s || n == 0 || !cl_proto_rec_key(&w->rec, name, strlen(name)))
        return;
    cl_buf_append_char(w->rec.out, '"');
    for (size_t i = 0; i < n; i++)
        cl_buf_append_char(w->rec.out, (char)tolower((unsigned char)s[i]));
    cl_buf_append_char(w->rec.out, '"');
}

struct context {
    struct cl_json_value res_attrs, scope_name, service;
};

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
static const char *const lr_names[LR_N] = {"timeUnixNano",   "observedTimeUnixNano",
                                           "severityNumber", "severityText",
                                           "body",           "eventName",
                                           "traceId",        "spanId",
                                           "attributes"};

static int write_level(struct walk *w, const struct cl_json_value *num,
                       const struct cl_json_value *text)
{
    int64_t n = num->type == CL_JSON_NUMBER ? cl_json_uint(num) : 0;
    char t[128] = ""; /* longer texts name no level either way (level.c) */
    if (text->type == CL_JSON_STRING)
        cl_jw_text(text, t, sizeof t);
    return cl_otlp_write_level(&w->rec, n, t, strlen(t));
}

/* Hands the record on. The sink's document callback gets the copy with its members, so
 * the normalizer does not read it again, when that reading could only find what the walk
 * finds: nesting within its depth, no whitespace (the copy's size is then the document's)
 * and no escaped key (keys are told apart by their tokens here, which could be one name
 * to the normalizer: it rejects such a copy). Otherwise the copy goes as a record. */
static void hand_on(struct walk *w)
{
    struct cl_json_value copy = {CL_JSON_OBJECT, 0, w->out.data, w->out.len};
    w->mem.n = 0;
    if (w->sink->document && w->max_nest + 1 < w->norm_depth &&
        !(cl_jw_pairs_add(&w->mem, &copy) & (CL_JW_PAIRS_ESCAPED_KEY | CL_JW_PAIRS_SPACE))) {
        struct cl_slice part = {w->out.data, w->out.len};
        struct cl_proto_doc doc = {&part, 1, NULL, 0, w->mem.kv, w->mem.n};
        w->sink->document(w->sink->arg, &doc);
        return;
    }
    w->sink->record(w->sink->arg, w->out.data, w->out.len);
}

static void log_record(struct walk *w, const struct cl_json_value *lr, const struct context *cx)
{
    if (lr->type != CL_JSON_OBJECT) {
        w->sink->reject(w->sink->arg, "log record is not a JSON object");
        return;
    }
    struct cl_proto_rec *r = &w->rec;
    struct cl_json_value m[LR_N];
    cl_jw_members(lr, lr_names, LR_N, m, w->depth); /* one pass, not one per member */
    cl_proto_rec_begin(r);
    w->nest = w->max_nest = 0;
    uint64_t t = u64_of(&m[LR_TIME]);
    cl_otlp_write_time(r, t ? t : u64_of(&m[LR_OBSERVED]));
    int level_known = write_level(w, &m[LR_SEV_NUM], &m[LR_SEV_TEXT]);
    if (cx->service.type == CL_JSON_STRING) {
        char svc[128]; /* cl_otlp_write_service keeps 64 bytes */
        cl_jw_text(&cx->service, svc, sizeof svc);
        cl_otlp_write_service(r, svc, strlen(svc));
    }
    write_body(w, &m[LR_BODY]);
    write_string_member(w, "event_name", &m[LR_EVENT]);
    write_hex_id(w, "trace_id", &m[LR_TRACE]);
    write_hex_id(w, "span_id", &m[LR_SPAN]);
    write_attrs(w, &m[LR_ATTRS], 0);
    if (!level_known)
        write_string_member(w, "severity_text", &m[LR_SEV_TEXT]);
    write_attrs(w, &cx->res_attrs, 1);
    if (cx->scope_name.type == CL_JSON_STRING && cx->scope_name.len > 2)
        write_string_member(w, "scope", &cx->scope_name);
    cl_proto_rec_ensure_message(r);
    cl_proto_rec_end(r);
    hand_on(w);
}

static void scope_logs(struct walk *w, const struct cl_json_value *sl, struct context *cx)
{
    struct cl_json_value scope = cl_jw_member(sl, "scope", w->depth);
    cx->scope_name = cl_jw_member(&scope, "name", w->depth);
    struct cl_json_value logs = cl_jw_member(sl, "logRecords", w->depth), e;
    struct cl_jw_array it;
    if (cl_jw_array_begin(&it, &logs, w->depth) == 0)
        while (cl_jw_array_next(&it, &e))
            log_record(w, &e, cx);
}

static void resource_logs(struct walk *w, const struct cl_json_value *rl)
{
    struct cl_json_value res = cl_jw_member(rl, "resource", w->depth), e;
    struct context cx = {.res_attrs = cl_jw_member(&res, "attributes", w->depth)};
    cx.service = service_name(w, &cx.res_attrs);
    struct cl_json_value scopes = cl_jw_member(rl, "scopeLogs", w->depth);
    struct cl_jw_array it;
    if (cl_jw_array_begin(&it, &scopes, w->depth) == 0)
        while (cl_jw_array_next(&it, &e))
            scope_logs(w, &e, &cx);
}

int cl_otlp_json_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                        const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    struct walk w = {.depth = 8 + 4 * CL_MIN(o->max_depth, 128), .sink = sink};
    w.norm_depth = o->max_depth > 0 ? CL_MIN(o->max_depth, CL_JSON_MAX_DEPTH_LIMIT)
                                    : CL_JSON_DEFAULT_MAX_DEPTH; /* as the reader clamps */
    struct cl_json_value e;
    struct cl_jw_array it;
    if (cl_jw_body_array(body, len, w.depth, "resourceLogs", "OTLP JSON", &it, err, err_len))
        return -1;
    cl_buf_init(&w.out, SIZE_MAX / 2); /* bounded by the decoded body */
    cl_proto_rec_init(&w.rec, &w.out);
    while (cl_jw_array_next(&it, &e))
        resource_logs(&w, &e);
    cl_jw_body_end();
    cl_proto_rec_free(&w.rec);
    cl_buf_free(&w.out);
    cl_jw_pairs_free(&w.mem);
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
