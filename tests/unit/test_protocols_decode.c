/* test_protocols_decode.c - the protocol decoders (src/protocols): input records made
 * from OTLP protobuf/JSON, Fluent Bit msgpack and json_stream, Splunk HEC bodies; the
 * record builder's unique keys; malformed and hostile bodies. (The real clients' bytes
 * are tested end to end in tests/e2e/test_proto_*.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "loki_push.pb-c.h"
#include "otlp_logs.pb-c.h"
#include "json_walk.h"
#include "proto.h"
#include "proto_record.h"
#include "record.h"

#include <msgpack.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records joined by '\n', rejections as "!why\n". */
struct collect {
    struct cl_buf out;
    int records, rejects;
};

static void on_record(void *arg, const char *json, size_t len)
{
    struct collect *c = arg;
    cl_buf_append(&c->out, json, len);
    cl_buf_append_char(&c->out, '\n');
    c->records++;
}

static void on_reject(void *arg, const char *why)
{
    struct collect *c = arg;
    cl_buf_printf(&c->out, "!%s\n", why);
    c->rejects++;
}

static const struct cl_proto_opts OPTS = {64, 256 * 1024, "", 1 << 20, NULL};

static int decode_with(cl_proto_decode_fn fn, const struct cl_proto_opts *o, const void *body,
                       size_t len, struct collect *c, char *err)
{
    memset(c, 0, sizeof *c);
    cl_buf_init(&c->out, 1 << 26);
    struct cl_proto_sink sink = {on_record, on_reject, c, NULL};
    return fn(body, len, o, &sink, err, 200);
}

static int decode(cl_proto_decode_fn fn, const void *body, size_t len, struct collect *c, char *err)
{
    return decode_with(fn, &OPTS, body, len, c, err);
}

static void done(struct collect *c)
{
    cl_buf_free(&c->out);
}

/* ---- record builder ---- */

/* The non-validating walker reports what the validating reader reports: every member's
 * key and value span, type and flags (escapes, whitespace), nested values included. */
static void check_walk_span(const char *json, size_t len)
{
    struct cl_json_reader r;
    struct cl_json_value top, k1, v1, k2, v2;
    struct cl_jw_object it;
    cl_json_reader_init(&r, json, len, 64);
    assert_int_equal(cl_json_scan_value(&r, &top), 0);
    assert_int_equal(cl_json_object_enter(&r, &top, 64), 0);
    assert_int_equal(cl_jw_object_begin(&it, &top), 0);
    for (;;) {
        int a = cl_json_object_next(&r, &k1, &v1), b = cl_jw_object_next(&it, &k2, &v2);
        assert_int_equal(b, a);
        if (a != 1)
            break;
        assert_true(k1.ptr == k2.ptr && k1.len == k2.len && k1.flags == k2.flags);
        assert_true(v1.ptr == v2.ptr && v1.len == v2.len);
        assert_int_equal(v2.type, v1.type);
        assert_int_equal(v2.flags, v1.flags);
        if (v1.type == CL_JSON_OBJECT)
            check_walk_span(v1.ptr, v1.len);
    }
}

static void check_walk_matches_reader(const char *json)
{
    check_walk_span(json, strlen(json));
}

static void test_json_walk(void **state)
{
    (void)state;
    check_walk_matches_reader("{}");
    check_walk_matches_reader("{ }");
    check_walk_matches_reader("{\"a\":1,\"b\":-2.5e3,\"c\":true,\"d\":false,\"e\":null}");
    check_walk_matches_reader(" { \"a\" : \"x\\\"y\" , \"k\\u0041\":[1, {\"z\":\"}]\"}] ,"
                              "\"n\":{\"m\":{\"q\":[[],{}]}},\"s\":\"a long string over eight "
                              "bytes \\\\ with escapes\"}\n");
    check_walk_matches_reader("{\"u\":\"\xc3\xa9t\xc3\xa9\",\"w\":[\"]\",\"\\\"]\"]}");
    /* Inside a body that cl_jw_body_array indexed, containers' ends and flags come from
     * the index: the same as the validating reader's. */
    const char *body = "{\"s\":[ {\"a\": [1, {\"b\":\"\\n\"}]}, {\"c\":{\"d\":{}}},[\"]\"],"
                       "{\"e\":{\"f\":[ ]}} ]}";
    struct cl_jw_array it;
    struct cl_json_value e, ref;
    char err[100];
    unsigned want_flags[] = {CL_JSON_F_SPACE | CL_JSON_F_ESCAPED, 0, 0, CL_JSON_F_SPACE};
    assert_int_equal(cl_jw_body_array(body, strlen(body), 64, "s", "t", &it, err, sizeof err), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(cl_jw_array_next(&it, &e), 1);
        struct cl_json_reader r;
        cl_json_reader_init(&r, e.ptr, strlen(e.ptr), 64);
        assert_int_equal(cl_json_scan_value(&r, &ref), 0);
        assert_true(ref.ptr == e.ptr && ref.len == e.len);
        assert_int_equal(e.flags, ref.flags);
        assert_int_equal(e.flags, want_flags[i]);
        if (e.type == CL_JSON_OBJECT)
            check_walk_span(e.ptr, e.len);
    }
    assert_int_equal(cl_jw_array_next(&it, &e), 0);
    cl_jw_body_end();
    struct cl_json_value v = {CL_JSON_OBJECT, 0, "{\"level\":\"in\\u0066o\"}", 0};
    v.len = strlen(v.ptr);
    struct cl_json_value lv = cl_jw_member(&v, "level", 64);
    char text[4];
    assert_int_equal(lv.flags, CL_JSON_F_ESCAPED);
    assert_int_equal(cl_jw_text(&lv, text, sizeof text), 3); /* cut at cap - 1 */
    assert_string_equal(text, "inf");
}

/* The document path (records as parts, proto.h) and the copy path (proto_record.h)
 * normalize to the same lines, rejections and sizes, whatever the labels, duplicates or
 * defaults: each record of both is normalized here as cl_ingest_parse_decoded does. */
struct normalized {
    struct cl_buf lines;
    struct cl_norm_opts opts;
    int parts_only; /* the document path without the decoder's members: parts read again */
};

static void norm_line(struct normalized *n, const struct cl_slice *parts, size_t k,
                      const struct cl_norm_opts *o)
{
    struct cl_record_meta meta;
    char err[256];
    if (cl_record_normalize_parts(parts, k, o, &n->lines, &meta, err, sizeof err) != CL_OK)
        cl_buf_printf(&n->lines, "!%s\n", err);
}

static void norm_record(void *arg, const char *json, size_t len)
{
    struct normalized *n = arg;
    struct cl_slice whole = {json, len};
    norm_line(n, &whole, 1, &n->opts);
}

static void norm_document(void *arg, const struct cl_proto_doc *d)
{
    struct normalized *n = arg;
    struct cl_norm_opts o = n->opts;
    o.keep_first_duplicate = o.empty_message_ok = 1;
    o.members = n->parts_only ? NULL : d->members;
    o.n_members = n->parts_only ? 0 : d->n_members;
    if (d->service_len) {
        o.default_service = (struct cl_slice){d->service, d->service_len};
        o.document_service = 1;
    }
    norm_line(n, d->parts, d->n_parts, &o);
}

