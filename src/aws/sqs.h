/* sqs.h - AWS JSON 1.0 protocol client (SQS, CloudWatch) and JSON response helpers.
 *
 * A call is `POST /` to the service endpoint with `X-Amz-Target: <prefix>.<Op>` and a JSON
 * body, SigV4-signed, sent through cl_http_send (its retries and backoff). Errors are read
 * from the body's "__type" (after the last '#') and "message", and from the legacy code in
 * `x-amzn-query-error` (e.g. AWS.SimpleQueueService.NonExistentQueue). */
#ifndef CL_AWS_SQS_H
#define CL_AWS_SQS_H

#include "buf.h"
#include "http.h"
#include "json.h"

#include <stddef.h>
#include <stdint.h>

/* Target prefixes and signing names of the services we speak JSON 1.0 to. */
#define CL_SQS_TARGET "AmazonSQS"
#define CL_SQS_SERVICE "sqs"
#define CL_CLOUDWATCH_TARGET "GraniteServiceVersion20100801"
#define CL_CLOUDWATCH_SERVICE "monitoring"

/* Thread-safe: each call borrows an HTTP client (its own connections and SigV4 key cache)
 * from a mutex-protected pool and returns it afterwards, so concurrent callers never share
 * a curl handle and the pool grows to the peak number of concurrent calls. Owned; release
 * with cl_aws_json_client_free. */
struct cl_aws_json_client;

/* endpoint: "https://host[:port]" (no trailing path); region, service (signing name),
 * target prefix are copied. Picks the credential source once (cl_aws_cred_provider_new);
 * signing uses its current credentials, refreshed before they expire.
 * Returns NULL with a reason in err when no credentials are configured. */
struct cl_aws_json_client *cl_aws_json_client_new(const char *endpoint, const char *region,
                                                  const char *service, const char *target,
                                                  const struct cl_http_options *opt, char *err,
                                                  size_t err_len);
void cl_aws_json_client_free(struct cl_aws_json_client *c);
const char *cl_aws_json_client_endpoint(const struct cl_aws_json_client *c);
const char *cl_aws_json_client_region(const struct cl_aws_json_client *c);

/* Outcome of one call. body holds the response (the caller cl_aws_json_result_free's it). */
struct cl_aws_json_result {
    long status;          /* HTTP status, 0 when no response arrived */
    int attempts;         /* HTTP attempts made (retries included) */
    struct cl_buf body;   /* response body */
    char code[128];       /* AWS error code ("" on success), e.g. "QueueDoesNotExist" */
    char query_code[128]; /* legacy code from x-amzn-query-error, "" if absent */
    char message[512];    /* AWS error message or the network error */
};

/* Call flags. */
enum {
    CL_AWS_JSON_NO_RETRY = 1 << 0, /* one attempt only (probing an operation that may be absent) */
};

/* Calls <target>.<op> with the JSON request body. Returns CL_OK for a 2xx answer; else
 * CL_ERR_FULL (throttling), CL_ERR_NOT_FOUND (the queue/resource does not exist),
 * CL_ERR_UNSUPPORTED (UnsupportedOperation; for a CL_AWS_JSON_NO_RETRY probe also a bare
 * 404/500/501, as a service lacking the operation answers), CL_ERR_IO (network, auth and other
 * errors), CL_ERR_TOO_LARGE (response over body_max). res is always filled (res->code /
 * res->message say why). */
int cl_aws_json_call(struct cl_aws_json_client *c, const char *op, const struct cl_buf *req,
                     size_t body_max, unsigned flags, struct cl_aws_json_result *res);
void cl_aws_json_result_free(struct cl_aws_json_result *res);

/* Writes "<op>: <code>: <message> (HTTP n, k attempts)" into out. */
void cl_aws_json_describe(const struct cl_aws_json_result *res, const char *op, char *out,
                          size_t out_len);

/* --- reading responses (the document must be valid JSON: cl_aws_json_call checks) --- */

/* Finds member key of the object value obj; returns 1 and fills *out, else 0. */
int cl_aws_json_member(const struct cl_json_value *obj, const char *key, struct cl_json_value *out);
/* The whole response body as a value; returns 0 or -1 when it is not a JSON object. */
int cl_aws_json_root(const struct cl_buf *body, struct cl_json_value *out);
/* Calls fn for each element of an array value (stops at fn's first non-zero return,
 * which it returns). A non-array value has no elements. */
int cl_aws_json_each(const struct cl_json_value *arr,
                     int (*fn)(void *arg, const struct cl_json_value *elem), void *arg);
/* Calls fn for each member of an object value, as cl_aws_json_each. */
int cl_aws_json_each_member(const struct cl_json_value *obj,
                            int (*fn)(void *arg, const struct cl_json_value *key,
                                      const struct cl_json_value *val),
                            void *arg);
/* Decoded text of a string value (heap, caller frees; *len its length if len != NULL), or
 * NULL when v is not a string. */
char *cl_aws_json_strdup(const struct cl_json_value *v, size_t *len);
/* Decoded text of string member key of obj, or NULL (caller frees). */
char *cl_aws_json_member_str(const struct cl_json_value *obj, const char *key);
/* 1 if member key of obj is the boolean true. */
int cl_aws_json_member_true(const struct cl_json_value *obj, const char *key);
/* Integer value of string or number member key of obj (SQS sends numbers as strings);
 * returns 1 and sets *out, else 0. */
int cl_aws_json_member_i64(const struct cl_json_value *obj, const char *key, int64_t *out);

#endif
