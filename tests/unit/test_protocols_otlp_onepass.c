/* test_protocols_otlp_onepass.c - OTLP JSON validated as it is walked (one pass) and
 * OTLP protobuf attributes read from their packed KeyValues: the answers are those of
 * validating the whole body first and of protobuf-c unpacking every message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_walk.h"
#include "otlp_logs.pb-c.h"
#include "proto.h"
#include "proto_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char VALID[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"pay\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"s\"},\"logRecords\":["
    "{\"timeUnixNano\":\"1796560830123000000\",\"severityNumber\":9,\"body\":{\"stringValue\":"
    "\"caf\\u00e9 \xc3\xa9\"},\"attributes\":[{\"key\":\"n\",\"value\":{\"intValue\":-12}},"
    "{\"key\":\"d\",\"value\":{\"doubleValue\":1.5e3}},{\"key\":\"a\",\"value\":{\"arrayValue\":"
    "{\"values\":[{\"boolValue\":true}]}}}]},{\"body\":{\"stringValue\":\"two\"}}]}]}],"
    "\"x\":[null, 1 ,{}]}";

/* decode's answer for body is the one of validating it whole first: -1 with the
 * validating reader's message when that refuses it, and no record handed on then. */
static void check_like_validation(const char *body, size_t len)
{
    struct collect c;
    struct cl_json_value top;
    char err[200] = "", want[200] = "";
    int rc = decode(cl_otlp_json_decode, body, len, &c, err);
    int valid = cl_jw_body_object(body, len, 8 + 4 * 64, "OTLP JSON", &top, want, sizeof want);
    if (valid != 0) {
        assert_int_equal(rc, -1);
        assert_string_equal(err, want);
    } else if (rc != 0) {
        assert_string_equal(err, "invalid OTLP JSON: resourceLogs is not an array");
    }
    done(&c);
}

/* Every cut of a valid body and every byte of it replaced by each of a few bytes that
 * break JSON in different places. */
static void test_json_errors_as_validation(void **state)
{
    (void)state;
    static const char subs[] = {'"', '\\', ',', ':', '}', ']', '{', '[', 'x', ' ', '\x01', '\xff'};
    size_t n = strlen(VALID);
    char *b = malloc(n + 1);
    check_like_validation(VALID, n);
    for (size_t cut = 0; cut < n; cut++)
        check_like_validation(VALID, cut);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof subs; k++) {
            memcpy(b, VALID, n + 1);
            b[i] = subs[k];
            check_like_validation(b, n);
        }
    free(b);
}

/* The valid body's records, and what the cursor makes of values it checks itself. */
static void test_json_valid(void **state)
{
    (void)state;
    struct collect c;
    char err[200];
    assert_int_equal(decode(cl_otlp_json_decode, VALID, strlen(VALID), &c, err), 0);
    assert_int_equal(c.records, 2);
    assert_non_null(strstr(c.out.data, "\"message\":\"caf\\u00e9 \xc3\xa9\""));
    assert_non_null(strstr(c.out.data, "\"n\":-12,\"d\":1.5e3,\"a\":[true]"));
    done(&c);
    /* nesting: the body's limit (8 + 4 * max_depth) counts containers as the reader does */
    struct cl_proto_opts o = OPTS;
    o.max_depth = 1; /* body limit 12 */
    for (int k = 6; k <= 9; k++) {
        char body[256];
        snprintf(body, sizeof body, "{\"resourceLogs\":[{\"a\":%.*s%.*s}]}", k, "[[[[[[[[[[", k,
                 "]]]]]]]]]]");
        struct cl_json_value top;
        char want[200];
        int valid = cl_jw_body_object(body, strlen(body), 12, "OTLP JSON", &top, want, sizeof want);
        assert_int_equal(decode_with(cl_otlp_json_decode, &o, body, strlen(body), &c, err), valid);
        if (valid)
            assert_string_equal(err, want);
        done(&c);
    }
}

/* ---- protobuf: packed attributes ---- */

static void put_varint(struct cl_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        cl_buf_append_char(b, (char)(v | 0x80));
        v >>= 7;
    }
    cl_buf_append_char(b, (char)v);
}

static void put_field(struct cl_buf *b, unsigned field, const void *data, size_t len)
{
    put_varint(b, field << 3 | 2);
    put_varint(b, len);
    cl_buf_append(b, data, len);
}

/* A request of one record whose body is sent as bodies[0..nb) (AnyValues) and whose
 * attributes are the packed KeyValues kv[0..n); the resource's one attribute is res
 * (a packed KeyValue; NULL: no resource). */
static void request_of(struct cl_buf *out, const char *const *bodies, const size_t *body_len,
                       size_t nb, const struct cl_buf *kv, size_t n, const struct cl_buf *res)
{
    struct cl_buf lr, sl, rl, r;
    cl_buf_init(&lr, 1 << 20);
    cl_buf_init(&sl, 1 << 20);
    cl_buf_init(&rl, 1 << 20);
    cl_buf_init(&r, 1 << 20);
    for (size_t i = 0; i < nb; i++)
        put_field(&lr, 5, bodies[i], body_len[i]);
    for (size_t i = 0; i < n; i++)
        put_field(&lr, 6, kv[i].data, kv[i].len);
    put_field(&sl, 2, lr.data, lr.len);
    if (res) {
        put_field(&r, 1, res->data, res->len);
        put_field(&rl, 1, r.data, r.len);
    }
    cl_buf_free(&r);
    put_field(&rl, 2, sl.data, sl.len);
    cl_buf_reset(out);
    put_field(out, 1, rl.data, rl.len);
    cl_buf_free(&lr);
    cl_buf_free(&sl);
    cl_buf_free(&rl);
}

