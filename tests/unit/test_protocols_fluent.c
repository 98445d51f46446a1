/* test_protocols_fluent.c - Fluent Bit's http output formats: msgpack (both event shapes,
 * hostile counts and nesting, both record paths) and json_stream. (The real client's shapes
 * are tested end to end in tests/e2e/test_proto_fluent.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto_test_util.h"
#include "proto.h"

#include <msgpack.h>
#include <string.h>

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

/* Three events whose names collide: record and metadata both name "k", the record names
 * "k" twice, an integer key 5 beside the string key "5"; then an event with no message and
 * one whose message is no string. */
static void pack_colliding_events(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
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
}

/* msgpack records written for the document path (keys not tracked, proto_record.h
 * `unchecked`) normalize as their checked copies do: duplicate names within a map and
 * between record and metadata, a non-string key naming a string key's name, no message, a
 * message that is not a string, sizes. */
static void test_fluent_msgpack_document_path(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_colliding_events(&sb);
    check_paths_agree_n(cl_fluent_msgpack_decode, sb.data, sb.size, 256 * 1024,
                        "\"service\":\"web\",\"message\":\"x\",\"k\":\"rec\",\"5\":\"int key\","
                        "\"tag\":\"t\"}\n{\"timestamp\":\"2026-12-06T12:40:31.000Z\"");
    check_paths_agree_n(cl_fluent_msgpack_decode, sb.data, sb.size, 60, "!record too large (");
    msgpack_sbuffer_destroy(&sb);
}

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fluent_msgpack),
        cmocka_unit_test(test_fluent_msgpack_count_bomb),
        cmocka_unit_test(test_fluent_msgpack_nested_keys),
        cmocka_unit_test(test_fluent_msgpack_document_path),
        cmocka_unit_test(test_json_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
