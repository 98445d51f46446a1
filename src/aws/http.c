/* http.c - libcurl client for AWS APIs: one reused easy handle, bounded retries, SigV4 hook. */
#include "http.h"

#include "common.h"
#include "credentials.h"
#include "log.h"
#include "xml.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

struct cl_http_client {
    CURL *h;                    /* owned; keeps the connection cache between requests */
    struct cl_http_options opt; /* defaults filled in */
    long connects;
    uint64_t rng; /* xorshift state for the backoff jitter */
};

/* Process-wide totals over every client (benchmarks: requests per connection). */
static atomic_long total_connects, total_requests;

struct cl_http_hdrs {
    struct curl_slist *list; /* owned */
};

/* Per-attempt state the curl callbacks write into. */
struct http_xfer {
    CURL *h;
    struct cl_http_response *resp;
    int too_large;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void http_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct cl_http_client *cl_http_client_new(const struct cl_http_options *opt)
{
    pthread_once(&http_once, http_global_init);
    struct cl_http_client *c = cl_calloc(1, sizeof *c);
    c->h = curl_easy_init();
    if (!c->h) {
        free(c);
        return NULL;
    }
    if (opt)
        c->opt = *opt;
    if (c->opt.connect_timeout_ms <= 0)
        c->opt.connect_timeout_ms = 5000;
    if (c->opt.timeout_ms <= 0)
        c->opt.timeout_ms = 60000;
    if (c->opt.max_attempts <= 0)
        c->opt.max_attempts = 3;
    if (c->opt.base_delay_ms <= 0)
        c->opt.base_delay_ms = 1000;
    if (c->opt.max_backoff_ms <= 0)
        c->opt.max_backoff_ms = 20000;
    if (getrandom(&c->rng, sizeof c->rng, 0) != (ssize_t)sizeof c->rng || c->rng == 0)
        c->rng = (uint64_t)cl_mono_ms() * 0x9E3779B97F4A7C15ull | 1;
    return c;
}

void cl_http_client_free(struct cl_http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->h);
    free(c);
}

long cl_http_client_connects(const struct cl_http_client *c)
{
    return c->connects;
}

void cl_http_totals(long *requests, long *connects)
{
    *requests = atomic_load(&total_requests);
    *connects = atomic_load(&total_connects);
}

int cl_http_hdrs_add(struct cl_http_hdrs *h, const char *name, const char *value)
{
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return CL_ERR_INVAL;
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = cl_malloc(n);
    /* "Name;" is curl's way to send a header with an empty value. */
    if (*value)
        snprintf(line, n, "%s: %s", name, value);
    else
        snprintf(line, n, "%s;", name);
    struct curl_slist *l = curl_slist_append(h->list, line);
    free(line);
    if (!l)
        abort(); /* allocation failure: policy in common.h */
    h->list = l;
    return CL_OK;
}

static size_t http_on_header(char *p, size_t size, size_t n, void *arg)
{
    struct http_xfer *x = arg;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        cl_buf_reset(&x->resp->headers); /* a new response (after 100 Continue) */
    if (cl_buf_append(&x->resp->headers, p, len) != CL_OK) {
        x->too_large = 1;
        return 0;
    }
    return len;
}

static size_t http_on_body(char *p, size_t size, size_t n, void *arg)
{
    struct http_xfer *x = arg;
    long status = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
    struct cl_buf *dst =
        (x->resp->sink && status >= 200 && status < 300) ? x->resp->sink : &x->resp->body;
    if (cl_buf_append(dst, p, size * n) != CL_OK) {
        x->too_large = 1;
        return 0;
    }
    return size * n;
}

/* Sets the per-attempt curl options (the handle was reset: connections survive that). */
static void http_setopts(struct cl_http_client *c, const struct cl_http_request *req,
                         struct curl_slist *hdrs, struct http_xfer *x)
{
    CURL *h = c->h;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->opt.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->opt.timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req->body_len > 0 || strcmp(req->method, "PUT") == 0 ||
               strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body_len ? req->body : "");
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
}

