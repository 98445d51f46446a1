/* test_pipeline_ingest_parse.c - body forms, per-record errors and message packing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "batch.h"
#include "codec.h"
#include "common.h"
#include "ingest.h"
#include "json.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIVED_MS 1795619045123LL /* 2026-11-25T15:04:05.123Z */
#define LINE_PREFIX "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"info\",\"service\":"

struct run {
    struct cl_ingest_batch batch;
    struct cl_ingest_parse_result res;
    struct cl_buf ndjson; /* all messages decompressed, in order */
    int rc;
};

static void run_lim(struct run *r, const char *body, size_t len, const char *svc,
                    const struct cl_ingest_limits *lim)
{
    cl_ingest_batch_init(&r->batch);
    cl_ingest_parse_result_init(&r->res);
    cl_buf_init(&r->ndjson, 1 << 30);
    r->rc = cl_ingest_parse(body, len, svc, RECEIVED_MS, lim, &r->batch, &r->res);
    for (size_t i = 0; i < r->batch.n_msgs; i++) {
        const struct cl_msg_out *m = &r->batch.msgs[i];
        size_t before = r->ndjson.len;
        assert_int_equal(cl_gzip_decompress(m->body, m->len, &r->ndjson), CL_OK);
        assert_int_equal(r->ndjson.len - before, m->attrs.raw_bytes);
        assert_string_equal(m->attrs.encoding, "gzip");
    }
    /* the errors array is always valid JSON */
    struct cl_json_reader rd;
    struct cl_json_value v;
    cl_json_reader_init(&rd, r->res.errors.data, r->res.errors.len, 8);
    assert_int_equal(cl_json_scan_value(&rd, &v), 0);
    assert_int_equal(v.type, CL_JSON_ARRAY);
    assert_true(cl_json_at_end(&rd));
}

static void run(struct run *r, const char *body)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    run_lim(r, body, strlen(body), NULL, &lim);
    assert_int_equal(r->rc, CL_OK);
}

static void done(struct run *r)
{
    cl_ingest_batch_free(&r->batch);
    cl_ingest_parse_result_free(&r->res);
    cl_buf_free(&r->ndjson);
}

static const char *line_a = LINE_PREFIX "\"default\",\"message\":\"a\"}\n";
static const char *line_b = LINE_PREFIX "\"default\",\"message\":\"b\"}\n";

static void test_defaults(void **state)
{
    struct cl_ingest_limits l;
    cl_ingest_limits_default(&l);
    assert_int_equal(l.max_body_bytes, 10 << 20);
    assert_int_equal(l.max_decoded_bytes, 64 << 20);
    assert_int_equal(l.max_record_bytes, 256 << 10);
    assert_int_equal(l.max_errors, 100);
    assert_int_equal(l.max_message_bytes, 1 << 20);
    assert_int_equal(l.max_depth, 64);
    assert_int_equal(l.compression_level, 1);
}

static void test_single_object(void **state)
{
    struct run r;
    run(&r, "\n  {\n  \"message\" : \"a\"\n}\n\n");
    assert_int_equal(r.res.accepted, 1);
    assert_int_equal(r.res.rejected, 0);
    assert_int_equal(r.res.body_error, 0);
    assert_int_equal(r.batch.n_msgs, 1);
    assert_string_equal(r.ndjson.data, line_a);
    assert_int_equal(r.res.accepted_bytes, strlen(line_a));
    const struct cl_msg_attrs *a = &r.batch.msgs[0].attrs;
    assert_int_equal(a->record_count, 1);
    assert_int_equal(a->min_ts_ms, RECEIVED_MS);
    assert_int_equal(a->max_ts_ms, RECEIVED_MS);
    assert_string_equal(r.res.errors.data, "[]");
    done(&r);

    /* a lone object that is rejected: record error, not a body error */
    run(&r, "{\"a\":1}");
    assert_int_equal(r.res.accepted, 0);
    assert_int_equal(r.res.rejected, 1);
    assert_int_equal(r.res.body_error, 0);
    assert_string_equal(r.res.errors.data,
                        "[{\"index\":0,\"line\":1,\"error\":\"missing message (message, msg or "
                        "log)\"}]");
    done(&r);
}

