/* test_protocols_loki.c - the Loki push decoders: JSON and snappy-compressed protobuf
 * (PushRequest), the service label list, and both record paths. (The real clients are
 * tested end to end in tests/e2e/test_proto_loki.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto_test_util.h"
#include "loki_push.pb-c.h"
#include "proto.h"

#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The document path (records as parts, proto.h) and the copy path (proto_record.h)
 * give the same records (proto_test_util.h check_paths_agree), also for records over the limit. */
static void test_loki_json_document_path(void **state)
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
}

/* The Loki document path hands the normalizer the members it found (cl_proto_doc.members)
 * when it knows every part's: the records must be the copy path's, also where it falls
 * back to the parts (a line too deep for the normalizer, containers in labels or
 * metadata) and for escaped keys, whitespace and duplicates across parts. */
static void test_loki_json_document_path_members(void **state)
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
        cmocka_unit_test(test_loki_json),
        cmocka_unit_test(test_loki_service_labels),
        cmocka_unit_test(test_loki_json_document_path),
        cmocka_unit_test(test_loki_json_document_path_members),
        cmocka_unit_test(test_loki_pb),
        cmocka_unit_test(test_loki_pb_brace_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
