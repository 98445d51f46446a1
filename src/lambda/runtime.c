/* runtime.c - the Lambda Runtime API client on one libcurl easy handle.
 *
 * Plain libcurl rather than cl_http (src/aws/http.h): /next must block without a timeout
 * and must not be retried blindly (a retried GET could take a second event), and nothing
 * here is signed. The handle is reused so the loopback connection stays open. */
#include "runtime.h"

#include "common.h"
#include "json_write.h"
#include "log.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define API_PREFIX "/2018-06-01/runtime"
#define POST_TIMEOUT_MS 30000L /* posting a result to the local agent */

struct cl_lambda_runtime {
    CURL *curl;
    char base[300]; /* "http://host:port/2018-06-01/runtime" */
};

void cl_lambda_result_fail(struct cl_lambda_result *res, const char *type, const char *fmt, ...)
{
    if (res->failed)
        return;
    res->failed = 1;
    snprintf(res->error_type, sizeof res->error_type, "%s", type);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error_message, sizeof res->error_message, fmt, ap);
    va_end(ap);
}

/* host:port with a non-empty host and a numeric port. */
static int api_valid(const char *api)
{
    const char *colon = api ? strrchr(api, ':') : NULL;
    if (!colon || colon == api || !colon[1] || strlen(api) > 200)
        return 0;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return strcspn(api, "/ ?#@") == strlen(api);
}

struct cl_lambda_runtime *cl_lambda_runtime_new(const char *api, char *err, size_t err_len)
{
    if (!api_valid(api)) {
        snprintf(err, err_len, "AWS_LAMBDA_RUNTIME_API must be host:port (got '%.100s')",
                 api ? api : "");
        return NULL;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct cl_lambda_runtime *rt = cl_calloc(1, sizeof *rt);
    rt->curl = curl_easy_init();
    if (!rt->curl) {
        snprintf(err, err_len, "cannot create a libcurl handle");
        free(rt);
        return NULL;
    }
    snprintf(rt->base, sizeof rt->base, "http://%s" API_PREFIX, api);
    return rt;
}

void cl_lambda_runtime_free(struct cl_lambda_runtime *rt)
{
    if (!rt)
        return;
    curl_easy_cleanup(rt->curl);
    free(rt);
}

void cl_lambda_invocation_free(struct cl_lambda_invocation *inv)
{
    cl_buf_free(&inv->event);
}

int64_t cl_lambda_remaining_ms(const struct cl_lambda_invocation *inv)
{
    return inv->deadline_ms > 0 ? inv->deadline_ms - cl_now_ms() : INT64_MAX;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct cl_buf *b = arg;
    return cl_buf_append(b, data, size * n) == CL_OK ? size * n : 0;
}

static size_t discard_body(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

/* Copies the value of "Name: value\r\n" into out when the name matches. */
static void take_header(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
        return;
    const char *v = line + nlen + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    snprintf(out, cap, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct cl_lambda_invocation *inv = arg;
    size_t len = size * n;
    char deadline[32] = "";
    take_header(data, len, "Lambda-Runtime-Aws-Request-Id", inv->request_id,
                sizeof inv->request_id);
    take_header(data, len, "Lambda-Runtime-Invoked-Function-Arn", inv->function_arn,
                sizeof inv->function_arn);
    take_header(data, len, "Lambda-Runtime-Trace-Id", inv->trace_id, sizeof inv->trace_id);
    take_header(data, len, "Lambda-Runtime-Deadline-Ms", deadline, sizeof deadline);
    if (deadline[0])
        inv->deadline_ms = strtoll(deadline, NULL, 10);
    return len;
}

/* A kept-alive connection can be found dead after the sandbox was frozen and thawed: a
 * request that failed at the connection level on a reused connection is sent once more
 * on a new one. (A second POST of a result is harmless: the API answers 403.) */
static CURLcode perform(CURL *c, struct cl_buf *body)
{
    CURLcode cc = curl_easy_perform(c);
    long reused = 0;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &reused);
    int dead_connection =
        cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING;
    if (dead_connection && reused == 0) {
        if (body)
            cl_buf_reset(body);
        curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
        cc = curl_easy_perform(c);
    }
    return cc;
}

/* Request ids travel in URL paths: accept only the characters Lambda uses. */
static int request_id_valid(const char *id)
{
    return id[0] &&
           strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
               strlen(id);
}

int cl_lambda_next(struct cl_lambda_runtime *rt, struct cl_lambda_invocation *inv, char *err,
                   size_t err_len)
{
    memset(inv, 0, sizeof *inv);
    cl_buf_init(&inv->event, CL_LAMBDA_MAX_EVENT);
    char url[400];
    snprintf(url, sizeof url, "%s/invocation/next", rt->base);
    CURL *c = rt->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 0L); /* blocks until an event (frozen sandbox) */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &inv->event);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, inv);
    CURLcode cc = perform(c, &inv->event);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK || status != 200) {
        if (cc != CURLE_OK)
            snprintf(err, err_len, "GET %s: %s", url, curl_easy_strerror(cc));
        else
            snprintf(err, err_len, "GET %s: HTTP %ld", url, status);
        cl_lambda_invocation_free(inv);
        return CL_ERR_IO;
    }
    if (!request_id_valid(inv->request_id)) {
        snprintf(err, err_len, "GET %s: missing or invalid Lambda-Runtime-Aws-Request-Id", url);
        cl_lambda_invocation_free(inv);
        return CL_ERR_IO;
    }
    if (inv->trace_id[0])
        setenv("_X_AMZN_TRACE_ID", inv->trace_id, 1);
    else
        unsetenv("_X_AMZN_TRACE_ID");
    return CL_OK;
}

