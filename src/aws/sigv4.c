/* sigv4.c - AWS Signature Version 4: canonical request, string to sign, key, Authorization. */
#include "sigv4.h"

#include "buf.h"
#include "common.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bound on any one signing string; far above real requests (headers are KiB). */
#define CL_SIGV4_MAX_TEXT (8u << 20)

static const char HEX_LOWER[] = "0123456789abcdef";
static const char HEX_UPPER[] = "0123456789ABCDEF";

/* Headers never signed: hop-by-hop or rewritten by proxies (botocore
 * SIGNED_HEADERS_BLACKLIST) plus the Authorization header itself. */
static const char *const SKIP_HEADERS[] = {"authorization",
                                           "connection",
                                           "expect",
                                           "keep-alive",
                                           "proxy-authenticate",
                                           "proxy-authorization",
                                           "te",
                                           "trailer",
                                           "transfer-encoding",
                                           "upgrade",
                                           "user-agent",
                                           "x-amzn-trace-id"};

static void to_hex(const unsigned char *p, size_t n, char *hex)
{
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = HEX_LOWER[p[i] >> 4];
        hex[2 * i + 1] = HEX_LOWER[p[i] & 15];
    }
    hex[2 * n] = '\0';
}

void cl_sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data ? data : (const void *)"", len, md);
    to_hex(md, sizeof(md), hex);
}

static void hmac(const void *key, size_t key_len, const char *msg, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &n);
}

void cl_sigv4_signing_key(const char *secret, const char *date, const char *region,
                          const char *service, unsigned char key[32])
{
    struct cl_buf k;
    unsigned char a[32], b[32];
    cl_buf_init(&k, CL_SIGV4_MAX_TEXT);
    cl_buf_printf(&k, "AWS4%s", secret);
    hmac(k.data, k.len, date, a);
    hmac(a, 32, region, b);
    hmac(b, 32, service, a);
    hmac(a, 32, "aws4_request", key);
    OPENSSL_cleanse(k.data, k.len);
    cl_buf_free(&k);
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Encodes every byte outside unreserved and the `keep` set (a string of bytes). */
static int encode_except(struct cl_buf *out, const char *s, size_t len, const char *keep)
{
    int rc = CL_OK;
    for (size_t i = 0; i < len && rc == CL_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (c && strchr(keep, c))) {
            rc = cl_buf_append_char(out, (char)c);
        } else {
            char e[3] = {'%', HEX_UPPER[c >> 4], HEX_UPPER[c & 15]};
            rc = cl_buf_append(out, e, 3);
        }
    }
    return rc;
}

int cl_sigv4_uri_encode(struct cl_buf *out, const char *s, size_t len, int keep_slash)
{
    return encode_except(out, s, len, keep_slash ? "/" : "");
}

/* RFC 3986 dot-segment removal plus collapsing of empty segments ("//"), for non-S3
 * services. Appends the normalised, still unencoded path to out. */
static int normalize_path(struct cl_buf *out, const char *path)
{
    size_t len = strlen(path), n_seg = 0, *starts = cl_calloc(len + 1, sizeof(size_t));
    size_t *lens = cl_calloc(len + 1, sizeof(size_t));
    int trailing = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        size_t sl = j - i;
        trailing =
            j < len || (sl == 1 && path[i] == '.') || (sl == 2 && !memcmp(path + i, "..", 2));
        if (sl == 2 && !memcmp(path + i, "..", 2)) {
            n_seg -= n_seg > 0;
        } else if (sl > 0 && !(sl == 1 && path[i] == '.')) {
            starts[n_seg] = i;
            lens[n_seg++] = sl;
            trailing = j < len;
        }
        i = j + 1;
    }
    int rc = CL_OK;
    for (size_t s = 0; s < n_seg && rc == CL_OK; s++) {
        rc = cl_buf_append_char(out, '/');
        if (rc == CL_OK)
            rc = cl_buf_append(out, path + starts[s], lens[s]);
    }
    if (rc == CL_OK && (n_seg == 0 || trailing))
        rc = cl_buf_append_char(out, '/');
    free(starts);
    free(lens);
    return rc;
}

/* CanonicalURI: non-S3 normalises then encodes the wire path again (a wire "%20" becomes
 * "%2520"); S3 keeps the path as sent, encoding only bytes that are not yet encoded. */
