/* ingestor.h - the log_ingestor function: API Gateway HTTP API event -> the daemon's
 * POST /v1/logs (cl_ingest_handle) -> SQS, answered in payload format 2.0. */
#ifndef CL_LAMBDA_INGESTOR_H
#define CL_LAMBDA_INGESTOR_H

#include "ingest.h"
#include "lambda_env.h"
#include "queue.h"
#include "runtime.h"
#include "store.h"

struct cl_api_keys;
struct cl_key_usage;

struct cl_ingestor {
    struct cl_queue queue;
    int queue_open;
    struct cl_ingest_limits limits;
    struct cl_api_keys *keys;   /* NULL: no key check (e.g. IAM auth on the HttpApi) */
    struct cl_store idem_store; /* CLOUDLOG_IDEMPOTENCY_STORE (idem_store.h) */
    int idem_store_open;
    int64_t idem_window_ms;
    struct cl_lambda_metrics lm;
    int metrics_ready;
    /* Per-key counters, written as EMF after each invocation. No per-key limits here: each
     * Lambda container would hold its own buckets (docs/operations.md). */
    struct cl_key_usage *key_usage;
};

/* Reads the environment (docs/lambda.md) and opens the queue; ctx is a struct cl_ingestor
 * (void * so that cl_lambda_main takes it). Returns 0, or -1 with err set (an init error).
 * Caller frees with cl_ingestor_free, also after a failure. */
int cl_ingestor_init(void *ctx, char *err, size_t err_len);
void cl_ingestor_free(void *ctx);

/* cl_lambda_handler: ctx is a struct cl_ingestor. */
void cl_ingestor_handle(void *ctx, const struct cl_lambda_invocation *inv,
                        struct cl_lambda_result *res);

#endif