/* POSTs body to base + path with optional headers; CL_OK on 202. */
static int post(struct cl_lambda_runtime *rt, const char *path, const char *body, size_t len,
                struct curl_slist *headers, char *err, size_t err_len)
{
    char url[600];
    snprintf(url, sizeof url, "%s%s", rt->base, path);
    CURL *c = rt->curl;
    curl_easy_reset(c);
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, POST_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    CURLcode cc = perform(c, NULL);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (cc == CURLE_OK && status == 202)
        return CL_OK;
    if (cc != CURLE_OK)
        snprintf(err, err_len, "POST %s: %s", url, curl_easy_strerror(cc));
    else
        snprintf(err, err_len, "POST %s: HTTP %ld", url, status);
    return CL_ERR_IO;
}

/* {"errorMessage":..,"errorType":..,"stackTrace":[]} into b. */
static void error_body(struct cl_buf *b, const char *type, const char *message)
{
    cl_buf_append_str(b, "{\"errorMessage\":");
    cl_json_write_string(b, message, strlen(message));
    cl_buf_append_str(b, ",\"errorType\":");
    cl_json_write_string(b, type, strlen(type));
    cl_buf_append_str(b, ",\"stackTrace\":[]}");
}

static int post_error(struct cl_lambda_runtime *rt, const char *path, const char *type,
                      const char *message, char *err, size_t err_len)
{
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_LAMBDA_ERROR_BODY);
    error_body(&b, type, message);
    char h[128];
    snprintf(h, sizeof h, "Lambda-Runtime-Function-Error-Type: %.80s", type);
    struct curl_slist *headers = curl_slist_append(NULL, h);
    headers = curl_slist_append(headers, "Content-Type: application/vnd.aws.lambda.error+json");
    int rc = post(rt, path, b.data, b.len, headers, err, err_len);
    cl_buf_free(&b);
    return rc;
}

int cl_lambda_post_result(struct cl_lambda_runtime *rt, const char *request_id,
                          const struct cl_lambda_result *res, char *err, size_t err_len)
{
    char path[200];
    if (res->failed) {
        snprintf(path, sizeof path, "/invocation/%s/error", request_id);
        return post_error(rt, path, res->error_type, res->error_message, err, err_len);
    }
    snprintf(path, sizeof path, "/invocation/%s/response", request_id);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    return post(rt, path, res->body.data ? res->body.data : "", res->body.len, headers, err,
                err_len);
}

int cl_lambda_post_init_error(struct cl_lambda_runtime *rt, const char *type, const char *message,
                              char *err, size_t err_len)
{
    return post_error(rt, "/init/error", type, message, err, err_len);
}

int cl_lambda_run(struct cl_lambda_runtime *rt, cl_lambda_handler handler, void *ctx,
                  long max_invocations)
{
    char err[512];
    for (long n = 0; max_invocations <= 0 || n < max_invocations; n++) {
        struct cl_lambda_invocation inv;
        if (cl_lambda_next(rt, &inv, err, sizeof err) != CL_OK) {
            cl_log(CL_LOG_ERROR, "lambda runtime: %s; exiting", err);
            return 1;
        }
        struct cl_lambda_result res = {0};
        cl_buf_init(&res.body, CL_LAMBDA_MAX_EVENT);
        handler(ctx, &inv, &res);
        if (cl_buf_failed(&res.body)) /* sticky buffer: one check; never post half a result */
            cl_lambda_result_fail(&res, "Function.ResponseSizeTooLarge",
                                  "the result exceeds %zu bytes", (size_t)CL_LAMBDA_MAX_EVENT);
        if (res.failed)
            cl_log(CL_LOG_ERROR, "lambda runtime: request %s failed: %s: %s", inv.request_id,
                   res.error_type, res.error_message);
        if (cl_lambda_post_result(rt, inv.request_id, &res, err, sizeof err) != CL_OK)
            cl_log(CL_LOG_ERROR, "lambda runtime: request %s: %s", inv.request_id, err);
        cl_buf_free(&res.body);
        cl_lambda_invocation_free(&inv);
    }
    return 0;
}

int cl_lambda_init_failed(const char *type, const char *message)
{
    char err[512];
    cl_log(CL_LOG_ERROR, "lambda init: %s: %s", type, message);
    struct cl_lambda_runtime *rt =
        cl_lambda_runtime_new(getenv("AWS_LAMBDA_RUNTIME_API"), err, sizeof err);
    if (!rt) {
        cl_log(CL_LOG_ERROR, "lambda init: cannot report the error: %s", err);
        return 1;
    }
    if (cl_lambda_post_init_error(rt, type, message, err, sizeof err) != CL_OK)
        cl_log(CL_LOG_ERROR, "lambda init: cannot report the error: %s", err);
    cl_lambda_runtime_free(rt);
    return 1;
}

int cl_lambda_main(const char *name, void *ctx, cl_lambda_init_fn init,
                   cl_lambda_release_fn release, cl_lambda_handler handle)
{
    char err[1024];
    if (init(ctx, err, sizeof err) != 0) {
        release(ctx);
        return cl_lambda_init_failed("Runtime.InitError", err);
    }
    struct cl_lambda_runtime *rt =
        cl_lambda_runtime_new(getenv("AWS_LAMBDA_RUNTIME_API"), err, sizeof err);
    if (!rt) {
        release(ctx);
        fprintf(stderr, "%s: %s\n", name, err);
        return 1;
    }
    int rc = cl_lambda_run(rt, handle, ctx, 0);
    cl_lambda_runtime_free(rt);
    release(ctx);
    return rc;
}
