/* test_protocols_otlp_json.c - OTLP JSON's one-pass cursor walk (otlp_json.c, the cursor
 * of json_walk.h): members in any order, attribute values read in place, the members
 * handed to the normalizer giving the records of the checked copy. (The older OTLP JSON
 * cases are in test_protocols_decode.c; the real exporters' bodies in
 * tests/e2e/test_proto_otlp.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_walk.h"
#include "json_write.h"
#include "otlp_common.h"
#include "otlp_logs.pb-c.h"
#include "otlp_pb_pack.h"
#include "proto_record.h"
#include "proto.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Normalized lines ("!why" for a rejection) of one decode. */
struct lines {
    struct cl_buf out;
    struct cl_norm_opts opts;
};

static void normalize(struct lines *l, const struct cl_slice *parts, size_t n,
                      const struct cl_norm_opts *o)
{
    struct cl_record_meta meta;
    char err[256];
    if (cl_record_normalize_parts(parts, n, o, &l->out, &meta, err, sizeof err) != CL_OK)
        cl_buf_printf(&l->out, "!%s\n", err);
}

static void on_record(void *arg, const char *json, size_t len)
{
    struct lines *l = arg;
    struct cl_slice whole = {json, len};
    normalize(l, &whole, 1, &l->opts);
}

static void on_document(void *arg, const struct cl_proto_doc *d)
{
    struct lines *l = arg;
    struct cl_norm_opts o = l->opts;
    o.keep_first_duplicate = o.empty_message_ok = 1;
    o.members = d->members;
    o.n_members = d->n_members;
    normalize(l, d->parts, d->n_parts, &o);
}

static void on_reject(void *arg, const char *why)
{
    cl_buf_printf(&((struct lines *)arg)->out, "!%s\n", why);
}

/* Decodes body through the document path and the checked copy; both must give the same
 * lines, which are returned (caller frees). */
static char *decode_both(cl_proto_decode_fn fn, const void *body, size_t len)
{
    struct lines a = {.opts = {.received_ms = 1796560800000,
                               .default_service = CL_SLICE_LIT("default"),
                               .max_record_bytes = 256 * 1024,
                               .max_depth = 64}},
                 b = a;
    struct cl_proto_sink copy = {on_record, on_reject, &a, NULL};
    struct cl_proto_sink doc = {on_record, on_reject, &b, on_document};
    struct cl_proto_opts o = {64, 256 * 1024, "", 1 << 20, NULL};
    char err[200];
    cl_buf_init(&a.out, 1 << 20);
    cl_buf_init(&b.out, 1 << 20);
    assert_int_equal(fn(body, len, &o, &copy, err, sizeof err), 0);
    assert_int_equal(fn(body, len, &o, &doc, err, sizeof err), 0);
    assert_string_equal(b.out.data, a.out.data);
    cl_buf_free(&b.out);
    return cl_buf_take(&a.out, NULL);
}

/* The OTLP JSON body gives `expect` on both paths. */
static void check(const char *body, const char *expect)
{
    char *got = decode_both(cl_otlp_json_decode, body, strlen(body));
    assert_string_equal(got, expect);
    free(got);
}

/* The usual order (resource before scopeLogs, scope before logRecords, key before value)
 * is read in one pass; any other order gives the same records. */
static void test_member_order(void **state)
{
    (void)state;
    static const char expect[] =
        "{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"level\":\"warn\",\"service\":\"svc_1\","
        "\"message\":\"m\",\"a\":\"x\",\"b\":7,\"host\":\"h\",\"scope\":\"lib\"}\n";
    check("{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
          "\"value\":{\"stringValue\":\"svc 1\"}},{\"key\":\"host\",\"value\":{\"stringValue\":"
          "\"h\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"lib\"},\"logRecords\":[{"
          "\"timeUnixNano\":\"1796560830123000000\",\"severityNumber\":13,\"body\":{"
          "\"stringValue\":\"m\"},\"attributes\":[{\"key\":\"a\",\"value\":{\"stringValue\":"
          "\"x\"}},{\"key\":\"b\",\"value\":{\"intValue\":\"7\"}}]}]}]}]}",
          expect);
    check("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"attributes\":[{\"value\":{"
          "\"stringValue\":\"x\"},\"key\":\"a\"},{\"value\":{\"intValue\":7},\"key\":\"b\"}],"
          "\"body\":{\"stringValue\":\"m\"},\"severityNumber\":13,\"timeUnixNano\":"
          "\"1796560830123000000\"}],\"scope\":{\"name\":\"lib\"}}],\"resource\":{\"attributes\":"
          "[{\"value\":{\"stringValue\":\"h\"},\"key\":\"host\"},{\"value\":{\"stringValue\":"
          "\"svc 1\"},\"key\":\"service.name\"}]}}]}",
          expect);
}