static void norm_reject(void *arg, const char *why)
{
    cl_buf_printf(&((struct normalized *)arg)->lines, "!%s\n", why);
}

/* The document path (with the decoder's members) gives the records of the copy path, or
 * with parts_only of the document path that reads its parts again. */
static void check_agree_n(cl_proto_decode_fn fn, const void *body, size_t len, size_t max_record,
                          const char *expect, int parts_only)
{
    struct normalized a = {.opts = {.received_ms = 1796560800000,
                                    .default_service = CL_SLICE_LIT("default"),
                                    .max_record_bytes = max_record,
                                    .max_depth = 64},
                           .parts_only = parts_only},
                      b = a;
    b.parts_only = 0;
    struct cl_proto_sink copy = {norm_record, norm_reject, &a, parts_only ? norm_document : NULL};
    struct cl_proto_sink doc = {norm_record, norm_reject, &b, norm_document};
    struct cl_proto_opts o = {64, max_record, "path-idx", 1 << 20, NULL};
    char err[200];
    cl_buf_init(&a.lines, 1 << 20);
    cl_buf_init(&b.lines, 1 << 20);
    assert_int_equal(fn(body, len, &o, &copy, err, sizeof err), 0);
    assert_int_equal(fn(body, len, &o, &doc, err, sizeof err), 0);
    assert_string_equal(b.lines.data, a.lines.data);
    if (!strstr(a.lines.data, expect))
        fail_msg("%s", a.lines.data);
    cl_buf_free(&a.lines);
    cl_buf_free(&b.lines);
}

static void check_agree(cl_proto_decode_fn fn, const char *body, size_t max_record,
                        const char *expect, int parts_only)
{
    check_agree_n(fn, body, strlen(body), max_record, expect, parts_only);
}

static void check_paths_agree_n(cl_proto_decode_fn fn, const void *body, size_t len,
                                size_t max_record, const char *expect)
{
    check_agree_n(fn, body, len, max_record, expect, 0);
    check_agree_n(fn, body, len, max_record, expect, 1);
}

static void check_paths_agree(cl_proto_decode_fn fn, const char *body, size_t max_record,
                              const char *expect)
{
    check_paths_agree_n(fn, body, strlen(body), max_record, expect);
}

static void check_both(cl_proto_decode_fn fn, const char *body, size_t max_record,
                       const char *expect, int unused)
{
    (void)unused;
    check_paths_agree(fn, body, max_record, expect);
}

static void test_document_path(void **state)
{
    (void)state;
    const char *loki =
        "{\"streams\":[{\"stream\":{\"service_name\":\"a b\",\"level\":\"warn\"},\"values\":["
        "[\"1796560830123456789\",\"one\"],[\"1796560831000000000\",\"{\\\"msg\\\":\\\"j\\\","
        "\\\"level\\\":30, \\\"service_name\\\":\\\"own\\\"}\",{\"k\":\"v\",\"level\":\"x\"}]]},"
        "{\"stream\":{\"app\":\"other\"},\"values\":[[\"1796560832000000000\",\"two\"]]},"
        "{\"stream\":{\"service_name\":\"a b\",\"level\":\"warn\"},\"values\":["
        "[\"1796560833000000000\",\"{\\\"message\\\":1}\"]]},"
        "{\"stream\":{},\"values\":[[\"0\",\"{}\"]]}]}";
    check_paths_agree(cl_loki_json_decode, loki, 256 * 1024,
                      "\"level\":\"warn\",\"service\":\"a_b\",\"message\":\"one\"");
    check_paths_agree(cl_loki_json_decode, loki, 95, "!record too large ("); /* the copy's size */
    const char *hec = "{\"time\":1796560830.5,\"host\":\"h\",\"event\":{\"message\":\"m\",\"host\":"
                      "\"own\",\"ts\":1},\"fields\":{\"host\":\"f\",\"x\":[1, 2]}}"
                      "{\"event\":[1, 2],\"index\":\"i\"}{\"time\":\"bad\",\"event\":\"s\","
                      "\"sourcetype\":\"st\"}{\"event\":{\"a\":1,\"a\":2}}";
    check_paths_agree(cl_hec_event_decode, hec, 256 * 1024, "\"message\":\"m\",\"host\":\"own\"");
    check_paths_agree(cl_hec_event_decode, hec, 60, "!record too large (");
    const char *es = "{\"index\":{\"_index\":\"ix one\"}}\n{\"message\":\"m\",\"n\":1,\"n\":2}\n"
                     "{\"create\":{}}\n{\"ts\":1796560830000, \"o\": { \"a\" : 1 }}\n"
                     "{\"create\":{}}\n{\"app\":\"web\",\"msg\":\"x\"}\n"
                     "{\"create\":{}}\n{\"service\":\"bad service\",\"msg\":\"x\"}\n";
    check_paths_agree(cl_es_bulk_decode, es, 256 * 1024,
                      "\"service\":\"ix_one\",\"message\":\"m\",\"n\":1}");
    check_paths_agree(cl_es_bulk_decode, es, 50, "!record too large (");
}

/* The Loki document path hands the normalizer the members it found (cl_proto_doc.members)
 * when it knows every part's: the records must be the copy path's, also where it falls
 * back to the parts (a line too deep for the normalizer, containers in labels or
 * metadata) and for escaped keys, whitespace and duplicates across parts. */
static void test_document_path_members(void **state)
{
    (void)state;
    static const char head[] =
        "{\"streams\":[{\"stream\":{\"app\":\"a\",\"k\\u0032\":\"l\"},\"values\":["
        "[\"1796560830000000000\",\"{\\\"msg\\\":\\\"m\\\", \\\"k1\\\" : [1, {\\\"b\\\": 2}],"
        "\\\"q\\\\\\\"k\\\":1,\\\"app\\\":\\\"line\\\",\\\"time\\\":\\\"bad\\\"}\"],"
        "[\"1796560831000000000\",\"{\\\"msg\\\":\\\"x\\\",\\\"app\\\":\\\"l\\\"}\",{\"m\":{\"o\":"
        "1},"
        "\"app\":\"meta\"}],[\"1796560832000000000\",\"{\\\"x\\\":1} \",{\"app\":\"m\"}],"
        "[\"1796560832500000000\",\"{\\\"z\\\":1,oops\"],"
        "[\"1796560833000000000\",\"{\\\"deep\\\":";
    static const char tail[] =
        "}\"]]},{\"stream\":{\"o\":{\"a\":1},\"service\":\"s\"},"
        "\"values\":[[\"1796560834000000000\",\"{\\\"msg\\\":\\\"y\\\"}\"]]}]}";
    char body[1024];
    for (int deep = 1; deep <= 64; deep += 63) { /* the last line nests 2, then 65 deep */
        size_t n = strlen(head);
        memcpy(body, head, n);
        for (int i = 0; i < deep; i++)
            body[n++] = '[';
        for (int i = 0; i < deep; i++)
            body[n++] = ']';
        memcpy(body + n, tail, sizeof tail);
        /* Over the normalizer's 64 the reason names the byte in the line (parts) or in
         * the copy: only the parts path is the reference then. */
        void (*check)(cl_proto_decode_fn, const char *, size_t, const char *, int) =
            deep > 1 ? check_agree : check_both;
        check(cl_loki_json_decode, body, 256 * 1024,
              "\"service\":\"a\",\"message\":\"m\",\"k1\":[1,{\"b\":2}]", 1);
        check(cl_loki_json_decode, body, 256 * 1024,
              deep > 1 ? "!invalid JSON: nesting too deep at" : "\"deep\":[]", 1);
        check(cl_loki_json_decode, body, 256 * 1024, "\"o\":{\"a\":1}", 1);
        check(cl_loki_json_decode, body, 120, "!record too large (", 1);
    }
}

