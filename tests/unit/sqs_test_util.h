/* sqs_test_util.h - what the SQS backend's unit tests share (test_aws_sqs*.c): one
 * verifying moto_server per program with the queues the tests use, and queue helpers.
 * Linked into every test_aws_sqs* program (tests/CMakeLists.txt). */
#ifndef CL_SQS_TEST_UTIL_H
#define CL_SQS_TEST_UTIL_H

#include "moto_test.h"
#include "queue.h"

#include <stddef.h>
#include <stdint.h>

struct cl_sqs_fixture {
    struct cl_moto moto; /* verifying moto, started by cl_sqs_group_setup */
    int ok;              /* 1 once moto runs with the queues made */
    char akid[128], secret[128];
    char tmpdir[512]; /* CL_TMPDIR, else /tmp */
};
extern struct cl_sqs_fixture cl_sqs_fx;

/* cmocka group setup and teardown: moto with the queues basic, vis, stats, batch, bad-body,
 * cli, fault, conc, cw, dlq, main-dlq (RedrivePolicy to dlq, maxReceiveCount 2) and small
 * (MaximumMessageSize 1024). Skips (or fails under CI=true) without moto. */
int cl_sqs_group_setup(void **state);
int cl_sqs_group_teardown(void **state);

#define NEED_MOTO()                                                                                \
    do {                                                                                           \
        if (!cl_sqs_fx.ok)                                                                         \
            skip();                                                                                \
    } while (0)

/* Opens sqs://name at port (moto's or a proxy's) with extra options ("" or "&k=v"). */
void cl_sqs_open_at(struct cl_queue *q, int port, const char *name, const char *extra);
/* Opens sqs://name at moto. */
void cl_sqs_open_q(struct cl_queue *q, const char *name);
/* A message whose body is `text` with attributes derived from n. */
struct cl_msg_out cl_sqs_msg_of(const char *text, uint32_t n);
/* Receives until want messages arrived (bounded: 20 receives), hidden for vis seconds;
 * *all is the caller's (cl_msgs_free). */
size_t cl_sqs_receive_n(struct cl_queue *q, size_t want, int vis, struct cl_msg **all);
/* A receive finds nothing. */
void cl_sqs_assert_empty(struct cl_queue *q);

#endif