/* The first of a member name counts (as cl_jw_member would find it); a second
 * attributes, body, resource or scopeLogs is skipped. */
static void test_first_member_wins(void **state)
{
    (void)state;
    check("{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"r\",\"value\":{"
          "\"boolValue\":true}}]},\"resource\":{\"attributes\":[{\"key\":\"r2\",\"value\":{}}]},"
          "\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"one\"},\"body\":{"
          "\"stringValue\":\"two\"},\"attributes\":[{\"key\":\"k\",\"key\":\"k2\",\"value\":{"
          "\"doubleValue\":1.5,\"stringValue\":\"no\"}}],\"attributes\":[{\"key\":\"z\"}]}]}],"
          "\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"other\"}}]}]}]}",
          "{\"timestamp\":\"2026-12-06T12:40:00.000Z\",\"level\":\"info\",\"service\":"
          "\"default\",\"message\":\"one\",\"k\":1.5,\"r\":true}\n");
}

/* Attribute values: scalars as they are, intValue strings as numbers when they are JSON
 * integers (else kept as the string), arrays and maps made, unknown ones null. */
static void test_values(void **state)
{
    (void)state;
    check("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":"
          "\"v\"},\"traceId\":\"0AF7\",\"spanId\":\"ab12\",\"attributes\":["
          "{\"key\":\"i\",\"value\":{\"intValue\":\"-12\"}},"
          "{\"key\":\"z\",\"value\":{\"intValue\":\"007\"}},"
          "{\"key\":\"s\",\"value\":{\"stringValue\":{\"x\":1}}},"
          "{\"key\":\"a\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},"
          "{\"kvlistValue\":{\"values\":[{\"key\":\"q\",\"value\":{\"boolValue\":false}}]}}]}}},"
          "{\"key\":\"n\",\"value\":{\"nothing\":1}},{\"key\":\"e\"}]}]}]}]}",
          "{\"timestamp\":\"2026-12-06T12:40:00.000Z\",\"level\":\"info\",\"service\":"
          "\"default\",\"message\":\"v\",\"trace_id\":\"0af7\",\"span_id\":\"ab12\",\"i\":-12,"
          "\"z\":\"007\",\"s\":null,\"a\":[1,{\"q\":false}],\"n\":null,\"e\":null}\n");
}

/* An intValue holding a container with whitespace is copied as sent: the normalizer
 * reads that copy (it is not handed as members) and gives the checked copy's record. */
static void test_int_container_is_read(void **state)
{
    (void)state;
    check("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":"
          "\"v\"},\"attributes\":[{\"key\":\"c\",\"value\":{\"intValue\":[1, 2]}}]}]}]}]}",
          "{\"timestamp\":\"2026-12-06T12:40:00.000Z\",\"level\":\"info\",\"service\":"
          "\"default\",\"message\":\"v\",\"c\":[1,2]}\n");
}

/* The body is validated before it is walked: malformed bodies, and nesting one past the
 * limit, are refused as validating the whole body (cl_jw_body_object) refuses them. */
