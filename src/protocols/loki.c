/* loki.c - one Loki entry -> one input record, for the JSON (loki_json.c) and protobuf
 * (loki_pb.c) push decoders (loki.h).
 *
 * {"streams":[{"stream":{label: value, ...},"values":[[ns, line], [ns, line, {metadata}],
 * ...]}]}: every value is one record, written in this order (first of a name wins):
 * timestamp (the entry's nanoseconds), level (the label level or detected_level, when it
 * names a level), service (the first of the labels of --loki-service-labels, by default
 * service_name, service, app, job, characters outside [A-Za-z0-9._-] replaced by '_'), then the
 * line: a JSON object line (pino's, logfmt is not parsed) gives its members, any other line is the
 * message; then the stream's labels and the entry's structured metadata as fields. */
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

/* 1 if text[0..n) is one JSON object as it is (*obj then points into text). */
static int object_text(const struct cl_loki *l, const char *text, size_t n,
                       struct cl_json_value *obj)
{
    struct cl_json_reader r;
    cl_json_reader_init(&r, text, n, l->depth);
    return n && text[0] == '{' && cl_json_scan_value(&r, obj) == 0 && cl_json_at_end(&r) &&
           obj->type == CL_JSON_OBJECT;
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
    return !meta || meta->type != CL_JSON_OBJECT || cl_loki_walk_members(&l->mem, meta);
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
    cl_loki_labels_info(l, labels);
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
    cl_loki_labels_info(l, labels);
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

void cl_loki_write_doc_entry(struct cl_loki *l, const struct cl_json_value *labels, uint64_t ns,
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
        cl_loki_write_doc_entry(l, labels, ns, line, text, n, meta);
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

void cl_loki_init(struct cl_loki *l, const struct cl_proto_sink *sink,
                  const struct cl_proto_opts *o)
{
    memset(l, 0, sizeof *l);
    l->sink = sink;
    l->depth = o->max_depth + 4;
    l->norm_depth = o->max_depth;
    cl_loki_split_service_labels(l, o);
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
