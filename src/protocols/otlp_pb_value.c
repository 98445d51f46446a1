/* otlp_pb_value.c - OTLP protobuf attribute values -> JSON (otlp_pb_value.h).
 *
 * A packed KeyValue of the shape every exporter sends (field 1 the key, then field 2 an
 * AnyValue holding one string, bool, int or double) is read directly from its bytes;
 * anything else (no value, a map or array value, fields repeated or out of order,
 * anything malformed) goes to protobuf-c's KeyValue unpack, so protobuf-c still decides
 * every unusual case. Strings are read up to their first NUL byte, as protobuf-c's
 * NUL-terminated copies are read by the rest of the decoder. */
#include "otlp_pb_value.h"

#include "json_write.h"

#include <endian.h>
#include <math.h>
#include <string.h>

/* max(a, b) for values computed once (CL_MAX evaluates its arguments twice). */
static int deeper(int a, int b)
{
    return a > b ? a : b;
}

static void write_double(struct cl_buf *out, double d)
{
    if (isnan(d))
        cl_buf_append_str(out, "\"NaN\"");
    else if (isinf(d))
        cl_buf_append_str(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        cl_buf_printf(out, "%.17g", d);
}

static int write_kvlist(struct cl_buf *out, const Cloudlog__Otlp__KeyValueList *l)
{
    int nest = 0;
    cl_buf_append_char(out, '{');
    for (size_t i = 0; l && i < l->n_values; i++) {
        if (i)
            cl_buf_append_char(out, ',');
        cl_json_write_string(out, l->values[i]->key, strlen(l->values[i]->key));
        cl_buf_append_char(out, ':');
        nest = deeper(nest, cl_otlp_pb_write_any(out, l->values[i]->value));
    }
    cl_buf_append_char(out, '}');
    return nest + 1;
}

int cl_otlp_pb_write_any(struct cl_buf *out, const Cloudlog__Otlp__AnyValue *v)
{
    int nest = 0;
    switch (v ? v->value_case : CLOUDLOG__OTLP__ANY_VALUE__VALUE__NOT_SET) {
    case CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE:
        cl_json_write_string(out, v->string_value, strlen(v->string_value));
        break;
    case CLOUDLOG__OTLP__ANY_VALUE__VALUE_BOOL_VALUE:
        cl_buf_append_str(out, v->bool_value ? "true" : "false");
        break;
    case CLOUDLOG__OTLP__ANY_VALUE__VALUE_INT_VALUE:
        cl_json_write_int(out, v->int_value);
        break;
    case CLOUDLOG__OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE:
        write_double(out, v->double_value);
        break;
    case CLOUDLOG__OTLP__ANY_VALUE__VALUE_ARRAY_VALUE:
        cl_buf_append_char(out, '[');
        for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++) {
            if (i)
                cl_buf_append_char(out, ',');
            nest = deeper(nest, cl_otlp_pb_write_any(out, v->array_value->values[i]));
        }
        cl_buf_append_char(out, ']');
        return nest + 1;
    case CLOUDLOG__OTLP__ANY_VALUE__VALUE_KVLIST_VALUE:
        return write_kvlist(out, v->kvlist_value);
    case CLOUDLOG__OTLP__ANY_VALUE__VALUE_BYTES_VALUE:
        cl_buf_append_char(out, '"');
        cl_proto_base64(out, v->bytes_value.data, v->bytes_value.len);
        cl_buf_append_char(out, '"');
        break;
    default:
        cl_buf_append_str(out, "null");
    }
    return 0;
}

int cl_otlp_pb_write_attrs(struct cl_proto_rec *r, Cloudlog__Otlp__KeyValue **kv, size_t n,
                           int skip_service_name)
{
    int nest = 0;
    for (size_t i = 0; i < n; i++) {
        if (skip_service_name && strcmp(kv[i]->key, "service.name") == 0)
            continue;
        if (cl_proto_rec_key(r, kv[i]->key, strlen(kv[i]->key)))
            nest = deeper(nest, cl_otlp_pb_write_any(r->out, kv[i]->value));
    }
    return nest;
}

/* ---- packed KeyValues ---- */

/* A varint at *p of at most 5 bytes that fits 31 bits (lengths within a message), moved
 * past; -1 otherwise (the unusual path decides). */
static int64_t small_varint(const uint8_t **p, const uint8_t *end)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 35 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80))
            return x < (1u << 31) ? (int64_t)x : -1;
    }
    return -1;
}

/* A length-delimited field `tag` at *p: its bytes into *s, *n, *p moved past; -1 if the
 * bytes at *p are not exactly that. */
