/* hec.c - Splunk HTTP Event Collector bodies -> input records.
 *
 * /services/collector/event: event objects back to back (json_stream.c), each
 *   {"time":..., "host":..., "source":..., "sourcetype":..., "index":..., "event":...,
 *    "fields":{...}}. Written in this order: timestamp (time: epoch seconds, a number or
 *   a numeric string), message (a string event) or the event object's members, any other
 *   event as JSON text, host, source, sourcetype, index, then the members of fields. An
 *   event without "event", or with an empty one, is rejected as HEC rejects it.
 * /services/collector/raw: each line that is not blank is one record {"message": line}
 *   (a trailing CR dropped, nothing else changed).
 */
#include "proto.h"

#include "json.h"
#include "json_walk.h"
#include "json_write.h"
#include "proto_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hec {
    const struct cl_proto_sink *sink;
    int depth;
    struct cl_buf out;
    struct cl_proto_rec rec;
    struct cl_jw_pairs mem;                   /* the record's members, handed to the sink */
    struct cl_jw_pairs event_mem, fields_mem; /* the event's and fields' (collect) */
};

static int digit(char c)
{
    return c >= '0' && c <= '9';
}

/* 1 if s[0..n) is an unsigned JSON number without exponent ("1437522387.123"): no
 * leading zeros, digits after a '.' (so it can be written as a JSON number as it is). */
static int numeric(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || n > 32)
        return 0;
    if (s[0] == '0')
        i = 1;
    else
        while (i < n && digit(s[i]))
            i++;
    if (i == 0)
        return 0;
    if (i < n && s[i] == '.') {
        size_t first = ++i;
        while (i < n && digit(s[i]))
            i++;
        if (i == first)
            return 0;
    }
    return i == n;
}

/* The epoch seconds of time as JSON number text (a number, or a numeric string as HEC
 * takes it too: "1437522387.123"), or NULL. */
static const char *time_number(const struct cl_json_value *t, size_t *n)
{
    const char *s = t->ptr;
    *n = t->len;
    if (t->type == CL_JSON_STRING && !(t->flags & CL_JSON_F_ESCAPED)) {
        s++;
        *n -= 2;
        return numeric(s, *n) ? s : NULL;
    }
    return t->type == CL_JSON_NUMBER ? s : NULL;
}

static void write_time(struct hec *h, const struct cl_json_value *t)
{
    size_t n;
    const char *s = time_number(t, &n);
    if (s && cl_proto_rec_key(&h->rec, "timestamp", 9))
        cl_buf_append(h->rec.out, s, n);
}

/* A string event as it is, any other event but an object as JSON text. */
static void write_event_text(struct cl_buf *out, const struct cl_json_value *ev)
{
    if (ev->type == CL_JSON_STRING) {
        cl_buf_append(out, ev->ptr, ev->len);
        return;
    }
    char *text = malloc(ev->len + 1);
    size_t n = cl_json_compact(ev, text);
    cl_json_write_string(out, text, n);
    free(text);
}

static void write_event(struct hec *h, const struct cl_json_value *ev)
{
    if (ev->type == CL_JSON_OBJECT)
        cl_proto_rec_merge(&h->rec, ev, h->depth);
    else if (cl_proto_rec_key(&h->rec, "message", 7))
        write_event_text(h->rec.out, ev);
}

struct members {
    struct cl_json_value time, event, host, source, sourcetype, index, fields;
    /* 1: event (fields) is an object whose members collect read into h->event_mem
     * (h->fields_mem) as it validated it. */
    int event_read, fields_read;
};

/* The slot of an envelope key (as sent: a key with escapes names none, as
 * cl_json_key_is), told by its length and first letter before one comparison. */
static struct cl_json_value *slot_of(struct members *m, const struct cl_json_value *key)
{
    const char *k = key->ptr + 1;
    switch (key->len) {
    case 6:
        return memcmp(k, "time", 4) == 0 ? &m->time : memcmp(k, "host", 4) == 0 ? &m->host : NULL;
    case 7:
        return memcmp(k, "event", 5) == 0   ? &m->event
               : memcmp(k, "index", 5) == 0 ? &m->index
                                            : NULL;
    case 8:
        return memcmp(k, "source", 6) == 0   ? &m->source
               : memcmp(k, "fields", 6) == 0 ? &m->fields
                                             : NULL;
    case 12:
        return memcmp(k, "sourcetype", 10) == 0 ? &m->sourcetype : NULL;
    default:
        return NULL;
    }
}

static size_t skip_ws(const char *b, size_t p, size_t n)
{
    while (p < n && cl_jw_is_space(b[p]))
        p++;
    return p;
}

