/* http_analytics.h - the read routes of patterns and anomalies (docs/analytics.md). */
#ifndef CL_HTTP_ANALYTICS_H
#define CL_HTTP_ANALYTICS_H

#include "daemon.h"

#include <microhttpd.h>

/* GET /v1/patterns?service=&since=1h&until=&level=&limit=20&new=0 */
enum MHD_Result cl_http_patterns(struct cl_daemon *d, struct MHD_Connection *c);
/* GET /v1/anomalies?since=24h&service=&limit=100 */
enum MHD_Result cl_http_anomalies(struct cl_daemon *d, struct MHD_Connection *c);
/* GET /loki/api/v1/patterns?query={service_name="S"}&start=&end=&step= */
enum MHD_Result cl_http_loki_patterns(struct cl_daemon *d, struct MHD_Connection *c);

/* Which of the three url is (1, 2, 3), or 0. */
int cl_http_analytics_route(const char *url);

#endif