static int canonical_uri(struct cl_buf *out, const char *path, unsigned flags)
{
    if (!path || !*path)
        path = "/";
    struct cl_buf tmp;
    cl_buf_init(&tmp, CL_SIGV4_MAX_TEXT);
    int rc = CL_OK;
    if (flags & CL_SIGV4_NO_NORMALIZE)
        rc = cl_buf_append_str(&tmp, path);
    else
        rc = normalize_path(&tmp, path);
    if (rc == CL_OK && tmp.len == 0)
        rc = cl_buf_append_char(&tmp, '/');
    if (rc == CL_OK)
        rc =
            encode_except(out, tmp.data, tmp.len, (flags & CL_SIGV4_NO_DOUBLE_ENCODE) ? "/%" : "/");
    cl_buf_free(&tmp);
    return rc;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) and re-encodes it with the SigV4 set ('+' stays a literal
 * plus, as AWS reads it; a '%' not followed by two hex digits is literal). The result is
 * owned by the caller (free()). */
static char *reencode_component(const char *s, size_t len)
{
    char *raw = cl_malloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && hex_val(s[i + 1]) >= 0 && hex_val(s[i + 2]) >= 0) {
            raw[n++] = (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2]));
            i += 2;
        } else {
            raw[n++] = s[i];
        }
    }
    struct cl_buf b;
    cl_buf_init(&b, CL_SIGV4_MAX_TEXT);
    int rc = encode_except(&b, raw, n, "");
    free(raw);
    char *res = rc == CL_OK ? cl_buf_take(&b, NULL) : NULL;
    cl_buf_free(&b);
    return res ? res : cl_strdup("");
}

struct query_pair {
    char *name; /* encoded, owned */
    char *value;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct query_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* CanonicalQueryString: each name and value decoded then encoded once, "name=" for a
 * bare key, sorted by encoded name then value, joined with '&'. */
static int canonical_query(struct cl_buf *out, const char *query)
{
    size_t len = query ? strlen(query) : 0, n = 0;
    struct query_pair *pairs = cl_calloc(len / 2 + 1, sizeof(*pairs));
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && query[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(query + i, '=', j - i);
            size_t nl = eq ? (size_t)(eq - (query + i)) : j - i;
            pairs[n].name = reencode_component(query + i, nl);
            pairs[n++].value = eq ? reencode_component(eq + 1, query + j - eq - 1) : cl_strdup("");
        }
        i = j + 1;
    }
    qsort(pairs, n, sizeof(*pairs), cmp_pair);
    int rc = CL_OK;
    for (size_t k = 0; k < n; k++) {
        if (rc == CL_OK)
            rc = cl_buf_printf(out, "%s%s=%s", k ? "&" : "", pairs[k].name, pairs[k].value);
        free(pairs[k].name);
        free(pairs[k].value);
    }
    free(pairs);
    return rc;
}

struct hdr {
    char *name;  /* lower-case, owned */
    char *value; /* trimmed, whitespace runs collapsed, owned */
    size_t order;
};

