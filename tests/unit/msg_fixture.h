/* msg_fixture.h - one queue message built by the real ingest stage, for unit tests of
 * the processing side (test_lambda_batch, test_pipeline_engine). */
#ifndef CL_MSG_FIXTURE_H
#define CL_MSG_FIXTURE_H

#include "engine.h"
#include "ingest.h"

/* Parses ndjson as POST /v1/logs does (timestamps of any age accepted) into b, which
 * must then hold exactly one message, and returns it (valid until cl_ingest_batch_free
 * of b, which the caller does). */
const struct cl_msg_out *cl_test_message(struct cl_ingest_batch *b, const char *ndjson);
/* The same message as the engine takes it, received once, with id as its id and receipt
 * (borrowed: valid while b and id are). */
struct cl_engine_in cl_test_engine_in(struct cl_ingest_batch *b, const char *id,
                                      const char *ndjson);

/* Engine options of the processing tests: 8 MiB flush size, an hour's flush age (nothing
 * flushes by age), level 1, 1 MiB messages, buffer_max and budget as given. */
struct cl_engine_opts cl_test_engine_opts(size_t buffer_max, struct cl_buffer_budget *budget);

#endif