static void test_validation(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "", "[1]", "{", "{}", "{\"a\":{}", "{\"resourceLogs\":[]} x", "{\"resourceLogs\":[{}],}",
        "{\"resourceLogs\":[{},]}", "{\"resourceLogs\":[{} {}]}", "{1:2}", "{\"resourceLogs\" []}",
        ("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":"
         "\"\xff\"}}]}]}]}"),
        "{\"resourceLogs\":5,\"resourceLogs\":[]}", "{\"x\":[1,],\"resourceLogs\":[]}",
        "{\"resourceLogs\":[{\"resource\":{}}],\"x\":tru}",
        /* accepted: */
        " {\"x\":1, \"resourceLogs\" : [ ] ,\"y\":[1]} ", "{\"resourceLogs\":[{},{\"z\":[]}]}"};
    struct cl_proto_sink sink = {on_record, on_reject, NULL, NULL};
    struct lines l = {.opts = {.received_ms = 1796560800000,
                               .default_service = CL_SLICE_LIT("default"),
                               .max_record_bytes = 1 << 20,
                               .max_depth = 64}};
    struct cl_proto_opts o = {1, 256 * 1024, "", 1 << 20, NULL}; /* body depth 8 + 4 = 12 */
    char err[200], err2[200], deep[256];
    sink.arg = &l;
    cl_buf_init(&l.out, 1 << 20);
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies + 2; i++) {
        const char *body = i < sizeof bodies / sizeof *bodies ? bodies[i] : deep;
        if (body == deep) { /* 3 containers around the element, then 9 or 10 arrays */
            int k = (int)(i - sizeof bodies / sizeof *bodies) + 9;
            snprintf(deep, sizeof deep, "{\"resourceLogs\":[{\"a\":%.*s%.*s}]}", k, "[[[[[[[[[[[[",
                     k, "]]]]]]]]]]]]");
        }
        struct cl_json_value top;
        int whole = cl_jw_body_object(body, strlen(body), 12, "x", &top, err2, sizeof err2);
        int rc = cl_otlp_json_decode(body, strlen(body), &o, &sink, err, sizeof err);
        int accepted =
            i >= sizeof bodies / sizeof *bodies - 2 && i < sizeof bodies / sizeof *bodies + 1;
        assert_int_equal(rc, accepted ? 0 : -1);
        if (whole != 0)
            assert_int_equal(rc, -1); /* refused as the whole body's validation refuses */
        if (rc != 0)
            assert_non_null(strstr(err, "invalid OTLP JSON"));
    }
    assert_int_equal(l.out.len, 0); /* no record in any of them */
    cl_buf_free(&l.out);
}

/* The cursor reports what the validating reader reports for each member. */
static void test_cursor(void **state)
{
    (void)state;
    static const char json[] = "{ \"a\" : [1, {\"b\":\"x\\\"y\"}] , \"c\":{ } ,\"d\":-1.5e3}";
    struct cl_json_reader r;
    struct cl_json_value top, k1, v1, k2, v2;
    struct cl_jw_cursor c;
    cl_json_reader_init(&r, json, strlen(json), 64);
    assert_int_equal(cl_json_scan_value(&r, &top), 0);
    assert_int_equal(cl_json_object_enter(&r, &top, 64), 0);
    cl_jw_cursor_at(&c, &top);
    assert_int_equal(cl_jw_cursor_type(&c), CL_JSON_OBJECT);
    cl_jw_cursor_enter(&c);
    for (;;) {
        int a = cl_json_object_next(&r, &k1, &v1), b = cl_jw_cursor_key(&c, &k2);
        assert_int_equal(a, b);
        if (!a)
            break;
        cl_jw_cursor_take(&c, &v2);
        assert_int_equal(k1.len, k2.len);
        assert_ptr_equal(v1.ptr, v2.ptr);
        assert_int_equal(v1.len, v2.len);
        assert_int_equal(v1.type, v2.type);
        assert_int_equal(v1.flags, v2.flags);
    }
    /* entering the array instead of taking it */
    cl_jw_cursor_at(&c, &top);
    cl_jw_cursor_enter(&c);
    assert_int_equal(cl_jw_cursor_key(&c, &k2), 1);
    assert_int_equal(cl_jw_cursor_type(&c), CL_JSON_ARRAY);
    cl_jw_cursor_enter(&c);
    assert_int_equal(cl_jw_cursor_element(&c), 1);
    cl_jw_cursor_take(&c, &v2);
    assert_int_equal(v2.type, CL_JSON_NUMBER);
    assert_int_equal(cl_jw_cursor_element(&c), 1);
    cl_jw_cursor_take(&c, &v2);
    assert_int_equal(v2.flags, CL_JSON_F_ESCAPED);
    assert_int_equal(cl_jw_cursor_element(&c), 0);
    assert_int_equal(cl_jw_cursor_key(&c, &k2), 1);
    assert_memory_equal(k2.ptr, "\"c\"", 3);
}

