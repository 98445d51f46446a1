/* test_core_syslog.c - syslog parsing (RFC 5424 examples from the RFC's section 6.5,
 * RFC 3164 variants), the JSON record it becomes, and RFC 6587 framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "common.h"
#include "record.h"
#include "syslog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-12-07T12:00:00Z, the receive time of most cases. */
#define NOW_MS 1796644800000LL

static int64_t ms_of(const char *iso)
{
    int64_t ms = 0;
    assert_int_equal(cl_parse_timestamp_text(iso, strlen(iso), &ms), 0);
    return ms;
}

static void assert_slice(struct cl_slice s, const char *want)
{
    if (!want) {
        assert_null(s.ptr);
        return;
    }
    assert_non_null(s.ptr);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

/* The record text for msg (without its final newline), as a static string. */
static const char *record_of(const char *msg, int64_t now_ms)
{
    static char text[4096];
    struct cl_syslog_msg m;
    struct cl_buf b;
    cl_buf_init(&b, 1 << 20);
    cl_syslog_parse(msg, strlen(msg), now_ms, &m);
    assert_int_equal(cl_syslog_record(&m, now_ms, &b), CL_OK);
    assert_true(b.len > 0 && b.data[b.len - 1] == '\n');
    assert_true(b.len < sizeof text);
    memcpy(text, b.data, b.len - 1);
    text[b.len - 1] = '\0';
    cl_buf_free(&b);
    return text;
}

/* RFC 5424 6.5 example 1: no structured data, a BOM before the message. */
static void test_rfc5424_example1(void **state)
{
    (void)state;
    const char *s = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
                    "\xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8";
    struct cl_syslog_msg m;
    cl_syslog_parse(s, strlen(s), NOW_MS, &m);
    assert_int_equal(m.version, 1);
    assert_int_equal(m.facility, 4);
    assert_int_equal(m.severity, 2);
    assert_true(m.has_ts);
    assert_int_equal(m.ts_ms, ms_of("2003-10-11T22:14:15.003Z"));
    assert_slice(m.hostname, "mymachine.example.com");
    assert_slice(m.app_name, "su");
    assert_slice(m.procid, NULL);
    assert_slice(m.msgid, "ID47");
    assert_slice(m.sd, NULL);
    assert_slice(m.msg, "'su root' failed for lonvick on /dev/pts/8");
    assert_string_equal(record_of(s, NOW_MS),
                        "{\"timestamp\":\"2003-10-11T22:14:15.003Z\",\"level\":\"fatal\","
                        "\"service\":\"su\",\"message\":\"'su root' failed for lonvick on "
                        "/dev/pts/8\",\"facility\":\"auth\",\"hostname\":\"mymachine.example.com\","
                        "\"msgid\":\"ID47\"}");
}

/* Example 2: microseconds and a zone offset, no MSGID. */
static void test_rfc5424_example2(void **state)
{
    (void)state;
    const char *s = "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's "
                    "time to make the do-nuts.";
    struct cl_syslog_msg m;
    cl_syslog_parse(s, strlen(s), NOW_MS, &m);
    assert_int_equal(m.facility, 20);
    assert_int_equal(m.severity, 5);
    assert_int_equal(m.ts_ms, ms_of("2003-08-24T12:14:15.000Z"));
    assert_slice(m.hostname, "192.0.2.1");
    assert_slice(m.procid, "8710");
    assert_slice(m.msgid, NULL);
    assert_slice(m.msg, "%% It's time to make the do-nuts.");
    assert_string_equal(record_of(s, NOW_MS),
                        "{\"timestamp\":\"2003-08-24T12:14:15.000Z\",\"level\":\"info\","
                        "\"service\":\"myproc\",\"message\":\"%% It's time to make the "
                        "do-nuts.\",\"facility\":\"local4\",\"hostname\":\"192.0.2.1\","
                        "\"procid\":\"8710\"}");
}

/* Examples 3 and 4: structured data, one and two elements, with and without MSG. */
static void test_rfc5424_structured_data(void **state)
{
    (void)state;
    const char *s3 = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                     "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
                     "\xEF\xBB\xBF"
                     "An application event log entry...";
    struct cl_syslog_msg m;
    cl_syslog_parse(s3, strlen(s3), NOW_MS, &m);
    assert_slice(m.msg, "An application event log entry...");
    assert_string_equal(
        record_of(s3, NOW_MS),
        "{\"timestamp\":\"2003-10-11T22:14:15.003Z\",\"level\":\"info\",\"service\":\"evntslog\","
        "\"message\":\"An application event log entry...\",\"facility\":\"local4\","
        "\"hostname\":\"mymachine.example.com\",\"msgid\":\"ID47\",\"sd\":{\"exampleSDID@32473\":"
        "{\"iut\":\"3\",\"eventSource\":\"Application\",\"eventID\":\"1011\"}}}");
    const char *s4 = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                     "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
                     "[examplePriority@32473 class=\"high\"]";
    cl_syslog_parse(s4, strlen(s4), NOW_MS, &m);
    assert_slice(m.msg, "");
    assert_true(strstr(record_of(s4, NOW_MS),
                       ",\"sd\":{\"exampleSDID@32473\":{\"iut\":\"3\",\"eventSource\":"
                       "\"Application\",\"eventID\":\"1011\"},\"examplePriority@32473\":"
                       "{\"class\":\"high\"}}}") != NULL);
}

/* PARAM-VALUE escapes: \" \\ \] lose the backslash, others keep it; JSON-escaped. */
static void test_rfc5424_sd_escapes(void **state)
{
    (void)state;
    const char *s = "<14>1 - - app - - [x@1 a=\"q\\\"uote\" b=\"back\\\\slash\" c=\"br\\]acket\" "
                    "d=\"keep\\n\" e=\"\"] msg";
    const char *r = record_of(s, NOW_MS);
    assert_true(strstr(r, "\"sd\":{\"x@1\":{\"a\":\"q\\\"uote\",\"b\":\"back\\\\slash\","
                          "\"c\":\"br]acket\",\"d\":\"keep\\\\n\",\"e\":\"\"}}") != NULL);
    assert_true(strstr(r, "\"message\":\"msg\"") != NULL);
    /* nil timestamp: the receive time */
    assert_true(strstr(r, "\"timestamp\":\"2026-12-07T12:00:00.000Z\"") != NULL);
}

/* Broken structured data stays in the message; nothing is lost. */
static void test_rfc5424_bad_sd_kept(void **state)
{
    (void)state;
    const char *s = "<14>1 2026-12-07T10:00:00Z h app 1 m [unterminated a=\"b\" rest";
    struct cl_syslog_msg m;
    cl_syslog_parse(s, strlen(s), NOW_MS, &m);
    assert_slice(m.sd, NULL);
    assert_slice(m.msg, "[unterminated a=\"b\" rest");
    const char *t = "<14>1 2026-12-07T10:00:00Z h app 1 m [a@1 b=\"c\"]x";
    cl_syslog_parse(t, strlen(t), NOW_MS, &m);
    assert_slice(m.sd, NULL);
    assert_slice(m.msg, "[a@1 b=\"c\"]x");
}

static void test_rfc3164_classic(void **state)
{
    (void)state;
    const char *s = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8";
    struct cl_syslog_msg m;
    cl_syslog_parse(s, strlen(s), NOW_MS, &m);
    assert_int_equal(m.version, 0);
    assert_int_equal(m.ts_ms, ms_of("2026-10-11T22:14:15Z"));
    assert_slice(m.hostname, "mymachine");
    assert_slice(m.app_name, "su");
    assert_slice(m.procid, NULL);
    assert_slice(m.msg, "'su root' failed for lonvick on /dev/pts/8");
    const char *p = "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!";
    cl_syslog_parse(p, strlen(p), NOW_MS, &m);
    assert_slice(m.hostname, "10.0.0.99");
    assert_slice(m.app_name, NULL);
    assert_slice(m.msg, "Use the BFG!");
    assert_int_equal(m.ts_ms, ms_of("2027-02-05T17:32:18Z")); /* nearer than Feb 2026 */
}

static void test_rfc3164_tag_pid_no_host(void **state)
{
    (void)state;
    const char *s = "<30>Dec  7 11:59:58 web-1 nginx[4242]: GET / 200\n";
    struct cl_syslog_msg m;
    cl_syslog_parse(s, strlen(s), NOW_MS, &m);
    assert_int_equal(m.ts_ms, ms_of("2026-12-07T11:59:58Z"));
    assert_slice(m.hostname, "web-1");
    assert_slice(m.app_name, "nginx");
    assert_slice(m.procid, "4242");
    assert_slice(m.msg, "GET / 200");
    const char *n = "<30>Dec  7 11:59:58 cron[7]: job done";
    cl_syslog_parse(n, strlen(n), NOW_MS, &m);
    assert_slice(m.hostname, NULL);
    assert_slice(m.app_name, "cron");
    assert_slice(m.procid, "7");
    assert_slice(m.msg, "job done");
    const char *t = "<11>sshd: no timestamp at all";
    cl_syslog_parse(t, strlen(t), NOW_MS, &m);
    assert_false(m.has_ts);
    assert_int_equal(m.severity, 3);
    assert_slice(m.app_name, "sshd");
    assert_slice(m.msg, "no timestamp at all");
}

/* rsyslog's forwarding templates put an RFC 3339 timestamp in the BSD header. */
static void test_rfc3164_iso_timestamp(void **state)
{
    (void)state;
    const char *s = "<134>2026-12-07T13:00:01.250+01:00 db-2 postgres[99]: checkpoint complete";
    struct cl_syslog_msg m;
    cl_syslog_parse(s, strlen(s), NOW_MS, &m);
    assert_int_equal(m.ts_ms, ms_of("2026-12-07T12:00:01.250Z"));
    assert_slice(m.hostname, "db-2");
    assert_slice(m.app_name, "postgres");
    assert_slice(m.procid, "99");
    assert_int_equal(m.facility, 16);
    assert_string_equal(record_of(s, NOW_MS),
                        "{\"timestamp\":\"2026-12-07T12:00:01.250Z\",\"level\":\"info\","
                        "\"service\":\"postgres\",\"message\":\"checkpoint complete\","
                        "\"facility\":\"local0\",\"hostname\":\"db-2\",\"procid\":\"99\"}");
}

/* The year of a BSD timestamp is the one closest to the receive time. */
static void test_rfc3164_year_rollover(void **state)
{
    (void)state;
    struct cl_syslog_msg m;
    const char *late = "<13>Dec 31 23:59:59 h app: x";
    cl_syslog_parse(late, strlen(late), ms_of("2027-01-01T00:00:10Z"), &m);
    assert_int_equal(m.ts_ms, ms_of("2026-12-31T23:59:59Z"));
    const char *early = "<13>Jan  1 00:00:05 h app: x";
    cl_syslog_parse(early, strlen(early), ms_of("2026-12-31T23:59:00Z"), &m);
    assert_int_equal(m.ts_ms, ms_of("2027-01-01T00:00:05Z"));
    const char *leap = "<13>Feb 29 10:00:00 h app: x";
    cl_syslog_parse(leap, strlen(leap), ms_of("2028-03-01T00:00:00Z"), &m);
    assert_int_equal(m.ts_ms, ms_of("2028-02-29T10:00:00Z"));
    cl_syslog_parse(leap, strlen(leap), ms_of("2026-03-01T00:00:00Z"), &m);
    assert_false(m.has_ts); /* no Feb 29 near 2026: receive time */
}

/* Severity -> level, facility names, service sanitizing, no PRI, invalid UTF-8. */
static void test_mapping(void **state)
{
    (void)state;
    const char *want[8] = {"fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug"};
    for (int sev = 0; sev < 8; sev++) {
        char s[64], lv[40];
        snprintf(s, sizeof s, "<%d>1 - - - - - - x", 8 + sev);
        snprintf(lv, sizeof lv, "\"level\":\"%s\"", want[sev]);
        assert_non_null(strstr(record_of(s, NOW_MS), lv));
    }
    assert_string_equal(cl_syslog_facility_name(0), "kern");
    assert_string_equal(cl_syslog_facility_name(10), "authpriv");
    assert_string_equal(cl_syslog_facility_name(23), "local7");
    const char *r = record_of("<14>1 - - my/app:1 - - - m", NOW_MS);
    assert_non_null(strstr(r, "\"service\":\"my_app_1\""));
    assert_non_null(strstr(r, "\"appname\":\"my/app:1\""));
    r = record_of("no pri \xff\xfe here", NOW_MS);
    assert_string_equal(r, "{\"timestamp\":\"2026-12-07T12:00:00.000Z\",\"level\":\"info\","
                           "\"message\":\"no pri \\ufffd\\ufffd here\",\"facility\":\"user\"}");
    /* every record is accepted by the normalizer */
    struct cl_buf out;
    struct cl_record_meta meta;
    char err[256];
    struct cl_norm_opts o = {.received_ms = NOW_MS,
                             .default_service = CL_SLICE_LIT("default"),
                             .max_record_bytes = 1 << 20,
                             .max_depth = 64};
    cl_buf_init(&out, 1 << 20);
    r = record_of("<14>1 - - my/app:1 - - [a@1 b=\"\\\"\"] \x01\xc3\xa9", NOW_MS);
    assert_int_equal(cl_record_normalize(r, strlen(r), &o, &out, &meta, err, sizeof err), CL_OK);
    assert_string_equal(meta.service.ptr ? "ok" : "none", "ok");
    cl_buf_free(&out);
}

/* Feeds text to a framer in pieces of `step` bytes; returns the messages joined by '|'
 * (a truncated one marked with '~'), or "ERROR". */
static const char *frame_all(const char *text, size_t step, size_t max_msg)
{
    static char out[4096];
    char buf[256];
    size_t have = 0, pos = 0, n = strlen(text), o = 0;
    struct cl_syslog_framer f;
    cl_syslog_framer_init(&f, max_msg);
    out[0] = '\0';
    while (pos < n || have) {
        size_t add = CL_MIN(step, n - pos);
        assert_true(have + add <= sizeof buf);
        memcpy(buf + have, text + pos, add);
        have += add;
        pos += add;
        size_t used, ml;
        const char *msg;
        int trunc;
        enum cl_syslog_frame_rc rc = cl_syslog_frame_next(&f, buf, have, &used, &msg, &ml, &trunc);
        if (rc == CL_SYSLOG_FRAME_ERROR)
            return "ERROR";
        if (rc == CL_SYSLOG_FRAME_MSG)
            o += (size_t)snprintf(out + o, sizeof out - o, "%s%.*s%s", o ? "|" : "", (int)ml, msg,
                                  trunc ? "~" : "");
        memmove(buf, buf + used, have - used);
        have -= used;
        if (rc == CL_SYSLOG_FRAME_NEED && pos == n)
            break;
    }
    return out;
}

static void test_framing(void **state)
{
    (void)state;
    const char *octets = "11 <13>1 - - a12 <13>1 - - bc\n5 hello";
    const char *lf = "<13>first\r\n\n<13>second\n<13>third\n";
    for (size_t step = 1; step <= 40; step++) {
        assert_string_equal(frame_all(octets, step, 100), "<13>1 - - a|<13>1 - - bc|hello");
        assert_string_equal(frame_all(lf, step, 100), "<13>first\r|<13>second|<13>third");
        /* truncation: the first max bytes are kept, the rest skipped, the stream goes on */
        assert_string_equal(frame_all("12 abcdefghijkl3 xyz", step, 5), "abcde~|xyz");
        assert_string_equal(frame_all("<1>abcdefghijkl\n<2>x\n", step, 5), "<1>ab~|<2>x");
    }
    assert_string_equal(frame_all("<13>no newline yet", 4, 100), "");
    /* a stream that starts with digits but no space is LF-framed plain text */
    assert_string_equal(frame_all("2026-12-07 plain line\n7 lines\n", 3, 100),
                        "2026-12-07 plain line|7 lines");
    assert_string_equal(frame_all("012 <13>\n", 2, 100), "012 <13>");
    assert_string_equal(frame_all("12345678901 x\n", 20, 100), "12345678901 x");
    /* once octet counting is chosen, a broken count closes the stream */
    assert_string_equal(frame_all("3 abc12x <13>", 4, 100), "ERROR");
    assert_string_equal(frame_all("3 abc012 <13>", 4, 100), "ERROR");
    assert_string_equal(frame_all("3 abc12345678901 x", 20, 100), "ERROR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5424_example1),
        cmocka_unit_test(test_rfc5424_example2),
        cmocka_unit_test(test_rfc5424_structured_data),
        cmocka_unit_test(test_rfc5424_sd_escapes),
        cmocka_unit_test(test_rfc5424_bad_sd_kept),
        cmocka_unit_test(test_rfc3164_classic),
        cmocka_unit_test(test_rfc3164_tag_pid_no_host),
        cmocka_unit_test(test_rfc3164_iso_timestamp),
        cmocka_unit_test(test_rfc3164_year_rollover),
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