static int delimited(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **s,
                     size_t *n)
{
    if (*p >= end || **p != tag)
        return -1;
    (*p)++;
    int64_t len = small_varint(p, end);
    if (len < 0 || (uint64_t)len > (uint64_t)(end - *p))
        return -1;
    *s = *p;
    *n = (size_t)len;
    *p += len;
    return 0;
}

/* A full 64-bit varint filling [p, end) exactly into *v; -1 otherwise. */
static int whole_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t b = *p++;
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return p == end ? 0 : -1;
        }
    }
    return -1;
}

/* An AnyValue holding exactly one string, bool, int64 or double field. */
struct scalar {
    uint8_t tag; /* the field's tag byte: 0x0A string, 0x10 bool, 0x18 int, 0x21 double */
    const char *s;
    size_t len;
    uint64_t v; /* bool, int64's bits, double's bits */
};

/* 0 with *sc when a[0..n) is such an AnyValue, else -1. */
static int scalar_of(const uint8_t *a, size_t n, struct scalar *sc)
{
    if (n == 0)
        return -1; /* before any arithmetic: empty bytes come as a NULL pointer */
    const uint8_t *p = a, *end = a + n, *s;
    sc->tag = a[0];
    switch (a[0]) {
    case 0x0A: /* 1: string_value */
        if (delimited(&p, end, 0x0A, &s, &sc->len) != 0 || p != end)
            return -1;
        sc->s = (const char *)s;
        sc->len = strnlen(sc->s, sc->len);
        return 0;
    case 0x10: /* 2: bool_value */
    case 0x18: /* 3: int_value */
        return whole_varint(a + 1, end, &sc->v);
    case 0x21: /* 4: double_value, fixed64 little-endian */
        if (n != 9)
            return -1;
        memcpy(&sc->v, a + 1, 8);
        sc->v = le64toh(sc->v);
        return 0;
    default:
        return -1;
    }
}

static void write_scalar(struct cl_buf *out, const struct scalar *sc)
{
    double d;
    switch (sc->tag) {
    case 0x0A:
        cl_json_write_string(out, sc->s, sc->len);
        break;
    case 0x10:
        cl_buf_append_str(out, sc->v ? "true" : "false");
        break;
    case 0x18:
        cl_json_write_int(out, (int64_t)sc->v);
        break;
    default:
        memcpy(&d, &sc->v, 8);
        write_double(out, d);
    }
}

/* The packed KeyValue kv[0..n) when it is of the usual shape (field 1 the key, then
 * field 2 an AnyValue of one scalar, nothing else): its key (up to a NUL) and value; 0,
 * or -1 for any other shape. */
static int usual(const uint8_t *kv, size_t n, const char **key, size_t *key_len, struct scalar *sc)
{
    if (n == 0)
        return -1; /* empty bytes come as a NULL pointer: protobuf-c's way */
    const uint8_t *p = kv, *end = kv + n, *k, *val;
    size_t val_len;
    if (delimited(&p, end, 0x0A, &k, key_len) != 0 ||
        delimited(&p, end, 0x12, &val, &val_len) != 0 || p != end ||
        scalar_of(val, val_len, sc) != 0)
        return -1;
    *key = (const char *)k;
    *key_len = strnlen(*key, *key_len);
    return 0;
}

/* One packed KeyValue of the usual shape: 1 when written (or its key already was),
 * 0 when it is of another shape (nothing written). */
static int write_usual(struct cl_proto_rec *r, const uint8_t *kv, size_t n)
{
    const char *key;
    size_t key_len;
    struct scalar sc = {0};
    if (usual(kv, n, &key, &key_len, &sc) != 0)
        return 0;
    if (cl_proto_rec_key(r, key, key_len))
        write_scalar(r->out, &sc);
    return 1;
}

int cl_otlp_pb_write_packed_attrs(struct cl_proto_rec *r, const ProtobufCBinaryData *kv, size_t n,
                                  ProtobufCAllocator *alloc)
{
    int nest = 0;
    for (size_t i = 0; i < n; i++) {
        if (write_usual(r, kv[i].data, kv[i].len))
            continue;
        Cloudlog__Otlp__KeyValue *u =
            cloudlog__otlp__key_value__unpack(alloc, kv[i].len, kv[i].data);
        if (!u)
            return -1;
        nest = deeper(nest, cl_otlp_pb_write_attrs(r, &u, 1, 0));
    }
    return nest;
}

/* A singular message field sent parts[0..n) times (n >= 1) as one message's bytes: the
 * occurrences joined in alloc, as protobuf merges them when it parses; -1 if out of
 * memory. */