/* Strings are skipped 16 bytes at a time: a quote or backslash at every offset of a long
 * string is found. */
static void test_cursor_long_strings(void **state)
{
    (void)state;
    char json[128];
    for (int at = 0; at < 39; at++) {
        char s[48];
        memset(s, 'x', 40);
        s[40] = '\0';
        s[at] = '\\';
        s[at + 1] = 'n';
        snprintf(json, sizeof json, "{\"k\":\"%s\",\"z\":1}", s);
        struct cl_json_reader r;
        struct cl_json_value top, key, v;
        struct cl_jw_cursor c;
        cl_json_reader_init(&r, json, strlen(json), 64);
        assert_int_equal(cl_json_scan_value(&r, &top), 0);
        cl_jw_cursor_at(&c, &top);
        cl_jw_cursor_enter(&c);
        assert_int_equal(cl_jw_cursor_key(&c, &key), 1);
        cl_jw_cursor_take(&c, &v);
        assert_int_equal(v.len, 42);
        assert_int_equal(v.flags, CL_JSON_F_ESCAPED);
        assert_int_equal(cl_jw_cursor_key(&c, &key), 1);
        assert_memory_equal(key.ptr, "\"z\"", 3);
    }
}

/* The record builder writes a key needing no escapes as it is (tested eight bytes at a
 * time) and escapes every other: a byte needing it at every offset is found. */
static void test_key_escaping_every_offset(void **state)
{
    (void)state;
    static const unsigned char bad[] = {0x01, 0x1f, '"', '\\', 0x7f, 0x80, 0xff};
    struct cl_buf out, want;
    struct cl_proto_rec r;
    struct cl_proto_sink sink = {on_record, on_reject, NULL, on_document};
    cl_buf_init(&out, 1 << 20);
    cl_buf_init(&want, 1 << 20);
    cl_proto_rec_init(&r, &out);
    cl_proto_rec_set_sink(&r, &sink); /* unchecked: the short-key path */
    for (size_t len = 1; len <= 20; len++)
        for (size_t at = 0; at < len; at++)
            for (size_t b = 0; b < sizeof bad; b++) {
                char key[24];
                memset(key, 'k', len);
                key[at] = (char)bad[b];
                cl_proto_rec_begin(&r);
                assert_int_equal(cl_proto_rec_key(&r, key, len), 1);
                cl_buf_reset(&want);
                cl_buf_append_char(&want, '{');
                cl_json_write_string(&want, key, len);
                cl_buf_append_char(&want, ':');
                assert_string_equal(out.data, want.data);
            }
    cl_proto_rec_free(&r);
    cl_buf_free(&out);
    cl_buf_free(&want);
}

/* OTLP protobuf hands the normalizer the members it wrote, except for a record nested as
 * deep as the normalizer's limit: that one it reads itself (and rejects past the limit),
 * as for the checked copy. */
