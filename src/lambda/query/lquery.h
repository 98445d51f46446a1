/* lquery.h - the log_query function: Loki's read API (/loki/api/v1/..., docs/loki.md)
 * over the S3 store, from API Gateway HTTP API events, through the same handlers as the
 * daemon (src/query/loki_read.h). The live tail (a WebSocket) stays with the daemon. */
#ifndef CL_LAMBDA_LQUERY_H
#define CL_LAMBDA_LQUERY_H

#include "lambda_env.h"
#include "query.h"
#include "runtime.h"
#include "store.h"

#include <stdint.h>

/* API Gateway's limits on a Lambda integration (docs/lambda.md "log_query"): the HTTP
 * API waits at most 30 s, and a synchronous invocation's response is at most 6 MB. */
#define CL_LQ_APIGW_TIMEOUT_MS 30000
#define CL_LQ_MAX_PAYLOAD 6291456u /* bytes of the whole response event (6 MiB) */
/* Answers from this size on go gzip-compressed to a client that accepts it (Grafana's
 * HTTP client does); smaller ones are not worth it. */
#define CL_LQ_GZIP_MIN 1024
/* What a query leaves for the rest of the invocation (answer, Runtime API post). */
#define CL_LQ_DEADLINE_MARGIN_MS 1000

struct cl_api_keys;

struct cl_lquery {
    struct cl_store store;
    int store_open;
    struct cl_api_keys *keys;    /* NULL: no key check (CLOUDLOG_AUTH=iam or none) */
    struct cl_query limits;      /* timeout_ms, max_bytes, regex limits (CLOUDLOG_QUERY_*) */
    struct cl_lambda_metrics lm; /* QueryRequests, QueryLatency, QueryErrors (EMF) */
    int metrics_ready;
};

/* Reads the environment (CLOUDLOG_STORE, CLOUDLOG_AUTH, CLOUDLOG_API_KEYS, the query
 * limits) and opens the store; ctx is a struct cl_lquery (void * so that cl_lambda_main
 * takes it). Returns 0, or -1 with err set (an init error). Caller frees with
 * cl_lquery_free, also after a failure. */
int cl_lquery_init(void *ctx, char *err, size_t err_len);
void cl_lquery_free(void *ctx);

/* cl_lambda_handler: ctx is a struct cl_lquery. */
void cl_lquery_handle(void *ctx, const struct cl_lambda_invocation *inv,
                      struct cl_lambda_result *res);

#endif
