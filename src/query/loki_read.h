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
    size_t max_series; /* 0: CL_LQ_DEFAULT_MAX_SERIES */
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

/* Writes Loki's error body and status into r. */
void cl_loki_error(struct cl_loki_response *r, int status, const char *msg);

#endif
