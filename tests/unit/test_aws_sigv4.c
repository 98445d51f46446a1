/* test_aws_sigv4.c - SigV4 signer against AWS's signing test suite, S3 rules and tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "common.h"
#include "json.h"
#include "sigv4.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_HDRS 64

/* A raw HTTP request as the suites write it; every string is owned (free_req). */
struct raw_req {
    char *method, *path, *query, *body;
    size_t body_len, n;
    char *names[MAX_HDRS], *values[MAX_HDRS];
};

/* Reads a whole file; caller frees. NULL when absent. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct cl_buf b;
    cl_buf_init(&b, 64u << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(cl_buf_append(&b, chunk, n), CL_OK);
    fclose(f);
    cl_buf_append(&b, "", 0);
    if (len)
        *len = b.len;
    return cl_buf_take(&b, NULL);
}

static void free_req(struct raw_req *r)
{
    free(r->method);
    free(r->path);
    free(r->query);
    free(r->body);
    for (size_t i = 0; i < r->n; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    memset(r, 0, sizeof(*r));
}

/* Splits "METHOD SP target SP HTTP/1.1" (the target may contain spaces: get-space). */
static int parse_request_line(struct raw_req *r, const char *line, size_t len)
{
    const char *sp1 = memchr(line, ' ', len), *sp2 = line + len;
    while (sp2 > line && *--sp2 != ' ')
        ;
    if (!sp1 || sp2 <= sp1)
        return -1;
    r->method = cl_strndup(line, (size_t)(sp1 - line));
    const char *target = sp1 + 1, *q = memchr(target, '?', (size_t)(sp2 - target));
    r->path = cl_strndup(target, (size_t)((q ? q : sp2) - target));
    r->query = q ? cl_strndup(q + 1, (size_t)(sp2 - q - 1)) : NULL;
    return 0;
}

/* Adds a "Name:value" line; a line starting with white space continues the previous
 * value, kept raw with its line break (obs-fold) so the signer must normalise it. */
static int parse_header_line(struct raw_req *r, const char *line, size_t len)
{
    if ((line[0] == ' ' || line[0] == '\t') && r->n > 0) {
        char *prev = r->values[r->n - 1];
        size_t pl = strlen(prev);
        char *v = cl_malloc(pl + 1 + len + 1);
        memcpy(v, prev, pl);
        v[pl] = '\n';
        memcpy(v + pl + 1, line, len);
        v[pl + 1 + len] = '\0';
        free(prev);
        r->values[r->n - 1] = v;
        return 0;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon || r->n == MAX_HDRS)
        return -1;
    r->names[r->n] = cl_strndup(line, (size_t)(colon - line));
    r->values[r->n++] = cl_strndup(colon + 1, (size_t)(line + len - colon - 1));
    return 0;
}

/* Parses the suites' request format: request line, header lines, empty line, body. */
static int parse_request(const char *text, size_t len, struct raw_req *r)
{
    memset(r, 0, sizeof(*r));
    size_t pos = 0;
    int line_no = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, l = end - pos;
        if (l > 0 && text[pos + l - 1] == '\r')
            l--;
        int rc = 0;
        if (line_no++ == 0)
            rc = parse_request_line(r, text + pos, l);
        else if (l == 0) {
            pos = end + 1;
            break;
        } else
            rc = parse_header_line(r, text + pos, l);
        if (rc != 0)
            return -1;
        pos = end + 1;
    }
    r->body_len = pos < len ? len - pos : 0;
    r->body = cl_strndup(pos < len ? text + pos : "", r->body_len);
    return r->method ? 0 : -1;
}

/* Returns the index of header `name` (case-insensitive) or -1. */
static int find_header(const struct raw_req *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcasecmp(r->names[i], name))
            return (int)i;
    return -1;
}

/* Parses YYYYMMDDTHHMMSSZ into UTC seconds. */
static time_t parse_amz_date(const char *s)
{
    struct tm tm = {0};
    assert_non_null(strptime(s, "%Y%m%dT%H%M%SZ", &tm));
    return timegm(&tm);
}

/* The aws4_testsuite's fixed signer inputs (testdata/sigv4/README.md, "Common parameters"). */
#define SUITE_AKID "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
/* get-vanilla-with-session-token's .req carries no token; the value signed is the one its
 * .creq shows, which is also what botocore's suite runner passes for that case. */