static void test_pb_members_depth(void **state)
{
    (void)state;
    for (int depth = 62; depth <= 64; depth++) {
        Cloudlog__Otlp__AnyValue vals[64], leaf = CLOUDLOG__OTLP__ANY_VALUE__INIT;
        Cloudlog__Otlp__ArrayValue arrs[64];
        Cloudlog__Otlp__AnyValue *ptrs[64];
        leaf.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_INT_VALUE;
        leaf.int_value = 7;
        for (int i = depth - 1; i >= 0; i--) { /* vals[0] = [[...[7]...]], depth arrays */
            cloudlog__otlp__any_value__init(&vals[i]);
            cloudlog__otlp__array_value__init(&arrs[i]);
            ptrs[i] = i == depth - 1 ? &leaf : &vals[i + 1];
            arrs[i].n_values = 1;
            arrs[i].values = &ptrs[i];
            vals[i].value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_ARRAY_VALUE;
            vals[i].array_value = &arrs[i];
        }
        Cloudlog__Otlp__AnyValue body = CLOUDLOG__OTLP__ANY_VALUE__INIT;
        body.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
        body.string_value = "m";
        Cloudlog__Otlp__KeyValue kv = CLOUDLOG__OTLP__KEY_VALUE__INIT, *kvp = &kv;
        kv.key = "a";
        kv.value = &vals[0];
        Cloudlog__Otlp__LogRecord lr = CLOUDLOG__OTLP__LOG_RECORD__INIT, *lrp = &lr;
        lr.time_unix_nano = 1796560830123000000ull;
        body_pack(&lr, &body);
        lr.n_attributes = 1;
        lr.attributes = attrs_pack(&kvp, 1);
        size_t len;
        uint8_t *buf = pack_one_resource(NULL, &lrp, 1, &len);
        attrs_free(lr.attributes, lr.n_attributes);
        attrs_free(lr.body, lr.n_body);
        char *got = decode_both(cl_otlp_pb_decode, buf, len);
        if (depth < 64)
            assert_non_null(strstr(got, "\"message\":\"m\",\"a\":[[[["));
        else
            assert_non_null(strstr(got, "!invalid JSON: nesting too deep"));
        free(got);
        free(buf);
    }
}

/* ---- OTLP protobuf frames read by hand, messages by protobuf-c ---- */

static void put_varint(struct cl_buf *b, uint64_t v)
{
    do {
        cl_buf_append_char(b, (char)((v & 0x7F) | (v >= 0x80 ? 0x80 : 0)));
        v >>= 7;
    } while (v);
}

/* A length-delimited field: tag, length, bytes. */
static void put_bytes(struct cl_buf *b, unsigned num, const void *p, size_t n)
{
    put_varint(b, (uint64_t)num << 3 | 2);
    put_varint(b, n);
    cl_buf_append(b, p, n);
}

/* A packed Resource with one string attribute. */
static void put_resource(struct cl_buf *b, unsigned num, const char *key, const char *val)
{
    Cloudlog__Otlp__AnyValue v = CLOUDLOG__OTLP__ANY_VALUE__INIT;
    v.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
    v.string_value = (char *)val;
    Cloudlog__Otlp__KeyValue kv = CLOUDLOG__OTLP__KEY_VALUE__INIT, *kvp = &kv;
    kv.key = (char *)key;
    kv.value = &v;
    Cloudlog__Otlp__Resource res = CLOUDLOG__OTLP__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = attrs_pack(&kvp, 1);
    uint8_t tmp[256];
    put_bytes(b, num, tmp, cloudlog__otlp__resource__pack(&res, tmp));
    attrs_free(res.attributes, res.n_attributes);
}

/* A packed ScopeLogs with one record whose body is msg. */
static void put_scope_logs(struct cl_buf *b, const char *msg)
{
    Cloudlog__Otlp__AnyValue body = CLOUDLOG__OTLP__ANY_VALUE__INIT;
    body.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
    body.string_value = (char *)msg;
    Cloudlog__Otlp__LogRecord lr = CLOUDLOG__OTLP__LOG_RECORD__INIT;
    lr.time_unix_nano = 1796560830123000000ull;
    body_pack(&lr, &body);
    uint8_t tmp[256];
    struct cl_buf sl;
    cl_buf_init(&sl, 1 << 16);
    put_bytes(&sl, 3, "https://schema", 14); /* schema_url: not read */
    put_bytes(&sl, 2, tmp, cloudlog__otlp__log_record__pack(&lr, tmp));
    attrs_free(lr.body, lr.n_body);
    put_bytes(&sl, 1, "\x0a\x03lib", 5); /* the scope after its record: {name: "lib"} */
    put_bytes(b, 2, sl.data, sl.len);
    cl_buf_free(&sl);
}

