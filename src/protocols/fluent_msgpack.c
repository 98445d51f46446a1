/* fluent_msgpack.c - Fluent Bit's http output with `format msgpack` -> input records.
 *
 * The body is Fluent Bit events back to back, each [time, record] or, since Fluent Bit
 * 2.1, [[time, metadata], record]; time is the EventTime extension (type 0: 4 bytes
 * seconds, 4 bytes nanoseconds, big-endian), an integer (seconds) or a float. msgpack-c
 * unpacks each event; a record becomes: timestamp (the event time, so it wins over a
 * record's own time fields), the record's members, then the metadata's members.
 *
 * msgpack-c allocates a container's element array from its declared count before reading
 * the elements, so a 5-byte header could ask for gigabytes; a pre-pass over the headers
 * refuses a body whose declared element counts exceed its remaining bytes (every element
 * takes at least one byte). */
#include "proto.h"

#include "common.h"
#include "json.h"
#include "json_write.h"
#include "proto_record.h"
#include "record.h"

#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Size of the header at p (tag included) plus its inline payload, and the number of
 * child objects it opens; 0 for an invalid or truncated header. */
static size_t header(const uint8_t *p, size_t left, uint64_t *children)
{
    uint8_t t = p[0];
    *children = 0;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
        return 1;
    if (t >= 0x80 && t <= 0x8f)
        return *children = 2u * (t & 15u), 1;
    if (t >= 0x90 && t <= 0x9f)
        return *children = t & 15u, 1;
    if (t >= 0xa0 && t <= 0xbf)
        return 1 + (size_t)(t & 31u);
    static const uint8_t fixed[] = {[0xca - 0xca] = 4, [0xcb - 0xca] = 8, [0xcc - 0xca] = 1,
                                    [0xcd - 0xca] = 2, [0xce - 0xca] = 4, [0xcf - 0xca] = 8,
                                    [0xd0 - 0xca] = 1, [0xd1 - 0xca] = 2, [0xd2 - 0xca] = 4,
                                    [0xd3 - 0xca] = 8, [0xd4 - 0xca] = 2, [0xd5 - 0xca] = 3,
                                    [0xd6 - 0xca] = 5, [0xd7 - 0xca] = 9, [0xd8 - 0xca] = 17};
    if (t >= 0xca && t <= 0xd8)
        return 1 + (size_t)fixed[t - 0xca];
    size_t lenlen = 0, extra = 0;
    int kind = 0; /* 1 bytes follow, 2 array, 3 map */
    switch (t) {
    case 0xc4:
    case 0xd9:
        lenlen = 1, kind = 1;
        break;
    case 0xc5:
    case 0xda:
        lenlen = 2, kind = 1;
        break;
    case 0xc6:
    case 0xdb:
        lenlen = 4, kind = 1;
        break;
    case 0xc7:
        lenlen = 1, kind = 1, extra = 1;
        break;
    case 0xc8:
        lenlen = 2, kind = 1, extra = 1;
        break;
    case 0xc9:
        lenlen = 4, kind = 1, extra = 1;
        break;
    case 0xdc:
        lenlen = 2, kind = 2;
        break;
    case 0xdd:
        lenlen = 4, kind = 2;
        break;
    case 0xde:
        lenlen = 2, kind = 3;
        break;
    case 0xdf:
        lenlen = 4, kind = 3;
        break;
    default:
        return 0; /* 0xc1: never used */
    }
    if (left < 1 + lenlen)
        return 0;
    uint64_t n = be(p + 1, lenlen);
    if (kind == 1)
        return n > left ? 0 : 1 + lenlen + extra + (size_t)n;
    *children = kind == 3 ? 2 * n : n;
    return 1 + lenlen;
}

/* 0 if every header's declared size fits in the bytes after it. */
static int counts_fit(const uint8_t *p, size_t len)
{
    uint64_t pending = 0, children;
    size_t pos = 0;
    while (pos < len) {
        size_t n = header(p + pos, len - pos, &children);
        if (n == 0 || n > len - pos)
            return -1;
        pos += n;
        pending = (pending ? pending - 1 : 0) + children;
        if (pending > len - pos)
            return -1;
    }
    return 0;
}

static unsigned write_value(struct cl_buf *out, const msgpack_object *o, int in_key,
                            unsigned *flags);

/* s[0..n) as a JSON string; CL_JSON_F_ESCAPED into *flags when it needed escapes (the
 * written form is then longer than the text and its quotes). */
