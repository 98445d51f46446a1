/* http_alarms.c - GET /v1/alarms: renders the alarm thread's states and history. */
#include "http_alarms.h"

#include "alarm_runner.h"
#include "buf.h"

/* A few KiB per alarm and per transition; bound it anyway. */
#define ALARMS_MAX (16u << 20)

enum MHD_Result cl_http_alarms(struct cl_daemon *d, struct MHD_Connection *c)
{
    struct cl_buf b;
    cl_buf_init(&b, ALARMS_MAX);
    if (d->alarms)
        cl_alarm_runner_render(d->alarms, &b);
    else
        cl_buf_append_str(&b, "{\"alarms\":[],\"history\":[]}\n");
    size_t len;
    char *data = cl_buf_take(&b, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}