/* The frames in any order, a singular message sent in two pieces (merged, as protobuf
 * says), unknown fields skipped: the records of protobuf-c's whole-request unpack. */
static void test_pb_frames(void **state)
{
    (void)state;
    struct cl_buf rl, req;
    cl_buf_init(&rl, 1 << 16);
    cl_buf_init(&req, 1 << 16);
    put_scope_logs(&rl, "one"); /* records before their resource */
    put_resource(&rl, 1, "service.name", "svc");
    put_varint(&rl, 9 << 3 | 0); /* an unknown varint field */
    put_varint(&rl, 300);
    put_resource(&rl, 1, "host", "h"); /* the resource's second piece */
    put_scope_logs(&rl, "two");
    put_bytes(&req, 1, rl.data, rl.len);
    char *got = decode_both(cl_otlp_pb_decode, req.data, req.len);
    assert_string_equal(got, "{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"level\":\"info\","
                             "\"service\":\"svc\",\"message\":\"one\",\"host\":\"h\","
                             "\"scope\":\"lib\"}\n"
                             "{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"level\":\"info\","
                             "\"service\":\"svc\",\"message\":\"two\",\"host\":\"h\","
                             "\"scope\":\"lib\"}\n");
    free(got);
    cl_buf_free(&rl);
    cl_buf_free(&req);
}

/* A malformed frame or record anywhere fails the whole body, also after records were
 * handed on (the caller drops them): a known field with another wire type, a length
 * past the end, a group, a broken record. */
static void test_pb_frames_malformed(void **state)
{
    (void)state;
    struct cl_proto_sink sink = {on_record, on_reject, NULL, NULL};
    struct lines l = {.opts = {.received_ms = 1796560800000,
                               .default_service = CL_SLICE_LIT("default"),
                               .max_record_bytes = 1 << 20,
                               .max_depth = 64}};
    struct cl_proto_opts o = {64, 256 * 1024, "", 1 << 20, NULL};
    char err[200];
    sink.arg = &l;
    cl_buf_init(&l.out, 1 << 20);
    for (int bad = 0; bad < 5; bad++) {
        struct cl_buf rl, req;
        cl_buf_init(&rl, 1 << 16);
        cl_buf_init(&req, 1 << 16);
        put_scope_logs(&rl, "fine");
        if (bad == 0)
            put_varint(&rl, 2 << 3 | 0), put_varint(&rl, 1); /* scope_logs as a varint */
        if (bad == 1)
            put_varint(&rl, 2 << 3 | 2), put_varint(&rl, 50); /* past the end */
        if (bad == 2)
            put_varint(&rl, 7 << 3 | 3); /* a group */
        if (bad == 3)
            put_bytes(&rl, 2, "\x12\x02\x0a", 3); /* a record cut inside */
        put_bytes(&req, 1, rl.data, rl.len);
        if (bad == 4)
            put_varint(&req, 1 << 3 | 5), cl_buf_append(&req, "abcd", 4); /* fixed32 */
        assert_int_equal(cl_otlp_pb_decode(req.data, req.len, &o, &sink, err, sizeof err), -1);
        assert_non_null(strstr(err, "ExportLogsServiceRequest"));
        cl_buf_free(&rl);
        cl_buf_free(&req);
    }
    cl_buf_free(&l.out);
}

