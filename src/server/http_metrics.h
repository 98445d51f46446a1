/* http_metrics.h - GET /metrics: the daemon's registry in Prometheus text format. */
#ifndef CL_HTTP_METRICS_H
#define CL_HTTP_METRICS_H

#include "daemon.h"

#include <microhttpd.h>

/* Queues a 200 with the exposition (Content-Type text/plain; version=0.0.4). The
 * caller has checked the method and the API key. */
enum MHD_Result cl_http_metrics(struct cl_daemon *d, struct MHD_Connection *c);

#endif
