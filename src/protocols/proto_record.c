/* proto_record.c - one input record with unique keys (proto_record.h). */
#include "proto_record.h"

#include "common.h"
#include "json.h"
#include "json_walk.h"
#include "json_write.h"

#include <stdlib.h>
#include <string.h>

#define KEY_LEN_BITS 24

void cl_proto_rec_init(struct cl_proto_rec *r, struct cl_buf *out)
{
    memset(r, 0, sizeof *r);
    r->out = out;
    cl_buf_init(&r->keys, SIZE_MAX / 2); /* bounded by the record, itself bounded by the body */
}

void cl_proto_rec_free(struct cl_proto_rec *r)
{
    free(r->spans);
    r->spans = NULL;
    if (r->members) {
        cl_jw_pairs_free(r->members);
        free(r->members);
        r->members = NULL;
    }
    cl_buf_free(&r->keys);
    free(r->slots);
    r->slots = NULL;
    r->n_slots = 0;
}

void cl_proto_rec_set_sink(struct cl_proto_rec *r, const struct cl_proto_sink *sink)
{
    r->unchecked = sink->document != NULL;
}

void cl_proto_rec_track_members(struct cl_proto_rec *r)
{
    r->track = r->unchecked;
    if (r->track && !r->members)
        r->members = cl_calloc(1, sizeof *r->members);
}

/* Notes a member whose key is out[key..key + key_len) and whose value starts at val. */
static void span_add(struct cl_proto_rec *r, size_t key, size_t key_len, size_t val, int plain_key)
{
    if (r->n_spans == r->spans_cap) {
        r->spans_cap = r->spans_cap ? r->spans_cap * 2 : 32;
        r->spans = cl_realloc(r->spans, r->spans_cap * sizeof *r->spans);
    }
    r->spans[r->n_spans++] = (struct cl_proto_span){key, key_len, val, plain_key};
}

/* The members of the record in out as key, value pairs (r->members), from the spans. */
static void spans_to_members(const struct cl_proto_rec *r)
{
    const char *d = r->out->data;
    struct cl_jw_pairs *m = r->members;
    if (m->cap < r->n_spans) { /* room for all at once: no check per member */
        m->cap = r->n_spans;
        m->kv = cl_realloc(m->kv, m->cap * 2 * sizeof *m->kv);
    }
    m->n = r->n_spans;
    for (size_t i = 0; i < r->n_spans; i++) {
        const struct cl_proto_span *s = &r->spans[i];
        size_t end = i + 1 < r->n_spans ? r->spans[i + 1].key - 1 : r->out->len - 1; /* ',' '}' */
        struct cl_json_value k = {CL_JSON_STRING, 0, d + s->key, s->key_len};
        struct cl_json_value v = {cl_jw_type_at(d[s->val]), 0, d + s->val, end - s->val};
        if (!s->plain_key && memchr(k.ptr, '\\', k.len))
            k.flags = CL_JSON_F_ESCAPED;
        if (v.type == CL_JSON_STRING && memchr(v.ptr, '\\', v.len))
            v.flags = CL_JSON_F_ESCAPED;
        m->kv[2 * i] = k;
        m->kv[2 * i + 1] = v;
    }
}

void cl_proto_rec_emit(const struct cl_proto_rec *r, const struct cl_proto_sink *sink)
{
    if (!r->unchecked) {
        sink->record(sink->arg, r->out->data, r->out->len);
        return;
    }
    struct cl_slice whole = {r->out->data, r->out->len};
    struct cl_proto_doc doc = {.parts = &whole, .n_parts = 1}; /* no service */
    if (r->track && !r->reread && !cl_buf_failed(r->out)) {
        spans_to_members(r); /* into *r->members, the builder's scratch */
        doc.members = r->members->kv;
        doc.n_members = r->members->n;
    }
    sink->document(sink->arg, &doc);
}

void cl_proto_rec_begin(struct cl_proto_rec *r)
{
    cl_buf_reset(r->out);
    r->n_keys = 0;
    r->has_message = 0;
    r->n_spans = 0;
    r->reread = 0;
    cl_buf_append_char(r->out, '{');
    if (r->unchecked)
        return;
    cl_buf_reset(&r->keys);
    /* Clearing the table costs its size: after one record with many keys, every later
     * small record would pay for it (quadratic in the body), so a table more than four
     * times what the last record needed is dropped and the next record grows its own. */
    if (r->n_slots > 64 && r->n_slots > 4 * r->n_keys) {
        free(r->slots);
        r->slots = NULL;
        r->n_slots = 0;
    } else if (r->slots) {
        memset(r->slots, 0, r->n_slots * sizeof *r->slots);
    }
}

static uint64_t hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* Slot of key p[0..n) in the table: the one holding it, or the empty one to use. */
static size_t find_slot(const struct cl_proto_rec *r, const char *p, size_t n)
{
    size_t mask = r->n_slots - 1, i = (size_t)hash(p, n) & mask;
    for (;;) {
        uint64_t s = r->slots[i];
        if (s == 0)
            return i;
        size_t off = (size_t)((s - 1) >> KEY_LEN_BITS), len = (size_t)((s - 1) & 0xFFFFFF);
        if (len == n && (n == 0 || memcmp(r->keys.data + off, p, n) == 0))
            return i;
        i = (i + 1) & mask;
    }
}

