/* test_aws_sqs_faults.c - the SQS queue backend behind tests/tools/faultproxy.py and under
 * load: SendMessageBatch packing by count and size, per-entry failures, throttling, 500s
 * and resets retried, and senders and receivers on threads sharing one handle. */
#include "codec.h"
#include "common.h"
#include "moto_test.h"
#include "sqs_test_util.h"
#include "queue.h"
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

/* Fills buf with n pseudo-random bytes (so base64 cannot shrink them). */
static void fill(unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (unsigned char)(seed >> 16);
    }
}

/* tests/tools/faultproxy.py in front of moto (cl_faultproxy_start), logging to
 * sqs_faultproxy.log; stopped with cl_moto_stop. */
static void proxy_start(struct cl_moto *p)
{
    char log[600];
    snprintf(log, sizeof log, "%s/sqs_faultproxy.log", cl_sqs_fx.tmpdir);
    if (cl_faultproxy_start(p, cl_sqs_fx.moto.port, cl_sqs_fx.tmpdir, log) != 0)
        fail_msg("faultproxy did not start (see %s)", log);
}

/* A control request to the proxy (cl_faultproxy_control) that must be answered 200. */
static void proxy_ctl(const struct cl_moto *p, const char *method, const char *path,
                      const char *body)
{
    if (cl_faultproxy_control(p, method, path, body, NULL, 0) != 0)
        fail_msg("faultproxy %s %s failed (see stderr)", method, path);
}

/* How many logged requests had X-Amz-Target AmazonSQS.target and the given action. */
static int proxy_count(const struct cl_moto *p, const char *target, const char *action)
{
    int n = cl_faultproxy_count(p, target, action);
    if (n < 0)
        fail_msg("faultproxy log not read (see stderr)");
    return n;
}

static void drain(struct cl_queue *q, size_t want)
{
    struct cl_msg *m;
    size_t got = cl_sqs_receive_n(q, want, 60, &m);
    assert_int_equal(got, want);
    for (size_t i = 0; i < got; i++) {
        int r;
        const char *rc0 = m[i].receipt;
        assert_int_equal(cl_queue_delete(q, &rc0, 1, &r), CL_OK);
    }
    cl_msgs_free(m, got);
    cl_sqs_assert_empty(q);
}

/* 25 messages go in SendMessageBatch calls of at most 10; on a queue whose
 * MaximumMessageSize is 1024, messages of ~600 bytes as sent go one per call; a message
 * over the limit is refused before anything is sent. Calls are counted by faultproxy. */
