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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hec_event),
        cmocka_unit_test(test_hec_document_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
