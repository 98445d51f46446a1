/* test_core_record.c - record normalization: aliases, timestamps, levels, service, output bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIVED_MS 1795619045123LL /* 2026-11-25T15:04:05.123Z */

static char last_err[256];

static struct cl_norm_opts test_opts(void)
{
    struct cl_norm_opts o = {.received_ms = RECEIVED_MS,
                             .default_service = CL_SLICE_LIT("default"),
                             .max_record_bytes = 256 * 1024,
                             .max_depth = 64};
    return o;
}

/* Normalizes `in`; returns the line (caller frees) or NULL with last_err set. */
static char *norm_opts(const char *in, size_t len, const struct cl_norm_opts *o,
                       struct cl_record_meta *meta)
{
    struct cl_buf out;
    cl_buf_init(&out, 1 << 30);
    cl_buf_append_str(&out, "PREFIX");
    int rc = cl_record_normalize(in, len, o, &out, meta, last_err, sizeof last_err);
    if (rc != CL_OK) {
        assert_int_equal(out.len, 6); /* restored */
        cl_buf_free(&out);
        return NULL;
    }
    assert_memory_equal(out.data, "PREFIX", 6);
    char *s = cl_strdup(out.data + 6);
    cl_buf_free(&out);
    return s;
}

static char *norm(const char *in)
{
    struct cl_norm_opts o = test_opts();
    struct cl_record_meta meta;
    return norm_opts(in, strlen(in), &o, &meta);
}

static void expect_line(const char *in, const char *want)
{
    char *got = norm(in);
    if (!got)
        fail_msg("rejected %s: %s", in, last_err);
    assert_string_equal(got, want);
    free(got);
}

static void expect_reject(const char *in, const char *want_err)
{
    char *got = norm(in);
    if (got)
        fail_msg("accepted %s as %s", in, got);
    assert_string_equal(last_err, want_err);
}

/* Timestamp field as it appears in the line for record {"message":"m","timestamp":ts}. */
static void expect_ts(const char *ts_json, const char *want)
{
    char in[512], line[512];
    snprintf(in, sizeof in, "{\"message\":\"m\",\"timestamp\":%s}", ts_json);
    snprintf(
        line, sizeof line,
        "{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":\"default\",\"message\":\"m\"}\n",
        want);
    expect_line(in, line);
}

static void expect_bad_ts(const char *ts_json)
{
    char in[512], want[600];
    snprintf(in, sizeof in, "{\"message\":\"m\",\"timestamp\":%s}", ts_json);
    snprintf(want, sizeof want, "invalid timestamp %s", ts_json);
    expect_reject(in, want);
}

static void expect_level(const char *level_json, const char *want)
{
    char in[256], line[256];
    snprintf(in, sizeof in, "{\"message\":\"m\",\"level\":%s}", level_json);
    snprintf(line, sizeof line,
             "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"%s\",\"service\":"
             "\"default\",\"message\":\"m\"}\n",
             want);
    expect_line(in, line);
}

static void test_minimal(void **state)
{
    expect_line("{\"message\":\"hello\"}",
                "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"info\",\"service\":"
                "\"default\",\"message\":\"hello\"}\n");
}

static void test_exact_output(void **state)
{
    expect_line(
        "  {\"host\" : \"a\", \"msg\":\"x\\n\\u00e9\",\"level\":\"WARNING\",\"n\":[1, 2 ,{\"k\" : "
        "null}], \"ts\":1700000000.5,\"app\":\"api-1\",\"z\":{}}  \n",
        "{\"timestamp\":\"2023-11-14T22:13:20.500Z\",\"level\":\"warn\",\"service\":"
        "\"api-1\",\"message\":\"x\\n\\u00e9\",\"host\":\"a\",\"n\":[1,2,{\"k\":null}],"
        "\"z\":{}}\n");
    expect_line("{\"@timestamp\":\"2026-01-01T00:30:00+01:00\",\"log\":\"l\",\"severity\":50,"
                "\"service\":\"s.v_c\",\"a\":\"spaces kept\"}",
                "{\"timestamp\":\"2025-12-31T23:30:00.000Z\",\"level\":\"error\",\"service\":"
                "\"s.v_c\",\"message\":\"l\",\"a\":\"spaces kept\"}\n");
    expect_line(
        "{\"message\":\"\",\"nested\":{\"a\":[ ] ,\"b\" :\t\"c d\"},\"t\":true,\"f\":false}",
        "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"info\",\"service\":"
        "\"default\",\"message\":\"\",\"nested\":{\"a\":[],\"b\":\"c d\"},\"t\":true,"
        "\"f\":false}\n");
}