static void grow(struct cl_proto_rec *r)
{
    size_t old_n = r->n_slots;
    uint64_t *old = r->slots;
    r->n_slots = old_n ? old_n * 2 : 64;
    r->slots = cl_calloc(r->n_slots, sizeof *r->slots);
    for (size_t i = 0; i < old_n; i++) {
        if (!old[i])
            continue;
        size_t off = (size_t)((old[i] - 1) >> KEY_LEN_BITS),
               len = (size_t)((old[i] - 1) & 0xFFFFFF);
        r->slots[find_slot(r, r->keys.data + off, len)] = old[i];
    }
    free(old);
}

/* 1 if the encoded key p[0..n) names the message (the normalizer's aliases). */
static int is_message_key(const char *p, size_t n)
{
    return (n == 9 && memcmp(p, "\"message\"", 9) == 0) ||
           (n == 5 && (memcmp(p, "\"msg\"", 5) == 0 || memcmp(p, "\"log\"", 5) == 0));
}

/* Adds the encoded key at keys[mark..len) unless present; 1 if added. */
static int add_encoded(struct cl_proto_rec *r, size_t mark)
{
    size_t n = r->keys.len - mark;
    if (n >= (1u << KEY_LEN_BITS)) { /* a 16 MiB key: never a real one; keep it out of the set */
        cl_buf_truncate(&r->keys, mark);
        return 0;
    }
    if ((r->n_keys + 1) * 2 > r->n_slots)
        grow(r);
    size_t i = find_slot(r, r->keys.data + mark, n);
    if (r->slots[i]) {
        cl_buf_truncate(&r->keys, mark);
        return 0;
    }
    r->slots[i] = (((uint64_t)mark << KEY_LEN_BITS) | n) + 1;
    r->n_keys++;
    if (is_message_key(r->keys.data + mark, n))
        r->has_message = 1;
    return 1;
}

static int write_key(struct cl_proto_rec *r, size_t mark)
{
    if (!add_encoded(r, mark))
        return 0;
    if (r->n_keys > 1)
        cl_buf_append_char(r->out, ',');
    cl_buf_append(r->out, r->keys.data + mark, r->keys.len - mark);
    cl_buf_append_char(r->out, ':');
    return 1;
}

/* Unchecked mode: the key at out[mark..len) (after the separator) is kept unless it is
 * one a checked record leaves out (16 MiB or more, add_encoded); then ':' follows. */
static int keep_unchecked(struct cl_proto_rec *r, size_t sep_mark, size_t mark)
{
    if (r->out->len - mark >= (1u << KEY_LEN_BITS)) {
        cl_buf_truncate(r->out, sep_mark);
        return 0;
    }
    r->n_keys++;
    if (r->track)
        span_add(r, mark, r->out->len - mark, r->out->len + 1, 0);
    cl_buf_append_char(r->out, ':');
    return 1;
}

/* Unchecked mode: the separator before a new member; returns out->len before it. */
static size_t separate(struct cl_proto_rec *r)
{
    size_t sep_mark = r->out->len;
    if (r->n_keys)
        cl_buf_append_char(r->out, ',');
    return sep_mark;
}

int cl_proto_rec_key_json(struct cl_proto_rec *r, const char *tok, size_t len)
{
    if (r->unchecked) {
        size_t sep_mark = separate(r), mark = r->out->len;
        cl_buf_append(r->out, tok, len);
        return keep_unchecked(r, sep_mark, mark);
    }
    size_t mark = r->keys.len;
    cl_buf_append(&r->keys, tok, len);
    return write_key(r, mark);
}

/* The JSON form of a key that needs no escaping (printable ASCII, no '"' or '\\') into
 * out[cap]; its length, or 0 when the key needs cl_json_write_string. */
static size_t plain_key(const char *text, size_t len, char *out, size_t cap)
{
    if (len + 2 > cap)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\')
            return 0;
    }
    out[0] = '"';
    if (len) /* an empty key may come with a NULL text (msgpack's zero-length str) */
        memcpy(out + 1, text, len);
    out[len + 1] = '"';
    return len + 2;
}

/* 1 if text[0..len) is written as a JSON string as it is (printable ASCII, no '"' or
 * '\\'). */
static int is_plain(const char *text, size_t len)
{
    /* 1 for 0x20..0x7E but '"' and '\\': one lookup per byte of every key written */
    static const unsigned char plain[256] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    for (size_t i = 0; i < len; i++)
        if (!plain[(unsigned char)text[i]])
            return 0;
    return 1;
}

/* Unchecked mode, a short plain key (the usual one): separator, quotes, key and ':' in
 * one reservation, no escaping pass. */
