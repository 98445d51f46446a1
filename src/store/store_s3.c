/* store_s3.c - object store backend on S3 (REST/XML, SigV4): put/get/list/delete/move. */
#include "store.h"
#include "store_s3_int.h"

#include "common.h"
#include "log.h"
#include "units.h"
#include "url.h"
#include "xml.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static struct s3_conn *s3_conn_get(struct s3_store *s)
{
    pthread_mutex_lock(&s->lock);
    struct s3_conn *c = s->idle;
    if (c)
        s->idle = c->next;
    pthread_mutex_unlock(&s->lock);
    if (c)
        return c;
    c = cl_calloc(1, sizeof *c);
    c->http = cl_http_client_new(&s->http_opt);
    if (!c->http) {
        free(c);
        return NULL;
    }
    c->sv.provider = s->creds;
    c->sv.region = s->region;
    c->sv.service = "s3";
    c->sv.flags = CL_SIGV4_S3;
    return c;
}

static void s3_conn_put(struct s3_store *s, struct s3_conn *c)
{
    pthread_mutex_lock(&s->lock);
    c->next = s->idle;
    s->idle = c;
    pthread_mutex_unlock(&s->lock);
}

int s3_exec(struct s3_store *s, struct s3_call *c, struct cl_http_request *req)
{
    struct s3_conn *conn = s3_conn_get(s);
    if (!conn) {
        cl_log(CL_LOG_ERROR, "store s3: %s: cannot create an HTTP client", c->op);
        return CL_ERR_IO;
    }
    req->sign = cl_http_sign_sigv4;
    req->sign_arg = &conn->sv;
    char err[512];
    int rc = cl_http_send(conn->http, req, &c->resp, err, sizeof err);
    s3_conn_put(s, conn);
    if (rc != CL_OK) {
        cl_log(CL_LOG_WARN, "store s3: %s s3://%s/%s%s: %s (%d attempt%s)", c->op, s->bucket,
               s->prefix, c->key ? c->key : "", err, c->resp.attempts,
               c->resp.attempts == 1 ? "" : "s");
        return rc == CL_ERR_TOO_LARGE ? CL_ERR_TOO_LARGE : CL_ERR_IO;
    }
    if (c->resp.status < 200 || c->resp.status > 299)
        return s3_fail(s, c);
    /* CopyObject (and CompleteMultipartUpload) may answer 200 with an <Error> body. */
    if (!c->resp.sink && c->resp.body.data && strstr(c->resp.body.data, "<Error>")) {
        c->resp.status = 500;
        return s3_fail(s, c);
    }
    return CL_OK;
}

void s3_call_init(struct s3_call *c, const char *op, const char *key, size_t body_max)
{
    memset(c, 0, sizeof *c);
    c->op = op;
    c->key = key;
    cl_buf_init(&c->resp.headers, S3_HDR_MAX);
    cl_buf_init(&c->resp.body, body_max);
}

void s3_call_free(struct s3_call *c)
{
    cl_buf_free(&c->resp.headers);
    cl_buf_free(&c->resp.body);
}

void s3_object_url(const struct s3_store *s, const char *key, struct cl_buf *url)
{
    cl_buf_append_str(url, s->base);
    cl_buf_append_char(url, '/');
    cl_sigv4_uri_encode(url, s->prefix, strlen(s->prefix), 1);
    cl_sigv4_uri_encode(url, key, strlen(key), 1);
}

static int s3_key_check(const char *op, const char *key)
{
    if (cl_store_key_valid(key))
        return CL_OK;
    cl_log(CL_LOG_WARN, "store s3: %s: invalid key '%s'", op, key ? key : "(null)");
    return CL_ERR_INVAL;
}

void s3_crc32_b64(const void *data, size_t len, char out[16])
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const unsigned char *p = data;
    while (len > 0) { /* zlib takes uInt lengths */
        uInt n = (uInt)CL_MIN(len, (size_t)1 << 30);
        crc = crc32(crc, p, n);
        p += n;
        len -= n;
    }
    unsigned char be[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                           (unsigned char)(crc >> 8), (unsigned char)crc};
    EVP_EncodeBlock((unsigned char *)out, be, 4);
}