static void test_array(void **state)
{
    struct run r;
    run(&r, "[\n {\"message\":\"a\"},\n 5,\n\n {\"msg\":\"b\"}, {\"x\":1}\n]\n");
    assert_int_equal(r.res.accepted, 2);
    assert_int_equal(r.res.rejected, 2);
    assert_int_equal(r.res.body_error, 0);
    char want[512];
    snprintf(want, sizeof want, "%s%s", line_a, line_b);
    assert_string_equal(r.ndjson.data, want);
    assert_string_equal(
        r.res.errors.data,
        "[{\"index\":1,\"line\":3,\"error\":\"record is not a JSON object (got a number)\"},"
        "{\"index\":3,\"line\":5,\"error\":\"missing message (message, msg or "
        "log)\"}]");
    done(&r);

    /* a malformed element is rejected alone */
    run(&r, "[{\"message\":\"a\"},{\"message\":tru},{\"message\":\"b\"}]");
    assert_int_equal(r.res.accepted, 2);
    assert_int_equal(r.res.rejected, 1);
    done(&r);

    run(&r, "[]");
    assert_int_equal(r.res.body_error, 1);
    assert_string_equal(r.res.body_error_msg, "no records in body");
    done(&r);

    run(&r, "[1, \"x\"]");
    assert_int_equal(r.res.body_error, 1);
    assert_int_equal(r.res.rejected, 2);
    done(&r);
}

static void test_array_structural_error(void **state)
{
    struct run r;
    run(&r, "[{\"message\":\"a\"}, {\"message\":\"b\"");
    assert_int_equal(r.res.body_error, 1);
    assert_int_equal(r.res.accepted, 0);
    assert_int_equal(r.res.rejected, 0);
    assert_int_equal(r.batch.n_msgs, 0);
    assert_non_null(strstr(r.res.body_error_msg, "invalid JSON array: "));
    assert_non_null(strstr(r.res.body_error_msg, " at byte "));
    assert_string_equal(r.res.errors.data, "[]");
    done(&r);

    run(&r, "[{\"message\":\"a\"}] x");
    assert_int_equal(r.res.body_error, 1);
    assert_non_null(strstr(r.res.body_error_msg, "invalid JSON array: "));
    done(&r);
}

static void test_ndjson(void **state)
{
    struct run r;
    run(&r, "{\"message\":\"a\"}\r\n\r\n   \n{bad}\r\n\t{\"message\":\"b\"}  \r\n{\"a\":1}");
    assert_int_equal(r.res.accepted, 2);
    assert_int_equal(r.res.rejected, 2);
    char want[512];
    snprintf(want, sizeof want, "%s%s", line_a, line_b);
    assert_string_equal(r.ndjson.data, want);
    assert_non_null(
        strstr(r.res.errors.data, "{\"index\":1,\"line\":4,\"error\":\"invalid JSON: "));
    assert_non_null(strstr(r.res.errors.data, "{\"index\":3,\"line\":6,\"error\":\"missing"));
    done(&r);

    /* an object followed by garbage on the same line is one bad NDJSON record */
    run(&r, "{\"message\":\"a\"} {\"message\":\"b\"}");
    assert_int_equal(r.res.accepted, 0);
    assert_int_equal(r.res.rejected, 1);
    assert_int_equal(r.res.body_error, 1);
    done(&r);

    /* nothing parses as an object: body error quoting the first reason */
    run(&r, "{x\n{y\n");
    assert_int_equal(r.res.body_error, 1);
    assert_int_equal(r.res.rejected, 2);
    assert_non_null(strstr(r.res.body_error_msg, "first error: invalid JSON"));
    done(&r);
}