/* The document path's lookahead: when the envelope's next member (first: no ',' before
 * it) is "event" or "fields" with an object value, its pairs buffer, with *at the
 * object's '{' and *slot, *read the member's; else NULL (object_next reads it). */
static struct cl_jw_pairs *object_ahead(struct hec *h, const struct cl_json_reader *r, int first,
                                        struct members *m, size_t *at, struct cl_json_value **slot,
                                        int **read)
{
    const char *b = r->buf;
    size_t p = skip_ws(b, r->pos, r->len), n = r->len;
    struct cl_jw_pairs *pairs;
    if (!first) {
        if (p >= n || b[p] != ',')
            return NULL;
        p = skip_ws(b, p + 1, n);
    }
    if (n - p > 7 && memcmp(b + p, "\"event\"", 7) == 0) {
        pairs = &h->event_mem, *slot = &m->event, *read = &m->event_read, p += 7;
    } else if (n - p > 8 && memcmp(b + p, "\"fields\"", 8) == 0) {
        pairs = &h->fields_mem, *slot = &m->fields, *read = &m->fields_read, p += 8;
    } else {
        return NULL;
    }
    p = skip_ws(b, p, n);
    if (p >= n || b[p] != ':')
        return NULL;
    p = skip_ws(b, p + 1, n);
    if (p >= n || b[p] != '{')
        return NULL;
    *at = p;
    return pairs;
}

/* Validates the object at b[at] as object_next validates a member's value (one level
 * below the envelope), its members into pairs; r->pos then past it. 0, or -1. */
static int read_object(struct cl_json_reader *r, size_t at, struct cl_jw_pairs *pairs,
                       struct cl_json_value *v)
{
    struct cl_json_reader sub;
    struct cl_json_value key, val;
    int rc;
    cl_json_reader_init(&sub, r->buf, r->len, r->max_depth - 1); /* max_depth >= 2 here */
    sub.pos = at;
    pairs->n = 0;
    if (cl_json_object_open(&sub) != 0)
        return -1;
    while ((rc = cl_json_object_next(&sub, &key, &val)) == 1)
        cl_jw_pairs_push(pairs, &key, &val);
    if (rc < 0)
        return -1;
    *v = (struct cl_json_value){CL_JSON_OBJECT, 0, r->buf + at, sub.pos - at};
    r->pos = sub.pos;
    return 0;
}

/* Validates the object at r->pos and collects its members in the same pass (the last of a
 * name wins); 0, or -1 (r->pos then somewhere inside). With members (the document path)
 * the event and fields objects' members are kept as they are validated. */
static int collect(struct hec *h, struct cl_json_reader *r, struct members *m, int members)
{
    struct cl_json_value key, val;
    int rc, first = 1;
    memset(m, 0, sizeof *m);
    /* object_next reads a value with max_depth - 1; the lookahead's reader needs >= 1
     * (0 would select the default) and the same clamp */
    members = members && r->max_depth >= 2 && r->max_depth <= CL_JSON_MAX_DEPTH_LIMIT;
    if (cl_json_object_open(r) != 0)
        return -1;
    for (;; first = 0) {
        struct cl_json_value *slot;
        int *read;
        size_t at;
        struct cl_jw_pairs *pairs =
            members ? object_ahead(h, r, first, m, &at, &slot, &read) : NULL;
        if (pairs) {
            if (read_object(r, at, pairs, slot) != 0)
                return -1;
            *read = 1;
            continue;
        }
        if ((rc = cl_json_object_next(r, &key, &val)) != 1)
            return rc;
        slot = slot_of(m, &key);
        if (slot) {
            *slot = val;
            if (slot == &m->event)
                m->event_read = 0;
            else if (slot == &m->fields)
                m->fields_read = 0;
        }
    }
}

static void string_member(struct hec *h, const char *name, const struct cl_json_value *v)
{
    if (v->type == CL_JSON_STRING && cl_proto_rec_key(&h->rec, name, strlen(name)))
        cl_buf_append(h->rec.out, v->ptr, v->len);
}

/* Appends ,"name":value (or the first member without the comma) to an object being
 * written into out; *first tracks it. One reservation (nothing written on a poisoned
 * buffer, which send_parts then hands without members). */
static void add_member(struct cl_buf *out, int *first, const char *name, const char *v, size_t n)
{
    size_t k = strlen(name);
    if (cl_buf_reserve(out, k + n + 4) != CL_OK)
        return;
    char *p = out->data + out->len;
    if (!*first)
        *p++ = ',';
    *p++ = '"';
    memcpy(p, name, k);
    p += k;
    *p++ = '"';
    *p++ = ':';
    memcpy(p, v, n);
    p += n;
    *p = '\0';
    out->len = (size_t)(p - out->data);
    *first = 0;
}

