/* msg_fixture.c - one queue message built by the real ingest stage (msg_fixture.h). */
#include "msg_fixture.h"

#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

const struct cl_msg_out *cl_test_message(struct cl_ingest_batch *b, const char *ndjson)
{
    struct cl_ingest_limits lim;
    struct cl_ingest_parse_result pr;
    cl_ingest_limits_default(&lim);
    lim.max_record_age_ms = lim.max_record_future_ms = 0; /* fixed timestamps, any age */
    cl_ingest_batch_init(b);
    cl_ingest_parse_result_init(&pr);
    assert_int_equal(cl_ingest_parse(ndjson, strlen(ndjson), NULL, 1764000000000LL, &lim, b, &pr),
                     CL_OK);
    assert_int_equal(pr.rejected, 0);
    assert_int_equal(b->n_msgs, 1);
    cl_ingest_parse_result_free(&pr);
    return &b->msgs[0];
}