static void test_meta(void **state)
{
    struct cl_norm_opts o = test_opts();
    struct cl_record_meta meta;
    const char *in = "{\"msg\":\"m\",\"ts\":1700000000123,\"lvl\":\"dbg\",\"service\":\"svc\"}";
    char *line = norm_opts(in, strlen(in), &o, &meta);
    assert_non_null(line);
    assert_int_equal(meta.ts_ms, 1700000000123LL);
    assert_int_equal(meta.level, CL_LEVEL_DEBUG);
    assert_int_equal(meta.service.len, 3);
    assert_int_equal(meta.parsed, 1);
    free(line);
    assert_null(norm_opts("[1]", 3, &o, &meta));
    assert_int_equal(meta.parsed, 0);
    assert_null(norm_opts("{\"a\":1}", 7, &o, &meta));
    assert_int_equal(meta.parsed, 1);
}

static void test_message_aliases(void **state)
{
    const char *tail = "\"level\":\"info\",\"service\":\"default\",\"message\":";
    char want[256];
    snprintf(want, sizeof want, "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",%s\"a\"}\n", tail);
    expect_line("{\"message\":\"a\"}", want);
    expect_line("{\"msg\":\"a\"}", want);
    expect_line("{\"log\":\"a\"}", want);
    /* priority: message > msg > log; the others stay as ordinary fields */
    snprintf(want, sizeof want,
             "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",%s\"a\",\"log\":\"c\",\"msg\":\"b\"}\n",
             tail);
    expect_line("{\"log\":\"c\",\"msg\":\"b\",\"message\":\"a\"}", want);
    snprintf(want, sizeof want,
             "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",%s\"b\",\"log\":\"c\"}\n", tail);
    expect_line("{\"log\":\"c\",\"msg\":\"b\"}", want);
    /* escaped key compared unescaped; raw message text is kept */
    snprintf(want, sizeof want, "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",%s\"\\u0041\"}\n",
             tail);
    expect_line("{\"m\\u0065ssage\":\"\\u0041\"}", want);
    expect_reject("{\"a\":1}", "missing message (message, msg or log)");
    expect_reject("{}", "missing message (message, msg or log)");
    expect_reject("{\"message\":1}", "message must be a string");
    expect_reject("{\"message\":null,\"msg\":\"x\"}", "message must be a string");
    expect_reject("{\"Message\":\"x\"}", "missing message (message, msg or log)");
}

static void test_timestamp_aliases(void **state)
{
    const char *names[] = {"timestamp", "time", "ts", "@timestamp", "date"};
    for (size_t i = 0; i < 5; i++) {
        char in[128];
        snprintf(in, sizeof in, "{\"message\":\"m\",\"%s\":\"2020-01-02T03:04:05Z\"}", names[i]);
        char *line = norm(in);
        assert_non_null(line);
        assert_non_null(strstr(line, "\"timestamp\":\"2020-01-02T03:04:05.000Z\""));
        assert_null(strstr(line, "2020-01-02T03:04:05Z"));
        free(line);
    }
    expect_line("{\"date\":\"x\",\"message\":\"m\",\"ts\":0,\"time\":\"2020-01-02T03:04:05Z\"}",
                "{\"timestamp\":\"2020-01-02T03:04:05.000Z\",\"level\":\"info\",\"service\":"
                "\"default\",\"message\":\"m\",\"date\":\"x\",\"ts\":0}\n");
}

