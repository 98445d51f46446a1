/* test_protocols_otlp.c - the OTLP/HTTP logs decoders: JSON (detection, mapping, bad and
 * deep bodies) and protobuf (mapping, deep nesting, the responses), both record paths.
 * (The real exporters are tested end to end in tests/e2e/test_proto_otlp.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto_test_util.h"
#include "otlp_logs.pb-c.h"
#include "otlp_pb_pack.h"
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void string_value(Cloudlog__Otlp__AnyValue *v, const char *s)
{
    cloudlog__otlp__any_value__init(v);
    v->value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)s;
}

static void key_value(Cloudlog__Otlp__KeyValue *kv, const char *key, Cloudlog__Otlp__AnyValue *v)
{
    cloudlog__otlp__key_value__init(kv);
    kv->key = (char *)key;
    kv->value = v;
}

/* Two copies of one fatal record (body, a bytes attribute, a span id) of service "pay".
 * Caller frees. */
static uint8_t *pack_request(const char *body, size_t *len)
{
    Cloudlog__Otlp__AnyValue b, sv, iv = CLOUDLOG__OTLP__ANY_VALUE__INIT;
    string_value(&b, body);
    string_value(&sv, "pay");
    iv.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_BYTES_VALUE;
    iv.bytes_value.data = (uint8_t *)"\x01\x02";
    iv.bytes_value.len = 2;
    Cloudlog__Otlp__KeyValue attr, svc;
    key_value(&attr, "raw", &iv);
    key_value(&svc, "service.name", &sv);
    Cloudlog__Otlp__KeyValue *attrs[] = {&attr}, *res_attrs[] = {&svc};
    Cloudlog__Otlp__LogRecord lr = CLOUDLOG__OTLP__LOG_RECORD__INIT;
    lr.time_unix_nano = 1796560830123000000ull;
    lr.severity_number = 21;
    body_pack(&lr, &b);
    lr.n_attributes = 1;
    lr.attributes = attrs_pack(attrs, 1);
    lr.span_id.data = (uint8_t *)"\xb7\xad\x6b\x71\x69\x20\x33\x31";
    lr.span_id.len = 8;
    Cloudlog__Otlp__LogRecord *lrs[] = {&lr, &lr};
    Cloudlog__Otlp__Resource res = CLOUDLOG__OTLP__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = attrs_pack(res_attrs, 1);
    uint8_t *buf = pack_one_resource(&res, lrs, 2, len);
    attrs_free(lr.attributes, lr.n_attributes);
    attrs_free(lr.body, lr.n_body);
    attrs_free(res.attributes, res.n_attributes);
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

/* Two records whose field names collide: the first has body {"msg": "m"} and attributes
 * msg and service ("dup"), the resource has service.name "pay api" and msg "res", the
 * second record has neither body nor attributes. Caller frees. */
static uint8_t *pack_colliding_names(size_t *len)
{
    Cloudlog__Otlp__AnyValue str[4], body = CLOUDLOG__OTLP__ANY_VALUE__INIT;
    const char *texts[] = {"m", "dup", "pay api", "res"};
    for (int i = 0; i < 4; i++)
        string_value(&str[i], texts[i]);
    Cloudlog__Otlp__KeyValue kv[5], *kvp[5];
    const char *keys[] = {"msg", "msg", "service", "service.name", "msg"};
    const int vals[] = {0, 1, 1, 2, 3};
    for (int i = 0; i < 5; i++) {
        key_value(&kv[i], keys[i], &str[vals[i]]);
        kvp[i] = &kv[i];
    }
    Cloudlog__Otlp__KeyValueList list = CLOUDLOG__OTLP__KEY_VALUE_LIST__INIT;
    list.n_values = 1;
    list.values = kvp; /* body {"msg": "m"} */
    body.value_case = CLOUDLOG__OTLP__ANY_VALUE__VALUE_KVLIST_VALUE;
    body.kvlist_value = &list;
    Cloudlog__Otlp__LogRecord lr[2];
    Cloudlog__Otlp__LogRecord *lrp[2] = {&lr[0], &lr[1]};
    for (int i = 0; i < 2; i++) {
        cloudlog__otlp__log_record__init(&lr[i]);
        lr[i].time_unix_nano = 1796560830123000000ull;
        lr[i].severity_text = "Chatty";
    }
    body_pack(&lr[0], &body);
    lr[0].n_attributes = 2; /* msg: "dup", service: "dup" */
    lr[0].attributes = attrs_pack(kvp + 1, 2);
    Cloudlog__Otlp__Resource res = CLOUDLOG__OTLP__RESOURCE__INIT;
    res.n_attributes = 2; /* service.name: "pay api", msg: "res" */
    res.attributes = attrs_pack(kvp + 3, 2);
    uint8_t *buf = pack_one_resource(&res, lrp, 2, len);
    attrs_free(lr[0].attributes, lr[0].n_attributes);
    attrs_free(lr[0].body, lr[0].n_body);
    attrs_free(res.attributes, res.n_attributes);
    return buf;
}

/* OTLP protobuf records written for the document path (keys not tracked, proto_record.h
 * `unchecked`) normalize as their checked copies do: duplicate names between body,
 * attributes and resource, sizes. */
static void test_otlp_pb_document_path(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = pack_colliding_names(&len);
    check_paths_agree_n(cl_otlp_pb_decode, buf, len, 256 * 1024,
                        "\"service\":\"pay_api\",\"message\":\"m\",\"severity_text\":\"Chatty\"}"
                        "\n{\"timestamp\":\"2026-12-06T12:40:30.123Z\",\"level\":\"info\","
                        "\"service\":\"pay_api\",\"message\":\"res\"");
    check_paths_agree_n(cl_otlp_pb_decode, buf, len, 90, "!record too large (");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_otlp_json),
        cmocka_unit_test(test_otlp_json_bad),
        cmocka_unit_test(test_otlp_json_document_path),
        cmocka_unit_test(test_otlp_pb),
        cmocka_unit_test(test_otlp_pb_deep),
        cmocka_unit_test(test_otlp_pb_response),
        cmocka_unit_test(test_otlp_pb_document_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
