/* test_lambda_events.c - HTTP API 2.0 events (plain, base64, gzip bodies, header case),
 * 2.0 responses, SQS events and partial batch responses. */
#include "apigw.h"
#include "codec.h"
#include "common.h"
#include "json.h"
#include "sqs_event.h"
#include "message.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* AWS's documented HTTP API payload 2.0 example, with our route and body. */
static const char http_event_fmt[] =
    "{\"version\":\"2.0\",\"routeKey\":\"POST /v1/logs\",\"rawPath\":\"/v1/logs\","
    "\"rawQueryString\":\"\",\"cookies\":[\"c1\"],"
    "\"headers\":{%s},"
    "\"requestContext\":{\"accountId\":\"123456789012\",\"apiId\":\"api-id\","
    "\"domainName\":\"id.execute-api.us-east-1.amazonaws.com\",\"domainPrefix\":\"id\","
    "\"http\":{\"method\":\"%s\",\"path\":\"%s\",\"protocol\":\"HTTP/1.1\","
    "\"sourceIp\":\"192.0.2.1\",\"userAgent\":\"agent\"},\"requestId\":\"id\","
    "\"routeKey\":\"POST /v1/logs\",\"stage\":\"$default\",\"time\":\"12/Mar/2020:19:03:58 "
    "+0000\",\"timeEpoch\":1583348638390},"
    "\"body\":%s,\"isBase64Encoded\":%s}";

static char *event_of(const char *headers, const char *method, const char *path, const char *body,
                      int b64)
{
    size_t n = sizeof http_event_fmt + strlen(headers) + strlen(body) + 64;
    char *e = malloc(n);
    snprintf(e, n, http_event_fmt, headers, method, path, body, b64 ? "true" : "false");
    return e;
}

static void parse_ok(const char *event, struct cl_apigw_request *req)
{
    char err[256] = "";
    int rc = cl_apigw_parse(event, strlen(event), req, err, sizeof err);
    if (rc != CL_OK)
        fail_msg("parse failed: %s", err);
}

static void test_plain_body(void **state)
{
    char *e = event_of("\"content-type\":\"application/json\",\"x-cloudlog-service\":\"api\"",
                       "POST", "/v1/logs", "\"{\\\"message\\\":\\\"hi\\\\n\\\"}\"", 0);
    struct cl_apigw_request req;
    parse_ok(e, &req);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/v1/logs");
    assert_string_equal(req.content_type, "application/json");
    assert_string_equal(req.service_header, "api");
    assert_null(req.content_encoding);
    assert_null(req.authorization);
    assert_int_equal(req.body_len, strlen("{\"message\":\"hi\\n\"}"));
    assert_memory_equal(req.body, "{\"message\":\"hi\\n\"}", req.body_len);
    assert_int_equal(req.time_epoch_ms, 1583348638390LL); /* requestContext.timeEpoch */
    cl_apigw_request_free(&req);
    free(e);
}

/* rawQueryString stays URL-encoded ("" when the event has none): log_query decodes it. */
static void test_raw_query(void **state)
{
    char *e = event_of("", "GET", "/loki/api/v1/labels", "null", 0);
    struct cl_apigw_request req;
    parse_ok(e, &req);
    assert_string_equal(req.raw_query, "");
    cl_apigw_request_free(&req);
    free(e);
    const char *ev = "{\"version\":\"2.0\",\"rawPath\":\"/loki/api/v1/query\","
                     "\"rawQueryString\":\"query=sum%28rate%28%7Ba%3D%22b%22%7D%29%29&time=1\","
                     "\"requestContext\":{\"http\":{\"method\":\"GET\"}}}";
    parse_ok(ev, &req);
    assert_string_equal(req.raw_query, "query=sum%28rate%28%7Ba%3D%22b%22%7D%29%29&time=1");
    assert_string_equal(req.path, "/loki/api/v1/query");
    cl_apigw_request_free(&req);
}