static void test_bom_and_detection(void **state)
{
    struct run r;
    run(&r, "\xEF\xBB\xBF{\"message\":\"a\"}\n{\"message\":\"b\"}\n");
    assert_int_equal(r.res.accepted, 2);
    done(&r);
    run(&r, "\xEF\xBB\xBF [{\"message\":\"a\"}]");
    assert_int_equal(r.res.accepted, 1);
    done(&r);

    const char *bad[] = {"x", "\"str\"", "42", "\xEF\xBB\xBFnull", "\xEF\xBB"};
    for (size_t i = 0; i < CL_ARRAY_LEN(bad); i++) {
        run(&r, bad[i]);
        assert_int_equal(r.res.body_error, 1);
        assert_string_equal(
            r.res.body_error_msg,
            "body is not JSON (expected an object, an array of objects, or NDJSON)");
        done(&r);
    }
    /* leading garbage lines do not block the good lines after them */
    run(&r, "not json\n42\n{\"message\":\"a\"}\n");
    assert_int_equal(r.res.body_error, 0);
    assert_int_equal(r.res.accepted, 1);
    assert_int_equal(r.res.rejected, 2);
    assert_string_equal(r.ndjson.data, line_a);
    assert_string_equal(
        r.res.errors.data,
        "[{\"index\":0,\"line\":1,\"error\":\"invalid JSON: invalid literal at byte 0\"},"
        "{\"index\":1,\"line\":2,\"error\":\"record is not a JSON object (got a number)\"}]");
    done(&r);
    run(&r, "not json\nstill not\n");
    assert_int_equal(r.res.body_error, 1);
    assert_string_equal(r.res.body_error_msg,
                        "body is not JSON (expected an object, an array of objects, or NDJSON)");
    done(&r);

    const char *empty[] = {"", "  \r\n\t", "\xEF\xBB\xBF", "\xEF\xBB\xBF\n"};
    for (size_t i = 0; i < CL_ARRAY_LEN(empty); i++) {
        run(&r, empty[i]);
        assert_int_equal(r.res.body_error, 1);
        assert_string_equal(r.res.body_error_msg, "empty body");
        done(&r);
    }
}

static void test_errors_cap(void **state)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    lim.max_errors = 3;
    struct cl_buf body;
    cl_buf_init(&body, 1 << 20);
    for (int i = 0; i < 10; i++)
        cl_buf_printf(&body, "{\"message\":\"m\",\"level\":\"x\\\"%d\"}\n{\"message\":\"ok\"}\n",
                      i);
    struct run r;
    run_lim(&r, body.data, body.len, NULL, &lim);
    assert_int_equal(r.res.accepted, 10);
    assert_int_equal(r.res.rejected, 10);
    int entries = 0;
    for (const char *p = r.res.errors.data; (p = strstr(p, "\"index\"")) != NULL; p++)
        entries++;
    assert_int_equal(entries, 3);
    /* error text is escaped once more inside the errors JSON */
    assert_non_null(
        strstr(r.res.errors.data,
               "{\"index\":2,\"line\":3,\"error\":\"unknown level \\\"x\\\\\\\"1\\\"\"}"));
    done(&r);
    cl_buf_free(&body);
}

static void test_record_limit(void **state)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    lim.max_record_bytes = 30;
    const char *body = "{\"message\":\"a\"}\n{\"message\":\"0123456789abcdefgh\"}\n";
    struct run r;
    run_lim(&r, body, strlen(body), NULL, &lim);
    assert_int_equal(r.res.accepted, 1);
    assert_int_equal(r.res.rejected, 1);
    assert_string_equal(r.res.errors.data,
                        "[{\"index\":1,\"line\":2,\"error\":\"record too large (32 bytes, limit "
                        "30)\"}]");
    done(&r);
}

static void test_header_service(void **state)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    const char *body = "{\"message\":\"a\"}\n{\"message\":\"b\",\"app\":\"own\"}";
    struct run r;
    run_lim(&r, body, strlen(body), "hdr-1", &lim);
    assert_int_equal(r.rc, CL_OK);
    assert_string_equal(r.ndjson.data, LINE_PREFIX "\"hdr-1\",\"message\":\"a\"}\n" LINE_PREFIX
                                                   "\"own\",\"message\":\"b\"}\n");
    done(&r);
    run_lim(&r, body, strlen(body), "", &lim);
    assert_non_null(strstr(r.ndjson.data, "\"service\":\"default\""));
    done(&r);
    run_lim(&r, body, strlen(body), "bad service", &lim);
    assert_int_equal(r.rc, CL_ERR_INVAL);
    assert_int_equal(r.batch.n_msgs, 0);
    done(&r);
}

