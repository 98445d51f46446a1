/* http.h - small libcurl HTTP client for AWS APIs: reused connections, timeouts, retries. */
#ifndef CL_AWS_HTTP_H
#define CL_AWS_HTTP_H

#include "buf.h"
#include "sigv4.h"

#include <stddef.h>
#include <stdint.h>

struct cl_aws_credentials;
struct cl_aws_cred_provider;

/* A borrowed request header. */
struct cl_http_header {
    const char *name;
    const char *value;
};

/* Headers a signing hook adds to one attempt; opaque (a curl_slist underneath). */
struct cl_http_hdrs;
/* Adds "name: value"; returns CL_OK or CL_ERR_INVAL (CR/LF in the value). */
int cl_http_hdrs_add(struct cl_http_hdrs *h, const char *name, const char *value);

struct cl_http_request;
/* Called before every attempt (so retries are re-signed with the current time); adds the
 * signature headers to add. Returns CL_OK or an error that ends the request unsent. */
typedef int (*cl_http_sign_fn)(void *arg, const struct cl_http_request *req,
                               struct cl_http_hdrs *add);

/* One request; every pointer is borrowed for the duration of cl_http_send. url is the wire
 * form (path and query already percent-encoded). */
struct cl_http_request {
    const char *method; /* "GET", "PUT", "POST", "DELETE", "HEAD" */
    const char *url;
    const struct cl_http_header *headers;
    size_t n_headers;
    const void *body;
    size_t body_len;
    cl_http_sign_fn sign; /* optional */
    void *sign_arg;
};

/* The final attempt's response. The caller cl_buf_init's headers and body with their
 * bounds (a response over a bound fails with CL_ERR_TOO_LARGE) and frees them. When sink
 * is set, 2xx bodies are appended there instead of body (streaming GET); a retried attempt
 * truncates sink back to its length at the call. */
struct cl_http_response {
    long status;           /* 0 when no response was received */
    struct cl_buf headers; /* raw header lines of the final response */
    struct cl_buf body;
    struct cl_buf *sink; /* optional, borrowed */
    int attempts;        /* attempts made */
};

/* Timeouts and retry policy (AWS "standard" mode: delay before retry i is
 * rand(0,1) * min(base * 2^(i-1), max_backoff)). Zero fields take the defaults. */
struct cl_http_options {
    long connect_timeout_ms; /* default 5,000 */
    long timeout_ms;         /* whole attempt, default 60,000 */
    int max_attempts;        /* default 3 */
    int64_t base_delay_ms;   /* default 1,000 */
    int64_t max_backoff_ms;  /* default 20,000 */
};

/* One client = one curl easy handle whose connections are reused across requests. Not
 * thread-safe: use one per thread (or a pool). Owned; release with cl_http_client_free. */
struct cl_http_client;

struct cl_http_client *cl_http_client_new(const struct cl_http_options *opt);
void cl_http_client_free(struct cl_http_client *c);
/* Connections opened so far by this client (for reuse checks and benchmarks). */
long cl_http_client_connects(const struct cl_http_client *c);
/* Attempts sent and connections opened by every client of this process so far. */
void cl_http_totals(long *requests, long *connects);

/* Sends req, retrying network errors, 429/500/502/503/504 and AWS throttling/timeout error
 * codes with backoff, up to max_attempts. Returns CL_OK once any HTTP response arrived
 * (inspect resp->status, also after exhausted retries), CL_ERR_TOO_LARGE when the response
 * exceeded a bound, CL_ERR_IO for a network failure on the last attempt (err says why), or
 * the signing hook's error. err (may be NULL) gets a one-line reason on failure. */
int cl_http_send(struct cl_http_client *c, const struct cl_http_request *req,
                 struct cl_http_response *resp, char *err, size_t err_len);

/* Value of response header name (case-insensitive) copied into out; returns its length or
 * -1 when absent (truncated to out_len - 1). */
long cl_http_response_header(const struct cl_http_response *r, const char *name, char *out,
                             size_t out_len);

/* Extracts the AWS error code from an error body: XML <Code>, or JSON "__type"/"code"
 * (after any '#'). Returns 1 and fills code, or 0 when none is found. */
int cl_aws_error_code(const char *body, size_t len, char *code, size_t code_len);
/* 1 if the status or code is retryable under AWS's standard retry mode. */
int cl_aws_retryable(long status, const char *code);
/* 1 if code is one of AWS's throttling error codes. */
int cl_aws_throttling(const char *code);

/* SigV4 signing hook state: borrowed credentials (or provider) and region, the service and
 * flags, and a per-hook key cache (so one per client/thread). */
struct cl_http_sigv4 {
    const struct cl_aws_credentials *creds; /* used when provider is NULL */
    const char *region;
    const char *service;
    unsigned flags; /* CL_SIGV4_* */
    struct cl_sigv4_key_cache cache;
    /* Optional, borrowed: when set, every attempt signs with its current credentials. */
    struct cl_aws_cred_provider *provider;
};

/* cl_http_sign_fn for SigV4 (arg is a struct cl_http_sigv4 *): signs the method, the
 * URL's host, path and query, the request headers and the body at the current time. */
int cl_http_sign_sigv4(void *arg, const struct cl_http_request *req, struct cl_http_hdrs *add);

#endif