static void test_timestamp_text(void **state)
{
    expect_ts("\"2026-11-25T15:04:05Z\"", "2026-11-25T15:04:05.000Z");
    expect_ts("\"2026-11-25t15:04:05z\"", "2026-11-25T15:04:05.000Z");
    expect_ts("\"2026-11-25 15:04:05\"", "2026-11-25T15:04:05.000Z");
    expect_ts("\"2026-11-25T15:04Z\"", "2026-11-25T15:04:00.000Z");
    expect_ts("\"2026-11-25T15:04\"", "2026-11-25T15:04:00.000Z");
    expect_ts("\"2026-11-25T15:04:05+05:30\"", "2026-11-25T09:34:05.000Z");
    expect_ts("\"2026-11-25T15:04:05-08:00\"", "2026-11-25T23:04:05.000Z");
    expect_ts("\"2026-11-25T15:04:05+0530\"", "2026-11-25T09:34:05.000Z");
    expect_ts("\"2026-11-25T15:04:05-08\"", "2026-11-25T23:04:05.000Z");
    expect_ts("\"2026-11-25T15:04:05+00:00\"", "2026-11-25T15:04:05.000Z");
    expect_ts("\"2026-11-25T15:04:05.1Z\"", "2026-11-25T15:04:05.100Z");
    expect_ts("\"2026-11-25T15:04:05.12Z\"", "2026-11-25T15:04:05.120Z");
    expect_ts("\"2026-11-25T15:04:05.123Z\"", "2026-11-25T15:04:05.123Z");
    expect_ts("\"2026-11-25T15:04:05.1239Z\"", "2026-11-25T15:04:05.123Z");
    expect_ts("\"2026-11-25T15:04:05.999999Z\"", "2026-11-25T15:04:05.999Z");
    expect_ts("\"2026-11-25T15:04:05.123456789Z\"", "2026-11-25T15:04:05.123Z");
    expect_ts("\"2026-11-25T15:04:05.12345678901234567890123-01:00\"", "2026-11-25T16:04:05.123Z");
    /* leap second clamps */
    expect_ts("\"2016-12-31T23:59:60Z\"", "2016-12-31T23:59:59.999Z");
    expect_ts("\"2016-12-31T23:59:60.5Z\"", "2016-12-31T23:59:59.999Z");
    /* boundaries crossed by the offset */
    expect_ts("\"2026-01-01T00:30:00+01:00\"", "2025-12-31T23:30:00.000Z");
    expect_ts("\"2025-12-31T23:30:00-01:00\"", "2026-01-01T00:30:00.000Z");
    expect_ts("\"2024-02-28T23:00:00-01:00\"", "2024-02-29T00:00:00.000Z");
    expect_ts("\"2023-02-28T23:00:00-01:00\"", "2023-03-01T00:00:00.000Z");
    expect_ts("\"2024-02-29T12:00:00Z\"", "2024-02-29T12:00:00.000Z");
    expect_ts("\"2000-02-29T00:00:00Z\"", "2000-02-29T00:00:00.000Z");
    expect_ts("\"1999-12-31T23:59:59.999Z\"", "1999-12-31T23:59:59.999Z");
    expect_ts("\"1970-01-01T00:00:00Z\"", "1970-01-01T00:00:00.000Z");
    expect_ts("\"1969-12-31T23:59:59.999Z\"", "1969-12-31T23:59:59.999Z");
    expect_ts("\"0001-01-01T00:00:00Z\"", "0001-01-01T00:00:00.000Z");
    expect_ts("\"9999-12-31T23:59:59.999Z\"", "9999-12-31T23:59:59.999Z");
    expect_ts("\"2026-04-30T00:00:00Z\"", "2026-04-30T00:00:00.000Z");
    /* escaped value is unescaped first */
    expect_ts("\"2026-11-25T15:04:05\\u002B01:00\"", "2026-11-25T14:04:05.000Z");
}

static void test_timestamp_text_invalid(void **state)
{
    expect_bad_ts("\"2026-02-30T00:00:00Z\"");
    expect_bad_ts("\"2026-02-29T00:00:00Z\"");
    expect_bad_ts("\"1900-02-29T00:00:00Z\"");
    expect_bad_ts("\"2026-04-31T00:00:00Z\"");
    expect_bad_ts("\"2026-13-01T00:00:00Z\"");
    expect_bad_ts("\"2026-00-01T00:00:00Z\"");
    expect_bad_ts("\"2026-01-00T00:00:00Z\"");
    expect_bad_ts("\"2026-01-01T24:00:00Z\"");
    expect_bad_ts("\"2026-01-01T23:60:00Z\"");
    expect_bad_ts("\"2026-01-01T23:59:61Z\"");
    expect_bad_ts("\"0000-01-01T00:00:00Z\"");
    expect_bad_ts("\"0001-01-01T00:00:00+01:00\"");
    expect_bad_ts("\"9999-12-31T23:59:59-01:00\"");
    expect_bad_ts("\"2026-01-01\"");
    expect_bad_ts("\"2026-01-01T\"");
    expect_bad_ts("\"2026-01-01T00:00:00.Z\"");
    expect_bad_ts("\"2026-01-01T00:00.5Z\"");
    expect_bad_ts("\"2026-01-01T00:00:00+5:30\"");
    expect_bad_ts("\"2026-01-01T00:00:00+24:00\"");
    expect_bad_ts("\"2026-01-01T00:00:00+05:60\"");
    expect_bad_ts("\"2026-01-01T00:00:00ZZ\"");
    expect_bad_ts("\"2026-01-01T00:00:00 Z\"");
    expect_bad_ts("\"2026-1-01T00:00:00Z\"");
    expect_bad_ts("\"2026-01-01X00:00:00Z\"");
    expect_bad_ts("\"\"");
    expect_bad_ts("\"yesterday\"");
    expect_bad_ts("null");
    expect_bad_ts("true");
    expect_bad_ts("{}");
    expect_bad_ts("[1]");
}

