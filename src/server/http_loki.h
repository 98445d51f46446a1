/* http_loki.h - the /loki/api/v1/ routes (Loki's read API, src/query/loki_read.h). */
#ifndef CL_HTTP_LOKI_H
#define CL_HTTP_LOKI_H

#include "daemon.h"

#include <microhttpd.h>
#include <stddef.h>

/* Every call of a request whose URL starts with /loki/api/v1/: answers at once (404,
 * 405, 401, 503, /ready, /status/buildinfo), or reads a POST form body, then runs the
 * route on a query worker and answers when it resumes c. *state holds the request
 * (NULL at first; release with cl_http_loki_done). */
enum MHD_Result cl_http_loki(struct cl_daemon *d, struct MHD_Connection *c, const char *url,
                             const char *method, const char *upload, size_t *upload_size,
                             void **state);

/* The request is complete: frees its state (NULL is fine). */
void cl_http_loki_done(void *state);

/* Answers Loki's error JSON ({"code","status":"error","message"}) with status at once
 * (Retry-After when retry_after_s > 0); the tail route answers its errors through it. */
enum MHD_Result cl_http_loki_error(struct MHD_Connection *c, int status, const char *msg,
                                   int retry_after_s);

#endif
