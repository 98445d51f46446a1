/* http_dashboard.h - GET / and GET /explore: the live dashboard and the query page,
 * embedded from web/ at build time. */
#ifndef CL_HTTP_DASHBOARD_H
#define CL_HTTP_DASHBOARD_H

#include <microhttpd.h>

/* 1 if GET / should get the page: always, unless the client's Accept asks for
 * application/json and not for text/html (then the JSON endpoint index is answered). */
int cl_http_dashboard_wanted(struct MHD_Connection *c);

/* Queues the page (200, or 304 for a matching If-None-Match) with a Content-Security-
 * Policy that allows only the page's own inline script and style and requests to its
 * own origin. The page needs no API key; the APIs it calls do. */
enum MHD_Result cl_http_dashboard(struct MHD_Connection *c);

/* The query page (docs/explore.md), served as cl_http_dashboard serves the dashboard. */
enum MHD_Result cl_http_explore(struct MHD_Connection *c);

#endif