static void test_timestamp_numbers(void **state)
{
    expect_ts("0", "1970-01-01T00:00:00.000Z");
    expect_ts("1700000000", "2023-11-14T22:13:20.000Z");
    expect_ts("1700000000.123", "2023-11-14T22:13:20.123Z");
    expect_ts("1700000000.1239999", "2023-11-14T22:13:20.123Z");
    expect_ts("1700000000.5", "2023-11-14T22:13:20.500Z");
    expect_ts("1700000000123", "2023-11-14T22:13:20.123Z");
    expect_ts("1700000000123.9", "2023-11-14T22:13:20.123Z");
    expect_ts("1700000000123456", "2023-11-14T22:13:20.123Z");
    expect_ts("1700000000123456789", "2023-11-14T22:13:20.123Z");
    expect_ts("1.7e9", "2023-11-14T22:13:20.000Z");
    expect_ts("1.700000000123E12", "2023-11-14T22:13:20.123Z");
    expect_ts("0.5", "1970-01-01T00:00:00.500Z");
    expect_ts("99999999999", "5138-11-16T09:46:39.000Z");           /* < 1e11: seconds */
    expect_ts("100000000000", "1973-03-03T09:46:40.000Z");          /* 1e11: ms */
    expect_ts("99999999999999", "5138-11-16T09:46:39.999Z");        /* < 1e14: ms */
    expect_ts("100000000000000", "1973-03-03T09:46:40.000Z");       /* 1e14: us */
    expect_ts("100000000000000000", "1973-03-03T09:46:40.000Z");    /* 1e17: ns */
    expect_ts("253402300799999999999", "9999-12-31T23:59:59.999Z"); /* beyond int64 ns */
    /* numeric strings are numbers */
    expect_ts("\"1700000000.5\"", "2023-11-14T22:13:20.500Z");
    expect_ts("\"1700000000123\"", "2023-11-14T22:13:20.123Z");
    expect_bad_ts("-1");
    expect_bad_ts("-0.5");
    expect_bad_ts("\"-1\"");
    expect_bad_ts("1e300");
    expect_bad_ts("253402300800000000000"); /* ns of year 10000 */
    expect_bad_ts("\"17e\"");
    expect_bad_ts("\"01700000000\"");
    expect_bad_ts("\"1700000000.\"");
}

