/* lambda_env.h - what the Lambda functions read from the environment (they take no
 * arguments) and their shared metrics set-up: log level, EMF writer on stdout. */
#ifndef CL_LAMBDA_ENV_H
#define CL_LAMBDA_ENV_H

#include "emf.h"
#include "metrics.h"
#include "options.h"

#include <stddef.h>
#include <stdint.h>

/* A required variable: its value, or NULL with err set when unset or empty. */
const char *cl_env_required(const char *name, char *err, size_t err_len);

/* Reads the environment through option rows (the same rows `cloudlog serve` takes as
 * flags): defaults, then CLOUDLOG_* variables (an empty one counts as unset). origins
 * (may be NULL) as cl_options_parse_ex's. Returns 0, or -1 with err naming the variable. */
int cl_env_options(const struct cl_option *rows, size_t n, void *cfg, enum cl_opt_origin *origins,
                   char *err, size_t err_len);

/* log_query's metrics: the Loki read API's answers. */
struct cl_lambda_query_metrics {
    struct cl_metric *requests; /* QueryRequests, series: enum cl_status_class */
    struct cl_metric *latency;  /* QueryLatency, microseconds, 2xx answers only */
    struct cl_metric *errors;   /* QueryErrors: 5xx and 408, failures on the function's side */
};

/* The metrics of one function: a registry with one stage's metrics and an EMF writer
 * (CLOUDLOG_EMF_NAMESPACE, default "cloudlog"; CLOUDLOG_EMF_DIMENSIONS). */
struct cl_lambda_metrics {
    struct cl_metrics *reg;
    struct cl_std_metrics m;          /* CL_LAMBDA_INGEST, CL_LAMBDA_PROCESS */
    struct cl_lambda_query_metrics q; /* CL_LAMBDA_QUERY */
    struct cl_emf_writer *emf;
};

enum cl_lambda_stage { CL_LAMBDA_INGEST, CL_LAMBDA_PROCESS, CL_LAMBDA_QUERY };

/* Applies CLOUDLOG_LOG_LEVEL and sets up lm for stage. Returns 0, or -1 with err set.
 * Caller frees with cl_lambda_metrics_free. */
int cl_lambda_metrics_init(struct cl_lambda_metrics *lm, enum cl_lambda_stage stage, char *err,
                           size_t err_len);
void cl_lambda_metrics_free(struct cl_lambda_metrics *lm);

/* Writes the interval's EMF documents to stdout (after each invocation). */
void cl_lambda_metrics_emit(struct cl_lambda_metrics *lm);

/* Counts one answer of log_query with its HTTP status, and its latency (from started_us,
 * cl_mono_us) when it is a 2xx. */
void cl_lambda_query_count(struct cl_lambda_metrics *lm, int status, int64_t started_us);

struct cl_api_keys;
struct cl_store;

/* Opens the store of CLOUDLOG_STORE (required; a store URL, not a plain path) into
 * *store (close it with cl_store_close). Returns 0, or -1 with err naming the variable. */
int cl_lambda_open_store(struct cl_store *store, char *err, size_t err_len);

/* CLOUDLOG_AUTH (apikey, the default; iam; none) and CLOUDLOG_API_KEYS, as the functions
 * behind API Gateway read them: *keys_out gets the parsed keys (NULL when none are given;
 * caller frees with cl_api_keys_free, also after a failure). Returns 0, or -1 with err set
 * (apikey without a key, a bad mode, a bad key list). */
int cl_lambda_read_keys(struct cl_api_keys **keys_out, char *err, size_t err_len);

#endif
