/* lambda_env.h - what both Lambda functions read from the environment (they take no
 * arguments) and their shared metrics set-up: log level, EMF writer on stdout. */
#ifndef CL_LAMBDA_ENV_H
#define CL_LAMBDA_ENV_H

#include "emf.h"
#include "metrics.h"

#include <stddef.h>
#include <stdint.h>

/* A required variable: its value, or NULL with err set when unset or empty. */
const char *cl_env_required(const char *name, char *err, size_t err_len);

/* A size ("10MiB") from name, else def. Returns 0, or -1 with err set. */
int cl_env_size(const char *name, uint64_t def, uint64_t *out, char *err, size_t err_len);

/* A duration ("15m", "7d"; plain digits are seconds) in ms from name, else def.
 * Returns 0, or -1 with err set. */
int cl_env_duration(const char *name, int64_t def, int64_t *out, char *err, size_t err_len);

/* An integer in [lo, hi] from name, else def. Returns 0, or -1 with err set. */
int cl_env_int(const char *name, long def, long lo, long hi, long *out, char *err, size_t err_len);

/* The metrics of one function: a registry with one stage's standard metrics and an EMF
 * writer (CLOUDLOG_EMF_NAMESPACE, default "cloudlog"; CLOUDLOG_EMF_DIMENSIONS). */
struct cl_lambda_metrics {
    struct cl_metrics *reg;
    struct cl_std_metrics m;
    struct cl_emf_writer *emf;
};

enum cl_lambda_stage { CL_LAMBDA_INGEST, CL_LAMBDA_PROCESS };

/* Applies CLOUDLOG_LOG_LEVEL and sets up lm for stage. Returns 0, or -1 with err set.
 * Caller frees with cl_lambda_metrics_free. */
int cl_lambda_metrics_init(struct cl_lambda_metrics *lm, enum cl_lambda_stage stage, char *err,
                           size_t err_len);
void cl_lambda_metrics_free(struct cl_lambda_metrics *lm);

/* Writes the interval's EMF documents to stdout (after each invocation). */
void cl_lambda_metrics_emit(struct cl_lambda_metrics *lm);

#endif