/* Builds the header list for one attempt: the request's, no Expect/implicit Content-Type,
 * then the signing hook's. */
static int http_headers(const struct cl_http_request *req, struct cl_http_hdrs *out)
{
    int has_ctype = 0, rc = CL_OK;
    for (size_t i = 0; i < req->n_headers && rc == CL_OK; i++) {
        has_ctype |= strcasecmp(req->headers[i].name, "Content-Type") == 0;
        rc = cl_http_hdrs_add(out, req->headers[i].name, req->headers[i].value);
    }
    /* curl would add "Expect: 100-continue" (a round trip) and a form Content-Type. */
    struct curl_slist *l = curl_slist_append(out->list, "Expect:");
    if (l && !has_ctype)
        l = curl_slist_append(l, "Content-Type:");
    if (!l)
        abort();
    out->list = l;
    if (rc == CL_OK && req->sign)
        rc = req->sign(req->sign_arg, req, out);
    return rc;
}

static int http_net_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

/* Runs one attempt. Returns CL_OK (a response arrived), CL_ERR_TOO_LARGE, CL_ERR_IO
 * (network; *retry says whether it may be retried) or the signer's error. */
static int http_attempt(struct cl_http_client *c, const struct cl_http_request *req,
                        struct cl_http_response *resp, int *retry, char *err, size_t err_len)
{
    struct cl_http_hdrs hdrs = {NULL};
    int rc = http_headers(req, &hdrs);
    if (rc != CL_OK) {
        snprintf(err, err_len, "%s %s: request not signed: %s", req->method, req->url,
                 cl_strerror(rc));
        curl_slist_free_all(hdrs.list);
        return rc;
    }
    struct http_xfer x = {c->h, resp, 0};
    http_setopts(c, req, hdrs.list, &x);
    CURLcode cc = curl_easy_perform(c->h);
    long nconn = 0;
    curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &nconn);
    c->connects += nconn;
    atomic_fetch_add(&total_connects, nconn);
    atomic_fetch_add(&total_requests, 1);
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_slist_free_all(hdrs.list);
    if (x.too_large) {
        snprintf(err, err_len, "%s %s: response larger than its bound", req->method, req->url);
        return CL_ERR_TOO_LARGE;
    }
    if (cc != CURLE_OK) {
        *retry = http_net_retryable(cc);
        resp->status = 0;
        snprintf(err, err_len, "%s %s: %s", req->method, req->url, curl_easy_strerror(cc));
        return CL_ERR_IO;
    }
    char code[64];
    *retry = cl_aws_retryable(
        resp->status,
        cl_aws_error_code(resp->body.data, resp->body.len, code, sizeof code) ? code : NULL);
    return CL_OK;
}

