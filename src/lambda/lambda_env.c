/* lambda_env.c - environment variables and EMF metrics of the Lambda functions. */
#include "lambda_env.h"

#include "common.h"
#include "log.h"
#include "pipeline_opts.h"

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

int cl_env_options(const struct cl_option *rows, size_t n, void *cfg, enum cl_opt_origin *origins,
                   char *err, size_t err_len)
{
    size_t n_pos;
    int rc =
        cl_options_parse_ex(rows, n, cfg, 0, NULL, NULL, 0, &n_pos, NULL, origins, err, err_len);
    return rc == CL_OPTS_OK ? 0 : -1;
}

int cl_lambda_metrics_init(struct cl_lambda_metrics *lm, enum cl_lambda_stage stage, char *err,
                           size_t err_len)
{
    static const struct cl_option rows[] = {CL_OPT_INCLUDE_ROWS(cl_telemetry_options, 0)};
    struct cl_telemetry_opts t = {0};
    enum cl_log_level lvl;
    if (cl_env_options(rows, CL_ARRAY_LEN(rows), &t, NULL, err, err_len) != 0)
        return -1;
    if (cl_log_parse_level(t.log_level, &lvl) == 0) /* the row's choices are the levels */
        cl_log_set_level(lvl);
    lm->reg = cl_metrics_new();
    if (stage == CL_LAMBDA_INGEST)
        cl_std_metrics_register_ingest(lm->reg, &lm->m);
    else
        cl_std_metrics_register_process(lm->reg, &lm->m);
    char why[256];
    lm->emf = cl_emf_writer_new(lm->reg, t.emf_namespace, t.emf_dimensions, why, sizeof why);
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
