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
    /* A cut-short document is never served: the builder answers 500 instead. */
    return cl_http_respond_no_store(c, MHD_HTTP_OK, &b, "application/json");
}