static int plain_key_unchecked(struct cl_proto_rec *r, const char *text, size_t len)
{
    if (cl_buf_reserve(r->out, len + 4) != CL_OK)
        return 0; /* the buffer is poisoned: the record is cut short and rejected */
    char *p = r->out->data + r->out->len;
    if (r->n_keys++)
        *p++ = ',';
    if (r->track)
        span_add(r, (size_t)(p - r->out->data), len + 2, (size_t)(p - r->out->data) + len + 3, 1);
    *p++ = '"';
    if (len) /* text may be NULL when empty */
        memcpy(p, text, len);
    p += len;
    *p++ = '"';
    *p++ = ':';
    *p = '\0';
    r->out->len = (size_t)(p - r->out->data);
    return 1;
}

int cl_proto_rec_key(struct cl_proto_rec *r, const char *text, size_t len)
{
    if (r->unchecked && len <= 64 && is_plain(text, len))
        return plain_key_unchecked(r, text, len);
    if (r->unchecked) {
        size_t sep_mark = separate(r), mark = r->out->len;
        cl_json_write_string(r->out, text, len);
        return keep_unchecked(r, sep_mark, mark);
    }
    size_t mark = r->keys.len;
    char small[64];
    size_t n = plain_key(text, len, small, sizeof small);
    if (n)
        cl_buf_append(&r->keys, small, n);
    else
        cl_json_write_string(&r->keys, text, len);
    return write_key(r, mark);
}

int cl_proto_rec_has(const struct cl_proto_rec *r, const char *text, size_t len)
{
    if (!r->n_slots)
        return 0;
    char small[64]; /* the names decoders ask for: no allocation per record */
    size_t n = plain_key(text, len, small, sizeof small);
    if (n)
        return r->slots[find_slot(r, small, n)] != 0;
    struct cl_buf tmp;
    cl_buf_init(&tmp, SIZE_MAX / 2);
    cl_json_write_string(&tmp, text, len);
    int found = r->slots[find_slot(r, tmp.data, tmp.len)] != 0;
    cl_buf_free(&tmp);
    return found;
}

void cl_proto_rec_end(struct cl_proto_rec *r)
{
    cl_buf_append_char(r->out, '}');
}

void cl_proto_rec_string(struct cl_proto_rec *r, const char *key, const char *s, size_t len)
{
    size_t n = strlen(key);
    /* decoders' own names: plain by the contract (proto_record.h), no look at them */
    if (r->unchecked && n <= 64 ? plain_key_unchecked(r, key, n) : cl_proto_rec_key(r, key, n))
        cl_json_write_string(r->out, s, len);
}

void cl_proto_rec_plain(struct cl_proto_rec *r, const char *key, const char *s, size_t len)
{
    size_t n = strlen(key);
    if (!r->unchecked || n > 64) {
        cl_proto_rec_string(r, key, s, len);
        return;
    }
    if (!plain_key_unchecked(r, key, n) || cl_buf_reserve(r->out, len + 2) != CL_OK)
        return; /* the buffer is poisoned: the record is cut short and rejected */
    char *p = r->out->data + r->out->len;
    *p++ = '"';
    if (len) /* s may be NULL when empty */
        memcpy(p, s, len);
    p += len;
    *p++ = '"';
    *p = '\0';
    r->out->len = (size_t)(p - r->out->data);
}

void cl_proto_rec_merge(struct cl_proto_rec *r, const struct cl_json_value *obj, int depth)
{
    struct cl_jw_object it;
    struct cl_json_value key, val;
    (void)depth; /* obj was validated with the caller's limit (proto_record.h) */
    if (cl_jw_object_begin(&it, obj) != 0)
        return;
    while (cl_jw_object_next(&it, &key, &val) == 1) {
        if (!cl_proto_rec_key_json(r, key.ptr, key.len))
            continue;
        if (!(val.flags & CL_JSON_F_SPACE)) {
            cl_buf_append(r->out, val.ptr, val.len);
        } else if (cl_buf_reserve(r->out, val.len) == CL_OK) {
            r->out->len += cl_json_compact(&val, r->out->data + r->out->len);
            r->out->data[r->out->len] = '\0';
        }
    }
}

void cl_proto_rec_ensure_message(struct cl_proto_rec *r)
{
    /* Unchecked: the normalizer gives a document without message "" itself. */
    if (!r->unchecked && !r->has_message)
        cl_proto_rec_string(r, "message", "", 0);
}

void cl_proto_hex(struct cl_buf *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char two[2] = {digits[p[i] >> 4], digits[p[i] & 15]};
        cl_buf_append(out, two, 2);
    }
}

void cl_proto_base64(struct cl_buf *out, const uint8_t *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {a[(v >> 18) & 63], a[(v >> 12) & 63], i + 1 < n ? a[(v >> 6) & 63] : '=',
                     i + 2 < n ? a[v & 63] : '='};
        cl_buf_append(out, q, 4);
    }
}

size_t cl_proto_service_clean(char *s, size_t len)
{
    len = CL_MIN(len, (size_t)64);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            s[i] = '_';
    }
    return len;
}
