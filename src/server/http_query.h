/* http_query.h - the GET /v1/query route. */
#ifndef CL_HTTP_QUERY_H
#define CL_HTTP_QUERY_H

#include "daemon.h"

#include <microhttpd.h>

/* Answers {"error": msg} with status (and Retry-After when retry_after_s > 0). */
typedef enum MHD_Result (*cl_http_error_fn)(struct MHD_Connection *c, int status, const char *msg,
                                            int retry_after_s);

/* The first call of GET /v1/query on c: answers 400 (bad parameters) or 503 (more than
 * --max-queries running) with respond_error, or suspends c and starts the query on
 * d->query_workers; *state then holds it (release with cl_http_query_done). */
enum MHD_Result cl_http_query_start(struct cl_daemon *d, struct MHD_Connection *c, void **state,
                                    cl_http_error_fn respond_error);

/* The call after the query resumed c: a chunked NDJSON stream (200), or the status of a
 * query that failed before its first line (400, 408, 500, 503). */
enum MHD_Result cl_http_query_answer(struct MHD_Connection *c, void *state,
                                     cl_http_error_fn respond_error);

/* The request is complete: drops its hold on state (NULL is fine). */
void cl_http_query_done(void *state);

#endif