static void test_record_unique_keys(void **state)
{
    struct cl_buf out;
    struct cl_proto_rec r;
    cl_buf_init(&out, 1 << 20);
    cl_proto_rec_init(&r, &out);
    cl_proto_rec_begin(&r);
    cl_proto_rec_string(&r, "message", "first", 5);
    cl_proto_rec_string(&r, "message", "second", 6);
    assert_int_equal(cl_proto_rec_key_json(&r, "\"message\"", 9), 0);
    cl_proto_rec_string(&r, "q\"k", "v\n", 2);
    char key[16];
    for (int i = 0; i < 200; i++) { /* grows the key table past its first size */
        snprintf(key, sizeof key, "k%d", i % 100);
        if (cl_proto_rec_key(&r, key, strlen(key)))
            cl_buf_printf(&out, "%d", i);
    }
    cl_proto_rec_end(&r);
    assert_true(cl_proto_rec_has(&r, "k99", 3));
    assert_false(cl_proto_rec_has(&r, "k100", 4));
    assert_non_null(strstr(out.data, "{\"message\":\"first\",\"q\\\"k\":\"v\\n\",\"k0\":0,"));
    assert_non_null(strstr(out.data, ",\"k99\":99}"));
    assert_null(strstr(out.data, "second"));
    assert_null(strstr(out.data, ":100"));
    cl_proto_rec_begin(&r); /* a new record forgets the keys */
    cl_proto_rec_string(&r, "k1", "x", 1);
    cl_proto_rec_ensure_message(&r);
    cl_proto_rec_end(&r);
    assert_string_equal(out.data, "{\"k1\":\"x\",\"message\":\"\"}");
    /* A small record after a big one drops the big key table: clearing it for every later
     * record made the work quadratic in the body. */
    cl_proto_rec_begin(&r);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        cl_proto_rec_key(&r, key, strlen(key));
    }
    cl_proto_rec_begin(&r);
    cl_proto_rec_string(&r, "k1", "x", 1);
    cl_proto_rec_begin(&r);
    assert_true(r.n_slots <= 64);
    cl_proto_rec_string(&r, "k1", "x", 1);
    cl_proto_rec_string(&r, "k1", "y", 1);
    cl_proto_rec_end(&r);
    assert_string_equal(out.data, "{\"k1\":\"x\"}");
    cl_proto_rec_free(&r);
    cl_buf_free(&out);
}

static void test_hex_base64_service(void **state)
{
    struct cl_buf b;
    cl_buf_init(&b, 1024);
    cl_proto_hex(&b, (const uint8_t *)"\x0a\xf7\xff", 3);
    cl_buf_append_char(&b, ' ');
    cl_proto_base64(&b, (const uint8_t *)"ab", 2);
    cl_buf_append_char(&b, ' ');
    cl_proto_base64(&b, (const uint8_t *)"abc", 3);
    assert_string_equal(b.data, "0af7ff YWI= YWJj");
    cl_buf_free(&b);
    char svc[] = "unknown_service:node js";
    size_t n = cl_proto_service_clean(svc, strlen(svc));
    assert_int_equal(n, strlen(svc));
    assert_string_equal(svc, "unknown_service_node_js");
}

/* ---- OTLP JSON ---- */

static const char OTLP_JSON[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":["
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"unknown_service:node\"}},"
    "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"h1\"}}]},"
    "\"scopeLogs\":[{\"scope\":{\"name\":\"lib\"},\"logRecords\":["
    "{\"timeUnixNano\":\"1796560830123456789\",\"severityNumber\":17,\"body\":{\"stringValue\":"
    "\"boom\"},\"traceId\":\"0AF7651916CD43DD8448EB211C80319C\",\"attributes\":["
    "{\"key\":\"n\",\"value\":{\"intValue\":\"-12\"}},{\"key\":\"d\",\"value\":{\"doubleValue\":"
    "1.5}},{\"key\":\"host.name\",\"value\":{\"stringValue\":\"from-log\"}},"
    "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"boolValue\":true},{}]}}}]},"
    "{\"observedTimeUnixNano\":1796560831000000000,\"severityText\":\"Chatty\","
    "\"body\":{\"kvlistValue\":{\"values\":[{\"key\":\"msg\",\"value\":{\"stringValue\":\"kv\"}}"
    "]}}},"
    "7,"
    "{\"body\":{\"intValue\":\"3\"}}"
    "]}]}]}";

/* OTLP JSON hands the normalizer its copy's members (cl_proto_doc.members) unless the
 * normalizer could read more in it: the records must be the copy path's, also for escaped
 * keys that name one field, and nesting at and over the normalizer's depth. */
static void test_otlp_json_document_path(void **state)
{
    (void)state;
    static const char open[] = "{\"arrayValue\":{\"values\":[", close[] = "]}}";
    char body[16384];
    size_t n = (size_t)snprintf(
        body, sizeof body,
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
        "{\"body\":{\"stringValue\":\"e\"},\"attributes\":[{\"key\":\"k1\",\"value\":{"
        "\"intValue\":1}},{\"key\":\"k\\u0031\",\"value\":{\"intValue\":2}}]}");
    for (int depth = 62; depth <= 64; depth++) { /* record depth 63, 64 (the limit), 65 */
        n += (size_t)snprintf(body + n, sizeof body - n,
                              ",{\"body\":{\"stringValue\":\"d%d\"},\"attributes\":[{\"key\":"
                              "\"a\",\"value\":",
                              depth);
        for (int i = 0; i < depth; i++)
            n += (size_t)snprintf(body + n, sizeof body - n, "%s", open);
        n += (size_t)snprintf(body + n, sizeof body - n, "{\"intValue\":\"7\"}");
        for (int i = 0; i < depth; i++)
            n += (size_t)snprintf(body + n, sizeof body - n, "%s", close);
        n += (size_t)snprintf(body + n, sizeof body - n, "}]}");
    }
    n += (size_t)snprintf(body + n, sizeof body - n, "]}]}]}");
    assert_true(n < sizeof body - 1);
    check_paths_agree(cl_otlp_json_decode, body, 256 * 1024, "!duplicate key \"k\\u0031\"");
    check_paths_agree(cl_otlp_json_decode, body, 256 * 1024, "\"message\":\"d62\",\"a\":[[");
    check_paths_agree(cl_otlp_json_decode, body, 256 * 1024, "\"message\":\"d63\",\"a\":[[");
    check_paths_agree(cl_otlp_json_decode, body, 256 * 1024, "!invalid JSON: ");
    check_paths_agree(cl_otlp_json_decode, OTLP_JSON, 256 * 1024, "\"n\":-12,\"d\":1.5");
    check_paths_agree(cl_otlp_json_decode, OTLP_JSON, 200, "!record too large (");
}

static void test_otlp_json(void **state)
{
    struct collect c;
    char err[200];
    assert_true(cl_otlp_json_detect(OTLP_JSON, strlen(OTLP_JSON)));
    assert_false(cl_otlp_json_detect("{\"message\":\"x\",\"resourceLogs\":1}", 33));
    assert_int_equal(decode(cl_otlp_json_decode, OTLP_JSON, strlen(OTLP_JSON), &c, err), 0);
    assert_int_equal(c.records, 3);
    assert_int_equal(c.rejects, 1);
    assert_string_equal(
        c.out.data,
        "{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"level\":\"error\",\"service\":"
        "\"unknown_service_node\",\"message\":\"boom\",\"trace_id\":"
        "\"0af7651916cd43dd8448eb211c80319c\",\"n\":-12,\"d\":1.5,\"host.name\":\"from-log\","
        "\"arr\":[true,null],\"scope\":\"lib\"}\n"
        "{\"timestamp\":\"2026-12-06T12:40:31.000Z\",\"service\":\"unknown_service_node\","
        "\"msg\":\"kv\",\"severity_text\":\"Chatty\",\"host.name\":\"h1\","
        "\"scope\":\"lib\"}\n"
        "!log record is not a JSON object\n"
        "{\"service\":\"unknown_service_node\",\"message\":\"3\",\"host.name\":\"h1\","
        "\"scope\":\"lib\"}\n");
    done(&c);
}

static void test_otlp_json_bad(void **state)
{
    struct collect c;
    char err[200];
    const char *bodies[] = {"{\"resourceLogs\":[}", "{\"resourceLogs\":{}}", "[1]", ""};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(decode(cl_otlp_json_decode, bodies[i], strlen(bodies[i]), &c, err), -1);
        assert_non_null(strstr(err, "OTLP JSON"));
        done(&c);
    }
    /* nesting past the depth limit is a body error, not a deep recursion */
    struct cl_buf deep;
    cl_buf_init(&deep, 1 << 24);
    cl_buf_append_str(&deep, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":");
    for (int i = 0; i < 5000; i++)
        cl_buf_append_str(&deep, "{\"arrayValue\":{\"values\":[");
    assert_int_equal(decode(cl_otlp_json_decode, deep.data, deep.len, &c, err), -1);
    done(&c);
    cl_buf_free(&deep);
}

