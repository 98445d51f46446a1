/* loki_read.h - Loki's read API (/loki/api/v1/...) over the query engine, independent of
 * the HTTP server: a request is a path and its decoded parameters, the answer a status
 * and a JSON body. The daemon (src/server/http_loki.c) calls it; a Lambda behind API
 * Gateway could call the same function with the event's query string.
 * docs/loki.md lists the endpoints, parameters and the LogQL subset.
 */
#ifndef CL_LOKI_READ_H
#define CL_LOKI_READ_H

#include "buf.h"
#include "query.h"

#include <stddef.h>
#include <stdint.h>

#define CL_LOKI_PREFIX "/loki/api/v1/"
#define CL_LOKI_MAX_PARAMS 128
#define CL_LOKI_DEFAULT_LIMIT 100        /* log lines of query_range, as Loki's */
#define CL_LOKI_MAX_LIMIT 5000           /* as Loki's max_entries_limit_per_query */
#define CL_LOKI_MAX_RESPONSE (64u << 20) /* bytes of one answer's JSON */
#define CL_LOKI_MAX_FORM (1u << 20)      /* bytes of a POST form body: 413 past it */
#define CL_LOKI_ALLOW "GET, HEAD, POST"  /* the Allow header of a 405 */

/* Decoded parameters (owned). A repeated name (match[]) keeps every value. */
struct cl_loki_params {
    char *keys[CL_LOKI_MAX_PARAMS], *values[CL_LOKI_MAX_PARAMS];
    size_t n;
    int overflow; /* more than CL_LOKI_MAX_PARAMS were given */
};

/* Adds a copy of key=value. */
void cl_loki_params_add(struct cl_loki_params *p, const char *key, const char *value);
/* Adds the pairs of an application/x-www-form-urlencoded text (a query string or a POST
 * body), %XX and '+' decoded. */
void cl_loki_params_add_form(struct cl_loki_params *p, const char *text, size_t len);
/* The last value of key, or NULL. */
const char *cl_loki_param(const struct cl_loki_params *p, const char *key);
void cl_loki_params_free(struct cl_loki_params *p);

/* What a request runs with. base holds the limits every scan obeys (timeout_ms,
 * max_bytes, regex limits, threads, cancelled); its filters are ignored. */
struct cl_loki_ctx {
    const struct cl_query_source *src;
    struct cl_query base;
    int64_t now_ms;
    size_t max_series;   /* 0: CL_LQ_DEFAULT_MAX_SERIES */
    size_t max_response; /* bytes of the answer's JSON; 0: CL_LOKI_MAX_RESPONSE */
    const char *version, *revision;
};

struct cl_loki_response {
    int status;
    int retry_after_s;
    const char *content_type;
    struct cl_buf body; /* owned by the caller after cl_loki_handle */
};

enum cl_loki_kind {
    CL_LOKI_UNKNOWN = 0,
    CL_LOKI_READY,    /* answered at once, no API key */
    CL_LOKI_INSTANT,  /* answered at once (buildinfo) */
    CL_LOKI_SCANNING, /* reads the store: run it off the HTTP thread, under a query slot */
    CL_LOKI_TAIL      /* /tail: not served here */
};

/* What path (the part after CL_LOKI_PREFIX, without the query string) is. */
enum cl_loki_kind cl_loki_kind_of(const char *path);

/* Answers path with params into *r (body initialized here; free it with cl_buf_free).
 * Errors are Loki's {"code":N,"status":"error","message":"..."} (400 bad request or
 * query outside the subset, 404 unknown path, 408 deadline, 503 budget or cancelled). */
void cl_loki_handle(const struct cl_loki_ctx *ctx, const char *path,
                    const struct cl_loki_params *params, struct cl_loki_response *r);

/* A request as an HTTP front end received it: the daemon (src/server/http_loki.c, on
 * libmicrohttpd) and the log_query Lambda (src/lambda/query/, API Gateway events) fill
 * one each, so both admit and answer alike. */
struct cl_api_keys;

struct cl_loki_request {
    const char *method;             /* GET, HEAD, POST, ... */
    const char *path;               /* the part after CL_LOKI_PREFIX */
    const char *authorization;      /* the Authorization header, NULL when absent */
    const struct cl_api_keys *keys; /* NULL: no key is required */
    int shutting_down;              /* 1: /ready and the scanning routes answer 503 */
    size_t form_len;                /* a POST body's length (0: none or not known yet) */
};

/* The checks made before any parameter is read or the store scanned, in one order:
 * route (404), method (405, Allow: CL_LOKI_ALLOW), shutting down for /ready (503), API
 * key (401, WWW-Authenticate: Bearer), shutting down (503), form over CL_LOKI_MAX_FORM
 * (413). Returns the route's kind, or CL_LOKI_UNKNOWN with *r holding the refusal (body
 * initialized here: free it with cl_buf_free). /tail is refused with 404: it is a
 * WebSocket, which the daemon serves elsewhere (http_tail.c). */
enum cl_loki_kind cl_loki_admit(const struct cl_loki_request *q, struct cl_loki_response *r);

/* The whole answer of one request, for a front end that runs it in place (the Lambda):
 * cl_loki_admit, then the parameters of query (a raw query string) and, for a POST, of
 * the form body, then cl_loki_handle. *r as cl_loki_handle's. */
void cl_loki_serve(const struct cl_loki_ctx *ctx, const struct cl_loki_request *q,
                   const char *query, size_t query_len, const char *form, size_t form_len,
                   struct cl_loki_response *r);

/* Writes Loki's error body and status into r. */
void cl_loki_error(struct cl_loki_response *r, int status, const char *msg);

#endif
