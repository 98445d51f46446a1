/* runtime.h - client of the AWS Lambda Runtime API (custom runtime, provided.al2023).
 *
 * The loop: GET /2018-06-01/runtime/invocation/next blocks (no timeout: the sandbox may
 * be frozen between invocations) until an event arrives with its request id, deadline
 * and trace headers; the handler's result goes to .../invocation/{id}/response, or a
 * structured error {"errorMessage","errorType","stackTrace":[]} to .../{id}/error.
 * A failure before the first event goes to /runtime/init/error, after which the runtime
 * exits. Endpoints and headers follow AWS's Runtime API reference (docs/lambda.md).
 */
#ifndef CL_LAMBDA_RUNTIME_H
#define CL_LAMBDA_RUNTIME_H

#include "buf.h"
#include "cl_limits.h"

#include <stddef.h>
#include <stdint.h>

/* One invocation as /next delivers it. */
struct cl_lambda_invocation {
    char request_id[128];   /* Lambda-Runtime-Aws-Request-Id */
    int64_t deadline_ms;    /* Lambda-Runtime-Deadline-Ms (Unix epoch ms), 0 if absent */
    char function_arn[256]; /* Lambda-Runtime-Invoked-Function-Arn */
    char trace_id[512];     /* Lambda-Runtime-Trace-Id, "" if absent */
    struct cl_buf event;    /* the event JSON, NUL-terminated */
};

/* What a handler produced: a response body, or an error (failed = 1). */
struct cl_lambda_result {
    struct cl_buf body; /* the response payload (JSON) */
    int failed;
    char error_type[64]; /* e.g. "Runtime.InvalidEvent" */
    char error_message[512];
};

/* Fills res for an error; keeps the first error if one is already set. */
void cl_lambda_result_fail(struct cl_lambda_result *res, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct cl_lambda_runtime;

/* Creates a client for api ("host:port", AWS_LAMBDA_RUNTIME_API). Returns NULL with err
 * set if api is missing or malformed. Caller frees with cl_lambda_runtime_free. */
struct cl_lambda_runtime *cl_lambda_runtime_new(const char *api, char *err, size_t err_len);
void cl_lambda_runtime_free(struct cl_lambda_runtime *rt);

/* Waits for the next invocation (no timeout) and fills inv (caller owns inv->event:
 * cl_lambda_invocation_free). Sets _X_AMZN_TRACE_ID to the trace header (unset when
 * absent). Returns CL_OK, or CL_ERR_IO (connection failed or a non-200 answer: the
 * runtime should exit) with err set. */
int cl_lambda_next(struct cl_lambda_runtime *rt, struct cl_lambda_invocation *inv, char *err,
                   size_t err_len);
void cl_lambda_invocation_free(struct cl_lambda_invocation *inv);

/* Posts the handler's result: body to .../response, or the error to .../error.
 * Returns CL_OK on 202, else CL_ERR_IO with err set (e.g. 413 for a too large body). */
int cl_lambda_post_result(struct cl_lambda_runtime *rt, const char *request_id,
                          const struct cl_lambda_result *res, char *err, size_t err_len);

/* Posts an initialization error to /runtime/init/error. Returns CL_OK on 202. */
int cl_lambda_post_init_error(struct cl_lambda_runtime *rt, const char *type, const char *message,
                              char *err, size_t err_len);

/* Milliseconds left before inv's deadline (INT64_MAX without a deadline). */
int64_t cl_lambda_remaining_ms(const struct cl_lambda_invocation *inv);

/* Handles one invocation: reads inv, fills res (body or error). */
typedef void (*cl_lambda_handler)(void *ctx, const struct cl_lambda_invocation *inv,
                                  struct cl_lambda_result *res);

/* The runtime loop: next -> handler -> response/error, until /next fails (returns 1)
 * or max_invocations (> 0) were handled (returns 0; 0 = unbounded, as on Lambda). */
int cl_lambda_run(struct cl_lambda_runtime *rt, cl_lambda_handler handler, void *ctx,
                  long max_invocations);

/* Reports an initialization failure: logs it on stderr and posts it to /init/error when
 * AWS_LAMBDA_RUNTIME_API is usable. Returns the exit status to use (1). */
int cl_lambda_init_failed(const char *type, const char *message);

/* One function's context lifecycle: init fills ctx from the environment (0, or -1 with err
 * set); release frees what init allocated, also after a failed init. */
typedef int (*cl_lambda_init_fn)(void *ctx, char *err, size_t err_len);
typedef void (*cl_lambda_release_fn)(void *ctx);

/* The whole life of a function's process (each function's main): init ctx (an init error
 * goes to /init/error), then the Runtime API loop with handle, then release. name prefixes
 * stderr messages. Returns the process's exit status. */
int cl_lambda_main(const char *name, void *ctx, cl_lambda_init_fn init,
                   cl_lambda_release_fn release, cl_lambda_handler handle);

#endif