static void write_string(struct cl_buf *out, const char *s, size_t n, unsigned *flags)
{
    size_t before = out->len;
    cl_json_write_string(out, s, n);
    if (out->len - before != n + 2)
        *flags |= CL_JSON_F_ESCAPED;
}

static void write_double(struct cl_buf *out, double d)
{
    if (isfinite(d))
        cl_buf_printf(out, "%.17g", d);
    else
        cl_buf_append_str(out, isnan(d) ? "\"NaN\"" : d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
}

/* A map key as JSON string text (non-string keys are written as their JSON text).
 * The key's text is escaped once, here: keys nested inside it are written as plain JSON
 * text (write_value's in_key), not escaped again at each level, which doubled the
 * backslashes per level and made a body of a few hundred bytes of maps keyed by maps
 * grow exponentially (fuzz_proto_msgpack timeout). */
static void write_key_text(struct cl_buf *out, const msgpack_object *k, unsigned *flags)
{
    if (k->type == MSGPACK_OBJECT_STR || k->type == MSGPACK_OBJECT_BIN) {
        write_string(out, k->via.str.ptr, k->via.str.size, flags);
        return;
    }
    struct cl_buf tmp;
    unsigned inner = 0;
    cl_buf_init(&tmp, SIZE_MAX / 2); /* bounded by the body: each byte is written once */
    write_value(&tmp, k, 1, &inner);
    write_string(out, tmp.data, tmp.len, flags);
    cl_buf_free(&tmp);
}

/* EventTime (ext type 0) -> ms since the epoch; -1 if o is not one. */
static int64_t event_time_ms(const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_EXT && o->via.ext.type == 0 && o->via.ext.size == 8) {
        const uint8_t *p = (const uint8_t *)o->via.ext.ptr;
        return (int64_t)be(p, 4) * 1000 + (int64_t)(be(p + 4, 4) / 1000000u);
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 < (1ull << 40))
        return (int64_t)o->via.u64 * 1000;
    if ((o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32) &&
        o->via.f64 >= 0 && o->via.f64 < 1e12)
        return (int64_t)(o->via.f64 * 1000.0);
    return -1;
}

/* o as JSON text into out; in_key: inside a key's text, where map keys are not escaped.
 * Returns o's nesting (0 for a scalar, 1 for a container of scalars, ...); strings that
 * needed escapes set CL_JSON_F_ESCAPED in *flags. */
static unsigned write_value(struct cl_buf *out, const msgpack_object *o, int in_key,
                            unsigned *flags)
{
    unsigned depth = 0;
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        cl_buf_append_str(out, o->via.boolean ? "true" : "false");
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        cl_json_write_uint(out, o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        cl_json_write_int(out, o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        write_double(out, o->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN: /* Fluent Bit sends some text as bin */
        write_string(out, o->via.str.ptr, o->via.str.size, flags);
        break;
    case MSGPACK_OBJECT_ARRAY:
        cl_buf_append_char(out, '[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                cl_buf_append_char(out, ',');
            unsigned d = write_value(out, &o->via.array.ptr[i], in_key, flags);
            depth = CL_MAX(depth, d);
        }
        cl_buf_append_char(out, ']');
        return depth + 1;
    case MSGPACK_OBJECT_MAP:
        cl_buf_append_char(out, '{');
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                cl_buf_append_char(out, ',');
            if (in_key)
                write_value(out, &o->via.map.ptr[i].key, 1, flags);
            else
                write_key_text(out, &o->via.map.ptr[i].key, flags);
            cl_buf_append_char(out, ':');
            unsigned d = write_value(out, &o->via.map.ptr[i].val, in_key, flags);
            depth = CL_MAX(depth, d);
        }
        cl_buf_append_char(out, '}');
        return depth + 1;
    case MSGPACK_OBJECT_EXT: {
        char ts[25];
        int64_t ms = event_time_ms(o);
        if (ms < 0) {
            cl_buf_append_str(out, "null");
            break;
        }
        cl_format_timestamp(ms, ts);
        cl_json_write_string(out, ts, strlen(ts));
        break;
    }
    default:
        cl_buf_append_str(out, "null");
    }
    return depth;
}

/* key_text: scratch for keys that are not strings (their JSON text is the name). */
static void merge_map(struct cl_proto_rec *r, const msgpack_object *m, struct cl_buf *key_text)
{
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        int fresh;
        if (k->type == MSGPACK_OBJECT_STR || k->type == MSGPACK_OBJECT_BIN) {
            fresh = cl_proto_rec_key(r, k->via.str.ptr, k->via.str.size);
        } else {
            unsigned flags = 0;
            cl_buf_reset(key_text);
            write_key_text(key_text, k, &flags);
            fresh = cl_proto_rec_key_json(r, key_text->data, key_text->len);
        }
        unsigned flags = 0;
        if (fresh)
            write_value(r->out, &m->via.map.ptr[i].val, 0, &flags);
    }
}