static void test_batch_packing(void **state)
{
    NEED_MOTO();
    struct cl_moto *p = &cl_test_proxy;
    proxy_start(p);
    proxy_ctl(p, "DELETE", "/__faults", NULL);
    struct cl_queue q, small;
    cl_sqs_open_at(&q, p->port, "batch", "");
    cl_sqs_open_at(&small, p->port, "small", "");
    struct cl_msg_out out[25];
    for (uint32_t i = 0; i < 25; i++)
        out[i] = cl_sqs_msg_of("tiny", i + 1);
    assert_int_equal(cl_queue_send(&q, out, 25), CL_OK);
    assert_int_equal(proxy_count(p, "SendMessageBatch", "forward"), 3); /* 10 + 10 + 5 */
    drain(&q, 25);

    /* ~600 bytes as sent: two would exceed 1024 per batch, so one per call. */
    unsigned char body[3][420];
    for (int i = 0; i < 3; i++) {
        fill(body[i], sizeof body[i], (unsigned)i + 1);
        out[i] = (struct cl_msg_out){body[i], sizeof body[i], {1, 2, 3, 4, "gzip"}};
    }
    proxy_ctl(p, "DELETE", "/__faults", NULL);
    assert_int_equal(cl_queue_send(&small, out, 3), CL_OK);
    assert_int_equal(proxy_count(p, "SendMessageBatch", "forward"), 3);
    /* 200 + 200 bytes of body: both fit one 1024-byte batch. */
    out[0].len = out[1].len = 200;
    proxy_ctl(p, "DELETE", "/__faults", NULL);
    assert_int_equal(cl_queue_send(&small, out, 2), CL_OK);
    assert_int_equal(proxy_count(p, "SendMessageBatch", "forward"), 1);
    drain(&small, 5);
    /* SQS refuses a batch as too long (its limit below what we read): the halves are
     * sent instead, and every message arrives once (issue 13, item 7). */
    proxy_ctl(p, "DELETE", "/__faults", NULL);
    proxy_ctl(p, "POST", "/__faults",
              "[{\"target\":\"SendMessageBatch\",\"action\":\"status\",\"status\":400,"
              "\"code\":\"AWS.SimpleQueueService.BatchRequestTooLong\",\"times\":2}]");
    for (uint32_t i = 0; i < 10; i++)
        out[i] = cl_sqs_msg_of("split", i + 1);
    assert_int_equal(cl_queue_send(&q, out, 10), CL_OK);
    assert_int_equal(proxy_count(p, "SendMessageBatch", "status"), 2);  /* 10, then 5 */
    assert_int_equal(proxy_count(p, "SendMessageBatch", "forward"), 3); /* 2 + 3, then 5 */
    drain(&q, 10);
    /* 800 bytes -> 1068 base64 characters: over 1024 alone, nothing is sent. */
    unsigned char big[800];
    fill(big, sizeof big, 9);
    struct cl_msg_out two[2] = {cl_sqs_msg_of("ok", 1), {big, sizeof big, {1, 2, 3, 4, "gzip"}}};
    proxy_ctl(p, "DELETE", "/__faults", NULL);
    assert_int_equal(cl_queue_send(&small, two, 2), CL_ERR_TOO_LARGE);
    assert_int_equal(proxy_count(p, "SendMessageBatch", "forward"), 0);
    cl_sqs_assert_empty(&small);
    cl_queue_close(&q);
    cl_queue_close(&small);
    cl_moto_stop(p);
}

/* Faults between us and moto: per-entry failures are re-sent; throttling, 500 and a reset
 * connection are retried by the HTTP client; exhausted retries surface as errors; nothing
 * acknowledged is lost and nothing is duplicated by entry retries. */
static void test_faults(void **state)
{
    NEED_MOTO();
    struct cl_moto *p = &cl_test_proxy;
    proxy_start(p);
    struct cl_queue q;
    cl_sqs_open_at(&q, p->port, "fault", "");
    struct cl_msg_out out[12];
    for (uint32_t i = 0; i < 12; i++)
        out[i] = cl_sqs_msg_of("fault", i + 1);

    proxy_ctl(p, "DELETE", "/__faults", NULL);
    proxy_ctl(p, "POST", "/__faults",
              "[{\"target\":\"SendMessageBatch\",\"action\":\"entry_fail\",\"times\":2}]");
    assert_int_equal(cl_queue_send(&q, out, 12), CL_OK);
    assert_int_equal(proxy_count(p, "SendMessageBatch", "entry_fail"), 2);
    drain(&q, 12); /* each exactly once */

    proxy_ctl(p, "DELETE", "/__faults", NULL);
    proxy_ctl(p, "POST", "/__faults",
              "[{\"target\":\"SendMessageBatch\",\"action\":\"status\",\"status\":400,"
              "\"code\":\"ThrottlingException\"},"
              "{\"target\":\"ReceiveMessage\",\"action\":\"status\",\"status\":500},"
              "{\"target\":\"DeleteMessageBatch\",\"action\":\"reset\"}]");
    assert_int_equal(cl_queue_send(&q, out, 3), CL_OK);
    drain(&q, 3);
    assert_int_equal(proxy_count(p, "SendMessageBatch", "status"), 1);
    assert_int_equal(proxy_count(p, "ReceiveMessage", "status"), 1);
    assert_int_equal(proxy_count(p, "DeleteMessageBatch", "reset"), 1);

    /* Every entry failing every time: bounded, then an error (not CL_OK). */
    proxy_ctl(p, "DELETE", "/__faults", NULL);
    proxy_ctl(p, "POST", "/__faults",
              "[{\"target\":\"SendMessageBatch\",\"action\":\"entry_fail\",\"times\":null}]");
    assert_int_not_equal(cl_queue_send(&q, out, 2), CL_OK);
    /* Throttled on every attempt: CL_ERR_FULL (retry later). */
    proxy_ctl(p, "DELETE", "/__faults", NULL);
    proxy_ctl(p, "POST", "/__faults",
              "[{\"target\":\"SendMessageBatch\",\"action\":\"status\",\"status\":400,"
              "\"code\":\"ThrottlingException\",\"times\":null}]");
    assert_int_equal(cl_queue_send(&q, out, 2), CL_ERR_FULL);
    proxy_ctl(p, "DELETE", "/__faults", NULL);
    cl_sqs_assert_empty(&q);
    cl_queue_close(&q);
    cl_moto_stop(p);
}