/* Sleeps before retry i (1-based): full jitter over min(base * 2^(i-1), max_backoff). */
static void http_backoff(struct cl_http_client *c, int i)
{
    int64_t cap = c->opt.base_delay_ms;
    for (int k = 1; k < i && cap < c->opt.max_backoff_ms; k++)
        cap *= 2;
    cap = CL_MIN(cap, c->opt.max_backoff_ms);
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    int64_t ms = (int64_t)((double)(c->rng >> 11) / 9007199254740992.0 * (double)cap);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int cl_http_send(struct cl_http_client *c, const struct cl_http_request *req,
                 struct cl_http_response *resp, char *err, size_t err_len)
{
    char scratch[8];
    if (!err) {
        err = scratch;
        err_len = sizeof scratch;
    }
    size_t sink_len = resp->sink ? resp->sink->len : 0;
    int rc = CL_ERR_IO;
    for (int i = 1; i <= c->opt.max_attempts; i++) {
        if (i > 1) {
            cl_log(CL_LOG_DEBUG, "http: retry %d of %s %s (%s, status %ld)", i - 1, req->method,
                   req->url, rc == CL_OK ? "retryable response" : err, resp->status);
            http_backoff(c, i - 1);
        }
        cl_buf_reset(&resp->headers);
        cl_buf_reset(&resp->body);
        if (resp->sink)
            cl_buf_truncate(resp->sink, sink_len);
        resp->attempts = i;
        int retry = 0;
        rc = http_attempt(c, req, resp, &retry, err, err_len);
        if ((rc != CL_OK && rc != CL_ERR_IO) || !retry)
            break;
    }
    return rc;
}

long cl_http_response_header(const struct cl_http_response *r, const char *name, char *out,
                             size_t out_len)
{
    size_t nl = strlen(name);
    const char *p = r->headers.data, *end = p ? p + r->headers.len : NULL;
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        if ((size_t)(line_end - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1, *ve = line_end;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            size_t vl = (size_t)(ve - v), cl = out_len ? CL_MIN(vl, out_len - 1) : 0;
            if (out_len) {
                memcpy(out, v, cl);
                out[cl] = '\0';
            }
            return (long)vl;
        }
        p = eol ? eol + 1 : end;
    }
    return -1;
}

/* Copies the text between open and the next stop character ('"' for JSON) into out. */
static int http_copy_between(const char *body, size_t len, const char *open, char stop, char *out,
                             size_t out_len)
{
    const char *s = memmem(body, len, open, strlen(open));
    if (!s || out_len == 0)
        return 0;
    s += strlen(open);
    const char *end = body + len, *e = memchr(s, stop, (size_t)(end - s));
    if (!e)
        return 0;
    const char *hash = memchr(s, '#', (size_t)(e - s)); /* JSON "ns#Code" */
    if (stop == '"' && hash)
        s = hash + 1;
    size_t n = CL_MIN((size_t)(e - s), out_len - 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out[0] != '\0'; /* "" or a code starting with NUL is no code */
}

/* The first <Code> element in document order: <Error><Code> (S3, REST-XML),
 * <ErrorResponse><Error><Code> (query protocol), <Response><Errors><Error><Code> (EC2). */
static const struct cl_xml *xml_first_code(const struct cl_xml *n)
{
    for (; n; n = n->next) {
        if (strcmp(n->name, "Code") == 0)
            return n;
        const struct cl_xml *c = xml_first_code(n->first);
        if (c)
            return c;
    }
    return NULL;
}

static int http_xml_error_code(const char *body, size_t len, char *code, size_t code_len)
{
    char err[128];
    struct cl_xml *x = cl_xml_parse(body, len, err, sizeof err);
    const char *c = cl_xml_text(xml_first_code(x));
    int found = c && *c && code_len > 0;
    if (found)
        snprintf(code, code_len, "%s", c);
    cl_xml_free(x);
    return found;
}

int cl_aws_error_code(const char *body, size_t len, char *code, size_t code_len)
{
    if (!body || len == 0)
        return 0;
    size_t ws = 0;
    while (ws < len &&
           (body[ws] == ' ' || body[ws] == '\t' || body[ws] == '\r' || body[ws] == '\n'))
        ws++;
    if (ws < len && body[ws] == '<')
        return http_xml_error_code(body, len, code, code_len);
    return http_copy_between(body, len, "\"__type\":\"", '"', code, code_len) ||
           http_copy_between(body, len, "\"__type\": \"", '"', code, code_len) ||
           http_copy_between(body, len, "\"code\":\"", '"', code, code_len);
}

int cl_aws_throttling(const char *code)
{
    static const char *const names[] = {"Throttling",
                                        "ThrottlingException",
                                        "ThrottledException",
                                        "RequestThrottledException",
                                        "TooManyRequestsException",
                                        "ProvisionedThroughputExceededException",
                                        "TransactionInProgressException",
                                        "RequestLimitExceeded",
                                        "BandwidthLimitExceeded",
                                        "LimitExceededException",
                                        "RequestThrottled",
                                        "SlowDown",
                                        "EC2ThrottledException"};
    for (size_t i = 0; code && i < CL_ARRAY_LEN(names); i++)
        if (strcmp(code, names[i]) == 0)
            return 1;
    return 0;
}

int cl_aws_retryable(long status, const char *code)
{
    if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504)
        return 1;
    if (!code)
        return 0;
    return cl_aws_throttling(code) || strcmp(code, "RequestTimeout") == 0 ||
           strcmp(code, "RequestTimeoutException") == 0 ||
           strcmp(code, "PriorRequestNotComplete") == 0 || strcmp(code, "InternalError") == 0;
}

/* Splits url into host (authority without a default port), path and query (heap strings
 * the caller frees). Returns CL_OK or CL_ERR_INVAL. */
static int http_split_url(const char *url, char **host, char **path, char **query)
{
    const char *s = strstr(url, "://");
    if (!s)
        return CL_ERR_INVAL;
    int https = (size_t)(s - url) == 5 && strncasecmp(url, "https", 5) == 0;
    s += 3;
    size_t alen = strcspn(s, "/?#");
    if (alen == 0 || memchr(s, '@', alen))
        return CL_ERR_INVAL;
    const char *dflt = https ? ":443" : ":80";
    size_t hl = alen;
    if (alen > strlen(dflt) && strncmp(s + alen - strlen(dflt), dflt, strlen(dflt)) == 0)
        hl -= strlen(dflt);
    const char *p = s + alen, *q = strchr(p, '?');
    size_t plen = q ? (size_t)(q - p) : strcspn(p, "#");
    *host = cl_strndup(s, hl);
    *path = plen ? cl_strndup(p, plen) : cl_strdup("/");
    *query = cl_strndup(q ? q + 1 : "", q ? strcspn(q + 1, "#") : 0);
    return CL_OK;
}

/* Signs req with creds and adds the resulting headers to add. */
static int http_sign_with(struct cl_http_sigv4 *sv, const struct cl_aws_credentials *creds,
                          const struct cl_http_request *req, struct cl_http_hdrs *add)
{
    char *host = NULL, *path = NULL, *query = NULL;
    if (http_split_url(req->url, &host, &path, &query) != CL_OK)
        return CL_ERR_INVAL;
    struct cl_sigv4_header *h = cl_calloc(req->n_headers + 1, sizeof *h);
    for (size_t i = 0; i < req->n_headers; i++)
        h[i] = (struct cl_sigv4_header){req->headers[i].name, req->headers[i].value};
    h[req->n_headers] = (struct cl_sigv4_header){"Host", host};
    struct cl_sigv4_request sr = {req->method,        path,      query,         h,
                                  req->n_headers + 1, req->body, req->body_len, NULL};
    struct cl_sigv4_params p = {creds->access_key_id,
                                creds->secret_access_key,
                                creds->session_token,
                                sv->region,
                                sv->service,
                                time(NULL),
                                sv->flags,
                                &sv->cache};
    struct cl_sigv4_result res;
    int rc = cl_sigv4_sign(&sr, &p, &res);
    if (rc == CL_OK) {
        rc = cl_http_hdrs_add(add, "Host", host);
        for (size_t i = 0; i < res.n_add && rc == CL_OK; i++)
            rc = cl_http_hdrs_add(add, res.add[i].name, res.add[i].value);
        cl_sigv4_result_free(&res);
    }
    free(h);
    free(host);
    free(path);
    free(query);
    return rc;
}

int cl_http_sign_sigv4(void *arg, const struct cl_http_request *req, struct cl_http_hdrs *add)
{
    struct cl_http_sigv4 *sv = arg;
    if (!sv->provider)
        return http_sign_with(sv, sv->creds, req, add);
    /* A fresh copy per attempt: a retry after a refresh signs with the new keys. */
    struct cl_aws_credentials creds;
    char err[256];
    int rc = cl_aws_cred_provider_get(sv->provider, &creds, err, sizeof err);
    if (rc != CL_OK) {
        cl_log(CL_LOG_WARN, "http: %s %s: no credentials to sign with: %s", req->method, req->url,
               err);
        return rc;
    }
    rc = http_sign_with(sv, &creds, req, add);
    cl_aws_credentials_free(&creds);
    return rc;
}
