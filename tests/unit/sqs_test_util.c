/* sqs_test_util.c - the SQS backend tests' moto fixture and queue helpers (sqs_test_util.h). */
#include "sqs_test_util.h"

#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cl_sqs_fixture cl_sqs_fx = {.moto = CL_MOTO_INIT};

/* Queues made once for the whole group (each test uses its own). main-dlq has a
 * RedrivePolicy to dlq with maxReceiveCount 2; small has MaximumMessageSize 1024. */
static const char setup_py[] =
    "c=client('sqs')\n"
    "for n in ['basic','vis','stats','batch','bad-body','cli','fault','conc','cw']:\n"
    "    c.create_queue(QueueName=n)\n"
    "d=c.create_queue(QueueName='dlq')['QueueUrl']\n"
    "arn=c.get_queue_attributes(QueueUrl=d, "
    "AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n"
    "c.create_queue(QueueName='main-dlq', Attributes={'RedrivePolicy': json.dumps(\n"
    "   {'deadLetterTargetArn': arn, 'maxReceiveCount': 2})})\n"
    "c.create_queue(QueueName='small', Attributes={'MaximumMessageSize': '1024'})\n"
    "print('ok')\n";

int cl_sqs_group_teardown(void **state)
{
    (void)state;
    cl_moto_stop(&cl_sqs_fx.moto);
    return 0;
}

int cl_sqs_group_setup(void **state)
{
    const char *t = getenv("CL_TMPDIR");
    snprintf(cl_sqs_fx.tmpdir, sizeof cl_sqs_fx.tmpdir, "%s", t ? t : "/tmp");
    int avail = cl_moto_available("SQS tests");
    if (avail <= 0)
        return avail;
    char log[600], out[1024] = "";
    snprintf(log, sizeof log, "%s/moto_sqs.log", cl_sqs_fx.tmpdir);
    if (cl_moto_start_verified(&cl_sqs_fx.moto, cl_sqs_fx.tmpdir, log, cl_sqs_fx.akid,
                               cl_sqs_fx.secret) != 0)
        return -1;
    if (cl_moto_python(&cl_sqs_fx.moto, cl_sqs_fx.tmpdir, setup_py, out, sizeof out) != 0) {
        fprintf(stderr, "moto queue setup failed: %s\n", out);
        return cl_sqs_group_teardown(state) - 1;
    }
    cl_sqs_fx.ok = 1;
    return 0;
}

/* Opens sqs://name at port (moto's or a proxy's) with extra options ("" or "&k=v"). */
void cl_sqs_open_at(struct cl_queue *q, int port, const char *name, const char *extra)
{
    char url[512], err[512] = "";
    snprintf(url, sizeof url, "sqs://%s?endpoint=http://127.0.0.1:%d%s", name, port, extra);
    int rc = cl_queue_open(q, url, NULL, err, sizeof err);
    if (rc != CL_OK)
        fail_msg("cl_queue_open(%s): %s: %s", url, cl_strerror(rc), err);
}

void cl_sqs_open_q(struct cl_queue *q, const char *name)
{
    cl_sqs_open_at(q, cl_sqs_fx.moto.port, name, "");
}

/* A message whose body is `text` with attributes derived from n. */
struct cl_msg_out cl_sqs_msg_of(const char *text, uint32_t n)
{
    struct cl_msg_out m = {text, strlen(text), {n, 10u * n, 1000 + n, 2000 + n, "gzip"}};
    return m;
}

/* Receives until want messages arrived (bounded: 20 receives), hidden for vis seconds. */
size_t cl_sqs_receive_n(struct cl_queue *q, size_t want, int vis, struct cl_msg **all)
{
    size_t got = 0;
    *all = cl_calloc(want + 10, sizeof **all);
    for (int i = 0; i < 20 && got < want; i++) {
        struct cl_msg *m;
        size_t n;
        assert_int_equal(cl_queue_receive(q, want - got, vis, 1000, &m, &n), CL_OK);
        assert_true(got + n <= want + 10);
        memcpy(*all + got, m, n * sizeof *m);
        free(m);
        got += n;
    }
    return got;
}

void cl_sqs_assert_empty(struct cl_queue *q)
{
    struct cl_msg *m;
    size_t n = 9;
    assert_int_equal(cl_queue_receive(q, 10, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 0);
    cl_msgs_free(m, n);
}
