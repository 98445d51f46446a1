/* sqs.c - AWS JSON 1.0 protocol client (pooled HTTP clients, SigV4, error codes). */
#include "sqs.h"
#include "url.h"

#include "common.h"
#include "credentials.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AWS_JSON_HDR_MAX (64 * 1024)

/* One HTTP client with its signing state; pooled per service client. */
struct json_conn {
    struct cl_http_client *http; /* owned */
    struct cl_http_sigv4 sv;     /* borrows the client's credential provider and region */
    struct json_conn *next;
};

struct cl_aws_json_client {
    char *endpoint;                     /* owned, no trailing '/' */
    char *url;                          /* owned, endpoint + "/" */
    char *region;                       /* owned */
    char *service;                      /* owned */
    char *target;                       /* owned */
    struct cl_aws_cred_provider *creds; /* owned; refreshes before expiry */
    struct cl_http_options opt;
    pthread_mutex_t lock;
    struct json_conn *idle; /* owned stack of idle connections */
};

struct cl_aws_json_client *cl_aws_json_client_new(const char *endpoint, const char *region,
                                                  const char *service, const char *target,
                                                  const struct cl_http_options *opt, char *err,
                                                  size_t err_len)
{
    if (!cl_url_is_http(endpoint)) {
        snprintf(err, err_len,
                 "%s endpoint '%.200s' is not an http(s)://host[:port] URL without "
                 "user:password@",
                 service, endpoint);
        return NULL;
    }
    struct cl_aws_json_client *c = cl_calloc(1, sizeof *c);
    c->creds = cl_aws_cred_provider_new(err, err_len);
    if (!c->creds) {
        free(c);
        return NULL;
    }
    size_t n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/')
        n--;
    c->endpoint = cl_strndup(endpoint, n);
    c->url = cl_malloc(n + 2);
    snprintf(c->url, n + 2, "%s/", c->endpoint);
    c->region = cl_strdup(region);
    c->service = cl_strdup(service);
    c->target = cl_strdup(target);
    if (opt)
        c->opt = *opt;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void cl_aws_json_client_free(struct cl_aws_json_client *c)
{
    if (!c)
        return;
    while (c->idle) {
        struct json_conn *j = c->idle;
        c->idle = j->next;
        cl_http_client_free(j->http);
        free(j);
    }
    pthread_mutex_destroy(&c->lock);
    cl_aws_cred_provider_free(c->creds);
    free(c->endpoint);
    free(c->url);
    free(c->region);
    free(c->service);
    free(c->target);
    free(c);
}

const char *cl_aws_json_client_endpoint(const struct cl_aws_json_client *c)
{
    return c->endpoint;
}

const char *cl_aws_json_client_region(const struct cl_aws_json_client *c)
{
    return c->region;
}

/* Takes an idle connection or makes one with opt (caller returns it with conn_put, or
 * frees it when it was made for a single call). NULL if curl cannot make a handle. */
static struct json_conn *conn_new(struct cl_aws_json_client *c, const struct cl_http_options *opt)
{
    struct json_conn *j = cl_calloc(1, sizeof *j);
    j->http = cl_http_client_new(opt);
    if (!j->http) {
        free(j);
        return NULL;
    }
    j->sv.provider = c->creds;
    j->sv.region = c->region;
    j->sv.service = c->service;
    return j;
}

static struct json_conn *conn_get(struct cl_aws_json_client *c)
{
    pthread_mutex_lock(&c->lock);
    struct json_conn *j = c->idle;
    if (j)
        c->idle = j->next;
    pthread_mutex_unlock(&c->lock);
    return j ? j : conn_new(c, &c->opt);
}

static void conn_put(struct cl_aws_json_client *c, struct json_conn *j)
{
    pthread_mutex_lock(&c->lock);
    j->next = c->idle;
    c->idle = j;
    pthread_mutex_unlock(&c->lock);
}

static void conn_free(struct json_conn *j)
{
    cl_http_client_free(j->http);
    free(j);
}

/* Fills res->code, query_code and message from an error response. */
static void parse_error(struct cl_aws_json_result *res, const struct cl_http_response *r)
{
    char q[256];
    if (cl_http_response_header(r, "x-amzn-query-error", q, sizeof q) > 0)
        snprintf(res->query_code, sizeof res->query_code, "%.*s", (int)strcspn(q, ";"), q);
    if (!cl_aws_error_code(r->body.data ? r->body.data : "", r->body.len, res->code,
                           sizeof res->code))
        snprintf(res->code, sizeof res->code, "%s", res->query_code[0] ? res->query_code : "");
    struct cl_json_value root;
    char *msg = NULL;
    if (cl_aws_json_root(&res->body, &root) == 0) {
        msg = cl_aws_json_member_str(&root, "message");
        if (!msg)
            msg = cl_aws_json_member_str(&root, "Message");
    }
    if (msg)
        snprintf(res->message, sizeof res->message, "%s", msg);
    free(msg);
    if (!res->code[0])
        snprintf(res->code, sizeof res->code, "HTTP%ld", r->status);
}

static int map_error(const struct cl_aws_json_result *res)
{
    const char *code = res->code, *q = res->query_code;
    if (cl_aws_throttling(code) || strcmp(code, "RequestThrottled") == 0 || res->status == 429)
        return CL_ERR_FULL;
    if (strcmp(code, "QueueDoesNotExist") == 0 || strstr(q, "NonExistentQueue") ||
        strstr(code, "NonExistentQueue") || strcmp(code, "ResourceNotFoundException") == 0)
        return CL_ERR_NOT_FOUND;
    if (strstr(code, "UnsupportedOperation") || strcmp(code, "NotImplemented") == 0)
        return CL_ERR_UNSUPPORTED;
    return CL_ERR_IO;
}

int cl_aws_json_call(struct cl_aws_json_client *c, const char *op, const struct cl_buf *req,
                     size_t body_max, unsigned flags, struct cl_aws_json_result *res)
{
    memset(res, 0, sizeof *res);
    cl_buf_init(&res->body, body_max);
    struct cl_http_options once = c->opt;
    once.max_attempts = 1;
    struct json_conn *j = flags & CL_AWS_JSON_NO_RETRY ? conn_new(c, &once) : conn_get(c);
    if (!j) {
        snprintf(res->message, sizeof res->message, "cannot create an HTTP client");
        snprintf(res->code, sizeof res->code, "ClientError");
        return CL_ERR_IO;
    }
    char target[128];
    snprintf(target, sizeof target, "%s.%s", c->target, op);
    const struct cl_http_header h[] = {{"Content-Type", "application/x-amz-json-1.0"},
                                       {"X-Amz-Target", target}};
    struct cl_http_request hr = {
        "POST", c->url, h, CL_ARRAY_LEN(h), req->data, req->len, cl_http_sign_sigv4, &j->sv};
    struct cl_http_response r;
    memset(&r, 0, sizeof r);
    cl_buf_init(&r.headers, AWS_JSON_HDR_MAX);
    r.body = res->body;
    int rc = cl_http_send(j->http, &hr, &r, res->message, sizeof res->message);
    if (flags & CL_AWS_JSON_NO_RETRY)
        conn_free(j);
    else
        conn_put(c, j);
    res->body = r.body;
    res->status = r.status;
    res->attempts = r.attempts;
    if (rc != CL_OK) {
        snprintf(res->code, sizeof res->code, "%s",
                 rc == CL_ERR_TOO_LARGE ? "ResponseTooLarge" : "NetworkError");
    } else if (r.status < 200 || r.status > 299) {
        parse_error(res, &r);
        rc = map_error(res);
        /* A service that lacks an operation may answer a bare 500 or 404 (moto does). */
        if (rc == CL_ERR_IO && (flags & CL_AWS_JSON_NO_RETRY) &&
            (r.status == 404 || r.status == 500 || r.status == 501))
            rc = CL_ERR_UNSUPPORTED;
    } else {
        struct cl_json_value root;
        if (cl_aws_json_root(&res->body, &root) != 0) {
            snprintf(res->code, sizeof res->code, "MalformedResponse");
            snprintf(res->message, sizeof res->message, "response is not a JSON object");
            rc = CL_ERR_IO;
        }
    }
    cl_buf_free(&r.headers);
    return rc == CL_ERR_TOO_LARGE ? CL_ERR_TOO_LARGE : rc;
}

void cl_aws_json_result_free(struct cl_aws_json_result *res)
{
    cl_buf_free(&res->body);
}

void cl_aws_json_describe(const struct cl_aws_json_result *res, const char *op, char *out,
                          size_t out_len)
{
    char alt[160] = "";
    if (res->query_code[0] && strcmp(res->query_code, res->code) != 0)
        snprintf(alt, sizeof alt, " (%s)", res->query_code);
    snprintf(out, out_len, "%s: %s%s%s%s (HTTP %ld, %d attempt%s)", op, res->code, alt,
             res->message[0] ? ": " : "", res->message, res->status, res->attempts,
             res->attempts == 1 ? "" : "s");
}

int cl_aws_json_root(const struct cl_buf *body, struct cl_json_value *out)
{
    struct cl_json_reader r;
    cl_json_reader_init(&r, body->data ? body->data : "", body->len, 0);
    if (cl_json_scan_value(&r, out) != 0 || !cl_json_at_end(&r) || out->type != CL_JSON_OBJECT)
        return -1;
    return 0;
}

int cl_aws_json_each_member(const struct cl_json_value *obj,
                            int (*fn)(void *arg, const struct cl_json_value *key,
                                      const struct cl_json_value *val),
                            void *arg)
{
    if (!obj || obj->type != CL_JSON_OBJECT)
        return 0;
    struct cl_json_reader r;
    cl_json_reader_init(&r, obj->ptr, obj->len, 0);
    if (cl_json_object_open(&r) != 0)
        return 0;
    struct cl_json_value k, v;
    int more, rc = 0;
    while (rc == 0 && (more = cl_json_object_next(&r, &k, &v)) == 1)
        rc = fn(arg, &k, &v);
    return rc;
}

/* Compares a JSON string value (with quotes) to key; keys we look up need no escapes. */
static int key_is(const struct cl_json_value *k, const char *key)
{
    size_t n = strlen(key);
    return k->len == n + 2 && memcmp(k->ptr + 1, key, n) == 0;
}

struct member_find {
    const char *key;
    struct cl_json_value *out;
};

static int member_cb(void *arg, const struct cl_json_value *k, const struct cl_json_value *v)
{
    struct member_find *f = arg;
    if (!key_is(k, f->key))
        return 0;
    *f->out = *v;
    return 1;
}

int cl_aws_json_member(const struct cl_json_value *obj, const char *key, struct cl_json_value *out)
{
    struct member_find f = {key, out};
    return cl_aws_json_each_member(obj, member_cb, &f) == 1;
}

struct each_ctx {
    int (*fn)(void *arg, const struct cl_json_value *elem);
    void *arg;
};

static int each_cb(void *arg, const char *elem, size_t len)
{
    struct each_ctx *e = arg;
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, elem, len, 0);
    if (cl_json_scan_value(&r, &v) != 0)
        return 0; /* cannot happen in a validated document */
    return e->fn(e->arg, &v);
}