#define SUITE_TOKEN "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
/* That case's .sreq is inconsistent with its own .authz (its Signature is a rotation of
 * the token): a defect of the suite, so its signed request is compared minus that line. */
#define SUITE_BAD_SREQ "get-vanilla-with-session-token"

/* Compares got with the expected file's bytes; prints both on mismatch. Returns 1 if equal. */
static int same_as_file(const char *dir, const char *name, const char *ext, const char *got)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
    char *want = read_file(path, NULL);
    int ok = want && strcmp(want, got) == 0;
    if (!ok)
        print_message("  %s.%s differs\n  --- want\n%s\n  --- got\n%s\n", name, ext,
                      want ? want : "(missing)", got);
    free(want);
    return ok;
}

static char *trim_dup(const char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        n--;
    return cl_strndup(s, n);
}

/* Whether (name, value) matches an unused entry of the signed headers we would send. */
static int take_header(const char *name, const char *value, const struct cl_sigv4_header *h,
                       size_t n, int *used)
{
    char *v = trim_dup(value);
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) {
        char *hv = trim_dup(h[i].value);
        if (!used[i] && !strcasecmp(h[i].name, name) && !strcmp(hv, v))
            found = used[i] = 1;
        free(hv);
    }
    free(v);
    return found;
}

/* Checks the .sreq (order-insensitive by header, as aws-c-auth compares): our request's
 * headers minus those the signer replaces, plus the signer's, must equal the file's. */
static int same_sreq(const char *dir, const char *name, const struct raw_req *req,
                     const struct cl_sigv4_result *res)
{
    char path[4096];
    size_t len;
    snprintf(path, sizeof(path), "%s/%s.sreq", dir, name);
    char *text = read_file(path, &len);
    struct raw_req want;
    if (!text || parse_request(text, len, &want) != 0) {
        free(text);
        return 0;
    }
    struct cl_sigv4_header h[MAX_HDRS + CL_SIGV4_MAX_ADD];
    size_t n = 0;
    for (size_t i = 0; i < req->n; i++) {
        int replaced = 0;
        for (size_t k = 0; k < res->n_add; k++)
            replaced |= !strcasecmp(req->names[i], res->add[k].name);
        if (!replaced)
            h[n++] = (struct cl_sigv4_header){req->names[i], req->values[i]};
    }
    for (size_t k = 0; k < res->n_add; k++)
        h[n++] = res->add[k];
    int used[MAX_HDRS + CL_SIGV4_MAX_ADD] = {0}, ok = 1, skip_authz = !strcmp(name, SUITE_BAD_SREQ);
    size_t matched = 0;
    for (size_t i = 0; i < want.n; i++) {
        if (skip_authz && !strcasecmp(want.names[i], "Authorization"))
            continue;
        int hit = take_header(want.names[i], want.values[i], h, n, used);
        if (!hit)
            print_message("  %s.sreq: header %s:%s not produced\n", name, want.names[i],
                          want.values[i]);
        ok &= hit;
        matched += (size_t)hit;
    }
    ok &= matched + (size_t)skip_authz == n;
    free_req(&want);
    free(text);
    return ok;
}

/* Token handling per case, as the suite's notes say (post-sts-token/readme.txt). */
static const char *suite_token(const char *dir, const char *name, const struct raw_req *req,
                               unsigned *flags, char **owned)
{
    *owned = NULL;
    if (strstr(name, "session-token"))
        return SUITE_TOKEN;
    int i = find_header(req, "X-Amz-Security-Token");
    if (i >= 0) /* post-sts-header-before: the token is signed */
        return req->values[i];
    if (strcmp(name, "post-sts-header-after") != 0)
        return NULL;
    /* post-sts-header-after: the token goes on after signing; take it from the .sreq. */
    char path[4096];
    size_t len;
    struct raw_req sreq;
    snprintf(path, sizeof(path), "%s/%s.sreq", dir, name);
    char *text = read_file(path, &len);
    assert_non_null(text);
    assert_int_equal(parse_request(text, len, &sreq), 0);
    int t = find_header(&sreq, "X-Amz-Security-Token");
    assert_true(t >= 0);
    *owned = cl_strdup(sreq.values[t]);
    free_req(&sreq);
    free(text);
    *flags |= CL_SIGV4_TOKEN_UNSIGNED;
    return *owned;
}

