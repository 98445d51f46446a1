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
    /* Sticky buffer: one check; a cut-short document is never served. */
    unsigned status = cl_buf_failed(&b) ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_OK;
    if (status != MHD_HTTP_OK)
        cl_buf_reset(&b);
    size_t len;
    char *data = cl_buf_take(&b, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}