/* ---- OTLP protobuf ---- */

static uint8_t *pack_request(const char *body, size_t *len)
{
    Cloudlog__Otlp__AnyValue b = CLOUDLOG__OTLP__ANY_VALUE__INIT,
                             iv = CLOUDLOG__OTLP__ANY_VALUE__INIT;
    b.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
    b.string_value = (char *)body;
    iv.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_BYTES_VALUE;
    iv.bytes_value.data = (uint8_t *)"\x01\x02";
    iv.bytes_value.len = 2;
    Cloudlog__Otlp__KeyValue attr = CLOUDLOG__OTLP__KEY_VALUE__INIT;
    attr.key = "raw";
    attr.value = &iv;
    Cloudlog__Otlp__KeyValue *attrs[] = {&attr};
    Cloudlog__Otlp__LogRecord lr = CLOUDLOG__OTLP__LOG_RECORD__INIT;
    lr.time_unix_nano = 1796560830123000000ull;
    lr.severity_number = 21;
    lr.body = &b;
    lr.n_attributes = 1;
    lr.attributes = attrs;
    lr.span_id.data = (uint8_t *)"\xb7\xad\x6b\x71\x69\x20\x33\x31";
    lr.span_id.len = 8;
    Cloudlog__Otlp__LogRecord *lrs[] = {&lr, &lr};
    Cloudlog__Otlp__ScopeLogs sl = CLOUDLOG__OTLP__SCOPE_LOGS__INIT;
    sl.n_log_records = 2;
    sl.log_records = lrs;
    Cloudlog__Otlp__ScopeLogs *sls[] = {&sl};
    Cloudlog__Otlp__AnyValue sv = CLOUDLOG__OTLP__ANY_VALUE__INIT;
    sv.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
    sv.string_value = "pay";
    Cloudlog__Otlp__KeyValue svc = CLOUDLOG__OTLP__KEY_VALUE__INIT;
    svc.key = "service.name";
    svc.value = &sv;
    Cloudlog__Otlp__KeyValue *res_attrs[] = {&svc};
    Cloudlog__Otlp__Resource res = CLOUDLOG__OTLP__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = res_attrs;
    Cloudlog__Otlp__ResourceLogs rl = CLOUDLOG__OTLP__RESOURCE_LOGS__INIT;
    rl.resource = &res;
    rl.n_scope_logs = 1;
    rl.scope_logs = sls;
    Cloudlog__Otlp__ResourceLogs *rls[] = {&rl};
    Cloudlog__Otlp__ExportLogsServiceRequest req =
        CLOUDLOG__OTLP__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    req.n_resource_logs = 1;
    req.resource_logs = rls;
    *len = cloudlog__otlp__export_logs_service_request__get_packed_size(&req);
    uint8_t *buf = malloc(*len);
    cloudlog__otlp__export_logs_service_request__pack(&req, buf);
    return buf;
}

static void test_otlp_pb(void **state)
{
    struct collect c;
    char err[200];
    size_t len;
    uint8_t *buf = pack_request("fatal \"one\"", &len);
    assert_int_equal(decode(cl_otlp_pb_decode, buf, len, &c, err), 0);
    assert_int_equal(c.records, 2);
    const char *line =
        "{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"level\":\"fatal\",\"service\":"
        "\"pay\",\"message\":\"fatal \\\"one\\\"\",\"span_id\":\"b7ad6b7169203331\","
        "\"raw\":\"AQI=\"}\n";
    struct cl_buf want;
    cl_buf_init(&want, 4096);
    cl_buf_append_str(&want, line);
    cl_buf_append_str(&want, line);
    assert_string_equal(c.out.data, want.data);
    cl_buf_free(&want);
    done(&c);
    /* truncated: not a request */
    assert_int_equal(decode(cl_otlp_pb_decode, buf, len - 3, &c, err), -1);
    assert_non_null(strstr(err, "ExportLogsServiceRequest"));
    done(&c);
    free(buf);
}

