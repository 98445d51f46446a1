/* test_aws_sqs.c - the SQS queue backend against moto_server with SigV4 verification: the
 * SQLite queue's semantic cases where the semantics are SQS's (open errors, signatures,
 * round trips, visibility, counters, dead letters, bad bodies). Packing, faults and
 * concurrency: test_aws_sqs_faults.c; interoperability with awscli, CloudWatch and
 * StartMessageMoveTask: test_aws_sqs_interop.c. */
#include "codec.h"
#include "catalog.h"
#include "common.h"
#include "moto_test.h"
#include "sqs_test_util.h"
#include "queue.h"
#include "queue_repair.h"
#include "sqs.h"
#include "message.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_open_errors(void **state)
{
    NEED_MOTO();
    struct cl_queue q;
    char url[256], err[512];
    assert_int_equal(cl_queue_open(&q, "sqs://", NULL, err, sizeof err), CL_ERR_INVAL);
    assert_int_equal(cl_queue_open(&q, "sqs://bad name", NULL, err, sizeof err), CL_ERR_INVAL);
    assert_int_equal(cl_queue_open(&q, "sqs://a?bogus=1", NULL, err, sizeof err), CL_ERR_INVAL);
    assert_int_equal(
        cl_queue_open(&q, "https://sqs.us-east-1.amazonaws.com/", NULL, err, sizeof err),
        CL_ERR_INVAL);
    /* URL checks use libcurl's parser: a user:password@ part is not a host (issue 13). */
    snprintf(url, sizeof url, "http://127.0.0.1:%d@192.0.2.1/123456789012/basic",
             cl_sqs_fx.moto.port);
    assert_int_equal(cl_queue_open(&q, url, NULL, err, sizeof err), CL_ERR_INVAL);
    snprintf(url, sizeof url, "sqs://basic?endpoint=http://u:p@127.0.0.1:%d", cl_sqs_fx.moto.port);
    assert_int_not_equal(cl_queue_open(&q, url, NULL, err, sizeof err), CL_OK);
    if (!strstr(err, "user:password@"))
        fail_msg("expected the endpoint to be refused, got: %s", err);
    snprintf(url, sizeof url, "sqs://no-such-queue?endpoint=http://127.0.0.1:%d",
             cl_sqs_fx.moto.port);
    assert_int_equal(cl_queue_open(&q, url, NULL, err, sizeof err), CL_ERR_NOT_FOUND);
    if (!strstr(err, "QueueDoesNotExist") && !strstr(err, "NonExistentQueue"))
        fail_msg("expected QueueDoesNotExist in: %s", err);
    /* The queue URL form, with the endpoint taken from the URL itself. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/123456789012/basic", cl_sqs_fx.moto.port);
    assert_int_equal(cl_queue_open(&q, url, NULL, err, sizeof err), CL_OK);
    assert_int_equal(cl_queue_ping(&q), CL_OK);
    cl_queue_close(&q);
    /* sqs://NAME with the endpoint from AWS_ENDPOINT_URL_SQS. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d", cl_sqs_fx.moto.port);
    setenv("AWS_ENDPOINT_URL_SQS", url, 1);
    assert_int_equal(cl_queue_open(&q, "sqs://basic", NULL, err, sizeof err), CL_OK);
    unsetenv("AWS_ENDPOINT_URL_SQS");
    cl_queue_close(&q);
}

/* A wrong secret is refused by moto's signature check and the reason is in err. */
static void test_wrong_secret(void **state)
{
    NEED_MOTO();
    struct cl_queue q;
    char url[256], err[512] = "";
    snprintf(url, sizeof url, "sqs://basic?endpoint=http://127.0.0.1:%d", cl_sqs_fx.moto.port);
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
    int rc = cl_queue_open(&q, url, NULL, err, sizeof err);
    setenv("AWS_SECRET_ACCESS_KEY", cl_sqs_fx.secret, 1);
    assert_int_equal(rc, CL_ERR_IO);
    if (!strstr(err, "SignatureDoesNotMatch") || !strstr(err, "HTTP 403"))
        fail_msg("expected SignatureDoesNotMatch (HTTP 403), got: %s", err);
}

static void test_round_trip(void **state)
{
    NEED_MOTO();
    struct cl_queue q;
    cl_sqs_open_q(&q, "basic");
    struct cl_msg_out out[3] = {cl_sqs_msg_of("first", 1), cl_sqs_msg_of("second \x01\xff", 2),
                                cl_sqs_msg_of("third", 3)};
    int64_t before = cl_now_ms();
    assert_int_equal(cl_queue_send(&q, out, 3), CL_OK);
    struct cl_msg *m;
    assert_int_equal(cl_sqs_receive_n(&q, 3, 30, &m), 3);
    const char *receipts[3];
    int seen = 0;
    for (size_t i = 0; i < 3; i++) {
        uint32_t n = m[i].attrs.record_count;
        assert_true(n >= 1 && n <= 3);
        seen |= 1 << n;
        assert_int_equal(m[i].len, out[n - 1].len);
        assert_memory_equal(m[i].body, out[n - 1].body, m[i].len);
        assert_int_equal(m[i].attrs.raw_bytes, 10u * n);
        assert_int_equal(m[i].attrs.min_ts_ms, 1000 + n);
        assert_int_equal(m[i].attrs.max_ts_ms, 2000 + n);
        assert_string_equal(m[i].attrs.encoding, "gzip");
        assert_int_equal(m[i].receive_count, 1);
        assert_true(m[i].sent_ms >= before - 5000 && m[i].first_receive_ms >= m[i].sent_ms);
        assert_non_null(m[i].id);
        assert_null(m[i].last_error);
        receipts[i] = m[i].receipt;
    }
    assert_int_equal(seen, 0xE);
    int results[4];
    assert_int_equal(cl_queue_delete(&q, receipts, 3, results), CL_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(results[i], CL_OK);
    const char *bogus[1] = {"not-a-receipt-handle"};
    assert_int_equal(cl_queue_delete(&q, bogus, 1, results), CL_OK);
    assert_int_equal(results[0], CL_ERR_STALE);
    cl_msgs_free(m, 3);
    cl_sqs_assert_empty(&q);
    cl_queue_close(&q);
}

/* Hidden while its visibility lasts; visible again (receive count 2) once released. */
static void test_visibility(void **state)
{
    NEED_MOTO();
    struct cl_queue q;
    cl_sqs_open_q(&q, "vis");
    struct cl_msg_out out = cl_sqs_msg_of("v", 1);
    assert_int_equal(cl_queue_send(&q, &out, 1), CL_OK);
    struct cl_msg *m, *again;
    assert_int_equal(cl_sqs_receive_n(&q, 1, 60, &m), 1);
    cl_sqs_assert_empty(&q);
    assert_int_equal(cl_queue_change_visibility(&q, m[0].receipt, 0, "test: release"), CL_OK);
    assert_int_equal(cl_sqs_receive_n(&q, 1, 60, &again), 1);
    assert_string_equal(again[0].id, m[0].id);
    assert_int_equal(again[0].receive_count, 2);
    assert_int_equal(cl_queue_change_visibility(&q, "bogus-receipt", 0, NULL), CL_ERR_STALE);
    int r;
    const char *rc0 = again[0].receipt;
    assert_int_equal(cl_queue_delete(&q, &rc0, 1, &r), CL_OK);
    assert_int_equal(r, CL_OK);
    cl_msgs_free(m, 1);
    cl_msgs_free(again, 1);
    cl_queue_close(&q);
}

static void test_stats(void **state)
{
    NEED_MOTO();
    struct cl_queue q;
    cl_sqs_open_q(&q, "stats");
    struct cl_msg_out out[4] = {cl_sqs_msg_of("a", 1), cl_sqs_msg_of("b", 2), cl_sqs_msg_of("c", 3),
                                cl_sqs_msg_of("d", 4)};
    assert_int_equal(cl_queue_send(&q, out, 4), CL_OK);
    struct cl_msg *m;
    assert_int_equal(cl_sqs_receive_n(&q, 1, 60, &m), 1);
    struct cl_queue_stats st;
    assert_int_equal(cl_queue_stats(&q, &st), CL_OK);
    assert_int_equal(st.visible, 3);
    assert_int_equal(st.inflight, 1);
    assert_int_equal(st.dlq_depth, 0);
    assert_int_equal(st.oldest_ms, 0); /* not asked for (no oldest=cloudwatch) */
    cl_msgs_free(m, 1);
    cl_queue_close(&q);
}

/* Received and released maxReceiveCount (2) times, a message moves to the DLQ; it is
 * listed there and redriven back (moto lacks StartMessageMoveTask: the fallback path). */
static void send_one_get_id(struct cl_queue *q, const char *body, uint32_t n, char *id, size_t len)
{
    struct cl_msg_out out = cl_sqs_msg_of(body, n);
    assert_int_equal(cl_queue_send(q, &out, 1), CL_OK);
    struct cl_msg *m;
    assert_int_equal(cl_sqs_receive_n(q, 1, 60, &m), 1);
    snprintf(id, len, "%s", m[0].id);
    assert_int_equal(cl_queue_change_visibility(q, m[0].receipt, 0, NULL), CL_OK);
    cl_msgs_free(m, 1);
}

/* extra: URL options; with max_message_size= the DLQ is resolved on first use. */
static void dlq_move_and_redrive(const char *extra)
{
    struct cl_queue q;
    cl_sqs_open_at(&q, cl_sqs_fx.moto.port, "main-dlq", extra);
    char id1[128], id2[128];
    send_one_get_id(&q, "poison-1", 1, id1, sizeof id1);
    /* that receive counted: one more failure reaches maxReceiveCount 2 */
    struct cl_msg *m;
    assert_int_equal(cl_sqs_receive_n(&q, 1, 60, &m), 1);
    assert_int_equal(cl_queue_change_visibility(&q, m[0].receipt, 0, "boom"), CL_OK);
    cl_msgs_free(m, 1);
    cl_sqs_assert_empty(&q); /* the third receive moved it to the DLQ */
    send_one_get_id(&q, "poison-2", 2, id2, sizeof id2);
    assert_int_equal(cl_sqs_receive_n(&q, 1, 60, &m), 1);
    assert_int_equal(cl_queue_change_visibility(&q, m[0].receipt, 0, "boom"), CL_OK);
    cl_msgs_free(m, 1);
    cl_sqs_assert_empty(&q);

    struct cl_queue_stats st;
    assert_int_equal(cl_queue_stats(&q, &st), CL_OK);
    assert_int_equal(st.dlq_depth, 2);
    size_t n;
    assert_int_equal(cl_queue_dlq_list(&q, NULL, 10, 1, &m, &n), CL_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_null(m[i].receipt);
        assert_true(strcmp(m[i].id, id1) == 0 || strcmp(m[i].id, id2) == 0);
        assert_int_equal(m[i].len, strlen(m[i].attrs.record_count == 1 ? "poison-1" : "poison-2"));
    }
    cl_msgs_free(m, n);
    assert_int_equal(cl_queue_dlq_list(&q, NULL, 10, 0, &m, &n), CL_OK);
    assert_int_equal(n, 2);
    assert_null(m[0].body);
    cl_msgs_free(m, n);

    /* By id behind the interface (peeks: SQS has no get-by-id); no catalog beside SQS. */
    char long_id[200];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    const char *want[] = {id1, "00000000-0000-0000-0000-000000000000", long_id, ""};
    struct cl_msg *found[4];
    assert_int_equal(cl_queue_dlq_find(&q, want, 4, 1, found), CL_OK);
    assert_non_null(found[0]);
    assert_string_equal(found[0]->id, id1);
    assert_memory_equal(found[0]->body, "poison-1", 8);
    assert_null(found[1]);
    assert_null(found[2]);
    assert_null(found[3]);
    cl_msgs_free(found[0], 1);
    assert_null(cl_queue_catalog(&q));

    /* Redrive one by id, then the rest. */
    const char *ids[1] = {id2};
    size_t moved = 0;
    assert_int_equal(cl_queue_dlq_redrive(&q, ids, 1, &moved), CL_OK);
    assert_int_equal(moved, 1);
    assert_int_equal(cl_sqs_receive_n(&q, 1, 60, &m), 1);
    assert_int_equal(m[0].len, 8);
    assert_memory_equal(m[0].body, "poison-2", 8);
    assert_int_equal(m[0].attrs.record_count, 2);
    assert_int_equal(m[0].receive_count, 1); /* a new message: its count starts over */
    int r;
    const char *rc0 = m[0].receipt;
    assert_int_equal(cl_queue_delete(&q, &rc0, 1, &r), CL_OK);
    cl_msgs_free(m, 1);
    assert_int_equal(cl_queue_dlq_redrive(&q, NULL, 0, &moved), CL_OK);
    assert_int_equal(moved, 1);
    assert_int_equal(cl_sqs_receive_n(&q, 1, 60, &m), 1);
    assert_memory_equal(m[0].body, "poison-1", 8);
    rc0 = m[0].receipt;
    assert_int_equal(cl_queue_delete(&q, &rc0, 1, &r), CL_OK);
    cl_msgs_free(m, 1);
    assert_int_equal(cl_queue_stats(&q, &st), CL_OK);
    assert_int_equal(st.dlq_depth, 0);
    assert_int_equal(st.visible + st.inflight, 0);
    cl_queue_close(&q);
}

static void test_dlq_move_and_redrive(void **state)
{
    NEED_MOTO();
    dlq_move_and_redrive("");
}

static void test_dlq_read_on_first_use(void **state)
{
    NEED_MOTO();
    dlq_move_and_redrive("&max_message_size=1048576");
}

/* max_message_size=BYTES: a queue URL opens without asking SQS anything (nothing listens
 * on port 1), sends are packed to that size, and out-of-range values are refused. */
static void test_max_message_size_option(void **state)
{
    (void)state;
    struct cl_queue q;
    char err[512] = "";
    const char *url = "http://127.0.0.1:1/123456789012/small?max_message_size=1024";
    int rc = cl_queue_open(&q, url, NULL, err, sizeof err);
    if (rc != CL_OK)
        fail_msg("open without a call: %s: %s", cl_strerror(rc), err);
    static char big[1100];
    memset(big, 'x', sizeof big - 1);
    struct cl_msg_out out = cl_sqs_msg_of(big, 1);
    assert_int_equal(cl_queue_send(&q, &out, 1), CL_ERR_TOO_LARGE); /* refused before a call */
    struct cl_queue_stats st;
    assert_int_equal(cl_queue_stats(&q, &st), CL_ERR_IO); /* the DLQ read needs SQS */
    /* No local file: nothing to check, quarantine or salvage into (queue_repair.h). */
    assert_int_equal(cl_queue_integrity(&q, 5, NULL, NULL), CL_ERR_UNSUPPORTED);
    struct cl_salvage_result sr;
    assert_int_equal(cl_queue_salvage(&q, "/nonexistent", NULL, NULL, &sr, err, sizeof err),
                     CL_ERR_UNSUPPORTED);
    char moved[64];
    assert_int_equal(
        cl_queue_quarantine_move(url, "/nonexistent", 0, moved, sizeof moved, err, sizeof err),
        CL_ERR_UNSUPPORTED);
    cl_queue_close(&q);
    const char *bad[] = {"1023", "1048577", "", "1k", "-1024", "99999999999999999999999"};
    for (size_t i = 0; i < CL_ARRAY_LEN(bad); i++) {
        char u[256];
        snprintf(u, sizeof u, "http://127.0.0.1:1/123456789012/small?max_message_size=%s", bad[i]);
        assert_int_equal(cl_queue_open(&q, u, NULL, err, sizeof err), CL_ERR_INVAL);
        if (!strstr(err, "max_message_size") || !strstr(err, "1024 to 1048576"))
            fail_msg("%s: unexpected error: %s", bad[i], err);
    }
}

/* A body that is not base64 (sent by another producer) is returned with len 0 and an
 * error rather than dropped, so the consumer fails it into retry/DLQ. */
static void test_bad_body(void **state)
{
    NEED_MOTO();
    char out[512] = "";
    const char *py = "c=client('sqs')\n"
                     "u=c.get_queue_url(QueueName='bad-body')['QueueUrl']\n"
                     "c.send_message(QueueUrl=u, MessageBody='not base64 !', MessageAttributes={\n"
                     "  'count': {'DataType': 'Number', 'StringValue': '7'},\n"
                     "  'raw_bytes': {'DataType': 'Number', 'StringValue': 'x'}})\n";
    assert_int_equal(cl_moto_python(&cl_sqs_fx.moto, cl_sqs_fx.tmpdir, py, out, sizeof out), 0);
    struct cl_queue q;
    cl_sqs_open_q(&q, "bad-body");
    struct cl_msg *m;
    assert_int_equal(cl_sqs_receive_n(&q, 1, 60, &m), 1);
    assert_int_equal(m[0].len, 0);
    assert_non_null(m[0].last_error);
    assert_non_null(strstr(m[0].last_error, "not base64"));
    assert_int_equal(m[0].attrs.record_count, 7);
    cl_msgs_free(m, 1);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_visibility),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_dlq_move_and_redrive),
        cmocka_unit_test(test_bad_body),
        cmocka_unit_test(test_dlq_read_on_first_use),
        cmocka_unit_test(test_max_message_size_option),
    };
    return cmocka_run_group_tests(tests, cl_sqs_group_setup, cl_sqs_group_teardown);
}
