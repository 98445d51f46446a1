/* emf_catalog.c - prints the CloudWatch EMF documents one Lambda function emits, with
 * every counter series, gauge and histogram of its registry given a value so that each
 * metric and each label dimension appears. It sets up its metrics with the functions' own
 * code (cl_lambda_metrics_init: same stage registry, same CLOUDLOG_EMF_NAMESPACE and
 * CLOUDLOG_EMF_DIMENSIONS handling, same EMF writer), so tests/aws/check_template.py
 * checks the template's alarms and dashboard against what the code emits, not a copy.
 *
 * The processor's analytics documents (ErrorLogCount, AnomaliesDetected, PatternCount) come
 * from its own writer too (cl_lp_analytics_emit).
 *
 * Usage: CLOUDLOG_EMF_NAMESPACE=ns CLOUDLOG_EMF_DIMENSIONS=k=v emf_catalog ingest|process|query
 */
#include "lambda_env.h"
#include "processor.h"

#include <stdio.h>
#include <string.h>

/* Gives every series of every metric in r one observation. */
static void touch_every_series(struct cl_metrics *r)
{
    for (size_t i = 0; i < cl_metrics_len(r); i++) {
        /* The registry hands out const views; updates go through the same object. */
        struct cl_metric *m = (struct cl_metric *)cl_metrics_at(r, i);
        switch (m->type) {
        case CL_METRIC_COUNTER:
            for (size_t s = 0; s < m->n_series; s++)
                cl_counter_add_at(m, s, 1);
            break;
        case CL_METRIC_GAUGE:
            cl_gauge_set(m, 1.0);
            break;
        case CL_METRIC_HISTOGRAM:
            cl_histogram_observe(m, 1000);
            break;
        }
    }
}

int main(int argc, char **argv)
{
    enum cl_lambda_stage stage;
    if (argc == 2 && strcmp(argv[1], "ingest") == 0) {
        stage = CL_LAMBDA_INGEST;
    } else if (argc == 2 && strcmp(argv[1], "process") == 0) {
        stage = CL_LAMBDA_PROCESS;
    } else if (argc == 2 && strcmp(argv[1], "query") == 0) {
        stage = CL_LAMBDA_QUERY;
    } else {
        fprintf(stderr, "usage: %s ingest|process|query\n", argv[0]);
        return 2;
    }
    struct cl_lambda_metrics lm;
    char err[512];
    if (cl_lambda_metrics_init(&lm, stage, err, sizeof err) != 0) {
        fprintf(stderr, "emf_catalog: %s\n", err);
        return 2;
    }
    touch_every_series(lm.reg);
    cl_lambda_metrics_emit(&lm);
    if (stage == CL_LAMBDA_PROCESS) { /* the processor's analytics documents, one pattern */
        struct cl_pattern_count c = {
            .service = "api", .id = 1, .minute = 1, .level = 4, .count = 1};
        struct cl_analytics_batch b = {.counts = &c, .n_counts = 1};
        cl_lp_analytics_emit(&b, 60000);
    }
    cl_lambda_metrics_free(&lm);
    return ferror(stdout) ? 1 : 0;
}