/* Senders and receivers on several threads share one queue handle (pooled clients).
 * Every message is received at least once; SQS (and moto) may deliver one twice to
 * concurrent receivers, so duplicates are allowed, losses are not. */
#define CONC_SENDERS 3
#define CONC_PER_SENDER 20

static pthread_mutex_t conc_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char conc_seen[CONC_SENDERS * CONC_PER_SENDER];

struct conc_arg {
    struct cl_queue *q;
    int id;
};

static void *conc_sender(void *arg)
{
    struct conc_arg *a = arg;
    struct cl_msg_out out[5];
    for (uint32_t r = 0; r < CONC_PER_SENDER / 5; r++) {
        for (uint32_t i = 0; i < 5; i++)
            out[i] = cl_sqs_msg_of("concurrent", (uint32_t)a->id * CONC_PER_SENDER + r * 5 + i);
        if (cl_queue_send(a->q, out, 5) != CL_OK)
            return (void *)1;
    }
    return NULL;
}

/* Receives and deletes, marking what arrived; returns 0, or -1 when a call failed. */
static int conc_take(struct cl_queue *q, int wait_ms)
{
    struct cl_msg *m;
    size_t n;
    if (cl_queue_receive(q, 10, 60, wait_ms, &m, &n) != CL_OK)
        return -1;
    int rc = 0;
    for (size_t k = 0; k < n; k++) {
        int r;
        const char *rc0 = m[k].receipt;
        if (cl_queue_delete(q, &rc0, 1, &r) != CL_OK)
            rc = -1;
        uint32_t v = m[k].attrs.record_count;
        pthread_mutex_lock(&conc_lock);
        if (v < CL_ARRAY_LEN(conc_seen))
            conc_seen[v] = 1;
        pthread_mutex_unlock(&conc_lock);
    }
    cl_msgs_free(m, n);
    return rc;
}

static void *conc_receiver(void *arg)
{
    struct conc_arg *a = arg;
    for (int i = 0; i < 15; i++)
        if (conc_take(a->q, 500) < 0)
            return (void *)1;
    return NULL;
}

static size_t conc_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < CL_ARRAY_LEN(conc_seen); i++)
        n += conc_seen[i];
    return n;
}

static void test_concurrent(void **state)
{
    NEED_MOTO();
    struct cl_queue q;
    cl_sqs_open_q(&q, "conc");
    pthread_t t[2 * CONC_SENDERS];
    struct conc_arg a[2 * CONC_SENDERS];
    memset(conc_seen, 0, sizeof conc_seen);
    for (int i = 0; i < 2 * CONC_SENDERS; i++) {
        a[i] = (struct conc_arg){&q, i};
        pthread_create(&t[i], NULL, i < CONC_SENDERS ? conc_sender : conc_receiver, &a[i]);
    }
    for (int i = 0; i < 2 * CONC_SENDERS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    for (int i = 0; i < 30 && conc_count() < CL_ARRAY_LEN(conc_seen); i++)
        assert_int_equal(conc_take(&q, 1000), 0);
    assert_int_equal(conc_count(), CL_ARRAY_LEN(conc_seen));
    cl_sqs_assert_empty(&q);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_batch_packing, cl_test_proxy_teardown),
        cmocka_unit_test_teardown(test_faults, cl_test_proxy_teardown),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, cl_sqs_group_setup, cl_sqs_group_teardown);
}
