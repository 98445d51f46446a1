/* http_queue.h - queueing a response on a connection, also when libmicrohttpd could not
 * allocate one (MHD_create_response_* returned NULL). */
#ifndef CL_HTTP_QUEUE_H
#define CL_HTTP_QUEUE_H

#include <microhttpd.h>

/* Makes the out-of-memory answer ahead of need (cl_http_start calls it; later calls do
 * nothing). */
void cl_http_queue_init(void);

/* Queues resp with status and releases it. resp NULL (allocation failed) queues a 500
 * {"error":"internal error: out of memory"} with Connection: close instead, made by
 * cl_http_queue_init; without it, returns MHD_NO, which closes the connection. */
enum MHD_Result cl_http_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp);

#endif
