/* http_respond.c - the one response builder every daemon route answers through
 * (cl_http_respond, daemon.h): Content-Type, Retry-After, Allow, WWW-Authenticate on 401,
 * Connection: close on 408, a failed body turned into a 500. */
#include "http_int.h"

#include "buf.h"
#include "cl_limits.h"
#include "http_queue.h"
#include "ingest.h"
#include "json_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct MHD_Response *cl_http_new_response(int *status, struct cl_buf *body,
                                          const char *content_type, int retry_after_s,
                                          const char *allow)
{
    if (cl_buf_failed(body)) {
        cl_buf_reset(body);
        cl_buf_append_str(body, "{\"error\":\"internal error: the response exceeded its size "
                                "limit\"}\n");
        *status = 500, content_type = "application/json", retry_after_s = 0;
    }
    size_t len;
    char *data = cl_buf_take(body, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) { /* libmicrohttpd frees a MUST_FREE buffer only with its response */
        free(data);
        return NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (*status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (*status == MHD_HTTP_REQUEST_TIMEOUT) /* RFC 9110: the server closes after a 408 */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    return resp;
}

/* Queues a response; takes ownership of body (malloc'd by a cl_buf). es_product adds the
 * header Elasticsearch's clients check on the /es routes. */
enum MHD_Result cl_http_respond_product(struct MHD_Connection *c, int status, struct cl_buf *body,
                                        const char *content_type, int retry_after_s,
                                        const char *allow, int es_product)
{
    struct MHD_Response *resp =
        cl_http_new_response(&status, body, content_type, retry_after_s, allow);
    if (es_product && resp)
        MHD_add_response_header(resp, CL_ES_PRODUCT_HEADER, CL_ES_PRODUCT);
    return cl_http_queue(c, (unsigned)status, resp);
}

enum MHD_Result cl_http_respond(struct MHD_Connection *c, int status, struct cl_buf *body,
                                const char *content_type, int retry_after_s, const char *allow)
{
    return cl_http_respond_product(c, status, body, content_type, retry_after_s, allow, 0);
}

enum MHD_Result cl_http_respond_no_store(struct MHD_Connection *c, int status, struct cl_buf *body,
                                         const char *content_type)
{
    struct MHD_Response *resp = cl_http_new_response(&status, body, content_type, 0, NULL);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return cl_http_queue(c, (unsigned)status, resp);
}

/* Answers {"error": msg} with status. */
enum MHD_Result cl_http_respond_error(struct MHD_Connection *c, int status, const char *msg,
                                      int retry_after_s, const char *allow)
{
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_ERROR_RESPONSE);
    cl_buf_append_str(&b, "{\"error\":");
    cl_json_write_string(&b, msg, strlen(msg));
    cl_buf_append_str(&b, "}\n");
    return cl_http_respond(c, status, &b, "application/json", retry_after_s, allow);
}

enum MHD_Result cl_http_respond_text(struct MHD_Connection *c, int status, const char *text)
{
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_ERROR_RESPONSE);
    cl_buf_append_str(&b, text);
    return cl_http_respond(c, status, &b, "application/json", 0, NULL);
}