/* Header names may arrive in any case (older payloads kept the client's case). */
static void test_header_case(void **state)
{
    char *e = event_of("\"Content-Type\":\"application/x-ndjson\",\"AUTHORIZATION\":\"Bearer k\","
                       "\"Content-Encoding\":\"gzip\",\"X-Cloudlog-Service\":\"web\"",
                       "POST", "/v1/logs", "\"\"", 0);
    struct cl_apigw_request req;
    parse_ok(e, &req);
    assert_string_equal(req.content_type, "application/x-ndjson");
    assert_string_equal(req.authorization, "Bearer k");
    assert_string_equal(req.content_encoding, "gzip");
    assert_string_equal(req.service_header, "web");
    assert_int_equal(req.body_len, 0);
    cl_apigw_request_free(&req);
    free(e);
}

static void test_base64_gzip_body(void **state)
{
    const char *ndjson = "{\"message\":\"a\"}\n{\"message\":\"b\"}\n";
    struct cl_buf gz;
    cl_buf_init(&gz, 1 << 20);
    assert_int_equal(cl_gzip_compress(ndjson, strlen(ndjson), 1, &gz), CL_OK);
    size_t b64_len;
    char *b64 = cl_msg_body_to_text(gz.data, gz.len, &b64_len);
    char body[512];
    snprintf(body, sizeof body, "\"%s\"", b64);
    char *e = event_of("\"content-type\":\"application/x-ndjson\",\"content-encoding\":\"gzip\"",
                       "POST", "/v1/logs", body, 1);
    struct cl_apigw_request req;
    parse_ok(e, &req);
    assert_int_equal(req.body_len, gz.len);
    assert_memory_equal(req.body, gz.data, gz.len);
    assert_string_equal(req.content_encoding, "gzip");
    cl_apigw_request_free(&req);
    free(e);
    free(b64);
    cl_buf_free(&gz);
}

static void test_base64_plain_body(void **state)
{
    /* "{"message":"x"}" */
    char *e = event_of("", "POST", "/v1/logs", "\"eyJtZXNzYWdlIjoieCJ9\"", 1);
    struct cl_apigw_request req;
    parse_ok(e, &req);
    assert_int_equal(req.body_len, 15);
    assert_memory_equal(req.body, "{\"message\":\"x\"}", 15);
    assert_null(req.content_type);
    cl_apigw_request_free(&req);
    free(e);
}

static void test_invalid_events(void **state)
{
    struct cl_apigw_request req;
    char err[256];
    const char *not_json = "{\"version\":\"2.0\",";
    assert_int_equal(cl_apigw_parse(not_json, strlen(not_json), &req, err, sizeof err),
                     CL_ERR_INVAL);
    const char *v1 = "{\"version\":\"1.0\",\"httpMethod\":\"POST\",\"body\":\"x\"}";
    assert_int_equal(cl_apigw_parse(v1, strlen(v1), &req, err, sizeof err), CL_ERR_INVAL);
    assert_non_null(strstr(err, "2.0"));
    char *bad64 = event_of("", "POST", "/v1/logs", "\"not base64!\"", 1);
    assert_int_equal(cl_apigw_parse(bad64, strlen(bad64), &req, err, sizeof err), CL_ERR_INVAL);
    assert_non_null(strstr(err, "base64"));
    free(bad64);
}

/* Absent body (e.g. a GET) parses as empty; the path comes from requestContext. */
static void test_absent_body(void **state)
{
    const char *e = "{\"version\":\"2.0\",\"rawPath\":\"/raw\",\"requestContext\":{\"http\":"
                    "{\"method\":\"GET\",\"path\":\"/v1/logs\"}},\"isBase64Encoded\":false}";
    struct cl_apigw_request req;
    parse_ok(e, &req);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.path, "/v1/logs");
    assert_int_equal(req.body_len, 0);
    assert_int_equal(req.time_epoch_ms, 0); /* no timeEpoch: the ingestor uses its clock */
    cl_apigw_request_free(&req);
}