/* Prepends a field tag and the varint length of buf[0..*len) in place. */
static void wrap(uint8_t *buf, size_t *len, uint8_t tag)
{
    uint8_t hdr[11];
    size_t h = 0, v = *len;
    hdr[h++] = tag;
    do {
        hdr[h++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    memmove(buf + h, buf, *len);
    memcpy(buf, hdr, h);
    *len += h;
}

/* AnyValue arrays nested far deeper than any record may be: refused before protobuf-c
 * recurses into them. */
static void test_otlp_pb_deep(void **state)
{
    enum { LEVELS = 3000 };
    uint8_t *buf = calloc(1, LEVELS * 8 + 64);
    size_t len = 0;
    for (int i = 0; i < LEVELS; i++) {
        wrap(buf, &len, 0x0a); /* ArrayValue.values (1) */
        wrap(buf, &len, 0x2a); /* AnyValue.array_value (5) */
    }
    wrap(buf, &len, 0x2a); /* LogRecord.body (5) */
    wrap(buf, &len, 0x12); /* ScopeLogs.log_records (2) */
    wrap(buf, &len, 0x12); /* ResourceLogs.scope_logs (2) */
    wrap(buf, &len, 0x0a); /* ExportLogsServiceRequest.resource_logs (1) */
    struct collect c;
    char err[200];
    assert_int_equal(decode(cl_otlp_pb_decode, buf, len, &c, err), -1);
    assert_non_null(strstr(err, "nested deeper"));
    done(&c);
    free(buf);
}

static void test_otlp_pb_response(void **state)
{
    struct cl_buf b;
    cl_buf_init(&b, 4096);
    cl_otlp_pb_response(&b, 0, NULL);
    assert_int_equal(b.len, 0); /* full success: the empty message */
    cl_otlp_pb_response(&b, 2, "why");
    Cloudlog__Otlp__ExportLogsServiceResponse *r =
        cloudlog__otlp__export_logs_service_response__unpack(NULL, b.len, (const uint8_t *)b.data);
    assert_non_null(r);
    assert_non_null(r->partial_success);
    assert_int_equal(r->partial_success->rejected_log_records, 2);
    assert_string_equal(r->partial_success->error_message, "why");
    cloudlog__otlp__export_logs_service_response__free_unpacked(r, NULL);
    cl_buf_reset(&b);
    cl_otlp_pb_status(&b, 3, "bad");
    Cloudlog__Otlp__Status *st =
        cloudlog__otlp__status__unpack(NULL, b.len, (const uint8_t *)b.data);
    assert_non_null(st);
    assert_int_equal(st->code, 3);
    assert_string_equal(st->message, "bad");
    cloudlog__otlp__status__free_unpacked(st, NULL);
    cl_buf_free(&b);
}

/* ---- Fluent Bit msgpack ---- */

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void pack_event_time(msgpack_packer *pk, uint32_t sec, uint32_t nsec)
{
    char t[8] = {(char)(sec >> 24),  (char)(sec >> 16),  (char)(sec >> 8),  (char)sec,
                 (char)(nsec >> 24), (char)(nsec >> 16), (char)(nsec >> 8), (char)nsec};
    msgpack_pack_ext(pk, 8, 0);
    msgpack_pack_ext_body(pk, t, 8);
}

static void test_fluent_msgpack(void **state)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* [EventTime, {"log": "a", "level": "warn", "n": -3}] */
    msgpack_pack_array(&pk, 2);
    pack_event_time(&pk, 1796560830, 123456789);
    msgpack_pack_map(&pk, 3);
    pack_str(&pk, "log");
    pack_str(&pk, "a");
    pack_str(&pk, "level");
    pack_str(&pk, "warn");
    pack_str(&pk, "n");
    msgpack_pack_int(&pk, -3);
    /* [[EventTime, {"tag": "m"}], {"message": "b", "timestamp": "x", "f": 1.25}] */
    msgpack_pack_array(&pk, 2);
    msgpack_pack_array(&pk, 2);
    pack_event_time(&pk, 1796560831, 0);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "tag");
    pack_str(&pk, "m");
    msgpack_pack_map(&pk, 3);
    pack_str(&pk, "message");
    pack_str(&pk, "b");
    pack_str(&pk, "timestamp");
    pack_str(&pk, "x");
    pack_str(&pk, "f");
    msgpack_pack_double(&pk, 1.25);
    /* [integer seconds, {"k": [nil, true]}] */
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint32(&pk, 1796560832);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "k");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    /* not an event */
    pack_str(&pk, "stray");
    /* [float seconds, {}] */
    msgpack_pack_array(&pk, 2);
    msgpack_pack_double(&pk, 1796560833.5);
    msgpack_pack_map(&pk, 0);

    struct collect c;
    char err[200];
    assert_int_equal(decode(cl_fluent_msgpack_decode, sb.data, sb.size, &c, err), 0);
    assert_int_equal(c.records, 4);
    assert_int_equal(c.rejects, 1);
    assert_string_equal(
        c.out.data,
        "{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"log\":\"a\",\"level\":\"warn\",\"n\":-3}\n"
        "{\"timestamp\":\"2026-12-06T12:40:31.000Z\",\"message\":\"b\",\"f\":1.25,\"tag\":\"m\"}\n"
        "{\"timestamp\":\"2026-12-06T12:40:32.000Z\",\"k\":[null,true],\"message\":\"\"}\n"
        "!not a Fluent Bit event ([time, record] or [[time, metadata], record] with a map "
        "record)\n"
        "{\"timestamp\":\"2026-12-06T12:40:33.500Z\",\"message\":\"\"}\n");
    done(&c);
    /* truncated in the middle of the last event */
    assert_int_equal(decode(cl_fluent_msgpack_decode, sb.data, sb.size - 2, &c, err), -1);
    assert_non_null(strstr(err, "msgpack"));
    done(&c);
    msgpack_sbuffer_destroy(&sb);
}

/* A header declaring 2^32-1 elements in a 10-byte body is refused before msgpack-c would
 * allocate room for them. */
static void test_fluent_msgpack_count_bomb(void **state)
{
    struct collect c;
    char err[200];
    const char bomb[] = "\x92\xdd\xff\xff\xff\xff\x01\x02\x03\x04";
    assert_int_equal(decode(cl_fluent_msgpack_decode, bomb, sizeof bomb - 1, &c, err), -1);
    assert_int_equal(c.records, 0);
    done(&c);
    const char map_bomb[] = "\xdf\x7f\xff\xff\xff";
    assert_int_equal(decode(cl_fluent_msgpack_decode, map_bomb, 5, &c, err), -1);
    done(&c);
}

/* [0, {K: "v"}] where K is a map keyed by a map ... depth levels, the innermost {"a": 1}. */
static void pack_nested_key_event(msgpack_sbuffer *sb, int depth)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint32(&pk, 1796560830);
    msgpack_pack_map(&pk, 1);
    for (int i = 0; i < depth; i++)
        msgpack_pack_map(&pk, 1);
    pack_str(&pk, "a");
    for (int i = 0; i < depth; i++)
        msgpack_pack_int(&pk, 1);
    pack_str(&pk, "v");
}

/* A map key that is a map is written as its JSON text, escaped once: keys nested in it are
 * not escaped again at each level, which doubled the text per level (the fuzzer's 284-byte
 * body took 18 s). The record stays linear in the body. */
static void test_fluent_msgpack_nested_keys(void **state)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_nested_key_event(&sb, 3);
    struct collect c;
    char err[200];
    assert_int_equal(decode(cl_fluent_msgpack_decode, sb.data, sb.size, &c, err), 0);
    assert_string_equal(c.out.data, "{\"timestamp\":\"2026-12-06T12:40:30.000Z\","
                                    "\"{{{\\\"a\\\":1}:1}:1}\":\"v\",\"message\":\"\"}\n");
    done(&c);
    msgpack_sbuffer_clear(&sb);
    pack_nested_key_event(&sb, 16);
    assert_int_equal(decode(cl_fluent_msgpack_decode, sb.data, sb.size, &c, err), 0);
    assert_int_equal(c.records, 1);
    assert_true(c.out.len < 8 * sb.size);
    done(&c);
    /* msgpack-c unpacks 32 nested levels at most: deeper is a body error (docs/shippers.md) */
    msgpack_sbuffer_clear(&sb);
    pack_nested_key_event(&sb, 40);
    assert_int_equal(decode(cl_fluent_msgpack_decode, sb.data, sb.size, &c, err), -1);
    assert_non_null(strstr(err, "body is not msgpack"));
    done(&c);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- json_stream and HEC ---- */