/* Signs one aws4_testsuite case; returns 1 when canonical request, string to sign,
 * Authorization and signed request all match byte for byte. */
static int run_suite_case(const char *dir, const char *name)
{
    char path[4096];
    size_t len;
    snprintf(path, sizeof(path), "%s/%s.req", dir, name);
    char *text = read_file(path, &len);
    struct raw_req req;
    assert_non_null(text);
    assert_int_equal(parse_request(text, len, &req), 0);
    struct cl_sigv4_header h[MAX_HDRS];
    for (size_t i = 0; i < req.n; i++)
        h[i] = (struct cl_sigv4_header){req.names[i], req.values[i]};
    int d = find_header(&req, "X-Amz-Date");
    assert_true(d >= 0);
    struct cl_sigv4_params p = {SUITE_AKID,  SUITE_SECRET, NULL,
                                "us-east-1", "service",    parse_amz_date(req.values[d]),
                                0,           NULL};
    char *owned_token;
    p.session_token = suite_token(dir, name, &req, &p.flags, &owned_token);
    struct cl_sigv4_request r = {req.method, req.path, req.query,    h,
                                 req.n,      req.body, req.body_len, NULL};
    struct cl_sigv4_result res;
    int ok = cl_sigv4_sign(&r, &p, &res) == CL_OK;
    if (ok) {
        ok &= same_as_file(dir, name, "creq", res.canonical_request);
        ok &= same_as_file(dir, name, "sts", res.string_to_sign);
        ok &= same_as_file(dir, name, "authz", res.authorization);
        ok &= same_sreq(dir, name, &req, &res);
        cl_sigv4_result_free(&res);
    }
    free(owned_token);
    free_req(&req);
    free(text);
    return ok;
}

/* Collects "<dir>/<name>" case directories (those holding <name>.req) under root. */
static void find_cases(const char *root, char ***list, size_t *n)
{
    DIR *dir = opendir(root);
    if (!dir)
        return;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096], req[8192];
        struct stat st;
        snprintf(sub, sizeof(sub), "%s/%s", root, e->d_name);
        if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        snprintf(req, sizeof(req), "%s/%s.req", sub, e->d_name);
        if (stat(req, &st) == 0) {
            *list = cl_realloc(*list, (*n + 1) * sizeof(**list));
            (*list)[(*n)++] = cl_strdup(sub);
        } else {
            find_cases(sub, list, n);
        }
    }
    closedir(dir);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns $CL_TESTDATA_DIR/sigv4/<sub> if present; otherwise skips, but fails when CI=true,
 * except for data that exists only in the project's shared/testdata (our s3/ cases) on
 * GitHub Actions, whose CI lays out only the public upstream suites
 * (scripts/testdata_layout.sh). */
static void testdata_dir(const char *sub, int only_here, char *out, size_t size)
{
    const char *base = getenv("CL_TESTDATA_DIR");
    snprintf(out, size, "%s/sigv4/%s", base ? base : "(CL_TESTDATA_DIR unset)", sub);
    DIR *probe = base ? opendir(out) : NULL;
    if (!probe) {
        const char *ci = getenv("CI");
        const char *gh = getenv("GITHUB_ACTIONS");
        int on_github = gh && strcmp(gh, "true") == 0;
        if (ci && strcmp(ci, "true") == 0 && !(only_here && on_github))
            fail_msg("SigV4 test suite not found at %s (required when CI=true)", out);
        if (only_here && on_github)
            print_message("SKIPPED: %s: the S3 signing cases exist only in the project's "
                          "shared/testdata, not in a public upstream\n",
                          out);
        print_message("SKIPPED: SigV4 test suite not found at %s\n", out);
        skip();
    }
    closedir(probe);
}

static void test_aws4_testsuite(void **state)
{
    char root[4096];
    testdata_dir("aws4_testsuite", 0, root, sizeof(root));
    char **cases = NULL;
    size_t n = 0, passed = 0;
    find_cases(root, &cases, &n);
    qsort(cases, n, sizeof(*cases), cmp_str);
    for (size_t i = 0; i < n; i++) {
        const char *name = strrchr(cases[i], '/') + 1;
        int ok = run_suite_case(cases[i], name);
        print_message("%s | aws4_testsuite/%s\n", ok ? "PASS" : "FAIL",
                      cases[i] + strlen(root) + 1);
        passed += (size_t)ok;
        free(cases[i]);
    }
    free(cases);
    print_message("aws4_testsuite: %zu of %zu cases passed\n", passed, n);
    assert_true(n >= 34); /* the suite as copied has 34 cases (testdata/sigv4/README.md) */
    assert_int_equal(passed, n);
}

