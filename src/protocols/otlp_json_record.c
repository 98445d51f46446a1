/* otlp_json_record.c - one OTLP JSON log record -> one input record (otlp_json.h): its
 * members collected as key, value pairs in otlp_common.h's order and written out once as
 * the copy whose members the normalizer takes as they are. */
#include "otlp_json.h"

#include "common.h"
#include "json_write.h"
#include "otlp_common.h"
#include "record.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

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

/* ---- log records ---- */

/* A string body is the message, a map body's members are fields, any other body is
 * written as JSON text for the message. sk: the body's first stringValue and
 * kvlistValue (absent ones: CL_JSON_INVALID). */
static void body(struct walk *w, const struct cl_json_value *b, const struct cl_json_value *sk)
{
    if (sk[0].type == CL_JSON_STRING) {
        cl_otlpj_pairs_add(&w->body, LIT("\"message\""), sk[0]);
    } else if (sk[1].type == CL_JSON_OBJECT) {
        struct cl_json_value values = cl_jw_member(&sk[1], "values", w->depth);
        struct cl_jw_cursor c;
        cl_jw_cursor_at(&c, &values);
        cl_otlpj_attributes(w, &c, &w->body, NULL);
    } else if (b->type == CL_JSON_OBJECT) {
        struct cl_buf text;
        cl_buf_init(&text, SIZE_MAX / 2);
        cl_otlpj_write_any(w, &text, b); /* inside a string: its nesting counts for nothing */
        if (text.len == 4 && memcmp(text.data, "null", 4) == 0) {
            /* an AnyValue with no value: no message, as from protobuf (value not set) */
            cl_buf_free(&text);
            return;
        }
        struct cl_buf *m = &w->made[IN_RECORD];
        size_t start = m->len;
        cl_json_write_string(m, text.data, text.len);
        cl_buf_free(&text);
        int esc = memchr(m->data + start, '\\', m->len - start) != NULL;
        struct pair p = {LIT("\"message\""),
                         {CL_JSON_STRING, esc ? CL_JSON_F_ESCAPED : 0, NULL, m->len - start},
                         IN_RECORD,
                         start};
        cl_otlpj_pairs_push(&w->body,
                            &p); /* a string: its nesting and whitespace are no members' */
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
        cl_otlpj_pairs_add(&w->all, key, *v);
        return;
    }
    struct cl_buf *m = &w->made[IN_RECORD];
    struct pair p = {key, {CL_JSON_STRING, 0, NULL, n + 2}, IN_RECORD, m->len};
    cl_buf_append_char(m, '"');
    for (i = 0; i < n; i++)
        cl_buf_append_char(m, (char)tolower((unsigned char)s[i]));
    cl_buf_append_char(m, '"');
    cl_otlpj_pairs_push(&w->all, &p);
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
        cl_otlpj_pairs_add(&w->all, LIT("\"level\""), names[l]);
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
    cl_otlpj_pairs_reset(&w->all);
    if (t || (t = u64_of(&m[LR_OBSERVED])) != 0) {
        w->ts[0] = '"';
        cl_format_timestamp((int64_t)(t / 1000000u), w->ts + 1);
        w->ts[25] = '"';
        cl_otlpj_pairs_add(&w->all, LIT("\"timestamp\""),
                           (struct cl_json_value){CL_JSON_STRING, 0, w->ts, 26});
    }
    int level_known = level(w, &m[LR_SEV_NUM], &m[LR_SEV_TEXT]);
    if (w->svc_len)
        cl_otlpj_pairs_add(&w->all, LIT("\"service\""),
                           (struct cl_json_value){CL_JSON_STRING, 0, w->svc, w->svc_len});
    cl_otlpj_pairs_append(&w->all, &w->body);
    if (m[LR_EVENT].type == CL_JSON_STRING && m[LR_EVENT].len > 2) /* "" is proto3's unset */
        cl_otlpj_pairs_add(&w->all, LIT("\"event_name\""), m[LR_EVENT]);
    hex_id(w, LIT("\"trace_id\""), &m[LR_TRACE]);
    hex_id(w, LIT("\"span_id\""), &m[LR_SPAN]);
    cl_otlpj_pairs_append(&w->all, &w->attrs);
    if (!level_known && m[LR_SEV_TEXT].type == CL_JSON_STRING)
        cl_otlpj_pairs_add(&w->all, LIT("\"severity_text\""), m[LR_SEV_TEXT]);
    cl_otlpj_pairs_append(&w->all, &w->res);
    if (scope_name->type == CL_JSON_STRING && scope_name->len > 2)
        cl_otlpj_pairs_add(&w->all, LIT("\"scope\""), *scope_name);
}

/* The log record at the cursor: its attributes are read where they are, its other
 * members taken whole (the first of each name). */
/* The body object at the cursor, entered rather than taken and walked again: the whole
 * object into *b (validated, as taking it would give it), its first stringValue and
 * kvlistValue into sk[0], sk[1]. */
static void body_members(struct cl_jw_cursor *c, struct cl_json_value *b, struct cl_json_value *sk)
{
    struct cl_json_value key, v;
    const char *start = c->p;
    cl_jw_cursor_enter(c);
    while (cl_jw_cursor_key_guess(c, &key, CL_JW_GUESS("\"stringValue\":"))) {
        cl_jw_cursor_take(c, &v);
        if (sk[0].type == CL_JSON_INVALID && KEY_IS(&key, "stringValue"))
            sk[0] = v;
        else if (sk[1].type == CL_JSON_INVALID && KEY_IS(&key, "kvlistValue"))
            sk[1] = v;
    }
    *b = (struct cl_json_value){CL_JSON_OBJECT, 0, start, (size_t)(c->p - start)};
}

void cl_otlpj_log_record(struct walk *w, struct cl_jw_cursor *c, const struct cl_json_value *scope)
{
    struct cl_json_value key, v, m[LR_N] = {{0}}, sk[2] = {{0}};
    int attrs_seen = 0;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &v);
        w->sink->reject(w->sink->arg, "log record is not a JSON object");
        return;
    }
    cl_jw_cursor_enter(c);
    cl_otlpj_pairs_reset(&w->body);
    cl_otlpj_pairs_reset(&w->attrs);
    cl_buf_reset(&w->made[IN_RECORD]);
    w->target = IN_RECORD;
    while (cl_jw_cursor_key(c, &key)) {
        int i = lr_index(&key);
        if (i == LR_ATTRS && !attrs_seen) {
            attrs_seen = 1;
            cl_otlpj_attributes(w, c, &w->attrs, NULL);
            continue;
        }
        if (i == LR_BODY && m[i].type == CL_JSON_INVALID &&
            cl_jw_cursor_type(c) == CL_JSON_OBJECT) {
            body_members(c, &m[i], sk);
            continue;
        }
        cl_jw_cursor_take(c, &v);
        if (i >= 0 && m[i].type == CL_JSON_INVALID)
            m[i] = v;
    }
    if (c->failed)
        return; /* the body is malformed: an error, not a record */
    body(w, &m[LR_BODY], sk);
    assemble(w, m, scope);
    hand_on(w);
}
