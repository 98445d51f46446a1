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
};

static struct cl_json_value *slot_of(struct members *m, const struct cl_json_value *key)
{
    return cl_json_key_is(key, "time", 0)         ? &m->time
           : cl_json_key_is(key, "event", 0)      ? &m->event
           : cl_json_key_is(key, "host", 0)       ? &m->host
           : cl_json_key_is(key, "source", 0)     ? &m->source
           : cl_json_key_is(key, "sourcetype", 0) ? &m->sourcetype
           : cl_json_key_is(key, "index", 0)      ? &m->index
           : cl_json_key_is(key, "fields", 0)     ? &m->fields
                                                  : NULL;
}

/* Validates the object at r->pos and collects its members in the same pass (the last of a
 * name wins); 0, or -1 (r->pos then somewhere inside). */
static int collect(struct cl_json_reader *r, struct members *m)
{
    struct cl_json_value key, val;
    int rc;
    memset(m, 0, sizeof *m);
    if (cl_json_object_open(r) != 0)
        return -1;
    while ((rc = cl_json_object_next(r, &key, &val)) == 1) {
        struct cl_json_value *slot = slot_of(m, &key);
        if (slot)
            *slot = val;
    }
    return rc;
}

static void string_member(struct hec *h, const char *name, const struct cl_json_value *v)
{
    if (v->type == CL_JSON_STRING && cl_proto_rec_key(&h->rec, name, strlen(name)))
        cl_buf_append(h->rec.out, v->ptr, v->len);
}

/* Appends ,"name":value (or the first member without the comma) to an object being
 * written into out; *first tracks it. */
static void add_member(struct cl_buf *out, int *first, const char *name, const char *v, size_t n)
{
    cl_buf_append_str(out, *first ? "\"" : ",\"");
    cl_buf_append_str(out, name);
    cl_buf_append(out, "\":", 2);
    cl_buf_append(out, v, n);
    *first = 0;
}

static void add_string(struct cl_buf *out, int *first, const char *name,
                       const struct cl_json_value *v)
{
    if (v->type == CL_JSON_STRING)
        add_member(out, first, name, v->ptr, v->len);
}

/* The event as parts for the sink's document callback (proto.h), in the order the
 * record is written: timestamp and a message that is not an object's members, the event
 * object, host/source/sourcetype/index, fields. No copy of the event or fields. */
static void send_parts(struct hec *h, const struct members *m)
{
    struct cl_buf *out = &h->out;
    struct cl_slice parts[4];
    size_t n = 0, head_end, tail_start, len;
    int first = 1;
    cl_buf_reset(out);
    cl_buf_append_char(out, '{');
    const char *t = m->time.ptr ? time_number(&m->time, &len) : NULL;
    if (t)
        add_member(out, &first, "timestamp", t, len);
    if (m->event.type != CL_JSON_OBJECT) {
        add_member(out, &first, "message", "", 0);
        write_event_text(out, &m->event);
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
 * validated and its members collected in one pass; any other value is rejected. */
static int each_event(struct hec *h, const char *body, size_t len, int max_depth, char *err,
                      size_t err_len)
{
    struct cl_json_reader r;
    struct cl_json_value v;
    struct members m;
    cl_json_reader_init(&r, body, len, max_depth);
    while (!cl_json_at_end(&r)) {
        size_t start = r.pos;
        if (collect(&r, &m) == 0) {
            hec_event(h, &m);
            continue;
        }
        r.pos = start; /* not an object, or malformed: the whole-value scan says which */
        if (cl_json_scan_value(&r, &v) != 0) {
            snprintf(err, err_len, "invalid JSON: %s at byte %zu",
                     r.err.msg ? r.err.msg : "malformed", r.err.offset);
            return -1;
        }
        h->sink->reject(h->sink->arg, "event is not a JSON object");
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