static void test_parse_u64(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(cl_otlp_parse_u64("18446744073709551615", 20, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(cl_otlp_parse_u64("18446744073709551616", 20, &v), -1);
    assert_int_equal(cl_otlp_parse_u64("99999999999999999999", 20, &v), -1);
    assert_int_equal(cl_otlp_parse_u64("9999999999999999999", 19, &v), 0);
    assert_true(v == 9999999999999999999ull);
    assert_int_equal(cl_otlp_parse_u64("12a", 3, &v), -1);
}

/* An empty eventName and a body with no value give the same record from OTLP JSON as
 * from OTLP protobuf, where both are proto3's unset (no event_name, no message). */
static void test_unset_values_agree_with_pb(void **state)
{
    (void)state;
    Cloudlog__Otlp__AnyValue body = CLOUDLOG__OTLP__ANY_VALUE__INIT; /* value not set */
    Cloudlog__Otlp__LogRecord lr = CLOUDLOG__OTLP__LOG_RECORD__INIT, *lrp = &lr;
    lr.time_unix_nano = 1796560830123000000ull;
    lr.event_name = "";
    body_pack(&lr, &body);
    size_t len;
    uint8_t *buf = pack_one_resource(NULL, &lrp, 1, &len);
    attrs_free(lr.body, lr.n_body);
    char *pb = decode_both(cl_otlp_pb_decode, buf, len);
    free(buf);
    static const char expect[] = "{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"level\":\"info\","
                                 "\"service\":\"default\",\"message\":\"\"}\n";
    assert_string_equal(pb, expect);
    check("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":"
          "\"1796560830123000000\",\"eventName\":\"\",\"body\":{}}]}]}]}",
          expect);
    free(pb);
}

/* The first service.name holding a string names the service in both encodings: one
 * without a stringValue (an intValue, an empty AnyValue) before it does not hide it. */
static void test_service_name_first_string(void **state)
{
    (void)state;
    Cloudlog__Otlp__AnyValue v_int = CLOUDLOG__OTLP__ANY_VALUE__INIT,
                             v_none = CLOUDLOG__OTLP__ANY_VALUE__INIT,
                             v_str = CLOUDLOG__OTLP__ANY_VALUE__INIT;
    v_int.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_INT_VALUE;
    v_int.int_value = 3;
    v_str.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
    v_str.string_value = "svc2";
    Cloudlog__Otlp__KeyValue kv[3] = {CLOUDLOG__OTLP__KEY_VALUE__INIT,
                                      CLOUDLOG__OTLP__KEY_VALUE__INIT,
                                      CLOUDLOG__OTLP__KEY_VALUE__INIT};
    Cloudlog__Otlp__AnyValue *vals[3] = {&v_int, &v_none, &v_str};
    Cloudlog__Otlp__KeyValue *kvp[3];
    for (size_t i = 0; i < 3; i++) {
        kv[i].key = "service.name";
        kv[i].value = vals[i];
        kvp[i] = &kv[i];
    }
    Cloudlog__Otlp__Resource res = CLOUDLOG__OTLP__RESOURCE__INIT;
    res.n_attributes = 3;
    res.attributes = attrs_pack(kvp, 3);
    Cloudlog__Otlp__AnyValue body = CLOUDLOG__OTLP__ANY_VALUE__INIT;
    body.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
    body.string_value = "m";
    Cloudlog__Otlp__LogRecord lr = CLOUDLOG__OTLP__LOG_RECORD__INIT, *lrp = &lr;
    lr.time_unix_nano = 1796560830123000000ull;
    body_pack(&lr, &body);
    size_t len;
    uint8_t *buf = pack_one_resource(&res, &lrp, 1, &len);
    attrs_free(lr.body, lr.n_body);
    attrs_free(res.attributes, res.n_attributes);
    char *pb = decode_both(cl_otlp_pb_decode, buf, len);
    free(buf);
    static const char expect[] = "{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"level\":\"info\","
                                 "\"service\":\"svc2\",\"message\":\"m\"}\n";
    assert_string_equal(pb, expect);
    check("{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
          "\"value\":{\"intValue\":\"3\"}},{\"key\":\"service.name\",\"value\":{}},{\"key\":"
          "\"service.name\",\"value\":{\"stringValue\":\"svc2\"}}]},\"scopeLogs\":[{"
          "\"logRecords\":[{\"timeUnixNano\":\"1796560830123000000\",\"body\":{"
          "\"stringValue\":\"m\"}}]}]}]}",
          expect);
    free(pb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_order),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_first_member_wins),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_int_container_is_read),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_cursor_long_strings),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_key_escaping_every_offset),
        cmocka_unit_test(test_pb_members_depth),
        cmocka_unit_test(test_pb_frames),
        cmocka_unit_test(test_unset_values_agree_with_pb),
        cmocka_unit_test(test_service_name_first_string),
        cmocka_unit_test(test_pb_frames_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
