/* test_protocols_hec.c - the Splunk HEC decoders (event: concatenated JSON events; raw:
 * lines), both record paths. (The real client is tested end to end in
 * tests/e2e/test_proto_hec.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto_test_util.h"
#include "proto.h"

#include <stdio.h>
#include <string.h>

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

/* The document path (records as parts, proto.h) and the copy path (proto_record.h)
 * give the same records (proto_test_util.h check_paths_agree), also for records over the limit. */
static void test_hec_document_path(void **state)
{
    (void)state;
    const char *hec = "{\"time\":1796560830.5,\"host\":\"h\",\"event\":{\"message\":\"m\",\"host\":"
                      "\"own\",\"ts\":1},\"fields\":{\"host\":\"f\",\"x\":[1, 2]}}"
                      "{\"event\":[1, 2],\"index\":\"i\"}{\"time\":\"bad\",\"event\":\"s\","
                      "\"sourcetype\":\"st\"}{\"event\":{\"a\":1,\"a\":2}}";
    check_paths_agree(cl_hec_event_decode, hec, 256 * 1024, "\"message\":\"m\",\"host\":\"own\"");
    check_paths_agree(cl_hec_event_decode, hec, 60, "!record too large (");
}

/* An event /v1/logs takes (nested to the 64-level limit) is taken here too, though the
 * envelope adds a level; one nested deeper is rejected alone, and the events around it
 * are kept (the body failed as a whole before). */
static void test_hec_event_depth(void **state)
{
    (void)state;
    static char body[1024];
    char *p = body;
    p += sprintf(p, "{\"event\":\"before\"}");
    for (int deep = 63; deep <= 64; deep++) {
        p += sprintf(p, "{\"event\":{\"message\":\"deep%d\",\"a\":", deep);
        for (int i = 0; i < deep; i++)
            *p++ = '[';
        for (int i = 0; i < deep; i++)
            *p++ = ']';
        p += sprintf(p, "}}");
    }
    p += sprintf(p, "{\"event\":\"after\"}");
    struct collect c;
    char err[200];
    assert_int_equal(decode(cl_hec_event_decode, body, strlen(body), &c, err), 0);
    assert_int_equal(c.records, 3);
    assert_int_equal(c.rejects, 1);
    assert_non_null(strstr(c.out.data, "\"message\":\"deep63\""));
    assert_null(strstr(c.out.data, "\"message\":\"deep64\""));
    assert_non_null(strstr(c.out.data, "!invalid JSON: nesting too deep\n"));
    assert_non_null(strstr(c.out.data, "\"message\":\"after\""));
    done(&c);
    /* The normalizer (at the same 64 levels) keeps the event at the limit, both paths. */
    check_paths_agree(cl_hec_event_decode, body, 256 * 1024, "\"message\":\"deep63\"");
    /* Not JSON at all still fails the body. */
    const char *broken = "{\"event\":\"ok\"}{\"event\":[1,}";
    assert_int_equal(decode(cl_hec_event_decode, broken, strlen(broken), &c, err), -1);
    done(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hec_event),
        cmocka_unit_test(test_hec_document_path),
        cmocka_unit_test(test_hec_event_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