static int cmp_hdr(const void *a, const void *b)
{
    const struct hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims v and collapses each run of white space (including folded-line breaks) to one
 * space, even inside quotes. Caller frees the result. */
static char *normalize_value(const char *v)
{
    char *out = cl_malloc(strlen(v) + 1);
    size_t n = 0;
    int pending_space = 0;
    for (; *v; v++) {
        if (is_ws(*v)) {
            pending_space = n > 0;
            continue;
        }
        if (pending_space)
            out[n++] = ' ';
        pending_space = 0;
        out[n++] = *v;
    }
    out[n] = '\0';
    return out;
}

static char *lower_dup(const char *s)
{
    char *d = cl_strdup(s);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

/* Whether the signer owns the header (it adds its own) or it is never signed. */
static int skip_header(const char *lname, const struct cl_sigv4_params *p)
{
    for (size_t i = 0; i < CL_ARRAY_LEN(SKIP_HEADERS); i++)
        if (!strcmp(lname, SKIP_HEADERS[i]))
            return 1;
    if (!strcmp(lname, "x-amz-date"))
        return 1;
    if (!strcmp(lname, "x-amz-content-sha256") && (p->flags & CL_SIGV4_CONTENT_SHA256))
        return 1;
    return !strcmp(lname, "x-amz-security-token") && p->session_token && *p->session_token;
}

static void push_hdr(struct hdr *h, size_t *n, const char *name, const char *value)
{
    h[*n].name = lower_dup(name);
    h[*n].value = normalize_value(value);
    h[*n].order = *n;
    (*n)++;
}

/* Builds CanonicalHeaders into ch and SignedHeaders into sh from the request headers
 * plus the ones the signer adds. Returns CL_ERR_INVAL when there is no Host header. */
static int canonical_headers(struct cl_buf *ch, struct cl_buf *sh,
                             const struct cl_sigv4_request *req, const struct cl_sigv4_params *p,
                             const struct cl_sigv4_result *r)
{
    struct hdr *h = cl_calloc(req->n_headers + 3, sizeof(*h));
    size_t n = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        char *lname = lower_dup(req->headers[i].name);
        if (!skip_header(lname, p))
            push_hdr(h, &n, lname, req->headers[i].value ? req->headers[i].value : "");
        free(lname);
    }
    push_hdr(h, &n, "x-amz-date", r->amz_date);
    if (p->session_token && *p->session_token && !(p->flags & CL_SIGV4_TOKEN_UNSIGNED))
        push_hdr(h, &n, "x-amz-security-token", p->session_token);
    if (p->flags & CL_SIGV4_CONTENT_SHA256)
        push_hdr(h, &n, "x-amz-content-sha256", r->payload_hash);
    qsort(h, n, sizeof(*h), cmp_hdr);
    int rc = CL_OK, has_host = 0;
    for (size_t i = 0; i < n; i++) {
        int first = i == 0 || strcmp(h[i].name, h[i - 1].name) != 0;
        int last = i + 1 == n || strcmp(h[i].name, h[i + 1].name) != 0;
        has_host |= !strcmp(h[i].name, "host");
        if (rc == CL_OK && first)
            rc = cl_buf_printf(ch, "%s:", h[i].name);
        if (rc == CL_OK)
            rc = cl_buf_printf(ch, "%s%s", h[i].value, last ? "\n" : ",");
        if (rc == CL_OK && first)
            rc = cl_buf_printf(sh, "%s%s", sh->len ? ";" : "", h[i].name);
    }
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    return rc != CL_OK ? rc : has_host ? CL_OK : CL_ERR_INVAL;
}

/* Fills r->payload_hash from the flags, a precomputed hash or the body. */
static void payload_hash(const struct cl_sigv4_request *req, unsigned flags,
                         struct cl_sigv4_result *r)
{
    if (flags & CL_SIGV4_UNSIGNED_PAYLOAD)
        snprintf(r->payload_hash, sizeof(r->payload_hash), "%s", CL_SIGV4_UNSIGNED_PAYLOAD_STR);
    else if (req->payload_hash)
        snprintf(r->payload_hash, sizeof(r->payload_hash), "%s", req->payload_hash);
    else
        cl_sigv4_sha256_hex(req->body, req->body_len, r->payload_hash);
}

/* Builds the canonical request (step 1) into r->canonical_request and r->signed_headers. */
static int build_canonical_request(const struct cl_sigv4_request *req,
                                   const struct cl_sigv4_params *p, struct cl_sigv4_result *r)
{
    struct cl_buf cr, ch, sh;
    cl_buf_init(&cr, CL_SIGV4_MAX_TEXT);
    cl_buf_init(&ch, CL_SIGV4_MAX_TEXT);
    cl_buf_init(&sh, CL_SIGV4_MAX_TEXT);
    int rc = cl_buf_printf(&cr, "%s\n", req->method);
    if (rc == CL_OK)
        rc = canonical_uri(&cr, req->path, p->flags);
    if (rc == CL_OK)
        rc = cl_buf_append_char(&cr, '\n');
    if (rc == CL_OK)
        rc = canonical_query(&cr, req->query);
    if (rc == CL_OK)
        rc = canonical_headers(&ch, &sh, req, p, r);
    if (rc == CL_OK)
        rc = cl_buf_printf(&cr, "\n%s\n%s\n%s", ch.data, sh.data, r->payload_hash);
    if (rc == CL_OK) {
        r->canonical_request = cl_buf_take(&cr, NULL);
        r->signed_headers = cl_buf_take(&sh, NULL);
    }
    cl_buf_free(&cr);
    cl_buf_free(&ch);
    cl_buf_free(&sh);
    return rc;
}

/* Returns the signing key for p at date, from p->cache when it matches. */
static void get_signing_key(const struct cl_sigv4_params *p, const char *date,
                            unsigned char key[32])
{
    struct cl_sigv4_key_cache *c = p->cache;
    unsigned char fp[32];
    SHA256((const unsigned char *)p->secret_access_key, strlen(p->secret_access_key), fp);
    if (c && c->valid && !strcmp(c->date, date) && !strcmp(c->region, p->region) &&
        !strcmp(c->service, p->service) && !memcmp(c->secret_fp, fp, 32)) {
        memcpy(key, c->key, 32);
        return;
    }
    cl_sigv4_signing_key(p->secret_access_key, date, p->region, p->service, key);
    if (c && strlen(p->region) < sizeof(c->region) && strlen(p->service) < sizeof(c->service)) {
        snprintf(c->date, sizeof(c->date), "%s", date);
        snprintf(c->region, sizeof(c->region), "%s", p->region);
        snprintf(c->service, sizeof(c->service), "%s", p->service);
        memcpy(c->secret_fp, fp, 32);
        memcpy(c->key, key, 32);
        c->valid = 1;
    }
}

/* Steps 2-5: string to sign, signature, Authorization value. */
static int finish_signature(const struct cl_sigv4_params *p, struct cl_sigv4_result *r)
{
    char date[9], scope[256], cr_hash[65];
    memcpy(date, r->amz_date, 8);
    date[8] = '\0';
    if (snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, p->region, p->service) >=
        (int)sizeof(scope))
        return CL_ERR_INVAL;
    cl_sigv4_sha256_hex(r->canonical_request, strlen(r->canonical_request), cr_hash);
    struct cl_buf b;
    cl_buf_init(&b, CL_SIGV4_MAX_TEXT);
    cl_buf_printf(&b, "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, scope, cr_hash);
    r->string_to_sign = cl_buf_take(&b, NULL);
    unsigned char key[32], sig[32];
    get_signing_key(p, date, key);
    hmac(key, 32, r->string_to_sign, sig);
    OPENSSL_cleanse(key, sizeof(key));
    to_hex(sig, 32, r->signature);
    cl_buf_printf(&b, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                  p->access_key_id, scope, r->signed_headers, r->signature);
    r->authorization = cl_buf_take(&b, NULL);
    cl_buf_free(&b);
    return CL_OK;
}

static int valid_params(const struct cl_sigv4_request *req, const struct cl_sigv4_params *p)
{
    size_t lim = CL_SIGV4_MAX_TEXT / 4;
    return req && p && req->method && p->access_key_id && p->secret_access_key && p->region &&
           p->service && *p->region && *p->service && (!req->path || strlen(req->path) < lim) &&
           (!req->query || strlen(req->query) < lim) &&
           (!req->payload_hash || strlen(req->payload_hash) == 64);
}

static void add_header(struct cl_sigv4_result *r, const char *name, const char *value)
{
    r->add[r->n_add].name = name;
    r->add[r->n_add++].value = value;
}

int cl_sigv4_sign(const struct cl_sigv4_request *req, const struct cl_sigv4_params *p,
                  struct cl_sigv4_result *out)
{
    memset(out, 0, sizeof(*out));
    struct tm tm;
    if (!valid_params(req, p) || !gmtime_r(&p->when, &tm) ||
        strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm) != 16)
        return CL_ERR_INVAL;
    payload_hash(req, p->flags, out);
    int rc = build_canonical_request(req, p, out);
    if (rc == CL_OK)
        rc = finish_signature(p, out);
    if (rc != CL_OK) {
        cl_sigv4_result_free(out);
        return rc;
    }
    add_header(out, "X-Amz-Date", out->amz_date);
    if (p->session_token && *p->session_token) {
        out->security_token = cl_strdup(p->session_token);
        add_header(out, "X-Amz-Security-Token", out->security_token);
    }
    if (p->flags & CL_SIGV4_CONTENT_SHA256)
        add_header(out, "x-amz-content-sha256", out->payload_hash);
    add_header(out, "Authorization", out->authorization);
    return CL_OK;
}

void cl_sigv4_result_free(struct cl_sigv4_result *r)
{
    free(r->canonical_request);
    free(r->string_to_sign);
    free(r->signed_headers);
    free(r->authorization);
    free(r->security_token);
    memset(r, 0, sizeof(*r));
}
