/* loki.c - Loki push API in JSON (POST /loki/api/v1/push) -> input records.
 *
 * {"streams":[{"stream":{label: value, ...},"values":[[ns, line], [ns, line, {metadata}],
 * ...]}]}: every value is one record, written in this order (first of a name wins):
 * timestamp (the entry's nanoseconds), level (the label level or detected_level, when it
 * names a level), service (the first of the labels of --loki-service-labels, by default
 * service_name, service, app, job, characters outside [A-Za-z0-9._-] replaced by '_'), then the
 * line: a JSON object line (pino's, logfmt is not parsed) gives its members, any other line is the
 * message; then the stream's labels and the entry's structured metadata as fields. */
#include "proto.h"

#include "common.h"
#include "json_walk.h"
#include "loki.h"
#include "json_write.h"
#include "otlp_common.h"
#include "proto_record.h"
#include "record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int label_name_ok(const char *p, size_t n)
{
    if (n == 0 || n > CL_MAX_LOKI_LABEL_NAME || (p[0] >= '0' && p[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(p[i] == '_' || (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
              (p[i] >= '0' && p[i] <= '9')))
            return 0;
    return 1;
}

int cl_loki_service_labels_check(const char *list, char *why, size_t why_len)
{
    size_t count = 0;
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (!label_name_ok(p, n)) {
            snprintf(why, why_len,
                     "'%.*s' is no label name ([A-Za-z_][A-Za-z0-9_]*, at most %d bytes; "
                     "names are separated by single commas)",
                     (int)(n > 80 ? 80 : n), p, CL_MAX_LOKI_LABEL_NAME);
            return -1;
        }
        if (++count > CL_MAX_LOKI_SERVICE_LABELS) {
            snprintf(why, why_len, "more than %d labels", CL_MAX_LOKI_SERVICE_LABELS);
            return -1;
        }
        p += n + (comma != NULL);
        if (comma && !*p) {
            snprintf(why, why_len, "a trailing comma");
            return -1;
        }
    }
    return 0;
}

/* Splits o's service label list into l->names; a list that fails the check (callers
 * check it at start-up) is cut at its first bad name. */
static void split_service_labels(struct cl_loki *l, const struct cl_proto_opts *o)
{
    const char *list = o->service_labels ? o->service_labels : CL_DEFAULT_LOKI_SERVICE_LABELS;
    char *w = l->names;
    for (const char *p = list; *p && l->n_service_labels < CL_MAX_LOKI_SERVICE_LABELS;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (!label_name_ok(p, n))
            return;
        memcpy(w, p, n);
        w[n] = '\0';
        l->service_labels[l->n_service_labels++] = w;
        w += n + 1;
        p += n + (comma != NULL);
    }
}

/* The level the label level or detected_level names, or NULL. */
static const char *label_level(struct cl_loki *l, const struct cl_json_value *labels)
{
    static const char *const names[] = {"level", "detected_level"};
    for (size_t i = 0; i < CL_ARRAY_LEN(names); i++) {
        struct cl_json_value v = cl_jw_member(labels, names[i], l->depth);
        if (v.type != CL_JSON_STRING)
            continue;
        char text[128]; /* longer texts name no level either way (level.c) */
        cl_jw_text(&v, text, sizeof text);
        enum cl_level lv;
        if (cl_parse_level_text(text, strlen(text), &lv) == 0)
            return cl_level_name(lv);
    }
    return NULL;
}

/* The service the first present service label names, cleaned, into name[65]; its length
 * (0: none). */
static size_t label_service(struct cl_loki *l, const struct cl_json_value *labels, char *name)
{
    for (size_t i = 0; i < l->n_service_labels; i++) {
        struct cl_json_value v = cl_jw_member(labels, l->service_labels[i], l->depth);
        if (v.type != CL_JSON_STRING)
            continue;
        char text[128]; /* 64 bytes are kept */
        cl_jw_text(&v, text, sizeof text);
        size_t n = cl_proto_service_clean(text, strlen(text)); /* cut at 64 */
        memcpy(name, text, n);
        return n;
    }
    return 0;
}

/* 1 if text[0..n) is one JSON object as it is (*obj then points into text). */
static int object_text(const struct cl_loki *l, const char *text, size_t n,
                       struct cl_json_value *obj)
{
    struct cl_json_reader r;
    cl_json_reader_init(&r, text, n, l->depth);
    return n && text[0] == '{' && cl_json_scan_value(&r, obj) == 0 && cl_json_at_end(&r) &&
           obj->type == CL_JSON_OBJECT;
}

/* Appends the members of the walkable object v to m; 0 if one of its values is a
 * container (then its depth is not known here: the normalizer reads the part itself). */
static int walk_members(struct cl_jw_pairs *m, const struct cl_json_value *v)
{
    return !(cl_jw_pairs_add(m, v) & CL_JW_PAIRS_CONTAINER);
}

/* 1 if text[0..n) is one JSON object as the normalizer reads a part (at its depth): its
 * members then go into l->line_mem, *obj spans it. One validating pass for both. */
static int object_members(struct cl_loki *l, const char *text, size_t n, struct cl_json_value *obj)
{
    struct cl_json_reader r;
    struct cl_json_value key, val;
    int rc;
    l->line_mem.n = 0;
    cl_json_reader_init(&r, text, n, l->norm_depth);
    if (!n || text[0] != '{' || cl_json_object_open(&r) != 0)
        return 0;
    while ((rc = cl_json_object_next(&r, &key, &val)) == 1)
        cl_jw_pairs_push(&l->line_mem, &key, &val);
    size_t end = r.pos;
    if (rc < 0 || !cl_json_at_end(&r)) {
        l->line_mem.n = 0; /* the members read before the error belong to no record */
        return 0;
    }
    *obj = (struct cl_json_value){CL_JSON_OBJECT, 0, text, end};
    return 1;
}

/* What a line is for the document path: LINE_MEMBERS an object with its members in
 * l->line_mem; LINE_OBJECT an object too deep for the normalizer (which reads it and
 * rejects the record, as for any part); LINE_TEXT no object. */
enum line_kind { LINE_TEXT, LINE_OBJECT, LINE_MEMBERS };

static enum line_kind line_kind(struct cl_loki *l, const char *text, size_t n,
                                struct cl_json_value *obj)
{
    if (object_members(l, text, n, obj))
        return LINE_MEMBERS;
    return object_text(l, text, n, obj) ? LINE_OBJECT : LINE_TEXT;
}

/* The line unescaped into l->line (its length in *n), or NULL when out of memory. */
static const char *unescaped(struct cl_loki *l, const struct cl_json_value *line, size_t *n)
{
    cl_buf_reset(&l->line);
    if (cl_buf_reserve(&l->line, line->len) != CL_OK)
        return NULL;
    *n = cl_json_unescape(line, l->line.data);
    l->line.len = *n;
    l->line.data[*n] = '\0';
    return l->line.data;
}

/* The line unescaped into l->line when it is a JSON object (validated), else NULL. */
static const struct cl_json_value *line_object(struct cl_loki *l, const struct cl_json_value *line,
                                               struct cl_json_value *obj)
{
    size_t n;
    const char *text = unescaped(l, line, &n);
    return text && object_text(l, text, n, obj) ? obj : NULL;
}

/* A JSON object line gives its members; any other line is the message. */
static void write_line(struct cl_loki *l, const struct cl_json_value *line)
{
    struct cl_json_value obj;
    if (line_object(l, line, &obj))
        cl_proto_rec_merge(&l->rec, &obj, l->depth);
    else if (cl_proto_rec_key(&l->rec, "message", 7))
        cl_buf_append(l->rec.out, line->ptr, line->len);
}

/* 1 if key names what the normalizer reads as the level (level, severity, lvl). */
static int level_alias(const struct cl_json_value *key)
{
    char name[16];
    size_t n = cl_jw_text(key, name, sizeof name);
    return (n == 5 && memcmp(name, "level", 5) == 0) ||
           (n == 8 && memcmp(name, "severity", 8) == 0) || (n == 3 && memcmp(name, "lvl", 3) == 0);
}

/* 1 if the value v names a level as the normalizer reads one (a level word, or a number
 * as text or not). */
static int names_level(const struct cl_json_value *v)
{
    enum cl_level lv;
    if (v->type == CL_JSON_NUMBER)
        return cl_parse_level_number(v->ptr, v->len, &lv) == 0;
    if (v->type != CL_JSON_STRING)
        return 0;
    char text[128]; /* longer texts name no level */
    size_t n = cl_jw_text(v, text, sizeof text), digits = 0;
    while (digits < n && text[digits] >= '0' && text[digits] <= '9')
        digits++;
    return n < sizeof text - 1 && (cl_parse_level_text(text, n, &lv) == 0 ||
                                   (n && digits == n && cl_parse_level_number(text, n, &lv) == 0));
}

/* The labels as the record holds them, into l->labels_part: as sent, except that when
 * no level or detected_level label names a level (l->level NULL), a label the normalizer
 * would read as the level but that names none is left out, so the record's level is the
 * line's, else info (docs/shippers.md), instead of the entry being rejected for it. */
static void labels_part(struct cl_loki *l, const struct cl_json_value *labels)
{
    struct cl_buf *out = &l->labels_part;
    struct cl_jw_object it;
    struct cl_json_value key, val;
    cl_buf_reset(out);
    if (l->level || cl_jw_object_begin(&it, labels) != 0) {
        cl_buf_append(out, labels->ptr, labels->len);
        return;
    }
    while (cl_jw_object_next(&it, &key, &val) == 1)
        if (!level_alias(&key) || names_level(&val)) { /* "{" before the first kept */
            cl_buf_append_char(out, out->len ? ',' : '{');
            cl_buf_append(out, key.ptr, key.len);
            cl_buf_append_char(out, ':');
            cl_buf_append(out, val.ptr, val.len);
        }
    if (!out->len)
        cl_buf_append_char(out, '{');
    cl_buf_append_char(out, '}');
}

/* Level, service and the labels part of labels: worked out once per distinct labels (a
 * stream's entries share them), remembered in l; l->labels_value is the part. */
static void labels_info(struct cl_loki *l, const struct cl_json_value *labels)
{
    if (l->labels.data && labels->len == l->labels.len &&
        memcmp(labels->ptr, l->labels.data, labels->len) == 0)
        return;
    cl_buf_reset(&l->labels);
    cl_buf_append(&l->labels, labels->ptr, labels->len);
    l->level = label_level(l, labels);
    l->service_len = label_service(l, labels, l->service);
    labels_part(l, labels);
    /* a copy of validated labels, or of members of them: walkable as they are */
    l->labels_value = (struct cl_json_value){CL_JSON_OBJECT, labels->flags, l->labels_part.data,
                                             l->labels_part.len};
    l->label_mem.n = 0;
    l->labels_plain = walk_members(&l->label_mem, &l->labels_value); /* into the copy */
}

/* How an entry's line goes into its record: as a JSON object's members (obj), else as the
 * message: a JSON string as sent (json) or text to escape (text), len bytes. */
struct line_part {
    const struct cl_json_value *obj;
    const char *json, *text;
    size_t len;
    enum line_kind kind; /* LINE_MEMBERS: obj's members are in l->line_mem */
};

/* Where a member of the head part lies in l->out: offsets, as the buffer may move while
 * the head is written. The key is a plain token (quotes included) up to val - 1 (':'). */
struct head_span {
    size_t key, val, end;
};

/* Appends "key":"text", to out (text needs no escaping) and notes where it lies: one
 * reservation, no append per piece. On a poisoned buffer nothing is written (the caller
 * then hands no members). */
static void head_string(struct cl_buf *out, const char *key, size_t key_len, const char *text,
                        size_t n, struct head_span *s)
{
    memset(s, 0, sizeof *s);
    if (cl_buf_reserve(out, key_len + n + 6) != CL_OK)
        return;
    char *p = out->data + out->len;
    s->key = out->len;
    *p++ = '"';
    memcpy(p, key, key_len);
    p += key_len;
    memcpy(p, "\":\"", 3);
    p += 3;
    s->val = (size_t)(p - out->data) - 1;
    memcpy(p, text, n);
    p += n;
    *p++ = '"';
    s->end = (size_t)(p - out->data);
    *p++ = ',';
    *p = '\0';
    out->len = (size_t)(p - out->data);
}

/* The entry's message member (when its line is no object) into out. */
static void append_message(struct cl_buf *out, const struct line_part *lp, struct head_span *s)
{
    s->key = out->len;
    cl_buf_append(out, "\"message\":", 10);
    s->val = out->len;
    if (lp->json)
        cl_buf_append(out, lp->json, lp->len);
    else
        cl_json_write_string(out, lp->text, lp->len);
    s->end = out->len;
    cl_buf_append_char(out, ',');
}

/* The head's members from their spans in l->out (written here: strings, no walk needed). */
static void head_members(struct cl_loki *l, const struct head_span *spans, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct head_span *s = &spans[i];
        const char *d = l->out.data;
        struct cl_json_value key = {CL_JSON_STRING, 0, d + s->key, s->val - 1 - s->key};
        struct cl_json_value val = {CL_JSON_STRING, 0, d + s->val, s->end - s->val};
        if (memchr(val.ptr, '\\', val.len))
            val.flags = CL_JSON_F_ESCAPED;
        cl_jw_pairs_push(&l->mem, &key, &val);
    }
}

/* Appends src's pairs to dst in one copy (grown as cl_jw_pairs_push grows it). */
static void append_pairs(struct cl_jw_pairs *dst, const struct cl_jw_pairs *src)
{
    if (dst->n + src->n > dst->cap) {
        while (dst->n + src->n > dst->cap)
            dst->cap = dst->cap ? dst->cap * 2 : 32;
        dst->kv = cl_realloc(dst->kv, dst->cap * 2 * sizeof *dst->kv);
    }
    if (src->n)
        memcpy(dst->kv + 2 * dst->n, src->kv, src->n * 2 * sizeof *src->kv);
    dst->n += src->n;
}

/* The record's members in the parts' order (head, line, labels, metadata) into l->mem;
 * 0 when one part's are not known (the normalizer then reads the parts). */
static int record_members(struct cl_loki *l, const struct head_span *head, size_t n_head,
                          const struct line_part *lp, const struct cl_json_value *meta)
{
    l->mem.n = 0;
    if ((lp->obj && lp->kind != LINE_MEMBERS) || !l->labels_plain)
        return 0;
    head_members(l, head, n_head);
    if (lp->obj) /* none for a text line */
        append_pairs(&l->mem, &l->line_mem);
    append_pairs(&l->mem, &l->label_mem);
    return !meta || meta->type != CL_JSON_OBJECT || walk_members(&l->mem, meta);
}

/* The entry as parts for the sink's document callback (proto.h), in the order the record
 * is written: timestamp, level, service (and the line as message when it is no object),
 * the line object, the labels, the metadata. No copy of the line, labels or metadata. */
static void send_parts(struct cl_loki *l, const struct cl_json_value *labels, uint64_t ns,
                       const struct line_part *lp, const struct cl_json_value *meta)
{
    struct cl_buf *out = &l->out;
    struct cl_slice parts[4];
    struct head_span head[4];
    size_t n = 0, h = 0;
    char ts[25];
    labels_info(l, labels);
    const char *level = l->level, *name = l->service;
    size_t svc = l->service_len;
    cl_buf_reset(out);
    cl_buf_append_char(out, '{');
    if (ns) {
        cl_format_timestamp((int64_t)(ns / 1000000u), ts);
        head_string(out, "timestamp", 9, ts, strlen(ts), &head[h++]);
    }
    if (level)
        head_string(out, "level", 5, level, strlen(level), &head[h++]);
    if (svc) /* cleaned: nothing to escape */
        head_string(out, "service", 7, name, svc, &head[h++]);
    if (!lp->obj)
        append_message(out, lp, &head[h++]);
    if (out->len > 1)
        out->data[out->len - 1] = '}'; /* the last ',' */
    else
        cl_buf_append_char(out, '}');
    parts[n++] = (struct cl_slice){out->data, out->len};
    if (lp->obj)
        parts[n++] = (struct cl_slice){lp->obj->ptr, lp->obj->len};
    parts[n++] = (struct cl_slice){l->labels_value.ptr, l->labels_value.len};
    if (meta && meta->type == CL_JSON_OBJECT)
        parts[n++] = (struct cl_slice){meta->ptr, meta->len};
    struct cl_proto_doc doc = {parts, n, NULL, 0, NULL, 0};
    if (!cl_buf_failed(out) && record_members(l, head, h, lp, meta)) {
        doc.members = l->mem.kv;
        doc.n_members = l->mem.n;
    }
    l->sink->document(l->sink->arg, &doc);
}

/* Without a document callback: the record built member by member, up to its line. */
static void begin_record(struct cl_loki *l, const struct cl_json_value *labels, uint64_t ns)
{
    labels_info(l, labels);
    cl_proto_rec_begin(&l->rec);
    cl_otlp_write_time(&l->rec, ns);
    if (l->level)
        cl_proto_rec_string(&l->rec, "level", l->level, strlen(l->level));
    if (l->service_len)
        cl_proto_rec_string(&l->rec, "service", l->service, l->service_len);
}

/* The record's members after its line: labels, then structured metadata; hands it on. */
static void finish_record(struct cl_loki *l, const struct cl_json_value *meta)
{
    cl_proto_rec_merge(&l->rec, &l->labels_value, l->depth); /* begin_record set it */
    if (meta && meta->type == CL_JSON_OBJECT)
        cl_proto_rec_merge(&l->rec, meta, l->depth);
    cl_proto_rec_ensure_message(&l->rec);
    cl_proto_rec_end(&l->rec);
    l->sink->record(l->sink->arg, l->out.data, l->out.len);
}

/* The document path's entry whose line (the JSON string token line) is unescaped in
 * text[0..n) already. */
static void write_doc_entry(struct cl_loki *l, const struct cl_json_value *labels, uint64_t ns,
                            const struct cl_json_value *line, const char *text, size_t n,
                            const struct cl_json_value *meta)
{
    struct cl_json_value obj;
    enum line_kind kind = text ? line_kind(l, text, n, &obj) : LINE_TEXT;
    struct line_part lp = {kind != LINE_TEXT ? &obj : NULL, line->ptr, NULL, line->len, kind};
    send_parts(l, labels, ns, &lp, meta);
}

void cl_loki_write_entry(struct cl_loki *l, const struct cl_json_value *labels, uint64_t ns,
                         const struct cl_json_value *line, const struct cl_json_value *meta)
{
    if (l->sink->document) {
        size_t n = 0;
        const char *text = unescaped(l, line, &n);
        write_doc_entry(l, labels, ns, line, text, n, meta);
        return;
    }
    begin_record(l, labels, ns);
    write_line(l, line);
    finish_record(l, meta);
}

int cl_loki_write_entry_text(struct cl_loki *l, const struct cl_json_value *labels, uint64_t ns,
                             const char *line, size_t n, const struct cl_json_value *meta)
{
    struct cl_json_value obj;
    enum line_kind kind = l->sink->document               ? line_kind(l, line, n, &obj)
                          : object_text(l, line, n, &obj) ? LINE_OBJECT
                                                          : LINE_TEXT;
    int is_object = kind != LINE_TEXT;
    if (!is_object && n && line[0] == '{')
        return -1; /* maybe an object once invalid UTF-8 is replaced: the caller's round trip */
    if (l->sink->document) {
        struct line_part lp = {is_object ? &obj : NULL, NULL, line, n, kind};
        send_parts(l, labels, ns, &lp, meta);
        return 0;
    }
    begin_record(l, labels, ns);
    if (is_object)
        cl_proto_rec_merge(&l->rec, &obj, l->depth);
    else if (cl_proto_rec_key(&l->rec, "message", 7))
        cl_json_write_string(l->rec.out, line, n);
    finish_record(l, meta);
    return 0;
}

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
    write_doc_entry(l, labels, ns, &line, l->line.data, n, &meta);
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

void cl_loki_init(struct cl_loki *l, const struct cl_proto_sink *sink,
                  const struct cl_proto_opts *o)
{
    memset(l, 0, sizeof *l);
    l->sink = sink;
    l->depth = o->max_depth + 4;
    l->norm_depth = o->max_depth;
    split_service_labels(l, o);
    cl_buf_init(&l->out, SIZE_MAX / 2);         /* bounded by the decoded body */
    cl_buf_init(&l->line, SIZE_MAX / 2);        /* one line of it */
    cl_buf_init(&l->labels, SIZE_MAX / 2);      /* one stream's labels of it */
    cl_buf_init(&l->labels_part, SIZE_MAX / 2); /* the same, or fewer */
    cl_proto_rec_init(&l->rec, &l->out);
}

void cl_loki_free(struct cl_loki *l)
{
    cl_proto_rec_free(&l->rec);
    cl_buf_free(&l->out);
    cl_buf_free(&l->line);
    cl_buf_free(&l->labels);
    cl_buf_free(&l->labels_part);
    cl_jw_pairs_free(&l->label_mem);
    cl_jw_pairs_free(&l->line_mem);
    cl_jw_pairs_free(&l->mem);
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