/* Returns the member `key` of the JSON object text[0..len) in *val; 1 if found. */
static int json_member(const char *text, size_t len, const char *key, struct cl_json_value *val)
{
    struct cl_json_reader r;
    struct cl_json_value k;
    cl_json_reader_init(&r, text, len, 0);
    assert_int_equal(cl_json_object_open(&r), 0);
    int rc;
    while ((rc = cl_json_object_next(&r, &k, val)) == 1)
        if (k.len == strlen(key) + 2 && !memcmp(k.ptr + 1, key, strlen(key)))
            return 1;
    assert_int_equal(rc, 0);
    return 0;
}

/* A string member as a C string (caller frees), or NULL when absent. */
static char *json_string(const char *text, size_t len, const char *key)
{
    struct cl_json_value v;
    if (!json_member(text, len, key, &v) || v.type != CL_JSON_STRING)
        return NULL;
    char *s = cl_malloc(v.len + 1);
    s[cl_json_unescape(&v, s)] = '\0';
    return s;
}

static int json_true(const char *text, size_t len, const char *key)
{
    struct cl_json_value v;
    return json_member(text, len, key, &v) && v.type == CL_JSON_TRUE;
}

/* Signer inputs from an s3/<case>/context.json (testdata/sigv4/README.md). */
struct s3_context {
    char *akid, *secret, *token, *region, *service, *timestamp;
    unsigned flags;
};

static void load_s3_context(const char *dir, struct s3_context *c)
{
    char path[4096];
    size_t len, clen;
    snprintf(path, sizeof(path), "%s/context.json", dir);
    char *text = read_file(path, &len);
    assert_non_null(text);
    struct cl_json_value cred;
    assert_true(json_member(text, len, "credentials", &cred));
    clen = cred.len;
    c->akid = json_string(cred.ptr, clen, "access_key_id");
    c->secret = json_string(cred.ptr, clen, "secret_access_key");
    c->token = json_string(cred.ptr, clen, "token");
    c->region = json_string(text, len, "region");
    c->service = json_string(text, len, "service");
    c->timestamp = json_string(text, len, "timestamp");
    c->flags = 0;
    c->flags |= json_true(text, len, "double_uri_encode") ? 0 : CL_SIGV4_NO_DOUBLE_ENCODE;
    c->flags |= json_true(text, len, "normalize") ? 0 : CL_SIGV4_NO_NORMALIZE;
    c->flags |= json_true(text, len, "sign_body") ? CL_SIGV4_CONTENT_SHA256 : 0;
    c->flags |= json_true(text, len, "unsigned_payload") ? CL_SIGV4_UNSIGNED_PAYLOAD : 0;
    c->flags |= json_true(text, len, "omit_session_token") ? CL_SIGV4_TOKEN_UNSIGNED : 0;
    free(text);
}

static void free_s3_context(struct s3_context *c)
{
    free(c->akid);
    free(c->secret);
    free(c->token);
    free(c->region);
    free(c->service);
    free(c->timestamp);
}

static int same_as_named_file(const char *dir, const char *file, const char *got)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    char *want = read_file(path, NULL);
    int ok = want && strcmp(want, got) == 0;
    if (!ok)
        print_message("  %s differs\n  --- want\n%s\n  --- got\n%s\n", file,
                      want ? want : "(missing)", got);
    free(want);
    return ok;
}