/* The response is valid JSON whose body string holds the exact bytes given. */
static void test_response(void **state)
{
    struct cl_buf out;
    cl_buf_init(&out, 1 << 20);
    struct cl_apigw_headers h = {.retry_after_s = 5, .allow = "POST"};
    const char *body = "{\"error\":\"a \\\"quoted\\\" thing\"}\n";
    cl_apigw_response(&out, 503, body, strlen(body), &h);
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, out.data, out.len, 0);
    assert_int_equal(cl_json_scan_value(&r, &v), 0);
    assert_true(cl_json_at_end(&r));
    assert_non_null(strstr(out.data, "\"statusCode\":503"));
    assert_non_null(strstr(out.data, "\"content-type\":\"application/json\""));
    assert_non_null(strstr(out.data, "\"retry-after\":\"5\""));
    assert_non_null(strstr(out.data, "\"allow\":\"POST\""));
    assert_non_null(strstr(out.data, "\"isBase64Encoded\":false"));
    assert_non_null(strstr(out.data, "\"body\":\"{\\\"error\\\":\\\"a \\\\\\\"quoted"));
    /* JSON with a charset parameter (Loki's answers) is JSON too: not base64 */
    cl_buf_reset(&out);
    h = (struct cl_apigw_headers){.content_type = "application/json; charset=utf-8"};
    cl_apigw_response(&out, 200, "{}", 2, &h);
    assert_non_null(strstr(out.data, "\"body\":\"{}\",\"isBase64Encoded\":false"));
    /* a Content-Encoding makes the body bytes: base64 */
    cl_buf_reset(&out);
    h.content_encoding = "gzip";
    cl_apigw_response(&out, 200, "{}", 2, &h);
    assert_non_null(strstr(out.data, "\"content-encoding\":\"gzip\""));
    assert_non_null(strstr(out.data, "\"body\":\"e30=\",\"isBase64Encoded\":true"));
    cl_buf_free(&out);
}

/* AWS's documented SQS event example, with cloudlog's message attributes. */
static const char sqs_record_fmt[] =
    "{\"messageId\":\"%s\",\"receiptHandle\":\"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a\","
    "\"body\":\"%s\",\"attributes\":{\"ApproximateReceiveCount\":\"%d\","
    "\"SentTimestamp\":\"1545082649183\",\"SenderId\":\"AIDAIENQZJOLO23YVJ4VO\","
    "\"ApproximateFirstReceiveTimestamp\":\"1545082649185\"},"
    "\"messageAttributes\":{\"count\":{\"stringValue\":\"3\",\"stringListValues\":[],"
    "\"binaryListValues\":[],\"dataType\":\"Number\"},\"encoding\":{\"stringValue\":\"gzip\","
    "\"stringListValues\":[],\"binaryListValues\":[],\"dataType\":\"String\"},"
    "\"raw_bytes\":{\"stringValue\":\"%s\",\"dataType\":\"Number\"}},"
    "\"md5OfBody\":\"098f6bcd4621d373cade4e832627b4f6\",\"eventSource\":\"aws:sqs\","
    "\"eventSourceARN\":\"arn:aws:sqs:us-east-2:123456789012:my-queue\","
    "\"awsRegion\":\"us-east-2\"}";

static void test_sqs_event(void **state)
{
    char ev[8192], rec[2048];
    size_t len = (size_t)snprintf(ev, sizeof ev, "{\"Records\":[");
    for (int i = 0; i < 10; i++) {
        char id[64];
        snprintf(id, sizeof id, "059f36b4-87a3-44ab-83d2-66197583%04d", i);
        snprintf(rec, sizeof rec, sqs_record_fmt, id, "dGVzdA==", i + 1, "120");
        len += (size_t)snprintf(ev + len, sizeof ev - len, "%s%s", i ? "," : "", rec);
    }
    snprintf(ev + len, sizeof ev - len, "]}");
    struct cl_sqs_record *recs;
    size_t n;
    char err[256];
    assert_int_equal(cl_sqs_event_parse(ev, strlen(ev), &recs, &n, err, sizeof err), CL_OK);
    assert_int_equal(n, 10);
    assert_string_equal(recs[3].message_id, "059f36b4-87a3-44ab-83d2-661975830003");
    assert_string_equal(recs[3].receipt_handle, "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a");
    assert_string_equal(recs[3].body, "dGVzdA==");
    assert_int_equal(recs[3].receive_count, 4);
    assert_int_equal(recs[3].sent_ms, 1545082649183LL);
    assert_int_equal(recs[3].attrs.record_count, 3);
    assert_int_equal(recs[3].attrs.raw_bytes, 120);
    assert_string_equal(recs[3].attrs.encoding, "gzip");
    assert_false(recs[3].attrs_invalid);
    cl_sqs_records_free(recs, n);
}