int cl_aws_json_each(const struct cl_json_value *arr,
                     int (*fn)(void *arg, const struct cl_json_value *elem), void *arg)
{
    if (!arr || arr->type != CL_JSON_ARRAY)
        return 0;
    struct each_ctx e = {fn, arg};
    struct cl_json_error err;
    int rc = cl_json_split_array(arr->ptr, arr->len, each_cb, &e, &err);
    return rc < 0 ? 0 : rc;
}

char *cl_aws_json_strdup(const struct cl_json_value *v, size_t *len)
{
    if (!v || v->type != CL_JSON_STRING)
        return NULL;
    char *s = cl_malloc(v->len + 1);
    size_t n = cl_json_unescape(v, s);
    s[n] = '\0';
    if (len)
        *len = n;
    return s;
}

char *cl_aws_json_member_str(const struct cl_json_value *obj, const char *key)
{
    struct cl_json_value v;
    return cl_aws_json_member(obj, key, &v) ? cl_aws_json_strdup(&v, NULL) : NULL;
}

int cl_aws_json_member_true(const struct cl_json_value *obj, const char *key)
{
    struct cl_json_value v;
    return cl_aws_json_member(obj, key, &v) && v.type == CL_JSON_TRUE;
}

int cl_aws_json_member_i64(const struct cl_json_value *obj, const char *key, int64_t *out)
{
    struct cl_json_value v;
    if (!cl_aws_json_member(obj, key, &v))
        return 0;
    char tmp[32];
    size_t off = v.type == CL_JSON_STRING ? 1 : 0;
    if ((v.type != CL_JSON_STRING && v.type != CL_JSON_NUMBER) || v.len - 2 * off == 0 ||
        v.len - 2 * off >= sizeof tmp)
        return 0;
    memcpy(tmp, v.ptr + off, v.len - 2 * off);
    tmp[v.len - 2 * off] = '\0';
    char *end;
    long long x = strtoll(tmp, &end, 10);
    if (*end && *end != '.') /* CloudWatch may send 1.0 */
        return 0;
    *out = x;
    return 1;
}