/* PutObject in one request, with a CRC-32 checksum S3 verifies (BadDigest otherwise). */
static int s3_put_single(struct s3_store *s, const char *key, const void *data, size_t len)
{
    struct cl_buf url;
    cl_buf_init(&url, 8192);
    s3_object_url(s, key, &url);
    char crc[16];
    s3_crc32_b64(data, len, crc);
    const struct cl_http_header h[] = {{"Content-Type", "application/octet-stream"},
                                       {"x-amz-sdk-checksum-algorithm", "CRC32"},
                                       {"x-amz-checksum-crc32", crc},
                                       {"If-None-Match", "*"}};
    size_t nh = CL_ARRAY_LEN(h) - (s->if_none_match ? 0 : 1);
    struct cl_http_request req = {"PUT", url.data, h, nh, data, len, NULL, NULL};
    struct s3_call c;
    s3_call_init(&c, "put", key, S3_ERR_BODY_MAX);
    int rc = s3_exec(s, &c, &req);
    s3_call_free(&c);
    cl_buf_free(&url);
    return rc;
}

static int s3_put(void *impl, const char *key, const void *data, size_t len)
{
    struct s3_store *s = impl;
    int rc = s3_key_check("put", key);
    if (rc != CL_OK)
        return rc;
    if ((uint64_t)len >= s->multipart_threshold)
        return s3_put_multipart(s, key, data, len);
    return s3_put_single(s, key, data, len);
}

/* One bodiless request on the object key (GET, DELETE, HEAD); a GET's body streams into
 * sink (bounded by sink->max). op names the operation in error messages. */
static int s3_object_call(struct s3_store *s, const char *method, const char *op, const char *key,
                          struct cl_buf *sink)
{
    struct cl_buf url;
    cl_buf_init(&url, 8192);
    s3_object_url(s, key, &url);
    struct cl_http_request req = {method, url.data, NULL, 0, NULL, 0, NULL, NULL};
    struct s3_call c;
    s3_call_init(&c, op, key, S3_ERR_BODY_MAX);
    c.resp.sink = sink;
    int rc = s3_exec(s, &c, &req);
    s3_call_free(&c);
    cl_buf_free(&url);
    return rc;
}

static int s3_get(void *impl, const char *key, struct cl_buf *out)
{
    int rc = s3_key_check("get", key);
    return rc != CL_OK ? rc : s3_object_call(impl, "GET", "get", key, out);
}

static int s3_del(void *impl, const char *key)
{
    int rc = s3_key_check("delete", key);
    if (rc == CL_OK)
        rc = s3_object_call(impl, "DELETE", "delete", key, NULL);
    return rc == CL_ERR_NOT_FOUND ? CL_OK : rc;
}

/* HEAD of key: CL_OK if it exists, CL_ERR_NOT_FOUND if not. */
static int s3_head(struct s3_store *s, const char *key)
{
    return s3_object_call(s, "HEAD", "head", key, NULL);
}

/* CopyObject + DeleteObject: not atomic; a crash between them leaves both keys. */
static int s3_move(void *impl, const char *from, const char *to)
{
    struct s3_store *s = impl;
    int rc = s3_key_check("move", from);
    if (rc == CL_OK)
        rc = s3_key_check("move", to);
    if (rc != CL_OK || strcmp(from, to) == 0)
        return rc == CL_OK ? s3_head(s, from) : rc;
    struct cl_buf url, src;
    cl_buf_init(&url, 8192);
    cl_buf_init(&src, 8192);
    s3_object_url(s, to, &url);
    cl_sigv4_uri_encode(&src, s->bucket, strlen(s->bucket), 0);
    cl_buf_append_char(&src, '/');
    cl_sigv4_uri_encode(&src, s->prefix, strlen(s->prefix), 1);
    cl_sigv4_uri_encode(&src, from, strlen(from), 1);
    const struct cl_http_header h[] = {{"x-amz-copy-source", src.data}};
    struct cl_http_request req = {"PUT", url.data, h, 1, NULL, 0, NULL, NULL};
    struct s3_call c;
    s3_call_init(&c, "move (copy)", from, S3_ERR_BODY_MAX);
    rc = s3_exec(s, &c, &req);
    s3_call_free(&c);
    cl_buf_free(&url);
    cl_buf_free(&src);
    return rc == CL_OK ? s3_del(s, from) : rc;
}

