/* http_tail.h - GET /loki/api/v1/tail: a LogQL log query followed live over a WebSocket
 * (docs/loki.md "Live tail"). */
#ifndef CL_HTTP_TAIL_H
#define CL_HTTP_TAIL_H

#include "daemon.h"

#include <microhttpd.h>

#define CL_TAIL_PATH "/loki/api/v1/tail"

/* The running tails of one daemon. Caller frees with cl_http_tails_free. */
struct cl_http_tails *cl_http_tails_new(void);

/* Ends every tail (a close frame 1001, "daemon stopping") and joins their threads.
 * Call before MHD_stop_daemon: upgraded connections must be closed first. */
void cl_http_tails_stop(struct cl_http_tails *t);

void cl_http_tails_free(struct cl_http_tails *t);

/* The first call of GET /loki/api/v1/tail on c (headers read): answers 400 (not a
 * WebSocket handshake, bad parameters or query), 401, 403 (cross-origin), 405 or 503
 * (--max-tails running, shutting down) in Loki's error shape, or queues the 101 answer; the
 * tail then runs on its own thread. *state holds the request's reference (release with
 * cl_http_tail_done). */
enum MHD_Result cl_http_tail(struct cl_daemon *d, struct MHD_Connection *c, const char *method,
                             void **state);

/* The request is complete: drops its reference (NULL is fine). */
void cl_http_tail_done(void *state);

#endif
