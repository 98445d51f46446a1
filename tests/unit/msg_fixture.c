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

struct cl_engine_in cl_test_engine_in(struct cl_ingest_batch *b, const char *id, const char *ndjson)
{
    const struct cl_msg_out *mo = cl_test_message(b, ndjson);
    return (struct cl_engine_in){.id = id,
                                 .receipt = id,
                                 .body = mo->body,
                                 .len = mo->len,
                                 .attrs = mo->attrs,
                                 .receive_count = 1,
                                 .sent_ms = 1};
}

struct cl_engine_opts cl_test_engine_opts(size_t buffer_max, struct cl_buffer_budget *budget)
{
    return (struct cl_engine_opts){.flush_size = 8u << 20,
                                   .flush_age_ms = 3600000,
                                   .buffer_max = buffer_max,
                                   .budget = budget,
                                   .compression_level = 1,
                                   .max_message_raw = 1u << 20};
}