static void test_sqs_event_invalid(void **state)
{
    struct cl_sqs_record *recs;
    size_t n;
    char err[256], rec[2048], ev[4096];
    const char *none = "{\"Records\":[]}";
    assert_int_equal(cl_sqs_event_parse(none, strlen(none), &recs, &n, err, sizeof err), CL_OK);
    assert_int_equal(n, 0);
    cl_sqs_records_free(recs, n);
    const char *apigw = "{\"version\":\"2.0\"}";
    assert_int_equal(cl_sqs_event_parse(apigw, strlen(apigw), &recs, &n, err, sizeof err),
                     CL_ERR_INVAL);
    const char *no_id = "{\"Records\":[{\"body\":\"x\"}]}";
    assert_int_equal(cl_sqs_event_parse(no_id, strlen(no_id), &recs, &n, err, sizeof err),
                     CL_ERR_INVAL);
    /* A bad cloudlog attribute value is flagged, not fatal. */
    snprintf(rec, sizeof rec, sqs_record_fmt, "m1", "eA==", 1, "12x");
    snprintf(ev, sizeof ev, "{\"Records\":[%s]}", rec);
    assert_int_equal(cl_sqs_event_parse(ev, strlen(ev), &recs, &n, err, sizeof err), CL_OK);
    assert_true(recs[0].attrs_invalid);
    cl_sqs_records_free(recs, n);
}

static void test_batch_response(void **state)
{
    struct cl_buf out;
    cl_buf_init(&out, 4096);
    const char *ids[] = {"a", "b\"c"};
    cl_sqs_batch_response(&out, ids, 2);
    assert_string_equal(out.data, "{\"batchItemFailures\":[{\"itemIdentifier\":\"a\"},"
                                  "{\"itemIdentifier\":\"b\\\"c\"}]}");
    cl_buf_reset(&out);
    cl_sqs_batch_response(&out, NULL, 0);
    assert_string_equal(out.data, "{\"batchItemFailures\":[]}");
    cl_buf_free(&out);
}

/* Accept-Encoding as RFC 9110 reads it: q=0 refuses, with or without spaces; x-gzip is
 * not gzip; "*" counts only when gzip is not named. */
static void test_accepts_gzip(void **state)
{
    (void)state;
    assert_int_equal(cl_apigw_accepts_gzip(NULL), 0);
    assert_int_equal(cl_apigw_accepts_gzip(""), 0);
    assert_int_equal(cl_apigw_accepts_gzip("gzip"), 1);
    assert_int_equal(cl_apigw_accepts_gzip("deflate, GZIP, br"), 1);
    assert_int_equal(cl_apigw_accepts_gzip("gzip;q=0"), 0);
    assert_int_equal(cl_apigw_accepts_gzip("gzip; q=0"), 0);
    assert_int_equal(cl_apigw_accepts_gzip("gzip ;q=0.0, br"), 0);
    assert_int_equal(cl_apigw_accepts_gzip("gzip;q=0.5"), 1);
    assert_int_equal(cl_apigw_accepts_gzip("x-gzip"), 0);
    assert_int_equal(cl_apigw_accepts_gzip("br, *"), 1);
    assert_int_equal(cl_apigw_accepts_gzip("*;q=0"), 0);
    assert_int_equal(cl_apigw_accepts_gzip("gzip;q=0, *"), 0);
    assert_int_equal(cl_apigw_accepts_gzip("identity"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_body),        cmocka_unit_test(test_raw_query),
        cmocka_unit_test(test_header_case),       cmocka_unit_test(test_base64_gzip_body),
        cmocka_unit_test(test_base64_plain_body), cmocka_unit_test(test_invalid_events),
        cmocka_unit_test(test_absent_body),       cmocka_unit_test(test_response),
        cmocka_unit_test(test_sqs_event),         cmocka_unit_test(test_sqs_event_invalid),
        cmocka_unit_test(test_batch_response),    cmocka_unit_test(test_accepts_gzip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
