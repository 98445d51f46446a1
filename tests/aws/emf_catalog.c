/* emf_catalog.c - prints the CloudWatch EMF documents of every standard cloudlog metric
 * (the registry both Lambda functions and the daemon use), with every counter series,
 * gauge and histogram given a value so that each one appears. tests/aws/check_template.py
 * reads the metric names and dimension sets from this output, so the template's alarms
 * and dashboard are checked against the real registry and EMF writer, not a copy.
 *
 * Usage: emf_catalog NAMESPACE DIMENSIONS   (e.g. emf_catalog cloudlog Stack=test)
 */
#include "emf.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>

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
    if (argc != 3) {
        fprintf(stderr, "usage: %s NAMESPACE DIMENSIONS\n", argv[0]);
        return 2;
    }
    struct cl_metrics *r = cl_metrics_new();
    struct cl_std_metrics std;
    cl_std_metrics_register(r, &std);
    char err[256];
    struct cl_emf_writer *w = cl_emf_writer_new(r, argv[1], argv[2], err, sizeof err);
    if (!w) {
        fprintf(stderr, "emf_catalog: %s\n", err);
        cl_metrics_free(r);
        return 2;
    }
    touch_every_series(r);
    int rc = cl_emf_write(w, stdout, 0);
    cl_emf_writer_free(w);
    cl_metrics_free(r);
    return rc == 0 ? 0 : 1;
}