/* One <Contents> of a listing: its key (which must be under the store prefix and longer
 * than it) and size, passed to fn without the prefix. */
static int s3_list_entry(const struct s3_store *s, const struct cl_xml *contents,
                         int (*fn)(void *arg, const char *key, uint64_t size), void *arg)
{
    const char *key = cl_xml_child_text(contents, "Key");
    const char *size = cl_xml_child_text(contents, "Size");
    size_t plen = strlen(s->prefix);
    char *e = NULL;
    if (!key || !size || strncmp(key, s->prefix, plen) != 0 || strlen(key) == plen)
        return CL_ERR_CORRUPT;
    uint64_t sz = strtoull(size, &e, 10);
    if (e == size || *e || *size == '-')
        return CL_ERR_CORRUPT;
    return fn(arg, key + plen, sz);
}

int s3_list_page(const struct s3_store *s, const struct cl_buf *body,
                 int (*fn)(void *arg, const char *key, uint64_t size), void *arg,
                 struct cl_buf *token)
{
    struct cl_xml *x = s3_xml_root(body, "ListBucketResult", NULL);
    if (!x)
        return CL_ERR_CORRUPT;
    const char *trunc = cl_xml_child_text(x, "IsTruncated");
    int truncated = trunc && strcmp(trunc, "true") == 0, rc = CL_OK;
    for (const struct cl_xml *c = cl_xml_child(x, "Contents"); c && rc == CL_OK; c = cl_xml_next(c))
        rc = s3_list_entry(s, c, fn, arg);
    cl_buf_reset(token);
    /* A truncated page must say where to go on; an empty token would end the loop early. */
    const char *next = cl_xml_child_text(x, "NextContinuationToken");
    if (rc == CL_OK && truncated && (!next || !*next))
        rc = CL_ERR_CORRUPT;
    if (rc == CL_OK && truncated)
        rc = cl_buf_append_str(token, next) == CL_OK ? CL_OK : CL_ERR_CORRUPT;
    cl_xml_free(x);
    return rc;
}

/* Appends the ListObjectsV2 URL for prefix, continuing after token (if non-empty). */
static void s3_list_url(const struct s3_store *s, const char *prefix, const struct cl_buf *token,
                        struct cl_buf *url)
{
    cl_buf_reset(url);
    cl_buf_printf(url, "%s/?list-type=2", s->base);
    if (token->len) {
        cl_buf_append_str(url, "&continuation-token=");
        cl_sigv4_uri_encode(url, token->data, token->len, 0);
    }
    if (s->max_keys > 0)
        cl_buf_printf(url, "&max-keys=%d", s->max_keys);
    cl_buf_append_str(url, "&prefix=");
    cl_sigv4_uri_encode(url, s->prefix, strlen(s->prefix), 0);
    cl_sigv4_uri_encode(url, prefix, strlen(prefix), 0);
}

static int s3_list(void *impl, const char *prefix,
                   int (*fn)(void *arg, const char *key, uint64_t size), void *arg)
{
    struct s3_store *s = impl;
    struct cl_buf url, token;
    cl_buf_init(&url, 64 * 1024);
    cl_buf_init(&token, 16 * 1024);
    int rc = CL_OK;
    do {
        s3_list_url(s, prefix ? prefix : "", &token, &url);
        struct cl_http_request req = {"GET", url.data, NULL, 0, NULL, 0, NULL, NULL};
        struct s3_call c;
        s3_call_init(&c, "list", prefix, S3_LIST_BODY_MAX);
        rc = s3_exec(s, &c, &req);
        if (rc == CL_OK)
            rc = s3_list_page(s, &c.resp.body, fn, arg, &token);
        if (rc == CL_ERR_CORRUPT)
            cl_log(CL_LOG_WARN, "store s3: list s3://%s/%s%s: malformed ListObjectsV2 response",
                   s->bucket, s->prefix, prefix ? prefix : "");
        s3_call_free(&c);
    } while (rc == CL_OK && token.len > 0);
    cl_buf_free(&url);
    cl_buf_free(&token);
    return rc;
}