static void add_string(struct cl_buf *out, int *first, const char *name,
                       const struct cl_json_value *v)
{
    if (v->type == CL_JSON_STRING)
        add_member(out, first, name, v->ptr, v->len);
}

/* Where the head part's members lie in h->out (offsets: the buffer may move). */
struct head {
    size_t ts, ts_len, msg, msg_len;
    const char *ts_ptr; /* the time's number text in the body, or NULL */
};

#define KEY(name) ((struct cl_json_value){CL_JSON_STRING, 0, "\"" name "\"", sizeof name + 1})

static void push_string(struct cl_jw_pairs *mem, struct cl_json_value key,
                        const struct cl_json_value *v)
{
    if (v->type == CL_JSON_STRING)
        cl_jw_pairs_push(mem, &key, v);
}

/* The members of the object v: those collect read (read), else walked. */
static void add_object(struct cl_jw_pairs *mem, const struct cl_json_value *v,
                       const struct cl_jw_pairs *read)
{
    if (!read) {
        cl_jw_pairs_add(mem, v);
        return;
    }
    for (size_t i = 0; i < read->n; i++)
        cl_jw_pairs_push(mem, &read->kv[2 * i], &read->kv[2 * i + 1]);
}

/* The record's members in the parts' order into h->mem: what the head part holds, the
 * event object's members, host/source/sourcetype/index, the fields object's members.
 * Every value was validated by collect at the body's max_depth with the event and fields
 * one level down, so each is within the normalizer's depth: it takes them as they are. */
static void record_members(struct hec *h, const struct members *m, const struct head *hd)
{
    struct cl_jw_pairs *mem = &h->mem;
    mem->n = 0;
    if (hd->ts_ptr) {
        struct cl_json_value v = {CL_JSON_NUMBER, 0, hd->ts_ptr, hd->ts_len};
        cl_jw_pairs_push(mem, &KEY("timestamp"), &v);
    }
    if (m->event.type == CL_JSON_STRING) {
        cl_jw_pairs_push(mem, &KEY("message"), &m->event);
    } else if (m->event.type != CL_JSON_OBJECT) { /* written as JSON text into the head */
        const char *p = h->out.data + hd->msg;
        struct cl_json_value v = {CL_JSON_STRING, 0, p, hd->msg_len};
        if (memchr(p, '\\', hd->msg_len))
            v.flags = CL_JSON_F_ESCAPED;
        cl_jw_pairs_push(mem, &KEY("message"), &v);
    } else {
        add_object(mem, &m->event, m->event_read ? &h->event_mem : NULL);
    }
    push_string(mem, KEY("host"), &m->host);
    push_string(mem, KEY("source"), &m->source);
    push_string(mem, KEY("sourcetype"), &m->sourcetype);
    push_string(mem, KEY("index"), &m->index);
    if (m->fields.type == CL_JSON_OBJECT)
        add_object(mem, &m->fields, m->fields_read ? &h->fields_mem : NULL);
}

/* The event as parts for the sink's document callback (proto.h), in the order the
 * record is written: timestamp and a message that is not an object's members, the event
 * object, host/source/sourcetype/index, fields. No copy of the event or fields; their
 * members go along (record_members), so the normalizer does not read them again. */
static void send_parts(struct hec *h, const struct members *m)
{
    struct cl_buf *out = &h->out;
    struct cl_slice parts[4];
    struct head hd = {0};
    size_t n = 0, head_end, tail_start;
    int first = 1;
    cl_buf_reset(out);
    cl_buf_append_char(out, '{');
    hd.ts_ptr = m->time.ptr ? time_number(&m->time, &hd.ts_len) : NULL;
    if (hd.ts_ptr)
        add_member(out, &first, "timestamp", hd.ts_ptr, hd.ts_len);
    if (m->event.type != CL_JSON_OBJECT) {
        add_member(out, &first, "message", "", 0);
        hd.msg = out->len;
        write_event_text(out, &m->event);
        hd.msg_len = out->len - hd.msg;
    }
    cl_buf_append_char(out, '}');
    head_end = out->len;
    tail_start = out->len;
    first = 1;
    cl_buf_append_char(out, '{');
    add_string(out, &first, "host", &m->host);
    add_string(out, &first, "source", &m->source);
    add_string(out, &first, "sourcetype", &m->sourcetype);
    add_string(out, &first, "index", &m->index);
    cl_buf_append_char(out, '}');
    if (head_end > 2)
        parts[n++] = (struct cl_slice){out->data, head_end};
    if (m->event.type == CL_JSON_OBJECT)
        parts[n++] = (struct cl_slice){m->event.ptr, m->event.len};
    if (out->len - tail_start > 2)
        parts[n++] = (struct cl_slice){out->data + tail_start, out->len - tail_start};
    if (m->fields.type == CL_JSON_OBJECT)
        parts[n++] = (struct cl_slice){m->fields.ptr, m->fields.len};
    struct cl_proto_doc doc = {parts, n, NULL, 0, NULL, 0};
    if (!cl_buf_failed(out)) {
        record_members(h, m, &hd);
        doc.members = h->mem.kv;
        doc.n_members = h->mem.n;
    }
    h->sink->document(h->sink->arg, &doc);
}

