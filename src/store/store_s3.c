/* store_s3.c - object store backend on S3 (REST/XML, SigV4): put/get/list/delete/move. */
#include "store.h"

#include "common.h"
#include "credentials.h"
#include "http.h"
#include "log.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Bounds on response bodies that are not object data. */
#define S3_ERR_BODY_MAX (64 * 1024)
#define S3_LIST_BODY_MAX (16 * 1024 * 1024)
#define S3_HDR_MAX (64 * 1024)

/* One HTTP client (its connections) with its signing state; pooled per store. */
struct s3_conn {
    struct cl_http_client *http; /* owned */
    struct cl_http_sigv4 sv;     /* borrows the store's credential provider and region */
    struct s3_conn *next;
};

struct s3_store {
    char *bucket;                       /* owned */
    char *prefix;                       /* owned; "" or ending in '/' */
    char *base;                         /* owned; URL of the bucket without a trailing '/' */
    char *region;                       /* owned */
    struct cl_aws_cred_provider *creds; /* owned */
    struct cl_http_options http_opt;
    int max_keys; /* ListObjectsV2 page size; 0 = S3's default (1000) */
    pthread_mutex_t lock;
    struct s3_conn *idle; /* owned stack of idle connections */
};

/* One call to S3 with its response (the caller frees it with s3_call_free). */
struct s3_call {
    const char *op;  /* for messages: "put", "get", ... */
    const char *key; /* for messages */
    struct cl_http_response resp;
};

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

/* Appends the XML-decoded text of s[0..len) to out: the five named entities and numeric
 * character references. Returns CL_OK, CL_ERR_CORRUPT or CL_ERR_TOO_LARGE. */
static int s3_xml_decode(struct cl_buf *out, const char *s, size_t len)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    int rc = CL_OK;
    for (size_t i = 0; i < len && rc == CL_OK; i++) {
        if (s[i] != '&') {
            rc = cl_buf_append_char(out, s[i]);
            continue;
        }
        const char *semi = memchr(s + i, ';', len - i);
        if (!semi)
            return CL_ERR_CORRUPT;
        size_t n = (size_t)(semi - (s + i)) + 1, k;
        for (k = 0; k < CL_ARRAY_LEN(ents); k++)
            if (n - 1 == strlen(ents[k].name) && memcmp(s + i + 1, ents[k].name, n - 1) == 0)
                break;
        if (k < CL_ARRAY_LEN(ents)) {
            rc = cl_buf_append_char(out, ents[k].c);
        } else if (n > 3 && s[i + 1] == '#') {
            int hex = s[i + 2] == 'x';
            char *end;
            unsigned long cp = strtoul(s + i + 2 + hex, &end, hex ? 16 : 10);
            if (end != semi || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return CL_ERR_CORRUPT;
            unsigned char u[4];
            int ul = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
            for (int b = ul - 1; b > 0; b--, cp >>= 6)
                u[b] = (unsigned char)(0x80 | (cp & 0x3F));
            u[0] = (unsigned char)(lead[ul] | cp);
            rc = cl_buf_append(out, u, (size_t)ul);
        } else {
            return CL_ERR_CORRUPT;
        }
        i += n - 1;
    }
    return rc;
}

/* Finds <tag>text</tag> in [*pos, end) and sets text to its raw bounds; advances *pos past
 * the closing tag. An empty element <tag/> is not expected from S3 for the tags we read. */
static int s3_xml_find(const char **pos, const char *end, const char *tag, const char **text,
                       size_t *text_len)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *o = memmem(*pos, (size_t)(end - *pos), open, strlen(open));
    if (!o)
        return 0;
    const char *t = o + strlen(open);
    const char *c = memmem(t, (size_t)(end - t), close, strlen(close));
    if (!c)
        return 0;
    *text = t;
    *text_len = (size_t)(c - t);
    *pos = c + strlen(close);
    return 1;
}

/* Decoded text of the first <tag> in [p, end) into out (reset first); 1 if found. */
static int s3_xml_text(const char *p, const char *end, const char *tag, struct cl_buf *out)
{
    const char *t;
    size_t tl;
    cl_buf_reset(out);
    if (!p || !s3_xml_find(&p, end, tag, &t, &tl))
        return 0;
    return s3_xml_decode(out, t, tl) == CL_OK;
}

