/* processor.h - the log_processor function: SQS event -> cl_batch_process into the store
 * -> partial batch response {"batchItemFailures":[...]} naming the messages whose
 * records were not all stored. */
#ifndef CL_LAMBDA_PROCESSOR_H
#define CL_LAMBDA_PROCESSOR_H

#include "analytics.h"
#include "batch_process.h"
#include "lambda_env.h"
#include "runtime.h"
#include "store.h"

struct cl_lprocessor {
    struct cl_store store;
    int store_open;
    struct cl_bp_opts opts;
    struct cl_lambda_metrics lm;
    int metrics_ready;
    struct cl_analytics *analytics; /* patterns and anomalies; NULL: CLOUDLOG_ANALYTICS=off */
};

/* processor_analytics.c: the analytics object from the environment, and what each
 * invocation drained (summary object, EMF lines). */
int cl_lp_analytics_init(struct cl_lprocessor *p, char *err, size_t err_len);
void cl_lp_analytics_after(struct cl_lprocessor *p);
/* The EMF lines of one drain on stdout: ErrorLogCount and AnomaliesDetected, and
 * PatternCount of its top patterns (dimensions: CLOUDLOG_EMF_DIMENSIONS, Service, Pattern). */
void cl_lp_analytics_emit(const struct cl_analytics_batch *a, int64_t now);

/* Reads the environment (docs/lambda.md) and opens the store; ctx is a struct cl_lprocessor
 * (void * so that cl_lambda_main takes it). Returns 0, or -1 with err set (an init error).
 * Caller frees with cl_lprocessor_free, also after a failure. */
int cl_lprocessor_init(void *ctx, char *err, size_t err_len);
void cl_lprocessor_free(void *ctx);

/* cl_lambda_handler: ctx is a struct cl_lprocessor. */
void cl_lprocessor_handle(void *ctx, const struct cl_lambda_invocation *inv,
                          struct cl_lambda_result *res);

#endif