/* Splits an event into its time, metadata (NULL if none) and record; 0 on success. */
static int event_parts(const msgpack_object *ev, const msgpack_object **time,
                       const msgpack_object **meta, const msgpack_object **rec)
{
    if (ev->type != MSGPACK_OBJECT_ARRAY || ev->via.array.size != 2)
        return -1;
    const msgpack_object *head = &ev->via.array.ptr[0];
    *rec = &ev->via.array.ptr[1];
    *meta = NULL;
    *time = head;
    if (head->type == MSGPACK_OBJECT_ARRAY) { /* [[time, metadata], record] */
        if (head->via.array.size != 2 || head->via.array.ptr[1].type != MSGPACK_OBJECT_MAP)
            return -1;
        *time = &head->via.array.ptr[0];
        *meta = &head->via.array.ptr[1];
    }
    return (*rec)->type == MSGPACK_OBJECT_MAP && event_time_ms(*time) >= 0 ? 0 : -1;
}

/* Where one member of a record written for the document callback lies in its buffer:
 * offsets, as the buffer may move while the record is written. */
struct span {
    size_t key, val, end;
    unsigned key_flags, val_flags;
};

/* The record written for the sink's document callback, with its members noted as they
 * are written, so the normalizer takes them without reading the record again. */
struct doc {
    struct cl_buf *out;
    struct span *spans;
    size_t n, cap;
    struct cl_json_value *kv; /* the pairs handed on, 2 * cap */
    int max_depth;            /* the normalizer's: a deeper record goes without members */
    int too_deep;
};

/* Notes the member whose key starts at key; its value runs from val to the end of out. */
static void doc_note(struct doc *d, size_t key, size_t val, unsigned key_flags, unsigned val_flags)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 32;
        d->spans = cl_realloc(d->spans, d->cap * sizeof *d->spans);
        d->kv = cl_realloc(d->kv, 2 * d->cap * sizeof *d->kv);
    }
    d->spans[d->n++] = (struct span){key, val, d->out->len, key_flags, val_flags};
}

/* The members of map m, as merge_map writes them for a record without tracked keys (the
 * normalizer keeps the first of a name). A key of 16 MiB or more is left out with its
 * value, as the checked record builder leaves it out. */
static void doc_map(struct doc *d, const msgpack_object *m)
{
    struct cl_buf *out = d->out;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        size_t sep = out->len;
        unsigned key_flags = 0, val_flags = 0;
        if (d->n)
            cl_buf_append_char(out, ',');
        size_t key = out->len;
        write_key_text(out, &m->via.map.ptr[i].key, &key_flags);
        if (out->len - key >= (1u << 24)) {
            cl_buf_truncate(out, sep);
            continue;
        }
        cl_buf_append_char(out, ':');
        size_t val = out->len;
        unsigned depth = write_value(out, &m->via.map.ptr[i].val, 0, &val_flags);
        if (depth + 1 > (unsigned)d->max_depth) /* the record is depth 1 */
            d->too_deep = 1;
        doc_note(d, key, val, key_flags, val_flags);
    }
}

/* The JSON type of a value write_value wrote, from its first byte. */
static enum cl_json_type type_of(char first)
{
    if (first == '"')
        return CL_JSON_STRING;
    if (first == '{' || first == '[')
        return first == '{' ? CL_JSON_OBJECT : CL_JSON_ARRAY;
    if (first == 't' || first == 'f')
        return first == 't' ? CL_JSON_TRUE : CL_JSON_FALSE;
    return first == 'n' ? CL_JSON_NULL : CL_JSON_NUMBER;
}

/* Hands the written record on, with its members unless one is nested deeper than the
 * normalizer reads (it then reads the record itself and rejects it as before). */