/* Maps a failed response to a store error and logs Code + Message clearly. */
static int s3_fail(struct s3_store *s, const struct s3_call *c)
{
    const struct cl_http_response *r = &c->resp;
    const char *b = r->body.data, *e = b ? b + r->body.len : NULL;
    struct cl_buf code, msg;
    cl_buf_init(&code, 256);
    cl_buf_init(&msg, 4096);
    if (!s3_xml_text(b, e, "Code", &code))
        cl_buf_printf(&code, "HTTP%ld", r->status);
    s3_xml_text(b, e, "Message", &msg);
    int rc = CL_ERR_IO;
    if (strcmp(code.data, "NoSuchKey") == 0 || (r->status == 404 && !b))
        rc = CL_ERR_NOT_FOUND;
    else if (cl_aws_throttling(code.data) || r->status == 429 || r->status == 503)
        rc = CL_ERR_FULL;
    enum cl_log_level lvl = rc == CL_ERR_NOT_FOUND ? CL_LOG_DEBUG : CL_LOG_WARN;
    cl_log(lvl, "store s3: %s s3://%s/%s%s: %s: %s (HTTP %ld, %d attempt%s)%s", c->op, s->bucket,
           s->prefix, c->key ? c->key : "", code.data, msg.data ? msg.data : "", r->status,
           r->attempts, r->attempts == 1 ? "" : "s", rc == CL_ERR_FULL ? "; retry later" : "");
    cl_buf_free(&code);
    cl_buf_free(&msg);
    return rc;
}

/* Sends one signed request on a pooled connection. Returns CL_OK for a 2xx response
 * (c->resp holds it), else the mapped error (logged). */
static int s3_exec(struct s3_store *s, struct s3_call *c, struct cl_http_request *req)
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

static void s3_call_init(struct s3_call *c, const char *op, const char *key, size_t body_max)
{
    memset(c, 0, sizeof *c);
    c->op = op;
    c->key = key;
    cl_buf_init(&c->resp.headers, S3_HDR_MAX);
    cl_buf_init(&c->resp.body, body_max);
}

static void s3_call_free(struct s3_call *c)
{
    cl_buf_free(&c->resp.headers);
    cl_buf_free(&c->resp.body);
}

/* Appends the URL of object key (store prefix added, key encoded once) to url. */
static void s3_object_url(const struct s3_store *s, const char *key, struct cl_buf *url)
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

/* Base64 of the big-endian CRC-32 of data, as x-amz-checksum-crc32 wants it. */
static void s3_crc32_b64(const void *data, size_t len, char out[16])
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

static int s3_put(void *impl, const char *key, const void *data, size_t len)
{
    struct s3_store *s = impl;
    int rc = s3_key_check("put", key);
    if (rc != CL_OK)
        return rc;
    struct cl_buf url;
    cl_buf_init(&url, 8192);
    s3_object_url(s, key, &url);
    char crc[16];
    s3_crc32_b64(data, len, crc);
    const struct cl_http_header h[] = {{"Content-Type", "application/octet-stream"},
                                       {"x-amz-sdk-checksum-algorithm", "CRC32"},
                                       {"x-amz-checksum-crc32", crc}};
    struct cl_http_request req = {"PUT", url.data, h, CL_ARRAY_LEN(h), data, len, NULL, NULL};
    struct s3_call c;
    s3_call_init(&c, "put", key, S3_ERR_BODY_MAX);
    rc = s3_exec(s, &c, &req);
    s3_call_free(&c);
    cl_buf_free(&url);
    return rc;
}

static int s3_get(void *impl, const char *key, struct cl_buf *out)
{
    struct s3_store *s = impl;
    int rc = s3_key_check("get", key);
    if (rc != CL_OK)
        return rc;
    struct cl_buf url;
    cl_buf_init(&url, 8192);
    s3_object_url(s, key, &url);
    struct cl_http_request req = {"GET", url.data, NULL, 0, NULL, 0, NULL, NULL};
    struct s3_call c;
    s3_call_init(&c, "get", key, S3_ERR_BODY_MAX);
    c.resp.sink = out; /* streamed into the caller's buffer, bounded by out->max */
    rc = s3_exec(s, &c, &req);
    s3_call_free(&c);
    cl_buf_free(&url);
    return rc;
}

static int s3_del(void *impl, const char *key)
{
    struct s3_store *s = impl;
    int rc = s3_key_check("delete", key);
    if (rc != CL_OK)
        return rc;
    struct cl_buf url;
    cl_buf_init(&url, 8192);
    s3_object_url(s, key, &url);
    struct cl_http_request req = {"DELETE", url.data, NULL, 0, NULL, 0, NULL, NULL};
    struct s3_call c;
    s3_call_init(&c, "delete", key, S3_ERR_BODY_MAX);
    rc = s3_exec(s, &c, &req);
    s3_call_free(&c);
    cl_buf_free(&url);
    return rc == CL_ERR_NOT_FOUND ? CL_OK : rc;
}

