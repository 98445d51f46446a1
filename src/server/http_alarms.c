/* http_alarms.c - GET /v1/alarms: renders the alarm thread's states and history. */
#include "http_alarms.h"

#include "alarm_runner.h"
#include "buf.h"
#include "cl_limits.h"

enum MHD_Result cl_http_alarms(struct cl_daemon *d, struct MHD_Connection *c)
{
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_ALARMS_RESPONSE);
    if (d->alarms)
        cl_alarm_runner_render(d->alarms, &b);
    else
        cl_buf_append_str(&b, "{\"alarms\":[],\"history\":[]}\n");
    /* Sticky buffer: one check; a cut-short document is never served. */
    unsigned status = cl_buf_failed(&b) ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_OK;
    if (status != MHD_HTTP_OK)
        cl_buf_reset(&b);
    size_t len;
    char *data = cl_buf_take(&b, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}