static void test_timestamp_api(void **state)
{
    int64_t ms;
    assert_int_equal(cl_parse_timestamp_text("2024-02-29T23:59:59.999Z", 24, &ms), 0);
    assert_int_equal(ms, 1709251199999LL);
    assert_int_equal(cl_parse_timestamp_number("1700000000.123", 14, &ms), 0);
    assert_int_equal(ms, 1700000000123LL);
    /* 0.001 steps would drift through a double; these must be exact */
    for (int i = 0; i < 1000; i++) {
        char s[32];
        int n = snprintf(s, sizeof s, "1700000000.%03d", i);
        assert_int_equal(cl_parse_timestamp_number(s, (size_t)n, &ms), 0);
        assert_int_equal(ms, 1700000000000LL + i);
    }
    char out[25];
    cl_format_timestamp(-62135596800000LL, out);
    assert_string_equal(out, "0001-01-01T00:00:00.000Z");
    cl_format_timestamp(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    /* round trip over every day of 1968..2032 */
    for (int64_t d = -730; d < 23000; d += 1) {
        int64_t t = d * 86400000LL + 12345678;
        cl_format_timestamp(t, out);
        assert_int_equal(cl_parse_timestamp_text(out, 24, &ms), 0);
        assert_int_equal(ms, t);
    }
}

static void test_levels(void **state)
{
    expect_level("\"trace\"", "trace");
    expect_level("\"TRC\"", "trace");
    expect_level("\"Verbose\"", "trace");
    expect_level("\"finest\"", "trace");
    expect_level("\"debug\"", "debug");
    expect_level("\"DBG\"", "debug");
    expect_level("\"fine\"", "debug");
    expect_level("\"finer\"", "debug");
    expect_level("\"INFO\"", "info");
    expect_level("\"information\"", "info");
    expect_level("\"Informational\"", "info");
    expect_level("\"notice\"", "info");
    expect_level("\"inf\"", "info");
    expect_level("\"warn\"", "warn");
    expect_level("\"WARNING\"", "warn");
    expect_level("\"wrn\"", "warn");
    expect_level("\"error\"", "error");
    expect_level("\"err\"", "error");
    expect_level("\"eror\"", "error");
    expect_level("\"fatal\"", "fatal");
    expect_level("\"critical\"", "fatal");
    expect_level("\"CRIT\"", "fatal");
    expect_level("\"alert\"", "fatal");
    expect_level("\"emerg\"", "fatal");
    expect_level("\"emergency\"", "fatal");
    expect_level("\"panic\"", "fatal");
    expect_level("\"ftl\"", "fatal");
    expect_level("\"\\u0045RROR\"", "error");
    expect_level("10", "trace");
    expect_level("19", "trace");
    expect_level("20", "debug");
    expect_level("30", "info");
    expect_level("35", "info");
    expect_level("40", "warn");
    expect_level("50", "error");
    expect_level("59", "error");
    expect_level("60", "fatal");
    expect_level("100", "fatal");
    expect_level("\"30\"", "info");
    expect_reject("{\"message\":\"m\",\"level\":\"loud\"}", "unknown level \"loud\"");
    expect_reject("{\"message\":\"m\",\"level\":\"\"}", "unknown level \"\"");
    expect_reject("{\"message\":\"m\",\"level\":9}", "unknown level \"9\"");
    expect_reject("{\"message\":\"m\",\"level\":101}", "unknown level \"101\"");
    expect_reject("{\"message\":\"m\",\"level\":30.5}", "unknown level \"30.5\"");
    expect_reject("{\"message\":\"m\",\"level\":-30}", "unknown level \"-30\"");
    expect_reject("{\"message\":\"m\",\"level\":null}", "unknown level \"null\"");
    expect_reject("{\"message\":\"m\",\"level\":\"informationalx\"}",
                  "unknown level \"informationalx\"");
    /* alias priority: level > severity > lvl */
    expect_line("{\"lvl\":\"debug\",\"severity\":\"error\",\"message\":\"m\"}",
                "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"error\",\"service\":"
                "\"default\",\"message\":\"m\",\"lvl\":\"debug\"}\n");
    expect_line("{\"lvl\":\"debug\",\"severity\":\"error\",\"level\":\"warn\",\"message\":\"m\"}",
                "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"warn\",\"service\":"
                "\"default\",\"message\":\"m\",\"lvl\":\"debug\",\"severity\":\"error\"}\n");
}

static void test_service(void **state)
{
    expect_line("{\"message\":\"m\",\"app\":\"a\",\"service\":\"b\"}",
                "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"info\",\"service\":"
                "\"b\",\"message\":\"m\",\"app\":\"a\"}\n");
    expect_line("{\"message\":\"m\",\"app\":\"A.b_c-9\"}",
                "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"info\",\"service\":"
                "\"A.b_c-9\",\"message\":\"m\"}\n");
    expect_line("{\"message\":\"m\",\"service\":\"\\u0061pi\"}",
                "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"info\",\"service\":"
                "\"api\",\"message\":\"m\"}\n");
    char in[256];
    snprintf(in, sizeof in, "{\"message\":\"m\",\"service\":\"%064d\"}", 0);
    char *line = norm(in);
    assert_non_null(line);
    free(line);
    snprintf(in, sizeof in, "{\"message\":\"m\",\"service\":\"%065d\"}", 0);
    assert_null(norm(in));
    const char *suffix = " (expected a string matching [A-Za-z0-9._-]{1,64})";
    char want[256];
    snprintf(want, sizeof want, "invalid service \"a b\"%s", suffix);
    expect_reject("{\"message\":\"m\",\"service\":\"a b\"}", want);
    snprintf(want, sizeof want, "invalid service \"\"%s", suffix);
    expect_reject("{\"message\":\"m\",\"service\":\"\"}", want);
    snprintf(want, sizeof want, "invalid service 5%s", suffix);
    expect_reject("{\"message\":\"m\",\"service\":5}", want);
    snprintf(want, sizeof want, "invalid service \"a/b\"%s", suffix);
    expect_reject("{\"message\":\"m\",\"app\":\"a/b\"}", want);
    snprintf(want, sizeof want, "invalid service \"\\u00e9\"%s", suffix);
    expect_reject("{\"message\":\"m\",\"app\":\"\\u00e9\"}", want);

    struct cl_norm_opts o = test_opts();
    o.default_service = CL_SLICE_LIT("hdr");
    struct cl_record_meta meta;
    const char *rec = "{\"message\":\"m\"}";
    line = norm_opts(rec, strlen(rec), &o, &meta);
    assert_non_null(strstr(line, "\"service\":\"hdr\""));
    assert_int_equal(meta.service.len, 3);
    assert_memory_equal(meta.service.ptr, "hdr", 3);
    free(line);
    assert_int_equal(cl_service_valid("a", 1), 1);
    assert_int_equal(cl_service_valid("a:b", 3), 0);
}

static void test_structure_errors(void **state)
{
    expect_reject("[]", "record is not a JSON object (got an array)");
    expect_reject("\"x\"", "record is not a JSON object (got a string)");
    expect_reject("", "invalid JSON: expected a value at byte 0");
    expect_reject("   ", "invalid JSON: expected a value at byte 3");
    char *line = norm("{\"message\":\"m\",}");
    assert_null(line);
    assert_non_null(strstr(last_err, "invalid JSON: "));
    assert_null(norm("{\"message\":\"m\"} x"));
    assert_non_null(strstr(last_err, "invalid JSON: "));
    assert_null(norm("{\"message\":\"m\""));
    assert_null(norm("{\"message\":\"\xC3\x28\"}")); /* invalid UTF-8 */
    assert_non_null(strstr(last_err, "invalid JSON: "));
    assert_null(norm("{\"message\":\"\xC0\xAF\"}"));                 /* overlong */
    assert_null(norm("{\"message\":\"m\",\"k\":\"\xED\xA0\x80\"}")); /* surrogate */
    assert_null(norm("{\"message\":\"m\",\"k\":01}"));
}

static void test_size_limit(void **state)
{
    struct cl_norm_opts o = test_opts();
    o.max_record_bytes = 20;
    struct cl_record_meta meta;
    const char *ok = "{\"message\":\"12345\"}"; /* 19 bytes */
    char *line = norm_opts(ok, strlen(ok), &o, &meta);
    assert_non_null(line);
    free(line);
    const char *big = "{\"message\":\"1234567\"}";
    assert_null(norm_opts(big, strlen(big), &o, &meta));
    assert_string_equal(last_err, "record too large (21 bytes, limit 20)");
}

static void test_depth(void **state)
{
    char in[512];
    size_t n = (size_t)snprintf(in, sizeof in, "{\"message\":\"m\",\"d\":");
    for (int i = 0; i < 63; i++)
        in[n++] = '[';
    for (int i = 0; i < 63; i++)
        in[n++] = ']';
    in[n++] = '}';
    in[n] = '\0';
    char *line = norm(in); /* object + 63 arrays = depth 64 */
    if (!line)
        fail_msg("%s", last_err);
    free(line);
    memmove(in + 20, in + 19, n - 19 + 1);
    in[19] = '[';
    size_t len = strlen(in);
    in[len - 1] = ']';
    in[len] = '}';
    in[len + 1] = '\0';
    assert_null(norm(in));
    assert_non_null(strstr(last_err, "invalid JSON: "));
}

static void test_huge_numbers_verbatim(void **state)
{
    expect_line("{\"message\":\"m\",\"big\":123456789012345678901234567890.5e-300,\"neg\":-0,"
                "\"e\":1E+400}",
                "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"info\",\"service\":"
                "\"default\",\"message\":\"m\",\"big\":123456789012345678901234567890.5e-300,"
                "\"neg\":-0,\"e\":1E+400}\n");
}

static void test_duplicates(void **state)
{
    expect_reject("{\"message\":\"m\",\"a\":1,\"a\":2}", "duplicate key \"a\"");
    expect_reject("{\"message\":\"m\",\"a\":1,\"\\u0061\":2}", "duplicate key \"\\u0061\"");
    expect_reject("{\"message\":\"m\",\"message\":\"n\"}", "duplicate key \"message\"");
    expect_reject("{\"msg\":\"m\",\"m\\u0073g\":\"n\"}", "duplicate key \"m\\u0073g\"");
    /* nested duplicates are not our business: the nested value is copied verbatim */
    char *line = norm("{\"message\":\"m\",\"o\":{\"a\":1,\"a\":2}}");
    assert_non_null(line);
    free(line);
    /* many keys: the sorted path */
    struct cl_buf in;
    cl_buf_init(&in, 1 << 20);
    cl_buf_append_str(&in, "{\"message\":\"m\"");
    for (int i = 0; i < 100; i++)
        cl_buf_printf(&in, ",\"k%d\":%d", i, i);
    cl_buf_append_str(&in, "}");
    line = norm(in.data);
    assert_non_null(line);
    free(line);
    in.len--;
    cl_buf_append_str(&in, ",\"k\\u00357\":1}");
    assert_null(norm(in.data));
    assert_string_equal(last_err, "duplicate key \"k\\u00357\"");
    cl_buf_free(&in);
}

/* A shipper's document taken as it is (proto.h): duplicates keep the first member, in
 * place and among many keys (the sorted path), and a missing message becomes "". */
static void test_document_options(void **state)
{
    (void)state;
    struct cl_norm_opts o = test_opts();
    struct cl_record_meta meta;
    o.keep_first_duplicate = 1;
    o.empty_message_ok = 1;
    o.default_service = CL_SLICE_LIT("idx");
    const char *in = "{\"ts\":1795000000000,\"a\":1,\"msg\":\"m\",\"a\":2,\"m\\u0073g\":\"n\","
                     "\"b\":3,\"msg\":\"x\"}";
    char *line = norm_opts(in, strlen(in), &o, &meta);
    assert_non_null(line);
    assert_string_equal(line, "{\"timestamp\":\"2026-11-18T11:06:40.000Z\",\"level\":\"info\","
                              "\"service\":\"idx\",\"message\":\"m\",\"a\":1,\"b\":3}\n");
    free(line);
    in = "{\"ts\":1795000000000,\"app\":\"web\"}";
    line = norm_opts(in, strlen(in), &o, &meta);
    assert_non_null(line);
    assert_string_equal(line, "{\"timestamp\":\"2026-11-18T11:06:40.000Z\",\"level\":\"info\","
                              "\"service\":\"web\",\"message\":\"\"}\n");
    free(line);
    struct cl_buf many;
    cl_buf_init(&many, 1 << 20);
    cl_buf_append_str(&many, "{\"message\":\"m\"");
    for (int i = 0; i < 40; i++)
        cl_buf_printf(&many, ",\"k%d\":%d,\"k%d\":%d", i % 20, i, i % 20, i + 100);
    cl_buf_append_str(&many, "}");
    line = norm_opts(many.data, many.len, &o, &meta);
    assert_non_null(line);
    assert_non_null(strstr(line, ",\"k0\":0,\"k1\":1,"));
    assert_non_null(strstr(line, ",\"k19\":19}"));
    assert_null(strstr(line, "\"k0\":20"));
    free(line);
    cl_buf_free(&many);
    o.keep_first_duplicate = 0; /* the defaults still reject */
    o.empty_message_ok = 0;
    assert_null(norm_opts(in, strlen(in), &o, &meta));
    assert_string_equal(last_err, "missing message (message, msg or log)");
    in = "{\"message\":\"m\",\"a\":1,\"a\":2}";
    assert_null(norm_opts(in, strlen(in), &o, &meta));
    assert_string_equal(last_err, "duplicate key \"a\"");
}

/* A document of repeated keys copies to a few bytes, but its input is bounded too (4x
 * max_record_bytes) so the per-thread scratch cannot grow with an unbounded input; one
 * with whitespace beyond the limit but within the bound still passes. */
static void test_document_input_bound(void **state)
{
    (void)state;
    struct cl_norm_opts o = test_opts();
    struct cl_record_meta meta;
    o.keep_first_duplicate = 1;
    o.max_record_bytes = 1024;
    size_t cap = 8192, n = 0;
    char *in = malloc(cap);
    assert_non_null(in);
    n += (size_t)sprintf(in, "{\"message\":\"m\"");
    while (n + 8 < 4 * 1024 + 16)
        n += (size_t)sprintf(in + n, ",\"a\":1");
    n += (size_t)sprintf(in + n, "}");
    assert_null(norm_opts(in, n, &o, &meta));
    assert_non_null(strstr(last_err, "before whitespace and duplicate keys are dropped"));
    assert_non_null(strstr(last_err, "limit 4096"));
    n = (size_t)sprintf(in, "{\"message\":\"m\",%*s\"a\":1}", 2000, "");
    char *got = norm_opts(in, n, &o, &meta);
    assert_non_null(got);
    assert_non_null(strstr(got, "\"a\":1"));
    free(got);
    free(in);
}

/* A record given as parts reads as one object: members in order, later duplicates
 * across parts dropped, every part's bytes counted against the size limit. */
static void test_parts(void **state)
{
    (void)state;
    struct cl_norm_opts o = test_opts();
    struct cl_record_meta meta;
    struct cl_buf out;
    char err[256];
    o.keep_first_duplicate = 1;
    struct cl_slice parts[] = {CL_SLICE_LIT("{\"ts\":1795000000000}"),
                               CL_SLICE_LIT("{\"message\":\"m\",\"ts\":1,\"a\":{ \"b\" : 1 }}"),
                               CL_SLICE_LIT("{}"), CL_SLICE_LIT("{\"a\":2,\"c\":true}")};
    cl_buf_init(&out, 1 << 20);
    assert_int_equal(cl_record_normalize_parts(parts, 4, &o, &out, &meta, err, sizeof err), CL_OK);
    assert_string_equal(out.data, "{\"timestamp\":\"2026-11-18T11:06:40.000Z\",\"level\":\"info\","
                                  "\"service\":\"default\",\"message\":\"m\",\"a\":{\"b\":1},"
                                  "\"c\":true}\n");
    /* The limit applies to the one object a decoder would have copied the parts into
     * (duplicates and whitespace left out): 55 bytes here, not the parts' 76. */
    const char *copy = "{\"ts\":1795000000000,\"message\":\"m\",\"a\":{\"b\":1},\"c\":true}";
    o.max_record_bytes = strlen(copy);
    assert_int_equal(cl_record_normalize_parts(parts, 4, &o, &out, &meta, err, sizeof err), CL_OK);
    o.max_record_bytes = strlen(copy) - 1;
    assert_int_equal(cl_record_normalize_parts(parts, 4, &o, &out, &meta, err, sizeof err),
                     CL_ERR_INVAL);
    assert_string_equal(err, "record too large (55 bytes, limit 54)");
    assert_int_equal(meta.parsed, 0);
    o.document_service = 1; /* an ES index as the service: counted as its copy has it */
    o.max_record_bytes = strlen(copy) + strlen(",\"service\":\"default\"") - 1;
    assert_int_equal(cl_record_normalize_parts(parts, 4, &o, &out, &meta, err, sizeof err),
                     CL_ERR_INVAL);
    o.max_record_bytes++;
    assert_int_equal(cl_record_normalize_parts(parts, 4, &o, &out, &meta, err, sizeof err), CL_OK);
    cl_buf_free(&out);
}

/* 256 KiB record with ~20k keys must not take quadratic time. */
static void test_many_keys_fast(void **state)
{
    struct cl_buf in;
    cl_buf_init(&in, 1 << 20);
    cl_buf_append_str(&in, "{\"message\":\"m\"");
    for (int i = 0; in.len < 250 * 1024; i++)
        cl_buf_printf(&in, ",\"%x\":1", i);
    cl_buf_append_str(&in, "}");
    struct cl_norm_opts o = test_opts();
    struct cl_record_meta meta;
    int64_t t0 = cl_mono_ms();
    for (int i = 0; i < 5; i++) {
        char *line = norm_opts(in.data, in.len, &o, &meta);
        assert_non_null(line);
        free(line);
    }
    int64_t dt = cl_mono_ms() - t0;
    assert_true(dt < 5000); /* quadratic would be ~10^8 compares per record */
    cl_buf_free(&in);
}

static void test_whitespace_compaction(void **state)
{
    expect_line("{ \"message\" : \"a b\" ,\r\n \"o\" : { \"x\" : [ 1 , \" s p \" , { } ] } , "
                "\"s\" : \" \\\" { \" }",
                "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"info\",\"service\":"
                "\"default\",\"message\":\"a b\",\"o\":{\"x\":[1,\" s p \",{}]},\"s\":\" \\\" "
                "{ \"}\n");
}

static void test_output_buffer_full(void **state)
{
    struct cl_norm_opts o = test_opts();
    struct cl_record_meta meta;
    struct cl_buf out;
    cl_buf_init(&out, 64);
    cl_buf_append_str(&out, "x");
    const char *rec = "{\"message\":\"m\"}";
    int rc = cl_record_normalize(rec, strlen(rec), &o, &out, &meta, last_err, sizeof last_err);
    assert_int_equal(rc, CL_ERR_TOO_LARGE);
    assert_int_equal(out.len, 1);
    cl_buf_free(&out);
}

/* The accepted window: [received - max_age, received + max_future], both ends inclusive;
 * a record outside is rejected with a reason naming its timestamp and the limit. */
static void test_time_window(void **state)
{
    struct cl_norm_opts o = test_opts();
    o.max_age_ms = 7LL * 86400000;
    o.max_future_ms = 600000;
    struct cl_record_meta meta;
    char in[160];
    const int64_t edges[] = {RECEIVED_MS - 7LL * 86400000, RECEIVED_MS + 600000, RECEIVED_MS};
    for (size_t i = 0; i < CL_ARRAY_LEN(edges); i++) {
        snprintf(in, sizeof in, "{\"message\":\"m\",\"ts\":%lld}", (long long)edges[i]);
        char *line = norm_opts(in, strlen(in), &o, &meta);
        assert_non_null(line);
        assert_int_equal(meta.ts_ms, edges[i]);
        free(line);
    }
    snprintf(in, sizeof in, "{\"message\":\"m\",\"ts\":%lld}",
             (long long)(RECEIVED_MS - 7LL * 86400000 - 1));
    assert_null(norm_opts(in, strlen(in), &o, &meta));
    assert_string_equal(last_err, "timestamp 2026-11-18T15:04:05.122Z is more than 7d in the past "
                                  "(max record age)");
    const char *year1 = "{\"message\":\"m\",\"time\":\"0001-01-01T00:00:00Z\"}";
    assert_null(norm_opts(year1, strlen(year1), &o, &meta));
    assert_string_equal(last_err, "timestamp 0001-01-01T00:00:00.000Z is more than 7d in the past "
                                  "(max record age)");
    const char *y9999 = "{\"message\":\"m\",\"time\":\"9999-12-31T23:59:59Z\"}";
    assert_null(norm_opts(y9999, strlen(y9999), &o, &meta));
    assert_string_equal(last_err, "timestamp 9999-12-31T23:59:59.000Z is more than 10m in the "
                                  "future (max record future)");
    /* No timestamp: the arrival time, always inside. 0 turns a side off. */
    char *line = norm_opts("{\"message\":\"m\"}", 15, &o, &meta);
    assert_non_null(line);
    free(line);
    o.max_age_ms = o.max_future_ms = 0;
    line = norm_opts(year1, strlen(year1), &o, &meta);
    assert_non_null(line);
    free(line);
    line = norm_opts(y9999, strlen(y9999), &o, &meta);
    assert_non_null(line);
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_window),
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_exact_output),
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_message_aliases),
        cmocka_unit_test(test_timestamp_aliases),
        cmocka_unit_test(test_timestamp_text),
        cmocka_unit_test(test_timestamp_text_invalid),
        cmocka_unit_test(test_timestamp_numbers),
        cmocka_unit_test(test_timestamp_api),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_service),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_huge_numbers_verbatim),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_document_options),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_document_input_bound),
        cmocka_unit_test(test_many_keys_fast),
        cmocka_unit_test(test_whitespace_compaction),
        cmocka_unit_test(test_output_buffer_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