/* Signs one s3/<case> (header signing) and compares the three expected files. */
static int run_s3_case(const char *dir)
{
    struct s3_context c;
    struct raw_req req;
    char path[4096];
    size_t len;
    load_s3_context(dir, &c);
    snprintf(path, sizeof(path), "%s/request.txt", dir);
    char *text = read_file(path, &len);
    assert_non_null(text);
    assert_int_equal(parse_request(text, len, &req), 0);
    struct cl_sigv4_header h[MAX_HDRS];
    for (size_t i = 0; i < req.n; i++)
        h[i] = (struct cl_sigv4_header){req.names[i], req.values[i]};
    struct tm tm = {0};
    assert_non_null(strptime(c.timestamp, "%Y-%m-%dT%H:%M:%SZ", &tm));
    struct cl_sigv4_params p = {c.akid,    c.secret,    c.token, c.region,
                                c.service, timegm(&tm), c.flags, NULL};
    struct cl_sigv4_request r = {req.method, req.path, req.query,    h,
                                 req.n,      req.body, req.body_len, NULL};
    struct cl_sigv4_result res;
    int ok = cl_sigv4_sign(&r, &p, &res) == CL_OK;
    if (ok) {
        ok &= same_as_named_file(dir, "header-canonical-request.txt", res.canonical_request);
        ok &= same_as_named_file(dir, "header-string-to-sign.txt", res.string_to_sign);
        ok &= same_as_named_file(dir, "header-signature.txt", res.signature);
        cl_sigv4_result_free(&res);
    }
    free_req(&req);
    free(text);
    free_s3_context(&c);
    return ok;
}

static void test_s3_vectors(void **state)
{
    char root[4096];
    testdata_dir("s3", 1, root, sizeof(root));
    char **cases = NULL;
    size_t n = 0, passed = 0;
    DIR *d = opendir(root);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        cases = cl_realloc(cases, (n + 1) * sizeof(*cases));
        cases[n] = cl_malloc(strlen(root) + strlen(e->d_name) + 2);
        sprintf(cases[n++], "%s/%s", root, e->d_name);
    }
    closedir(d);
    qsort(cases, n, sizeof(*cases), cmp_str);
    for (size_t i = 0; i < n; i++) {
        int ok = run_s3_case(cases[i]);
        print_message("%s | s3/%s\n", ok ? "PASS" : "FAIL", strrchr(cases[i], '/') + 1);
        passed += (size_t)ok;
        free(cases[i]);
    }
    free(cases);
    print_message("s3: %zu of %zu cases passed\n", passed, n);
    assert_true(n >= 8);
    assert_int_equal(passed, n);
}

/* Inline vectors: these run without the test data directory. */
#define DOC_AKID "AKIAIOSFODNN7EXAMPLE"
#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DOC_TIME ((time_t)1369353600) /* 20130524T000000Z */
#define BOTO_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define BOTO_TOKEN "FQoGZXIvYXdzEXAMPLETOKEN/abc+def=="
#define BOTO_TIME ((time_t)1704164645) /* 20240102T030405Z */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const char *added(const struct cl_sigv4_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_add; i++)
        if (!strcasecmp(r->add[i].name, name))
            return r->add[i].value;
    return NULL;
}

/* Amazon S3 API Reference, "Signature Calculations for the Authorization Header:
 * Transferring Payload in a Single Chunk", example GET Object (also in
 * docs/aws-reference.md section 5): signature f0e8bdb8...b41. */