static void test_json_stream(void **state)
{
    const char *stream =
        "{\"date\":1796560830.5,\"log\":\"a\"}{\"log\":\"b\"} [1]\n{\"log\":\"c\"}";
    assert_true(cl_json_stream_detect(stream, strlen(stream)));
    assert_false(cl_json_stream_detect("{\"a\":1}\n{\"b\":2}", 15));
    assert_false(cl_json_stream_detect("{\"a\":1}", 7));
    struct collect c;
    char err[200];
    assert_int_equal(decode(cl_json_stream_decode, stream, strlen(stream), &c, err), 0);
    assert_string_equal(c.out.data, "{\"date\":1796560830.5,\"log\":\"a\"}\n{\"log\":\"b\"}\n"
                                    "!record is not a JSON object\n{\"log\":\"c\"}\n");
    done(&c);
    assert_int_equal(decode(cl_json_stream_decode, "{\"a\":1}{\"b\":", 12, &c, err), -1);
    assert_non_null(strstr(err, "invalid JSON"));
    done(&c);
}

static void test_hec_event(void **state)
{
    const char *body =
        "{\"time\":1796560830.25,\"host\":\"web1\",\"source\":\"app\",\"sourcetype\":\"_json\","
        "\"index\":\"main\",\"event\":\"hello "
        "hec\",\"fields\":{\"region\":\"eu\",\"host\":\"x\"}}\n"
        "{\"time\":\"1796560831\",\"event\":{\"message\":\"obj\",\"level\":\"error\",\"n\": [1, "
        "2]}}"
        "{\"event\":\"\"}{\"host\":\"h\"}{\"event\":42}";
    struct collect c;
    char err[200];
    assert_int_equal(decode(cl_hec_event_decode, body, strlen(body), &c, err), 0);
    assert_int_equal(c.records, 3);
    assert_int_equal(c.rejects, 2);
    assert_string_equal(
        c.out.data,
        "{\"timestamp\":1796560830.25,\"message\":\"hello hec\",\"host\":\"web1\",\"source\":"
        "\"app\",\"sourcetype\":\"_json\",\"index\":\"main\",\"region\":\"eu\"}\n"
        "{\"timestamp\":1796560831,\"message\":\"obj\",\"level\":\"error\",\"n\":[1,2]}\n"
        "!Event field cannot be blank\n"
        "!Event field is required\n"
        "{\"message\":\"42\"}\n");
    done(&c);
    const char *raw = "line one\r\n\n  \nline \"two\"";
    assert_int_equal(decode(cl_hec_raw_decode, raw, strlen(raw), &c, err), 0);
    assert_string_equal(c.out.data,
                        "{\"message\":\"line one\"}\n{\"message\":\"line \\\"two\\\"\"}\n");
    done(&c);
}

/* ---- Elasticsearch _bulk ---- */

static void list_action(void *arg, const struct cl_es_action *a)
{
    struct cl_buf *b = arg;
    cl_buf_printf(b, "%.*s|%.*s|%.*s\n", (int)a->name_len, a->name, (int)a->index_len, a->index,
                  (int)a->id_len, a->id);
}

static void test_es_bulk(void **state)
{
    const char *body = "{\"index\":{\"_index\":\"web app\",\"_id\":\"1\"}}\n"
                       "{\"message\":\"one\",\"n\": [1, 2]}\n"
                       "\n"
                       "{\"delete\":{\"_id\":\"2\"}}\n"
                       "{ \"create\" : { } }\r\n"
                       "{\"msg\":\"two\",\"app\":\"mine\"}\n"
                       "{\"update\":{}}\n{\"doc\":{}}\n"
                       "{\"create\":{}}\n\"text\"\n";
    struct cl_proto_opts o = {64, 1 << 20, "idx-path", 1 << 20, NULL};
    struct collect c;
    memset(&c, 0, sizeof c);
    cl_buf_init(&c.out, 1 << 20);
    struct cl_proto_sink sink = {on_record, on_reject, &c, NULL};
    char err[200];
    assert_int_equal(cl_es_bulk_decode(body, strlen(body), &o, &sink, err, sizeof err), 0);
    assert_string_equal(c.out.data, "{\"message\":\"one\",\"n\":[1,2],\"service\":\"web_app\"}\n"
                                    "!action [delete] is not supported: logs are append-only\n"
                                    "{\"msg\":\"two\",\"app\":\"mine\"}\n"
                                    "!action [update] is not supported: logs are append-only\n"
                                    "!document is not a JSON object\n");
    done(&c);
    struct cl_buf l;
    cl_buf_init(&l, 4096);
    assert_int_equal(cl_es_bulk_actions(body, strlen(body), list_action, &l), 0);
    assert_string_equal(l.data, "index|\"web app\"|\"1\"\ndelete||\"2\"\ncreate||\n"
                                "update||\ncreate||\n");
    cl_buf_free(&l);
    /* the path's index is the service when the action names none */
    const char *one = "{\"index\":{}}\n{\"message\":\"p\"}";
    assert_int_equal(decode(cl_es_bulk_decode, one, strlen(one), &c, err), 0);
    assert_string_equal(c.out.data, "{\"message\":\"p\"}\n"); /* OPTS has no target */
    done(&c);
    memset(&c, 0, sizeof c);
    cl_buf_init(&c.out, 1 << 20);
    assert_int_equal(cl_es_bulk_decode(one, strlen(one), &o, &sink, err, sizeof err), 0);
    assert_string_equal(c.out.data, "{\"message\":\"p\",\"service\":\"idx-path\"}\n");
    done(&c);
    /* body errors: no action object, unknown action, missing document */
    const char *bad[] = {"[1]\n{}\n", "{\"upsert\":{}}\n{}\n", "{\"index\":{}}\n"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(decode(cl_es_bulk_decode, bad[i], strlen(bad[i]), &c, err), -1);
        assert_true(strlen(err) > 0);
        done(&c);
    }
}

/* msgpack and OTLP protobuf records written for the document path (keys not tracked,
 * proto_record.h `unchecked`) normalize as their checked copies do: duplicate names
 * within a map, between record and metadata or attributes and resource, a non-string key
 * naming a string key's name, no message, a message that is not a string, sizes. */