/* HEAD of key: CL_OK if it exists, CL_ERR_NOT_FOUND if not. */
static int s3_head(struct s3_store *s, const char *key)
{
    struct cl_buf url;
    cl_buf_init(&url, 8192);
    s3_object_url(s, key, &url);
    struct cl_http_request req = {"HEAD", url.data, NULL, 0, NULL, 0, NULL, NULL};
    struct s3_call c;
    s3_call_init(&c, "head", key, S3_ERR_BODY_MAX);
    int rc = s3_exec(s, &c, &req);
    s3_call_free(&c);
    cl_buf_free(&url);
    return rc;
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

/* Calls fn for each <Contents> of one ListObjectsV2 page; sets token to the next
 * continuation token (empty when the listing is complete). */
static int s3_list_page(struct s3_store *s, const struct cl_buf *body,
                        int (*fn)(void *arg, const char *key, uint64_t size), void *arg,
                        struct cl_buf *token)
{
    const char *p = body->data, *end = p ? p + body->len : NULL;
    if (!p || !strstr(p, "<ListBucketResult"))
        return CL_ERR_CORRUPT;
    struct cl_buf key, size, trunc;
    cl_buf_init(&key, 8192);
    cl_buf_init(&size, 64);
    cl_buf_init(&trunc, 64);
    int truncated = s3_xml_text(p, end, "IsTruncated", &trunc) && strcmp(trunc.data, "true") == 0;
    int rc = CL_OK;
    const char *t;
    size_t tl;
    size_t plen = strlen(s->prefix);
    while (rc == CL_OK && s3_xml_find(&p, end, "Contents", &t, &tl)) {
        char *e = NULL;
        if (!s3_xml_text(t, t + tl, "Key", &key) || !s3_xml_text(t, t + tl, "Size", &size) ||
            strncmp(key.data, s->prefix, plen) != 0 || key.len == plen)
            rc = CL_ERR_CORRUPT;
        uint64_t sz = rc == CL_OK ? strtoull(size.data, &e, 10) : 0;
        if (rc == CL_OK && (e == size.data || *e))
            rc = CL_ERR_CORRUPT;
        if (rc == CL_OK)
            rc = fn(arg, key.data + plen, sz);
    }
    cl_buf_reset(token);
    const char *b = body->data;
    if (rc == CL_OK && truncated && !s3_xml_text(b, end, "NextContinuationToken", token))
        rc = CL_ERR_CORRUPT;
    cl_buf_free(&key);
    cl_buf_free(&size);
    cl_buf_free(&trunc);
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
    .sweep = NULL, /* no multipart uploads yet, so nothing to abort */
    .close = s3_close,
};

/* Options from the URL's query: percent-decoded values (heap; caller frees). */
struct s3_url_opts {
    char *endpoint;
    char *region;
    int path_style; /* -1 = automatic */
    int max_keys;
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

/* Parses "k=v&k=v" into o. Returns CL_OK or CL_ERR_INVAL (message in err). */
static int s3_parse_opts(const char *q, struct s3_url_opts *o, char *err, size_t err_len)
{
    while (q && *q) {
        size_t n = strcspn(q, "&"), kl = strcspn(q, "=");
        kl = CL_MIN(kl, n);
        char *v = s3_pct_decode(q + kl + (kl < n), n - kl - (kl < n));
        if (kl == 8 && strncmp(q, "endpoint", 8) == 0) {
            free(o->endpoint);
            o->endpoint = v;
        } else if (kl == 6 && strncmp(q, "region", 6) == 0) {
            free(o->region);
            o->region = v;
        } else if (kl == 10 && strncmp(q, "path_style", 10) == 0) {
            o->path_style = strcmp(v, "0") != 0 && strcmp(v, "false") != 0;
            free(v);
        } else if (kl == 8 && strncmp(q, "max_keys", 8) == 0) {
            o->max_keys = atoi(v);
            free(v);
        } else {
            snprintf(err, err_len, "unknown s3 store option '%.*s'", (int)kl, q);
            free(v);
            return CL_ERR_INVAL;
        }
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
 * and the configured region. */
static void s3_endpoint(struct s3_store *s, struct s3_url_opts *o)
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
}

/* Opens "s3://bucket[/prefix][?endpoint=URL&path_style=0|1&region=R&max_keys=N]". */
int cl_store_s3_open(struct cl_store *st, const char *url, char *err, size_t err_len)
{
    struct s3_store *s = cl_calloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    struct s3_url_opts o = {NULL, NULL, -1, 0};
    int rc = s3_parse_url(s, url + strlen("s3://"), &o, err, err_len);
    if (rc == CL_OK) {
        s->creds = cl_aws_cred_provider_new(err, err_len);
        rc = s->creds ? CL_OK : CL_ERR_NOT_FOUND;
    }
    if (rc == CL_OK) {
        s3_endpoint(s, &o);
        s->max_keys = o.max_keys;
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