static void test_packing(void **state)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    /* 600: the sent-size bound (base64 of the gzip with its member index, plus the
     * attributes' room) leaves these lines to the raw bound */
    lim.max_message_bytes = 600;
    lim.max_record_age_ms = 0; /* the records are from 2023 */
    struct cl_buf body, want;
    cl_buf_init(&body, 1 << 20);
    cl_buf_init(&want, 1 << 20);
    for (int i = 0; i < 100; i++) {
        cl_buf_printf(&body, "{\"message\":\"record %d\",\"ts\":%d}\n", i, 1700000000 + i);
        char ts[25];
        cl_format_timestamp((1700000000LL + i) * 1000, ts);
        cl_buf_printf(&want,
                      "{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":\"default\","
                      "\"message\":\"record %d\"}\n",
                      ts, i);
    }
    struct run r;
    run_lim(&r, body.data, body.len, NULL, &lim);
    assert_int_equal(r.res.accepted, 100);
    assert_string_equal(r.ndjson.data, want.data);
    assert_true(r.batch.n_msgs > 10);
    uint32_t total = 0;
    int64_t next_ts = 1700000000000LL;
    for (size_t i = 0; i < r.batch.n_msgs; i++) {
        const struct cl_msg_attrs *a = &r.batch.msgs[i].attrs;
        assert_true(a->raw_bytes <= 600);
        assert_true(a->record_count > 0);
        assert_int_equal(a->min_ts_ms, next_ts);
        assert_int_equal(a->max_ts_ms, next_ts + (a->record_count - 1) * 1000);
        next_ts += a->record_count * 1000;
        total += a->record_count;
        if (i + 1 < r.batch.n_msgs) /* full: one more line would not have fit */
            assert_true(a->raw_bytes + 100 > 600);
    }
    assert_int_equal(total, 100);
    done(&r);

    /* a record larger than the message size travels alone */
    lim.max_message_bytes = 10;
    run_lim(&r, body.data, body.len, NULL, &lim);
    assert_int_equal(r.batch.n_msgs, 100);
    assert_string_equal(r.ndjson.data, want.data);
    done(&r);
    cl_buf_free(&body);
    cl_buf_free(&want);
}

/* Appends {"ts":TS,"message":"<n random printable characters>"} and a newline: records that
 * barely compress (gzip keeps ~85%, base64 adds a third). *x is the xorshift state. */
static void append_noise_record(struct cl_buf *body, long long ts, int n, uint64_t *x)
{
    cl_buf_printf(body, "{\"ts\":%lld,\"message\":\"", ts);
    for (int k = 0; k < n; k++) {
        *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
        char c = (char)(32 + *x % 95);
        cl_buf_append_char(body, c == '"' || c == '\\' ? 'q' : c);
    }
    cl_buf_append_str(body, "\"}\n");
}

/* Issue 13, item 7: records that barely compress (random printable ASCII) made 1 MiB raw
 * messages of ~1.13 MiB as sent (base64 of gzip), over SQS's 1 MiB. Every message must now
 * fit max_message_bytes as sent, with the records in order and the time bounds exact. */
static void test_packing_by_sent_size(void **state)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    lim.max_record_age_ms = 0; /* the records are from 2023 */
    struct cl_buf body;
    cl_buf_init(&body, 8 << 20);
    uint64_t x = 13;
    for (int i = 0; i < 2500; i++)
        append_noise_record(&body, 1700000000LL + i, 1000, &x);
    struct run r;
    run_lim(&r, body.data, body.len, NULL, &lim);
    assert_int_equal(r.res.accepted, 2500);
    uint32_t total = 0;
    int64_t next_ts = 1700000000000LL;
    size_t raw_max = 0;
    for (size_t i = 0; i < r.batch.n_msgs; i++) {
        const struct cl_msg_out *m = &r.batch.msgs[i];
        if (cl_msg_sent_size(m->len) > lim.max_message_bytes)
            fail_msg("message %zu: %zu bytes as sent > %zu", i, cl_msg_sent_size(m->len),
                     lim.max_message_bytes);
        assert_true(m->attrs.raw_bytes <= lim.max_message_bytes);
        assert_int_equal(m->attrs.min_ts_ms, next_ts);
        assert_int_equal(m->attrs.max_ts_ms, next_ts + (m->attrs.record_count - 1) * 1000);
        next_ts += m->attrs.record_count * 1000;
        total += m->attrs.record_count;
        raw_max = CL_MAX(raw_max, (size_t)m->attrs.raw_bytes);
    }
    assert_int_equal(total, 2500);
    assert_true(raw_max > lim.max_message_bytes / 4); /* halved, not shredded */
    /* the records come out in order: the first and last lines of the whole stream */
    assert_non_null(strstr(r.ndjson.data, "2023-11-14T22:13:20.000Z"));
    done(&r);
    cl_buf_free(&body);
}