/* A request of one record (body "m") whose attributes are the packed KeyValues kv[0..n). */
static void request(struct cl_buf *out, const struct cl_buf *kv, size_t n)
{
    static const char *const body[] = {"\x0a\x01m"};
    static const size_t len[] = {3};
    request_of(out, body, len, 1, kv, n, NULL);
}

/* KeyValues of the usual shape and of others (value first, key twice, no value, a map
 * value, a NUL in the key, a double, a 10-byte varint) give the records protobuf-c's
 * reading gives. */
static void test_pb_attribute_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        const char *member;
    } cases[] = {
        {"\x0a\x01k\x12\x03\x0a\x01v", 8, "\"k\":\"v\""},
        {"", 0, "\"\":null"},                                  /* empty: no key, no value */
        {"\x12\x03\x0a\x01v\x0a\x01k", 8, "\"k\":\"v\""},      /* value first */
        {"\x0a\x01x\x0a\x01k\x12\x02\x18\x07", 10, "\"k\":7"}, /* key twice: last */
        {"\x0a\x01k", 3, "\"k\":null"},                        /* no value */
        {"\x0a\x01k\x12\x00", 5, "\"k\":null"},                /* empty AnyValue */
        {"\x0a\x03k\0z\x12\x02\x10\x01", 9, "\"k\":true"},     /* NUL: key ends */
        {"\x0a\x01k\x12\x09\x21\0\0\0\0\0\0\xf8\x3f", 14, "\"k\":1.5"}, /* double */
        {"\x0a\x01k\x12\x0b\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 16, "\"k\":-1"},
        {("\x0a\x01k\x12\x07\x32\x05\x0a\x03\x0a\x01"
          "a"),
         12, "\"k\":{\"a\":null}"},
    };
    struct cl_buf kv, body;
    cl_buf_init(&kv, 1 << 20);
    cl_buf_init(&body, 1 << 20);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct collect c;
        char err[200];
        cl_buf_reset(&kv);
        cl_buf_append(&kv, cases[i].bytes, cases[i].len);
        request(&body, &kv, 1);
        if (decode(cl_otlp_pb_decode, body.data, body.len, &c, err) != 0 || c.records != 1)
            fail_msg("case %zu: %s", i, err);
        if (!strstr(c.out.data, cases[i].member))
            fail_msg("case %zu: %s has no %s", i, c.out.data, cases[i].member);
        done(&c);
    }
    cl_buf_free(&kv);
    cl_buf_free(&body);
}

/* A packed attribute that is no KeyValue makes the request malformed, as protobuf-c's
 * unpack of the whole request said before; the records before it are dropped by the
 * caller (proto.h). */
static void test_pb_attribute_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"\x0a\x05k", "\x12\x02\x0a\x05", "\x0a\x01k\x12\x02\x18\xff",
                                      "\xff"};
    struct cl_buf kv[2], body;
    cl_buf_init(&kv[0], 1 << 20);
    cl_buf_init(&kv[1], 1 << 20);
    cl_buf_init(&body, 1 << 20);
    cl_buf_append(&kv[0], "\x0a\x01k\x12\x03\x0a\x01v", 8);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct collect c;
        char err[200] = "";
        cl_buf_reset(&kv[1]);
        cl_buf_append_str(&kv[1], bad[i]);
        request(&body, kv, 2);
        assert_int_equal(decode(cl_otlp_pb_decode, body.data, body.len, &c, err), -1);
        assert_string_equal(err, "body is not a protobuf ExportLogsServiceRequest");
        done(&c);
    }
    cl_buf_free(&kv[0]);
    cl_buf_free(&kv[1]);
    cl_buf_free(&body);
}

/* Bodies of every shape, and a resource's service.name of an unusual shape, as
 * protobuf-c reads them: a string, an int (as text), a map (its members), sent twice (the
 * later value wins, as protobuf merges), twice with the later one empty (the earlier
 * stays), empty (no message). */
static void test_pb_body_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *parts[2];
        size_t len[2], n;
        const char *want;
    } cases[] = {
        {{"\x0a\x03one"}, {5}, 1, "\"message\":\"one\""},
        {{"\x18\x05"}, {2}, 1, "\"message\":\"5\""},
        {{"\x32\x07\x0a\x05\x0a\x01k\x12\x00"}, {9}, 1, "\"k\":null"},
        {{"\x0a\x03one", "\x0a\x03two"}, {5, 5}, 2, "\"message\":\"two\""},
        {{"\x0a\x03one", ""}, {5, 0}, 2, "\"message\":\"one\""},
        {{""}, {0}, 1, "{\"service\":\"pay\",\"message\":\"\"}"},
    };
    /* service.name with its value first: protobuf-c's unpack */
    struct cl_buf res, body;
    cl_buf_init(&res, 1 << 20);
    cl_buf_init(&body, 1 << 20);
    cl_buf_append(&res, "\x12\x05\x0a\x03pay\x0a\x0cservice.name", 21);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct collect c;
        char err[200] = "";
        request_of(&body, cases[i].parts, cases[i].len, cases[i].n, NULL, 0, &res);
        if (decode(cl_otlp_pb_decode, body.data, body.len, &c, err) != 0 || c.records != 1 ||
            !strstr(c.out.data, cases[i].want) || !strstr(c.out.data, "\"service\":\"pay\""))
            fail_msg("case %zu: %s %s", i, err, c.out.data);
        done(&c);
    }
    cl_buf_free(&res);
    cl_buf_free(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_errors_as_validation),
        cmocka_unit_test(test_json_valid),
        cmocka_unit_test(test_pb_attribute_shapes),
        cmocka_unit_test(test_pb_attribute_malformed),
        cmocka_unit_test(test_pb_body_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
