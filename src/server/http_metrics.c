/* http_metrics.c - GET /metrics: renders the registry for Prometheus scrapers. */
#include "http_metrics.h"

#include "buf.h"
#include "cl_limits.h"
#include "daemon_analytics.h"
#include "process_metrics.h"

enum MHD_Result cl_http_metrics(struct cl_daemon *d, struct MHD_Connection *c)
{
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_METRICS_RESPONSE);
    cl_metrics_render_prom(d->metrics, &b);
    cl_process_metrics_render(&b);
    cl_daemon_analytics_render_prom(d, &b);
    cl_key_usage_render_prom(d->key_usage, &b);
    /* A cut-short document is never served: the builder answers 500 instead. */
    return cl_http_respond_no_store(c, MHD_HTTP_OK, &b, "text/plain; version=0.0.4; charset=utf-8");
}
