/* http_query.h - the GET /v1/query route. */
#ifndef CL_HTTP_QUERY_H
#define CL_HTTP_QUERY_H

#include "daemon.h"

#include <microhttpd.h>

/* Answers GET /v1/query on c: 400 with respond_error for bad parameters, otherwise a
 * chunked NDJSON stream of matches produced on d->query_workers. */
enum MHD_Result cl_http_query(struct cl_daemon *d, struct MHD_Connection *c,
                              enum MHD_Result (*respond_error)(struct MHD_Connection *, int,
                                                               const char *));

#endif