static void hec_event(struct hec *h, const struct members *mp)
{
    struct members m = *mp;
    if (!m.event.ptr || m.event.type == CL_JSON_NULL) {
        h->sink->reject(h->sink->arg, "Event field is required");
        return;
    }
    if (m.event.type == CL_JSON_STRING && m.event.len == 2) {
        h->sink->reject(h->sink->arg, "Event field cannot be blank");
        return;
    }
    if (h->sink->document) {
        send_parts(h, &m);
        return;
    }
    cl_proto_rec_begin(&h->rec);
    if (m.time.ptr)
        write_time(h, &m.time);
    write_event(h, &m.event);
    string_member(h, "host", &m.host);
    string_member(h, "source", &m.source);
    string_member(h, "sourcetype", &m.sourcetype);
    string_member(h, "index", &m.index);
    if (m.fields.type == CL_JSON_OBJECT)
        cl_proto_rec_merge(&h->rec, &m.fields, h->depth);
    cl_proto_rec_ensure_message(&h->rec);
    cl_proto_rec_end(&h->rec);
    h->sink->record(h->sink->arg, h->out.data, h->out.len);
}

/* The values back to back (as cl_json_values_each, with its errors): an object is
 * validated and its members collected in one pass; any other value is rejected. The
 * envelope {"event": …} is one level more than the record, so it is read at max_depth + 1
 * (an event /v1/logs takes is taken here too); an event nested deeper still is rejected
 * alone, as a too-deep line of /v1/logs is: its end is found by a scan at the scanner's
 * own limit (iterative, no recursion), so the events after it are kept. Only a body
 * that is not JSON fails as a whole. */
static int each_event(struct hec *h, const char *body, size_t len, int max_depth, char *err,
                      size_t err_len)
{
    struct cl_json_reader r;
    struct cl_json_value v;
    struct members m;
    cl_json_reader_init(&r, body, len, max_depth + 1);
    while (!cl_json_at_end(&r)) {
        size_t start = r.pos;
        if (collect(h, &r, &m, h->sink->document != NULL) == 0) {
            hec_event(h, &m);
            continue;
        }
        struct cl_json_reader whole; /* not an object, too deep or malformed: which? */
        cl_json_reader_init(&whole, body, len, CL_JSON_MAX_DEPTH_LIMIT);
        whole.pos = start;
        if (cl_json_scan_value(&whole, &v) != 0) {
            snprintf(err, err_len, "invalid JSON: %s at byte %zu",
                     whole.err.msg ? whole.err.msg : "malformed", whole.err.offset);
            return -1;
        }
        r.pos = whole.pos;
        h->sink->reject(h->sink->arg, v.type == CL_JSON_OBJECT ? "invalid JSON: nesting too deep"
                                                               : "event is not a JSON object");
    }
    return 0;
}

int cl_hec_event_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                        const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    struct hec h = {.sink = sink, .depth = o->max_depth};
    cl_buf_init(&h.out, SIZE_MAX / 2); /* bounded by the decoded body */
    cl_proto_rec_init(&h.rec, &h.out);
    int rc = each_event(&h, body, len, o->max_depth, err, err_len);
    cl_proto_rec_free(&h.rec);
    cl_buf_free(&h.out);
    cl_jw_pairs_free(&h.mem);
    cl_jw_pairs_free(&h.event_mem);
    cl_jw_pairs_free(&h.fields_mem);
    return rc;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

int cl_hec_raw_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                      const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    struct cl_buf out;
    cl_buf_init(&out, SIZE_MAX / 2);
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - body) : len, z = end;
        if (z > pos && body[z - 1] == '\r')
            z--;
        if (!blank(body + pos, z - pos)) {
            cl_buf_reset(&out);
            cl_buf_append_str(&out, "{\"message\":");
            cl_json_write_string(&out, body + pos, z - pos);
            cl_buf_append_char(&out, '}');
            sink->record(sink->arg, out.data, out.len);
        }
        pos = end + 1;
    }
    cl_buf_free(&out);
    return 0;
}
