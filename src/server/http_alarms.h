/* http_alarms.h - GET /v1/alarms: alarm states and recent transitions as JSON. */
#ifndef CL_HTTP_ALARMS_H
#define CL_HTTP_ALARMS_H

#include "daemon.h"

#include <microhttpd.h>

/* Queues a 200 with {"alarms":[...],"history":[...]} (docs/alarms.md). The caller has
 * checked the method and the API key. */
enum MHD_Result cl_http_alarms(struct cl_daemon *d, struct MHD_Connection *c);

#endif