static void test_appends_to_batch(void **state)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    struct cl_ingest_batch b;
    struct cl_ingest_parse_result res;
    cl_ingest_batch_init(&b);
    cl_ingest_parse_result_init(&res);
    const char *ok = "{\"message\":\"a\"}";
    const char *bad = "[{\"message\":\"a\"}";
    assert_int_equal(cl_ingest_parse(ok, strlen(ok), NULL, 0, &lim, &b, &res), CL_OK);
    assert_int_equal(b.n_msgs, 1);
    /* a body error drops only this body's messages */
    assert_int_equal(cl_ingest_parse(bad, strlen(bad), NULL, 0, &lim, &b, &res), CL_OK);
    assert_int_equal(res.body_error, 1);
    assert_int_equal(b.n_msgs, 1);
    assert_int_equal(cl_ingest_parse(ok, strlen(ok), NULL, 0, &lim, &b, &res), CL_OK);
    assert_int_equal(res.body_error, 0);
    assert_int_equal(res.accepted, 1);
    assert_int_equal(b.n_msgs, 2);
    cl_ingest_batch_free(&b);
    cl_ingest_parse_result_free(&res);
}

/* Distinct "hour=" values among the lines of one message's raw NDJSON. */
static size_t distinct_hours(const char *raw, size_t len)
{
    char seen[256][14];
    size_t n = 0;
    for (const char *p = raw; p < raw + len; p = strchr(p, '\n') + 1) {
        const char *ts = p + strlen("{\"timestamp\":\""); /* YYYY-MM-DDTHH */
        size_t k = 0;
        while (k < n && memcmp(seen[k], ts, 13) != 0)
            k++;
        if (k == n && n < 256)
            memcpy(seen[n++], ts, 13);
    }
    return n;
}

/* Records spread over 1,000 hours: no message holds more than max_message_partitions of
 * them, and every record is still accepted, in order. */
static void test_partitions_per_message(void **state)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    assert_int_equal(lim.max_message_partitions, 64);
    lim.max_record_age_ms = 0;
    lim.max_record_future_ms = 0;
    struct cl_buf body;
    cl_buf_init(&body, 1 << 20);
    for (int i = 0; i < 1000; i++)
        cl_buf_printf(&body, "{\"message\":\"m\",\"ts\":%lld}\n",
                      (long long)(RECEIVED_MS - (int64_t)i * 3600000));
    struct run r;
    run_lim(&r, body.data, body.len, NULL, &lim);
    assert_int_equal(r.res.accepted, 1000);
    assert_int_equal(r.batch.n_msgs, 16); /* ceil(1000 / 64) */
    struct cl_buf raw;
    cl_buf_init(&raw, 1 << 20);
    for (size_t m = 0; m < r.batch.n_msgs; m++) {
        cl_buf_reset(&raw);
        assert_int_equal(cl_gzip_decompress(r.batch.msgs[m].body, r.batch.msgs[m].len, &raw),
                         CL_OK);
        assert_true(distinct_hours(raw.data, raw.len) <= 64);
    }
    cl_buf_free(&raw);
    done(&r);
    /* The same records in the default window: all but the last week's are rejected. */
    cl_ingest_limits_default(&lim);
    run_lim(&r, body.data, body.len, NULL, &lim);
    assert_int_equal(r.res.accepted, 7 * 24 + 1);
    assert_int_equal(r.res.rejected, 1000 - 7 * 24 - 1);
    assert_non_null(
        strstr(r.res.errors.data, "{\"index\":169,\"line\":170,\"error\":\"timestamp "));
    done(&r);
    cl_buf_free(&body);
}

/* Both bounds at once: high-entropy records over many hours, so seals are halved for the
 * sent size while the partition cap also seals (core/batch.c hands a record back until it
 * fits). Every message fits both bounds, and the records come out whole and in order. */