static void test_binary_document_path(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2); /* [[t, {"k": "meta", "tag": "t"}], {record}] */
    msgpack_pack_array(&pk, 2);
    pack_event_time(&pk, 1796560830, 5000000);
    msgpack_pack_map(&pk, 2);
    pack_str(&pk, "k");
    pack_str(&pk, "meta");
    pack_str(&pk, "tag");
    pack_str(&pk, "t");
    msgpack_pack_map(&pk, 6);
    pack_str(&pk, "k");
    pack_str(&pk, "rec");
    pack_str(&pk, "log");
    pack_str(&pk, "x");
    pack_str(&pk, "k");
    msgpack_pack_int(&pk, 2);
    msgpack_pack_int(&pk, 5);
    pack_str(&pk, "int key");
    pack_str(&pk, "5");
    pack_str(&pk, "str key");
    pack_str(&pk, "app");
    pack_str(&pk, "web");
    msgpack_pack_array(&pk, 2); /* no message */
    msgpack_pack_uint32(&pk, 1796560831);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "a");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_nil(&pk);
    msgpack_pack_array(&pk, 2); /* a message that is no string */
    msgpack_pack_uint32(&pk, 1796560832);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "message");
    msgpack_pack_int(&pk, 5);
    check_paths_agree_n(cl_fluent_msgpack_decode, sb.data, sb.size, 256 * 1024,
                        "\"service\":\"web\",\"message\":\"x\",\"k\":\"rec\",\"5\":\"int key\","
                        "\"tag\":\"t\"}\n{\"timestamp\":\"2026-12-06T12:40:31.000Z\"");
    check_paths_agree_n(cl_fluent_msgpack_decode, sb.data, sb.size, 60, "!record too large (");
    msgpack_sbuffer_destroy(&sb);

    Cloudlog__Otlp__AnyValue str[4];
    const char *texts[] = {"m", "dup", "pay api", "res"};
    for (int i = 0; i < 4; i++) {
        cloudlog__otlp__any_value__init(&str[i]);
        str[i].value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
        str[i].string_value = (char *)texts[i];
    }
    Cloudlog__Otlp__KeyValue kv[5];
    const char *keys[] = {"msg", "msg", "service", "service.name", "msg"};
    const int vals[] = {0, 1, 1, 2, 3};
    Cloudlog__Otlp__KeyValue *kvp[5];
    for (int i = 0; i < 5; i++) {
        cloudlog__otlp__key_value__init(&kv[i]);
        kv[i].key = (char *)keys[i];
        kv[i].value = &str[vals[i]];
        kvp[i] = &kv[i];
    }
    Cloudlog__Otlp__KeyValueList list = CLOUDLOG__OTLP__KEY_VALUE_LIST__INIT;
    list.n_values = 1;
    list.values = kvp; /* body {"msg": "m"} */
    Cloudlog__Otlp__AnyValue body = CLOUDLOG__OTLP__ANY_VALUE__INIT;
    body.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_KVLIST_VALUE;
    body.kvlist_value = &list;
    Cloudlog__Otlp__LogRecord lr[2];
    Cloudlog__Otlp__LogRecord *lrp[2] = {&lr[0], &lr[1]};
    for (int i = 0; i < 2; i++) {
        cloudlog__otlp__log_record__init(&lr[i]);
        lr[i].time_unix_nano = 1796560830123000000ull;
        lr[i].severity_text = "Chatty";
    }
    lr[0].body = &body;
    lr[0].n_attributes = 2; /* msg: "dup", service: "dup" */
    lr[0].attributes = kvp + 1;
    Cloudlog__Otlp__ScopeLogs sl = CLOUDLOG__OTLP__SCOPE_LOGS__INIT;
    Cloudlog__Otlp__ScopeLogs *slp = &sl;
    sl.n_log_records = 2;
    sl.log_records = lrp;
    Cloudlog__Otlp__Resource res = CLOUDLOG__OTLP__RESOURCE__INIT;
    res.n_attributes = 2; /* service.name: "pay api", msg: "res" */
    res.attributes = kvp + 3;
    Cloudlog__Otlp__ResourceLogs rl = CLOUDLOG__OTLP__RESOURCE_LOGS__INIT;
    Cloudlog__Otlp__ResourceLogs *rlp = &rl;
    rl.resource = &res;
    rl.n_scope_logs = 1;
    rl.scope_logs = &slp;
    Cloudlog__Otlp__ExportLogsServiceRequest req =
        CLOUDLOG__OTLP__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    req.n_resource_logs = 1;
    req.resource_logs = &rlp;
    size_t len = cloudlog__otlp__export_logs_service_request__get_packed_size(&req);
    uint8_t *buf = malloc(len);
    cloudlog__otlp__export_logs_service_request__pack(&req, buf);
    check_paths_agree_n(cl_otlp_pb_decode, buf, len, 256 * 1024,
                        "\"service\":\"pay_api\",\"message\":\"m\",\"severity_text\":\"Chatty\"}"
                        "\n{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"level\":\"info\","
                        "\"service\":\"pay_api\",\"message\":\"res\"");
    check_paths_agree_n(cl_otlp_pb_decode, buf, len, 90, "!record too large (");
    free(buf);
}

/* ---- Loki push (JSON) ---- */

static void test_loki_json(void **state)
{
    const char *body =
        "{\"streams\":[{\"stream\":{\"job\":\"api/x\",\"app\":\"web\",\"level\":\"warning\"},"
        "\"values\":[[\"1796560830123456789\",\"plain \\\"q\\\"\"],"
        "[\"1796560831000000000\",\"{\\\"msg\\\":\\\"json\\\",\\\"level\\\":30,\\\"n\\\":1}\","
        "{\"trace_id\":\"t1\"}],[1,\"x\"],[\"5\"]]},"
        "{\"stream\":{\"detected_level\":\"nope\"},\"values\":[[\"0\",\"z\"]]}]}";
    struct collect c;
    char err[200];
    assert_int_equal(decode(cl_loki_json_decode, body, strlen(body), &c, err), 0);
    assert_int_equal(c.records, 3);
    assert_int_equal(c.rejects, 2);
    assert_string_equal(
        c.out.data,
        "{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"level\":\"warn\",\"service\":\"web\","
        "\"message\":\"plain \\\"q\\\"\",\"job\":\"api/x\",\"app\":\"web\"}\n"
        "{\"timestamp\":\"2026-12-06T12:40:31.000Z\",\"level\":\"warn\",\"service\":\"web\","
        "\"msg\":\"json\",\"n\":1,\"job\":\"api/x\",\"app\":\"web\",\"trace_id\":\"t1\"}\n"
        "!entry is not [\"<unix ns>\", \"<line>\"(, {metadata})]\n"
        "!entry is not [\"<unix ns>\", \"<line>\"(, {metadata})]\n"
        "{\"message\":\"z\",\"detected_level\":\"nope\"}\n");
    done(&c);
    assert_int_equal(decode(cl_loki_json_decode, "{\"streams\":{}}", 14, &c, err), -1);
    assert_non_null(strstr(err, "streams"));
    done(&c);
}

