/* http_queue.c - queueing a response, also when libmicrohttpd could not make one. */
#include "http_queue.h"

#include "log.h"

#include <pthread.h>

/* The answer to a request whose response could not be allocated: one 500, made while
 * memory is still available and queued for every such request (libmicrohttpd counts a
 * response's references); kept for the process's life. */
static struct MHD_Response *out_of_memory;
static pthread_once_t out_of_memory_once = PTHREAD_ONCE_INIT;

static void make_out_of_memory(void)
{
    static const char body[] = "{\"error\":\"internal error: out of memory\"}\n";
    out_of_memory =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!out_of_memory)
        return;
    MHD_add_response_header(out_of_memory, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(out_of_memory, MHD_HTTP_HEADER_CONNECTION, "close");
}

void cl_http_queue_init(void)
{
    pthread_once(&out_of_memory_once, make_out_of_memory);
}

enum MHD_Result cl_http_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp)
{
    if (!resp) {
        cl_log(CL_LOG_ERROR, "http: cannot allocate a %u response: answering 500", status);
        cl_http_queue_init();
        return out_of_memory ? MHD_queue_response(c, MHD_HTTP_INTERNAL_SERVER_ERROR, out_of_memory)
                             : MHD_NO;
    }
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}