static void doc_emit(struct doc *d, const struct cl_proto_sink *s)
{
    struct cl_buf *out = d->out;
    struct cl_slice whole = {out->data, out->len};
    struct cl_proto_doc pd = {.parts = &whole, .n_parts = 1};
    if (!d->too_deep && !cl_buf_failed(out)) {
        for (size_t i = 0; i < d->n; i++) {
            const struct span *sp = &d->spans[i];
            d->kv[2 * i] = (struct cl_json_value){CL_JSON_STRING, sp->key_flags,
                                                  out->data + sp->key, sp->val - 1 - sp->key};
            d->kv[2 * i + 1] = (struct cl_json_value){type_of(out->data[sp->val]), sp->val_flags,
                                                      out->data + sp->val, sp->end - sp->val};
        }
        pd.members = d->kv;
        pd.n_members = d->n;
    }
    s->document(s->arg, &pd);
}

/* The event for the sink's document callback: timestamp, the record's members, the
 * metadata's, as event() writes them. */
static void event_doc(struct doc *d, const msgpack_object *time, const msgpack_object *meta,
                      const msgpack_object *rec, const struct cl_proto_sink *s)
{
    char ts[25];
    struct cl_buf *out = d->out;
    d->n = 0;
    d->too_deep = 0;
    cl_buf_reset(out);
    cl_buf_append_str(out, "{\"timestamp\":\"");
    cl_format_timestamp(event_time_ms(time), ts);
    cl_buf_append(out, ts, strlen(ts));
    cl_buf_append_char(out, '"');
    doc_note(d, 1, 13, 0, 0);
    doc_map(d, rec);
    if (meta)
        doc_map(d, meta);
    cl_buf_append_char(out, '}');
    doc_emit(d, s);
}

static void event(struct cl_proto_rec *r, struct doc *d, const msgpack_object *ev,
                  const struct cl_proto_sink *s, struct cl_buf *key_text)
{
    const msgpack_object *time, *meta, *rec;
    if (event_parts(ev, &time, &meta, &rec) != 0) {
        s->reject(s->arg, "not a Fluent Bit event ([time, record] or [[time, metadata], record] "
                          "with a map record)");
        return;
    }
    if (s->document) {
        event_doc(d, time, meta, rec, s);
        return;
    }
    char ts[25];
    cl_proto_rec_begin(r);
    cl_format_timestamp(event_time_ms(time), ts);
    cl_proto_rec_string(r, "timestamp", ts, strlen(ts));
    merge_map(r, rec, key_text);
    if (meta)
        merge_map(r, meta, key_text);
    cl_proto_rec_ensure_message(r);
    cl_proto_rec_end(r);
    cl_proto_rec_emit(r, s);
}

int cl_fluent_msgpack_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                             const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    if (counts_fit((const uint8_t *)body, len) != 0) {
        snprintf(err, err_len, "body is not msgpack (a header is invalid or larger than the body)");
        return -1;
    }
    /* One zone for the whole body, cleared before each event: msgpack_unpack_next made
     * and freed a zone (an 8 KiB malloc) per event. */
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, MSGPACK_ZONE_CHUNK_SIZE)) {
        snprintf(err, err_len, "out of memory decoding msgpack");
        return -1;
    }
    msgpack_object ev;
    struct cl_buf out, key_text;
    struct cl_proto_rec r;
    cl_buf_init(&out, SIZE_MAX / 2);      /* bounded by the decoded body */
    cl_buf_init(&key_text, SIZE_MAX / 2); /* bounded by the body: each byte is written once */
    cl_proto_rec_init(&r, &out);
    cl_proto_rec_set_sink(&r, sink);
    struct doc d = {.out = &out, .max_depth = o->max_depth}; /* spans, kv: freed below */
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        msgpack_zone_clear(&zone);
        msgpack_unpack_return ret = msgpack_unpack(body, len, &off, &zone, &ev);
        if (ret != MSGPACK_UNPACK_SUCCESS && ret != MSGPACK_UNPACK_EXTRA_BYTES) {
            snprintf(err, err_len, "body is not msgpack (error at byte %zu)", off);
            rc = -1;
            break;
        }
        event(&r, &d, &ev, sink, &key_text);
    }
    free(d.spans);
    free(d.kv);
    cl_proto_rec_free(&r);
    cl_buf_free(&out);
    cl_buf_free(&key_text);
    msgpack_zone_destroy(&zone);
    return rc;
}