static void test_partitions_and_sent_size(void **state)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    lim.max_record_age_ms = 0;
    lim.max_record_future_ms = 0;
    lim.max_message_partitions = 2;
    lim.max_message_bytes = 64 << 10;
    struct cl_buf body;
    cl_buf_init(&body, 8 << 20);
    uint64_t x = 7;
    for (int i = 0; i < 600; i++)
        append_noise_record(&body, RECEIVED_MS - (int64_t)(i / 25) * 3600000, 2000, &x);
    struct run r;
    run_lim(&r, body.data, body.len, NULL, &lim);
    assert_int_equal(r.res.accepted, 600);
    struct cl_buf raw;
    cl_buf_init(&raw, 1 << 20);
    uint32_t total = 0;
    for (size_t m = 0; m < r.batch.n_msgs; m++) {
        const struct cl_msg_out *msg = &r.batch.msgs[m];
        assert_true(cl_msg_sent_size(msg->len) <= lim.max_message_bytes);
        cl_buf_reset(&raw);
        assert_int_equal(cl_gzip_decompress(msg->body, msg->len, &raw), CL_OK);
        assert_true(distinct_hours(raw.data, raw.len) <= 2);
        total += msg->attrs.record_count;
    }
    assert_int_equal(total, 600);
    /* The sent size did bind: some message was halved below what the raw bound allows. */
    uint32_t fewest = UINT32_MAX;
    for (size_t m = 0; m + 1 < r.batch.n_msgs; m++)
        fewest = CL_MIN(fewest, r.batch.msgs[m].attrs.record_count);
    assert_true(fewest < 25);
    /* In order and whole: the same lines as one unbounded pass produces. */
    struct run all;
    lim.max_message_partitions = 0;
    lim.max_message_bytes = 64 << 20;
    run_lim(&all, body.data, body.len, NULL, &lim);
    assert_string_equal(r.ndjson.data, all.ndjson.data);
    done(&all);
    cl_buf_free(&raw);
    done(&r);
    cl_buf_free(&body);
}

/* 30,000 rejected records with max_errors=100000: the answer lists what fits in
 * CL_MAX_INGEST_ERRORS_LIST, says it is cut short, and is always valid JSON (it ended in
 * "errors":} when the response buffer overflowed unchecked). */
static void test_errors_list_bounded(void **state)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    lim.max_errors = 100000;
    struct cl_buf body;
    cl_buf_init(&body, 16 << 20);
    for (int i = 0; i < 30000; i++)
        cl_buf_printf(&body, "{\"message\":\"m\",\"level\":\"%0100d\"}\n", i);
    struct cl_ingest_request req = {
        .body = body.data, .body_len = body.len, .received_ms = RECEIVED_MS};
    struct cl_ingest_response resp;
    cl_ingest_handle(&req, &lim, NULL, &resp); /* no record is valid: the queue is not used */
    assert_int_equal(resp.status, 400);
    assert_false(cl_buf_failed(&resp.body));
    struct cl_json_reader rd;
    struct cl_json_value v;
    cl_json_reader_init(&rd, resp.body.data, resp.body.len, 8);
    assert_int_equal(cl_json_scan_value(&rd, &v), 0);
    assert_true(cl_json_at_end(&rd));
    assert_non_null(strstr(resp.body.data, "\"rejected\":30000,"));
    assert_non_null(strstr(resp.body.data, "],\"errors_truncated\":true}"));
    assert_true(resp.body.len > (2u << 20));
    cl_buf_free(&resp.body);
    cl_buf_free(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_single_object),
        cmocka_unit_test(test_array),
        cmocka_unit_test(test_array_structural_error),
        cmocka_unit_test(test_ndjson),
        cmocka_unit_test(test_bom_and_detection),
        cmocka_unit_test(test_errors_cap),
        cmocka_unit_test(test_partitions_per_message),
        cmocka_unit_test(test_partitions_and_sent_size),
        cmocka_unit_test(test_errors_list_bounded),
        cmocka_unit_test(test_record_limit),
        cmocka_unit_test(test_header_service),
        cmocka_unit_test(test_packing),
        cmocka_unit_test(test_packing_by_sent_size),
        cmocka_unit_test(test_appends_to_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
