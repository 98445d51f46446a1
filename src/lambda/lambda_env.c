/* lambda_env.c - environment variables and EMF metrics of the Lambda functions. */
#include "lambda_env.h"

#include "common.h"
#include "log.h"
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

const char *cl_env_required(const char *name, char *err, size_t err_len)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        snprintf(err, err_len, "environment variable %s is required", name);
        return NULL;
    }
    return v;
}

int cl_env_size(const char *name, uint64_t def, uint64_t *out, char *err, size_t err_len)
{
    const char *v = getenv(name);
    *out = def;
    if (!v || !*v)
        return 0;
    if (cl_parse_size(v, out) != 0) {
        snprintf(err, err_len, "%s: invalid size '%.64s' (e.g. 10MiB)", name, v);
        return -1;
    }
    return 0;
}

int cl_env_duration(const char *name, int64_t def, int64_t *out, char *err, size_t err_len)
{
    const char *v = getenv(name);
    *out = def;
    if (!v || !*v)
        return 0;
    if (cl_parse_duration_ms(v, out) != 0) {
        snprintf(err, err_len, "%s: invalid duration '%.64s' (e.g. 7d, 10m, 0 for no limit)", name,
                 v);
        return -1;
    }
    return 0;
}

int cl_env_int(const char *name, long def, long lo, long hi, long *out, char *err, size_t err_len)
{
    const char *v = getenv(name);
    *out = def;
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < lo || n > hi) {
        snprintf(err, err_len, "%s: expected an integer from %ld to %ld, got '%.64s'", name, lo, hi,
                 v);
        return -1;
    }
    *out = n;
    return 0;
}

int cl_lambda_metrics_init(struct cl_lambda_metrics *lm, enum cl_lambda_stage stage, char *err,
                           size_t err_len)
{
    const char *level = getenv("CLOUDLOG_LOG_LEVEL");
    enum cl_log_level lvl;
    if (level && *level) {
        if (cl_log_parse_level(level, &lvl) != 0) {
            snprintf(err, err_len, "CLOUDLOG_LOG_LEVEL: expected debug, info, warn or error");
            return -1;
        }
        cl_log_set_level(lvl);
    }
    lm->reg = cl_metrics_new();
    if (stage == CL_LAMBDA_INGEST)
        cl_std_metrics_register_ingest(lm->reg, &lm->m);
    else
        cl_std_metrics_register_process(lm->reg, &lm->m);
    const char *ns = getenv("CLOUDLOG_EMF_NAMESPACE");
    char why[256];
    lm->emf = cl_emf_writer_new(lm->reg, ns && *ns ? ns : "cloudlog",
                                getenv("CLOUDLOG_EMF_DIMENSIONS"), why, sizeof why);
    if (!lm->emf) {
        snprintf(err, err_len, "CLOUDLOG_EMF_NAMESPACE/CLOUDLOG_EMF_DIMENSIONS: %s", why);
        cl_metrics_free(lm->reg);
        lm->reg = NULL;
        return -1;
    }
    return 0;
}

void cl_lambda_metrics_free(struct cl_lambda_metrics *lm)
{
    cl_emf_writer_free(lm->emf);
    cl_metrics_free(lm->reg);
}

void cl_lambda_metrics_emit(struct cl_lambda_metrics *lm)
{
    if (cl_emf_write(lm->emf, stdout, cl_now_ms()) != 0)
        cl_log(CL_LOG_WARN, "lambda: cannot write EMF metrics to stdout");
}
