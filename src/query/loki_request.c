/* loki_request.c - what every front end of the Loki read API does before and around
 * cl_loki_handle: the admission checks and the parameters of a query string and a form
 * body (loki_read.h). The daemon's libmicrohttpd adapter and the log_query Lambda's API
 * Gateway adapter both call these, so their answers cannot drift. */
#include "loki_read.h"

#include "apikeys.h"

#include <string.h>

static int is_get(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* The refusal of q, or NULL; *status and *retry_after_s set with it. */
static const char *refusal(const struct cl_loki_request *q, enum cl_loki_kind kind, int *status,
                           int *retry_after_s)
{
    *retry_after_s = 0;
    if (kind == CL_LOKI_UNKNOWN || kind == CL_LOKI_TAIL)
        return *status = 404, "404 page not found";
    if (!is_get(q->method) && strcmp(q->method, "POST") != 0)
        return *status = 405, "method not allowed; use GET or POST";
    /* /ready answers without a key, so a load balancer's probe sees the shutdown */
    if (kind == CL_LOKI_READY && q->shutting_down)
        return *status = 503, *retry_after_s = 1, "shutting down";
    if (kind != CL_LOKI_READY && q->keys && !cl_api_keys_check(q->keys, q->authorization))
        return *status = 401, "missing or invalid API key (send Authorization: Bearer <key>, "
                              "or Basic with the key as password)";
    if (kind == CL_LOKI_SCANNING && q->shutting_down)
        return *status = 503, *retry_after_s = 1, "shutting down";
    if (q->form_len > CL_LOKI_MAX_FORM)
        return *status = 413, "form body exceeds 1 MiB";
    return NULL;
}

enum cl_loki_kind cl_loki_admit(const struct cl_loki_request *q, struct cl_loki_response *r)
{
    enum cl_loki_kind kind = cl_loki_kind_of(q->path);
    int status, retry_after_s;
    const char *msg = refusal(q, kind, &status, &retry_after_s);
    if (!msg)
        return kind;
    cl_buf_init(&r->body, CL_LOKI_MAX_FORM);
    cl_loki_error(r, status, msg);
    r->retry_after_s = retry_after_s;
    return CL_LOKI_UNKNOWN;
}

void cl_loki_serve(const struct cl_loki_ctx *ctx, const struct cl_loki_request *q,
                   const char *query, size_t query_len, const char *form, size_t form_len,
                   struct cl_loki_response *r)
{
    if (cl_loki_admit(q, r) == CL_LOKI_UNKNOWN)
        return;
    struct cl_loki_params params = {0};
    if (query && query_len)
        cl_loki_params_add_form(&params, query, query_len);
    if (form && form_len && strcmp(q->method, "POST") == 0)
        cl_loki_params_add_form(&params, form, form_len);
    cl_loki_handle(ctx, q->path, &params, r);
    cl_loki_params_free(&params);
}