static void s3_close(void *impl)
{
    struct s3_store *s = impl;
    while (s->idle) {
        struct s3_conn *c = s->idle;
        s->idle = c->next;
        cl_http_client_free(c->http);
        free(c);
    }
    pthread_mutex_destroy(&s->lock);
    cl_aws_cred_provider_free(s->creds);
    free(s->bucket);
    free(s->prefix);
    free(s->base);
    free(s->region);
    free(s);
}

static const struct cl_store_ops s3_ops = {
    .name = "s3",
    .put = s3_put,
    .get = s3_get,
    .list = s3_list,
    .del = s3_del,
    .move = s3_move,
    .sweep = s3_sweep,
    .close = s3_close,
};

/* Options from the URL's query: percent-decoded values (heap; caller frees). */
struct s3_url_opts {
    char *endpoint;
    char *region;
    int path_style; /* -1 = automatic */
    int max_keys;
    uint64_t multipart_threshold; /* 0 = default */
    uint64_t part_size;           /* 0 = default */
    int if_none_match;
    struct cl_http_options http; /* timeout, connect_timeout, max_attempts; 0 = default */
};

static int s3_hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes s[0..len) into a heap string; a malformed escape is kept as is. */
static char *s3_pct_decode(const char *s, size_t len)
{
    char *out = cl_malloc(len + 1), *o = out;
    for (size_t i = 0; i < len; i++) {
        int hi = i + 2 < len && s[i] == '%' ? s3_hexval(s[i + 1]) : -1;
        int lo = hi >= 0 ? s3_hexval(s[i + 2]) : -1;
        if (lo >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* The URL options (s3://bucket/prefix?key=value&...): one row each, applied by s3_opt. */
enum s3_kind {
    S3_TEXT,   /* char *, owned */
    S3_TOGGLE, /* int: on unless "0" or "false" */
    S3_YES,    /* int: on for "1", "true" or "yes" */
    S3_COUNT,  /* int in [min, max] */
    S3_PART,   /* uint64_t size of at least 5 MiB */
    S3_MS      /* long milliseconds in (0, 1 h] */
};

struct s3_key {
    const char *name;
    enum s3_kind kind;
    size_t offset; /* in struct s3_url_opts */
    long min, max; /* S3_COUNT */
};

#define S3_OFF(f) offsetof(struct s3_url_opts, f)

static const struct s3_key s3_keys[] = {
    {"endpoint", S3_TEXT, S3_OFF(endpoint), 0, 0},
    {"region", S3_TEXT, S3_OFF(region), 0, 0},
    {"path_style", S3_TOGGLE, S3_OFF(path_style), 0, 0},
    {"max_keys", S3_COUNT, S3_OFF(max_keys), 1, 1000},
    {"multipart_threshold", S3_PART, S3_OFF(multipart_threshold), 0, 0},
    {"part_size", S3_PART, S3_OFF(part_size), 0, 0},
    {"if_none_match", S3_YES, S3_OFF(if_none_match), 0, 0},
    {"timeout", S3_MS, S3_OFF(http.timeout_ms), 0, 0},
    {"connect_timeout", S3_MS, S3_OFF(http.connect_timeout_ms), 0, 0},
    {"max_attempts", S3_COUNT, S3_OFF(http.max_attempts), 1, 20},
};

/* Stores v (a heap string this takes) into the field of key; 0, or -1 if v does not fit. */
static int s3_set(const struct s3_key *key, void *field, char *v)
{
    int64_t ms = 0;
    char *end;
    long n;
    switch (key->kind) {
    case S3_TEXT:
        free(*(char **)field);
        *(char **)field = v;
        return 0;
    case S3_TOGGLE:
        *(int *)field = strcmp(v, "0") != 0 && strcmp(v, "false") != 0;
        break;
    case S3_YES:
        *(int *)field = !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes");
        break;
    case S3_COUNT:
        n = strtol(v, &end, 10);
        if (end == v || *end || n < key->min || n > key->max)
            return free(v), -1;
        *(int *)field = (int)n;
        break;
    case S3_PART:
        if (cl_parse_size(v, (uint64_t *)field) != 0 || *(uint64_t *)field < S3_MIN_PART)
            return free(v), -1;
        break;
    case S3_MS:
        if (cl_parse_duration_ms(v, &ms) != 0 || ms <= 0 || ms > 3600 * 1000)
            return free(v), -1;
        *(long *)field = (long)ms;
        break;
    }
    free(v);
    return 0;
}

/* Applies one key=value option (v is a heap string this takes). */
static int s3_opt(struct s3_url_opts *o, const char *k, size_t kl, char *v, char *err,
                  size_t err_len)
{
    static const char *const want[] = {
        "", "", "", "an integer in range", "a size of at least 5 MiB", "a duration such as 5s"};
    for (size_t i = 0; i < CL_ARRAY_LEN(s3_keys); i++) {
        const struct s3_key *key = &s3_keys[i];
        if (strlen(key->name) != kl || strncmp(k, key->name, kl) != 0)
            continue;
        char shown[64];
        snprintf(shown, sizeof shown, "%.60s", v);
        if (s3_set(key, (char *)o + key->offset, v) == 0)
            return CL_OK;
        if (key->kind == S3_COUNT)
            snprintf(err, err_len, "s3 store option %s='%s': want %ld to %ld", key->name, shown,
                     key->min, key->max);
        else
            snprintf(err, err_len, "s3 store option %s='%s': want %s", key->name, shown,
                     want[key->kind]);
        return CL_ERR_INVAL;
    }
    snprintf(err, err_len, "unknown s3 store option '%.*s'", (int)kl, k);
    free(v);
    return CL_ERR_INVAL;
}

/* Parses "k=v&k=v" into o. Returns CL_OK or CL_ERR_INVAL (message in err). */
static int s3_parse_opts(const char *q, struct s3_url_opts *o, char *err, size_t err_len)
{
    while (q && *q) {
        size_t n = strcspn(q, "&"), kl = strcspn(q, "=");
        kl = CL_MIN(kl, n);
        char *v = s3_pct_decode(q + kl + (kl < n), n - kl - (kl < n));
        int rc = s3_opt(o, q, kl, v, err, err_len);
        if (rc != CL_OK)
            return rc;
        q += n + (q[n] == '&');
    }
    return CL_OK;
}

static int s3_bucket_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return 0;
    for (const char *p = b; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
            return 0;
    return 1;
}

/* Splits "bucket/prefix?opts" into s->bucket, s->prefix and o. */
static int s3_parse_url(struct s3_store *s, const char *rest, struct s3_url_opts *o, char *err,
                        size_t err_len)
{
    const char *q = strchr(rest, '?');
    size_t plen = q ? (size_t)(q - rest) : strlen(rest);
    size_t bl = strcspn(rest, "/?");
    s->bucket = cl_strndup(rest, bl);
    if (!s3_bucket_ok(s->bucket)) {
        snprintf(err, err_len, "invalid S3 bucket name '%s'", s->bucket);
        return CL_ERR_INVAL;
    }
    const char *p = rest + bl;
    const char *pe = rest + plen;
    while (p < pe && *p == '/')
        p++;
    while (pe > p && pe[-1] == '/')
        pe--;
    char *pre = cl_strndup(p, (size_t)(pe - p));
    int ok = !*pre || cl_store_key_valid(pre);
    s->prefix = cl_malloc(strlen(pre) + 2);
    snprintf(s->prefix, strlen(pre) + 2, "%s%s", pre, *pre ? "/" : "");
    free(pre);
    if (!ok) {
        snprintf(err, err_len, "invalid S3 store prefix in '%.*s'", (int)plen, rest);
        return CL_ERR_INVAL;
    }
    return s3_parse_opts(q ? q + 1 : NULL, o, err, err_len);
}

/* Sets s->region and s->base from the options, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL,
 * and the configured region. A custom endpoint must be an http(s) URL with a host as
 * libcurl parses it (no user:password@). Returns CL_OK or CL_ERR_INVAL with err set. */
static int s3_endpoint(struct s3_store *s, struct s3_url_opts *o, char *err, size_t err_len)
{
    s->region = o->region ? cl_strdup(o->region) : cl_aws_region_resolve();
    if (!s->region) {
        s->region = cl_strdup("us-east-1");
        cl_log(CL_LOG_INFO, "store s3: no region configured, using us-east-1");
    }
    const char *ep = o->endpoint;
    if (!ep || !*ep)
        ep = getenv("AWS_ENDPOINT_URL_S3");
    if (!ep || !*ep)
        ep = getenv("AWS_ENDPOINT_URL");
    int custom = ep && *ep;
    if (custom && !cl_url_is_http(ep)) {
        snprintf(err, err_len,
                 "S3 endpoint '%.200s' is not an http(s)://host[:port] URL without user:password@",
                 ep);
        return CL_ERR_INVAL;
    }
    struct cl_buf b;
    cl_buf_init(&b, 4096);
    if (!custom)
        cl_buf_printf(&b, "https://s3.%s.amazonaws.com", s->region);
    else
        cl_buf_append_str(&b, ep);
    while (b.len > 0 && b.data[b.len - 1] == '/')
        cl_buf_truncate(&b, b.len - 1);
    int path_style = o->path_style >= 0 ? o->path_style : (custom || strchr(s->bucket, '.'));
    struct cl_buf url;
    cl_buf_init(&url, 4096);
    const char *sep = strstr(b.data, "://");
    if (path_style || !sep)
        cl_buf_printf(&url, "%s/%s", b.data, s->bucket);
    else
        cl_buf_printf(&url, "%.*s%s.%s", (int)(sep + 3 - b.data), b.data, s->bucket, sep + 3);
    s->base = cl_buf_take(&url, NULL);
    cl_buf_free(&b);
    return CL_OK;
}

/* Opens "s3://bucket[/prefix][?endpoint=URL&path_style=0|1&region=R&max_keys=N
 * &multipart_threshold=SIZE&part_size=SIZE&if_none_match=0|1&timeout=DURATION
 * &connect_timeout=DURATION&max_attempts=N]" (docs/aws.md). */
int cl_store_s3_open(struct cl_store *st, const char *url, char *err, size_t err_len)
{
    struct s3_store *s = cl_calloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    struct s3_url_opts o = {NULL, NULL, -1, 0, 0, 0, 0, {0}};
    int rc = s3_parse_url(s, url + strlen("s3://"), &o, err, err_len);
    if (rc == CL_OK) {
        s->creds = cl_aws_cred_provider_new(err, err_len);
        rc = s->creds ? CL_OK : CL_ERR_NOT_FOUND;
    }
    if (rc == CL_OK)
        rc = s3_endpoint(s, &o, err, err_len);
    if (rc == CL_OK) {
        s->max_keys = o.max_keys;
        s->if_none_match = o.if_none_match;
        s->http_opt = o.http;
        s->part_size = o.part_size ? o.part_size : S3_DEFAULT_PART_SIZE;
        s->multipart_threshold =
            o.multipart_threshold ? o.multipart_threshold : S3_DEFAULT_MULTIPART_THRESHOLD;
        st->ops = &s3_ops;
        st->impl = s;
        cl_log(CL_LOG_DEBUG, "store s3: bucket %s prefix '%s' at %s (region %s)", s->bucket,
               s->prefix, s->base, s->region);
    } else {
        s3_close(s);
    }
    free(o.endpoint);
    free(o.region);
    return rc;
}
