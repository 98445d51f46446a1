/* http_metrics.c - GET /metrics: renders the registry for Prometheus scrapers. */
#include "http_metrics.h"

#include "buf.h"

/* Expositions are a few KiB; bound them anyway. */
#define METRICS_MAX (4u << 20)

enum MHD_Result cl_http_metrics(struct cl_daemon *d, struct MHD_Connection *c)
{
    struct cl_buf b;
    cl_buf_init(&b, METRICS_MAX);
    cl_metrics_render_prom(d->metrics, &b);
    size_t len;
    char *data = cl_buf_take(&b, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}
