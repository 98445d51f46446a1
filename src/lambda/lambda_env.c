/* lambda_env.c - environment variables and EMF metrics of the Lambda functions. */
#include "lambda_env.h"

#include "common.h"
#include "apikeys.h"
#include "log.h"
#include "pipeline_opts.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The telemetry rows from the environment, CLOUDLOG_LOG_LEVEL applied. */
static int read_telemetry(struct cl_telemetry_opts *t, char *err, size_t err_len)
{
    static const struct cl_option rows[] = {CL_OPT_INCLUDE_ROWS(cl_telemetry_options, 0)};
    enum cl_log_level lvl;
    if (cl_env_options(rows, CL_ARRAY_LEN(rows), t, NULL, err, err_len) != 0)
        return -1;
    if (cl_log_parse_level(t->log_level, &lvl) == 0) /* the row's choices are the levels */
        cl_log_set_level(lvl);
    return 0;
}

static const char *const status_classes[] = {"2xx", "4xx", "5xx", NULL};

/* log_query's metrics, named and shaped as the ingestor's IngestRequests/IngestLatency. */
static void register_query(struct cl_metrics *r, struct cl_lambda_query_metrics *q)
{
    q->requests = cl_metrics_counter(r, "QueryRequests", CL_UNIT_COUNT,
                                     "Answered Loki read API requests, by status class.",
                                     "status_class", status_classes);
    q->latency =
        cl_metrics_histogram(r, "QueryLatency", CL_UNIT_MICROSECONDS,
                             "From the invocation's start to its answer; 2xx answers only.");
    q->errors = cl_metrics_counter(r, "QueryErrors", CL_UNIT_COUNT,
                                   "Answers that failed on the function's side: 5xx (store "
                                   "errors, an answer over 6 MB) and 408 (the deadline).",
                                   NULL, NULL);
}

int cl_lambda_metrics_init(struct cl_lambda_metrics *lm, enum cl_lambda_stage stage, char *err,
                           size_t err_len)
{
    struct cl_telemetry_opts t = {0};
    if (read_telemetry(&t, err, err_len) != 0)
        return -1;
    lm->reg = cl_metrics_new();
    lm->m = cl_std_metrics_none;
    lm->q = (struct cl_lambda_query_metrics){0};
    if (stage == CL_LAMBDA_INGEST)
        cl_std_metrics_register_ingest(lm->reg, &lm->m);
    else if (stage == CL_LAMBDA_PROCESS)
        cl_std_metrics_register_process(lm->reg, &lm->m);
    else
        register_query(lm->reg, &lm->q);
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

void cl_lambda_query_count(struct cl_lambda_metrics *lm, int status, int64_t started_us)
{
    cl_counter_add_at(lm->q.requests, cl_status_class_of(status), 1);
    if (status >= 200 && status < 300)
        cl_histogram_observe(lm->q.latency, (uint64_t)(cl_mono_us() - started_us));
    if (status >= 500 || status == 408)
        cl_counter_add(lm->q.errors, 1);
}

/* CLOUDLOG_AUTH says whether keys are required, so that an empty CLOUDLOG_API_KEYS can
 * never silently mean "open": apikey (the default) fails init without a key; iam and none
 * leave the decision to the route (keys, if given, are still checked). */
int cl_lambda_read_keys(struct cl_api_keys **keys_out, char *err, size_t err_len)
{
    const char *mode = getenv("CLOUDLOG_AUTH");
    const char *keys = getenv("CLOUDLOG_API_KEYS");
    if (!mode || !*mode)
        mode = "apikey";
    int required = strcmp(mode, "apikey") == 0;
    if (!required && strcmp(mode, "iam") != 0 && strcmp(mode, "none") != 0) {
        snprintf(err, err_len, "CLOUDLOG_AUTH=%.100s: expected apikey, iam or none", mode);
        return -1;
    }
    char why[256];
    if (keys && *keys && !(*keys_out = cl_api_keys_parse(keys, why, sizeof why))) {
        snprintf(err, err_len, "CLOUDLOG_API_KEYS: %s", why);
        return -1;
    }
    if (required && !*keys_out) {
        snprintf(err, err_len,
                 "CLOUDLOG_AUTH=apikey but CLOUDLOG_API_KEYS has no key: refusing an "
                 "unauthenticated endpoint (set keys, or CLOUDLOG_AUTH=none for an open one)");
        return -1;
    }
    return 0;
}

int cl_lambda_open_store(struct cl_store *store, char *err, size_t err_len)
{
    const char *url = cl_env_required("CLOUDLOG_STORE", err, err_len);
    if (!url)
        return -1;
    /* A Lambda has no directory of its own worth storing into: a registered URL only. */
    if (!cl_store_url_has_prefix(url)) {
        snprintf(err, err_len,
                 "CLOUDLOG_STORE must be a store URL (" CL_STORE_BACKENDS(
                     CL_STORE_FORM_) "not a plain path), got '%.200s'",
                 url);
        return -1;
    }
    char why[512];
    if (cl_store_open(store, url, why, sizeof why) != CL_OK) {
        snprintf(err, err_len, "CLOUDLOG_STORE %.200s: %.300s", url, why);
        return -1;
    }
    return 0;
}
