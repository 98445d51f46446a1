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

static void write_time(struct hec *h, const struct cl_json_value *t)
{
    const char *s = t->ptr;
    size_t n = t->len;
    if (t->type == CL_JSON_STRING && !(t->flags & CL_JSON_F_ESCAPED)) {
        s++; /* "1437522387.123": HEC takes the number as a string too */
        n -= 2;
        if (!numeric(s, n))
            return;
    } else if (t->type != CL_JSON_NUMBER) {
        return;
    }
    if (cl_proto_rec_key(&h->rec, "timestamp", 9))
        cl_buf_append(h->rec.out, s, n);
}

static void write_event(struct hec *h, const struct cl_json_value *ev)
{
    if (ev->type == CL_JSON_STRING) {
        if (cl_proto_rec_key(&h->rec, "message", 7))
            cl_buf_append(h->rec.out, ev->ptr, ev->len);
    } else if (ev->type == CL_JSON_OBJECT) {
        cl_proto_rec_merge(&h->rec, ev, h->depth);
    } else if (cl_proto_rec_key(&h->rec, "message", 7)) {
        char *text = malloc(ev->len + 1);
        size_t n = cl_json_compact(ev, text);
        cl_json_write_string(h->rec.out, text, n);
        free(text);
    }
}

struct members {
    struct cl_json_value time, event, host, source, sourcetype, index, fields;
};

static void collect(struct hec *h, const struct cl_json_value *v, struct members *m)
{
    struct cl_jw_object it;
    struct cl_json_value key, val;
    memset(m, 0, sizeof *m);
    cl_jw_object_begin(&it, v); /* validated by cl_json_values_each */
    while (cl_jw_object_next(&it, &key, &val) == 1) {
        struct cl_json_value *slot = cl_json_key_is(&key, "time", 0)         ? &m->time
                                     : cl_json_key_is(&key, "event", 0)      ? &m->event
                                     : cl_json_key_is(&key, "host", 0)       ? &m->host
                                     : cl_json_key_is(&key, "source", 0)     ? &m->source
                                     : cl_json_key_is(&key, "sourcetype", 0) ? &m->sourcetype
                                     : cl_json_key_is(&key, "index", 0)      ? &m->index
                                     : cl_json_key_is(&key, "fields", 0)     ? &m->fields
                                                                             : NULL;
        if (slot)
            *slot = val;
    }
}

static void string_member(struct hec *h, const char *name, const struct cl_json_value *v)
{
    if (v->type == CL_JSON_STRING && cl_proto_rec_key(&h->rec, name, strlen(name)))
        cl_buf_append(h->rec.out, v->ptr, v->len);
}

static void hec_event(void *arg, const struct cl_json_value *v)
{
    struct hec *h = arg;
    struct members m;
    if (v->type != CL_JSON_OBJECT) {
        h->sink->reject(h->sink->arg, "event is not a JSON object");
        return;
    }
    collect(h, v, &m);
    if (!m.event.ptr || m.event.type == CL_JSON_NULL) {
        h->sink->reject(h->sink->arg, "Event field is required");
        return;
    }
    if (m.event.type == CL_JSON_STRING && m.event.len == 2) {
        h->sink->reject(h->sink->arg, "Event field cannot be blank");
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

int cl_hec_event_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                        const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    struct hec h = {.sink = sink, .depth = o->max_depth};
    cl_buf_init(&h.out, SIZE_MAX / 2); /* bounded by the decoded body */
    cl_proto_rec_init(&h.rec, &h.out);
    int rc = cl_json_values_each(body, len, o->max_depth, hec_event, &h, err, err_len);
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