static void test_s3_doc_get_object(void **state)
{
    struct cl_sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                                  {"Range", "bytes=0-9"}};
    struct cl_sigv4_request r = {"GET", "/test.txt", NULL, h, 2, NULL, 0, NULL};
    struct cl_sigv4_params p = {DOC_AKID, DOC_SECRET, NULL,        "us-east-1",
                                "s3",     DOC_TIME,   CL_SIGV4_S3, NULL};
    struct cl_sigv4_result res;
    assert_int_equal(cl_sigv4_sign(&r, &p, &res), CL_OK);
    assert_string_equal(res.signature,
                        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    assert_string_equal(res.signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
    assert_string_equal(added(&res, "x-amz-content-sha256"), EMPTY_SHA256);
    assert_string_equal(added(&res, "X-Amz-Date"), "20130524T000000Z");
    assert_null(added(&res, "X-Amz-Security-Token"));
    cl_sigv4_result_free(&res);
}

/* Same page, example PUT Object: key "test$file.text" is encoded once on the wire
 * (/test%24file.text) and S3 must not encode it again; signature 98ad7217...8bd. */
static void test_s3_doc_put_object_single_encoding(void **state)
{
    struct cl_sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                                  {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                                  {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
    const char *body = "Welcome to Amazon S3.";
    struct cl_sigv4_request r = {"PUT", "/test%24file.text", NULL, h, 3, body, strlen(body), NULL};
    struct cl_sigv4_params p = {DOC_AKID, DOC_SECRET, NULL,        "us-east-1",
                                "s3",     DOC_TIME,   CL_SIGV4_S3, NULL};
    struct cl_sigv4_result res;
    assert_int_equal(cl_sigv4_sign(&r, &p, &res), CL_OK);
    assert_string_equal(res.signature,
                        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    assert_non_null(strstr(res.canonical_request, "PUT\n/test%24file.text\n"));
    cl_sigv4_result_free(&res);
    /* With non-S3 rules the same wire path is encoded a second time. */
    p.flags = CL_SIGV4_CONTENT_SHA256;
    assert_int_equal(cl_sigv4_sign(&r, &p, &res), CL_OK);
    assert_non_null(strstr(res.canonical_request, "PUT\n/test%2524file.text\n"));
    cl_sigv4_result_free(&res);
}

/* Expected values computed with botocore 1.43.11's S3SigV4Auth (this machine's Python),
 * URL https://logs-bucket.s3.eu-west-1.amazonaws.com/raw/a%20b%25c//x.gz
 * ?partNumber=2&uploadId=ab%2Fc%3D, body "hello", payload signing disabled
 * (s3.payload_signing_enabled=False), session token BOTO_TOKEN, 20240102T030405Z. */
static void test_s3_unsigned_payload_session_token_botocore(void **state)
{
    struct cl_sigv4_header h[] = {{"Host", "logs-bucket.s3.eu-west-1.amazonaws.com"}};
    struct cl_sigv4_request r = {
        "PUT", "/raw/a%20b%25c//x.gz", "partNumber=2&uploadId=ab%2Fc%3D", h, 1, "hello", 5, NULL};
    struct cl_sigv4_params p = {"AKIDEXAMPLE",
                                BOTO_SECRET,
                                BOTO_TOKEN,
                                "eu-west-1",
                                "s3",
                                BOTO_TIME,
                                CL_SIGV4_S3 | CL_SIGV4_UNSIGNED_PAYLOAD,
                                NULL};
    struct cl_sigv4_result res;
    assert_int_equal(cl_sigv4_sign(&r, &p, &res), CL_OK);
    assert_string_equal(res.canonical_request,
                        "PUT\n/raw/a%20b%25c//x.gz\npartNumber=2&uploadId=ab%2Fc%3D\n"
                        "host:logs-bucket.s3.eu-west-1.amazonaws.com\n"
                        "x-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:20240102T030405Z\n"
                        "x-amz-security-token:" BOTO_TOKEN "\n\n"
                        "host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n"
                        "UNSIGNED-PAYLOAD");
    assert_string_equal(res.string_to_sign, "AWS4-HMAC-SHA256\n20240102T030405Z\n"
                                            "20240102/eu-west-1/s3/aws4_request\n"
                                            "a74d92200ad67fb88ba421437c8d658cfc32dfadf125465ad"
                                            "137598bdb350b59");
    assert_string_equal(res.signature,
                        "25c55b3bccd060fb146d5bb2ba2b42703375255630cd8fdbf5ca0b228b80ad5d");
    assert_string_equal(added(&res, "x-amz-content-sha256"), CL_SIGV4_UNSIGNED_PAYLOAD_STR);
    assert_string_equal(added(&res, "X-Amz-Security-Token"), BOTO_TOKEN);
    cl_sigv4_result_free(&res);
}

/* botocore 1.43.11 S3SigV4Auth, same URL without query, no token, signed body "hello"
 * (x-amz-content-sha256 = SHA-256("hello")). */
static void test_s3_signed_payload_botocore(void **state)
{
    struct cl_sigv4_header h[] = {{"Host", "logs-bucket.s3.eu-west-1.amazonaws.com"}};
    struct cl_sigv4_request r = {"PUT", "/raw/a%20b%25c//x.gz", NULL, h, 1, "hello", 5, NULL};
    struct cl_sigv4_params p = {"AKIDEXAMPLE", BOTO_SECRET, NULL,        "eu-west-1",
                                "s3",          BOTO_TIME,   CL_SIGV4_S3, NULL};
    struct cl_sigv4_result res;
    assert_int_equal(cl_sigv4_sign(&r, &p, &res), CL_OK);
    assert_string_equal(added(&res, "x-amz-content-sha256"),
                        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_string_equal(res.signature,
                        "66020e7db2f20b952c169ab1b6c04af199cf00c4f842f024ab6a82633ed8d597");
    cl_sigv4_result_free(&res);
    /* A precomputed payload hash (streamed bodies) gives the same signature. */
    r.body = NULL;
    r.body_len = 0;
    r.payload_hash = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    assert_int_equal(cl_sigv4_sign(&r, &p, &res), CL_OK);
    assert_string_equal(res.signature,
                        "66020e7db2f20b952c169ab1b6c04af199cf00c4f842f024ab6a82633ed8d597");
    cl_sigv4_result_free(&res);
}

/* botocore 1.43.11 SigV4Auth (non-S3), service "service", eu-west-1, URL
 * https://example.eu-west-1.amazonaws.com/a%20b/./c//d?b=2&a=1: normalised, then the
 * wire "%20" double-encoded to "%2520"; signature 27eea9da...883. */
static void test_double_encoding_botocore(void **state)
{
    struct cl_sigv4_header h[] = {{"Host", "example.eu-west-1.amazonaws.com"}};
    struct cl_sigv4_request r = {"GET", "/a%20b/./c//d", "b=2&a=1", h, 1, NULL, 0, NULL};
    struct cl_sigv4_params p = {"AKIDEXAMPLE", BOTO_SECRET, NULL, "eu-west-1",
                                "service",     BOTO_TIME,   0,    NULL};
    struct cl_sigv4_result res;
    assert_int_equal(cl_sigv4_sign(&r, &p, &res), CL_OK);
    assert_non_null(strstr(res.canonical_request, "GET\n/a%2520b/c/d\na=1&b=2\n"));
    assert_string_equal(res.signature,
                        "27eea9da2133d4183855aead8a9e2864e66a1b6580b81b00ad47d0c77914b883");
    assert_int_equal(res.n_add, 2); /* X-Amz-Date, Authorization */
    cl_sigv4_result_free(&res);
}

/* The cached signing key is reused for the same day/region/service/secret and
 * re-derived when any of them changes. */
static void test_signing_key_cache(void **state)
{
    struct cl_sigv4_key_cache cache = {0};
    struct cl_sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                                  {"Range", "bytes=0-9"}};
    struct cl_sigv4_request r = {"GET", "/test.txt", NULL, h, 2, NULL, 0, NULL};
    struct cl_sigv4_params p = {DOC_AKID, DOC_SECRET, NULL,        "us-east-1",
                                "s3",     DOC_TIME,   CL_SIGV4_S3, &cache};
    struct cl_sigv4_result res;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cl_sigv4_sign(&r, &p, &res), CL_OK);
        assert_true(cache.valid);
        assert_string_equal(res.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91"
                                           "039c6036bdb41");
        cl_sigv4_result_free(&res);
    }
    p.secret_access_key = BOTO_SECRET; /* rotated credentials must not reuse the key */
    assert_int_equal(cl_sigv4_sign(&r, &p, &res), CL_OK);
    assert_string_not_equal(res.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd9"
                                           "1039c6036bdb41");
    cl_sigv4_result_free(&res);
}

static void test_rejects_bad_input(void **state)
{
    struct cl_sigv4_header h[] = {{"Range", "bytes=0-9"}};
    struct cl_sigv4_request r = {"GET", "/", NULL, h, 1, NULL, 0, NULL};
    struct cl_sigv4_params p = {DOC_AKID, DOC_SECRET, NULL, "us-east-1", "s3", DOC_TIME, 0, NULL};
    struct cl_sigv4_result res;
    assert_int_equal(cl_sigv4_sign(&r, &p, &res), CL_ERR_INVAL); /* no Host */
    assert_null(res.canonical_request);
    h[0] = (struct cl_sigv4_header){"host", "x"};
    p.region = "";
    assert_int_equal(cl_sigv4_sign(&r, &p, &res), CL_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws4_testsuite),
        cmocka_unit_test(test_s3_vectors),
        cmocka_unit_test(test_s3_doc_get_object),
        cmocka_unit_test(test_s3_doc_put_object_single_encoding),
        cmocka_unit_test(test_s3_unsigned_payload_session_token_botocore),
        cmocka_unit_test(test_s3_signed_payload_botocore),
        cmocka_unit_test(test_double_encoding_botocore),
        cmocka_unit_test(test_signing_key_cache),
        cmocka_unit_test(test_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
