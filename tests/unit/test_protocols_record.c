/* test_protocols_record.c - what every protocol decoder builds on: the non-validating
 * JSON walker (json_walk.h) against the validating reader, the record builder's unique
 * keys (proto_record.h), hex, base64 and service name cleaning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_walk.h"
#include "proto.h"
#include "proto_record.h"

#include <stdio.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_walk),
        cmocka_unit_test(test_record_unique_keys),
        cmocka_unit_test(test_hex_base64_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