static int joined(const ProtobufCBinaryData *parts, size_t n, ProtobufCAllocator *alloc,
                  const uint8_t **data, size_t *len)
{
    *data = parts[0].data;
    *len = parts[0].len;
    if (n == 1)
        return 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].len;
    uint8_t *j = alloc->alloc(alloc->allocator_data, total ? total : 1);
    if (!j)
        return -1;
    for (size_t i = 0, off = 0; i < n; off += parts[i].len, i++)
        if (parts[i].len) /* an empty occurrence has no data pointer */
            memcpy(j + off, parts[i].data, parts[i].len);
    *data = j;
    *len = total;
    return 0;
}

int cl_otlp_pb_body(const ProtobufCBinaryData *parts, size_t n, ProtobufCAllocator *alloc,
                    const char **s, size_t *len, Cloudlog__Otlp__AnyValue **any)
{
    struct scalar sc = {0};
    const uint8_t *data;
    size_t total;
    *any = NULL;
    if (n == 0)
        return 0;
    if (n == 1 && scalar_of(parts[0].data, parts[0].len, &sc) == 0 && sc.tag == 0x0A) {
        *s = sc.s;
        *len = sc.len;
        return 1;
    }
    if (joined(parts, n, alloc, &data, &total) != 0)
        return -1;
    *any = cloudlog__otlp__any_value__unpack(alloc, total, data);
    return *any ? 0 : -1;
}

int cl_otlp_pb_scope_name(const ProtobufCBinaryData *parts, size_t n, ProtobufCAllocator *alloc,
                          const char **s, size_t *len)
{
    const uint8_t *data, *name, *version;
    size_t total, name_len, version_len;
    *len = 0;
    if (n == 0)
        return 0;
    if (n == 1 && parts[0].len) { /* the usual shape: the name, then perhaps the version */
        const uint8_t *p = parts[0].data, *end = p + parts[0].len;
        if (delimited(&p, end, 0x0A, &name, &name_len) == 0 &&
            (p == end || (delimited(&p, end, 0x12, &version, &version_len) == 0 && p == end))) {
            *s = (const char *)name;
            *len = strnlen(*s, name_len);
            return 0;
        }
    }
    if (joined(parts, n, alloc, &data, &total) != 0)
        return -1;
    Cloudlog__Otlp__InstrumentationScope *sc =
        cloudlog__otlp__instrumentation_scope__unpack(alloc, total, data);
    if (!sc)
        return -1;
    *s = sc->name;
    *len = strlen(sc->name);
    return 0;
}

/* A NUL-terminated copy of s[0..n) in alloc (NULL if it is out of memory). */
static char *arena_str(ProtobufCAllocator *alloc, const char *s, size_t n)
{
    char *c = alloc->alloc(alloc->allocator_data, n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* The packed KeyValue kv[0..n) of the usual shape as protobuf-c's structs in alloc; NULL
 * if it is of another shape (or out of memory). */
static Cloudlog__Otlp__KeyValue *usual_struct(const uint8_t *kv, size_t n,
                                              ProtobufCAllocator *alloc)
{
    const char *key;
    size_t key_len;
    struct scalar sc = {0};
    if (usual(kv, n, &key, &key_len, &sc) != 0)
        return NULL;
    Cloudlog__Otlp__KeyValue *u = alloc->alloc(alloc->allocator_data, sizeof *u);
    Cloudlog__Otlp__AnyValue *v = alloc->alloc(alloc->allocator_data, sizeof *v);
    if (!u || !v)
        return NULL;
    cloudlog__otlp__key_value__init(u);
    cloudlog__otlp__any_value__init(v);
    u->value = v;
    u->key = arena_str(alloc, key, key_len);
    switch (sc.tag) {
    case 0x0A:
        v->value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value = arena_str(alloc, sc.s, sc.len);
        break;
    case 0x10:
        v->value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_BOOL_VALUE;
        v->bool_value = sc.v != 0;
        break;
    case 0x18:
        v->value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_INT_VALUE;
        v->int_value = (int64_t)sc.v;
        break;
    default:
        v->value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE;
        memcpy(&v->double_value, &sc.v, 8);
    }
    return u->key && (sc.tag != 0x0A || v->string_value) ? u : NULL;
}

int cl_otlp_pb_unpack_attrs(const ProtobufCBinaryData *kv, size_t n, ProtobufCAllocator *alloc,
                            Cloudlog__Otlp__KeyValue ***out)
{
    *out = alloc->alloc(alloc->allocator_data, (n ? n : 1) * sizeof **out);
    if (!*out)
        return -1;
    for (size_t i = 0; i < n; i++) {
        Cloudlog__Otlp__KeyValue *u = usual_struct(kv[i].data, kv[i].len, alloc);
        if (!u)
            u = cloudlog__otlp__key_value__unpack(alloc, kv[i].len, kv[i].data);
        if (!u)
            return -1;
        (*out)[i] = u;
    }
    return 0;
}