/* --loki-service-labels: the configured labels name the service, in their order. */
static void test_loki_service_labels(void **state)
{
    (void)state;
    const char *body = "{\"streams\":[{\"stream\":{\"job\":\"api/x\",\"app\":\"web\","
                       "\"team\":\"t1\"},\"values\":[[\"0\",\"m\"]]}]}";
    static const struct {
        const char *labels, *want;
    } cases[] = {
        {"job,app", "{\"service\":\"api_x\",\"message\":\"m\",\"job\":\"api/x\","
                    "\"app\":\"web\",\"team\":\"t1\"}\n"},
        {"cluster,team", "{\"service\":\"t1\",\"message\":\"m\",\"job\":\"api/x\","
                         "\"app\":\"web\",\"team\":\"t1\"}\n"},
        {"", "{\"message\":\"m\",\"job\":\"api/x\",\"app\":\"web\",\"team\":\"t1\"}\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cl_proto_opts o = OPTS;
        o.service_labels = cases[i].labels;
        struct collect c;
        char err[200];
        assert_int_equal(decode_with(cl_loki_json_decode, &o, body, strlen(body), &c, err), 0);
        assert_string_equal(c.out.data, cases[i].want);
        done(&c);
    }
    char why[300];
    assert_int_equal(cl_loki_service_labels_check("service_name,service,app,job", why, 300), 0);
    assert_int_equal(cl_loki_service_labels_check("", why, 300), 0);
    assert_int_equal(cl_loki_service_labels_check("_a9", why, 300), 0);
    static const char *const bad[] = {"a,,b", "a,", ",a", "a b", "9a", "a.b", "a,b-c"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cl_loki_service_labels_check(bad[i], why, 300), -1);
    assert_non_null(strstr(why, "'b-c' is no label name"));
    char many[200] = "l0";
    for (int i = 1; i <= 16; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), ",l%d", i);
    assert_int_equal(cl_loki_service_labels_check(many, why, 300), -1);
    assert_string_equal(why, "more than 16 labels");
}

/* ---- Loki push (snappy protobuf) ---- */

/* A snappy-compressed PushRequest of one stream with labels and two entries (the
 * second with line2). */
static char *pack_loki_lines(const char *labels, const char *line2, size_t *len)
{
    Cloudlog__Loki__Timestamp ts = CLOUDLOG__LOKI__TIMESTAMP__INIT;
    ts.seconds = 1796560830;
    ts.nanos = 123456789;
    Cloudlog__Loki__LabelPairAdapter md = CLOUDLOG__LOKI__LABEL_PAIR_ADAPTER__INIT;
    md.name = "trace_id";
    md.value = "t9";
    Cloudlog__Loki__LabelPairAdapter *mds[] = {&md};
    Cloudlog__Loki__EntryAdapter e1 = CLOUDLOG__LOKI__ENTRY_ADAPTER__INIT;
    e1.timestamp = &ts;
    e1.line = "first \"line\"";
    e1.n_structured_metadata = 1;
    e1.structured_metadata = mds;
    Cloudlog__Loki__EntryAdapter e2 = CLOUDLOG__LOKI__ENTRY_ADAPTER__INIT;
    e2.line = (char *)line2;
    Cloudlog__Loki__EntryAdapter *es[] = {&e1, &e2};
    Cloudlog__Loki__StreamAdapter st = CLOUDLOG__LOKI__STREAM_ADAPTER__INIT;
    st.labels = (char *)labels;
    st.n_entries = 2;
    st.entries = es;
    Cloudlog__Loki__StreamAdapter *sts[] = {&st};
    Cloudlog__Loki__PushRequest req = CLOUDLOG__LOKI__PUSH_REQUEST__INIT;
    req.n_streams = 1;
    req.streams = sts;
    size_t n = cloudlog__loki__push_request__get_packed_size(&req);
    uint8_t *raw = malloc(n);
    cloudlog__loki__push_request__pack(&req, raw);
    *len = snappy_max_compressed_length(n);
    char *out = malloc(*len);
    assert_int_equal(snappy_compress((const char *)raw, n, out, len), SNAPPY_OK);
    free(raw);
    return out;
}

static char *pack_loki(const char *labels, size_t *len)
{
    return pack_loki_lines(labels, "{\"msg\":\"json line\",\"k\":true}", len);
}

/* Lines that start with '{' but are no JSON object as sent: not JSON at all (the
 * message), or an object once its invalid UTF-8 is replaced (merged, as the JSON push
 * would give it after the sender's encoder replaced it). */
static void test_loki_pb_brace_lines(void **state)
{
    struct collect c;
    char err[200];
    size_t len;
    char *body = pack_loki_lines("{app=\"a\"}", "{not json", &len);
    assert_int_equal(decode(cl_loki_pb_decode, body, len, &c, err), 0);
    assert_non_null(
        strstr(c.out.data, "\n{\"service\":\"a\",\"message\":\"{not json\",\"app\":\"a\"}\n"));
    done(&c);
    free(body);
    body = pack_loki_lines("{app=\"a\"}", "{\"m\":\"x\xff\"}", &len);
    assert_int_equal(decode(cl_loki_pb_decode, body, len, &c, err), 0);
    assert_non_null(
        strstr(c.out.data,
               "\n{\"service\":\"a\",\"m\":\"x\xef\xbf\xbd\",\"app\":\"a\",\"message\":\"\"}\n"));
    done(&c);
    free(body);
}

static void test_loki_pb(void **state)
{
    struct collect c;
    char err[200];
    size_t len;
    char *body = pack_loki("{service_name=\"pay api\", level=\"error\",q=\"a\\\"b\\\\c\"}", &len);
    assert_int_equal(decode(cl_loki_pb_decode, body, len, &c, err), 0);
    assert_string_equal(
        c.out.data,
        "{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"level\":\"error\",\"service\":\"pay_api\","
        "\"message\":\"first \\\"line\\\"\",\"service_name\":\"pay api\",\"q\":\"a\\\"b\\\\c\","
        "\"trace_id\":\"t9\"}\n"
        "{\"level\":\"error\",\"service\":\"pay_api\",\"msg\":\"json line\",\"k\":true,"
        "\"service_name\":\"pay api\",\"q\":\"a\\\"b\\\\c\"}\n");
    done(&c);
    free(body);
    body = pack_loki("{broken", &len); /* each entry of a stream with bad labels is rejected */
    assert_int_equal(decode(cl_loki_pb_decode, body, len, &c, err), 0);
    assert_int_equal(c.rejects, 2);
    done(&c);
    free(body);
    /* not snappy; a snappy header claiming more than max_decoded */
    assert_int_equal(decode(cl_loki_pb_decode, "\xff\xff\xff\xff\x0f", 5, &c, err), -1);
    done(&c);
    assert_int_equal(decode(cl_loki_pb_decode, "\x80\x80\x80\x40\x00", 5, &c, err), -1);
    assert_non_null(strstr(err, "limit"));
    done(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_walk),
        cmocka_unit_test(test_document_path),
        cmocka_unit_test(test_document_path_members),
        cmocka_unit_test(test_otlp_json_document_path),
        cmocka_unit_test(test_record_unique_keys),
        cmocka_unit_test(test_hex_base64_service),
        cmocka_unit_test(test_otlp_json),
        cmocka_unit_test(test_otlp_json_bad),
        cmocka_unit_test(test_otlp_pb),
        cmocka_unit_test(test_otlp_pb_deep),
        cmocka_unit_test(test_otlp_pb_response),
        cmocka_unit_test(test_fluent_msgpack),
        cmocka_unit_test(test_fluent_msgpack_count_bomb),
        cmocka_unit_test(test_fluent_msgpack_nested_keys),
        cmocka_unit_test(test_binary_document_path),
        cmocka_unit_test(test_json_stream),
        cmocka_unit_test(test_hec_event),
        cmocka_unit_test(test_es_bulk),
        cmocka_unit_test(test_loki_json),
        cmocka_unit_test(test_loki_service_labels),
        cmocka_unit_test(test_loki_pb),
        cmocka_unit_test(test_loki_pb_brace_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
