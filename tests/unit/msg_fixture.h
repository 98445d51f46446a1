/* msg_fixture.h - one queue message built by the real ingest stage, for unit tests of
 * the processing side (test_lambda_batch, test_pipeline_engine). */
#ifndef CL_MSG_FIXTURE_H
#define CL_MSG_FIXTURE_H

#include "ingest.h"

/* Parses ndjson as POST /v1/logs does (timestamps of any age accepted) into b, which
 * must then hold exactly one message, and returns it (valid until cl_ingest_batch_free
 * of b, which the caller does). */
const struct cl_msg_out *cl_test_message(struct cl_ingest_batch *b, const char *ndjson);

#endif
