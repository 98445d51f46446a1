/* test_store_s3.c - S3 store and AWS HTTP client against moto_server with SigV4 verification:
 * put/get/list/delete/move, multipart (also through tests/tools/faultproxy.py), conditional
 * put, sweep, URL options, retries. */
#include "common.h"
#include "credentials.h"
#include "http.h"
#include "moto_test.h"
#include "sigv4.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUCKET "cl-test-bucket"
/* The multipart options of the tests below, for the empty-element test above them. */
#define MP_OPTS_EARLY "&multipart_threshold=5MiB&part_size=5MiB"

/* moto 5.2.1 verifies S3 signatures against werkzeug's re-quoted path and query
 * (request.full_path), not the wire form: keys with = ! $ & ' ( ) * + , ; : @ % and list
 * prefixes with '/' fail verification for boto3 as well as for us. Such keys run on a
 * second moto without verification; everything else runs with it. */
static struct cl_moto m_auth = CL_MOTO_INIT, m_open = CL_MOTO_INIT;
static int moto_port; /* of m_auth */
static int moto_ok;   /* 1 once both run and m_auth has an IAM user whose key we hold */
static char akid[128], secret[128];
static char tmpdir[512];

/* Runs a boto3 snippet against moto at port (m_auth's or m_open's). */
static int run_py(int port, const char *code, char *out, size_t out_len)
{
    struct cl_moto at = {-1, port};
    return cl_moto_python(&at, tmpdir, code, out, out_len);
}

/* After cl_moto_iam_setup: the bucket, created with that key (so signature-checked). */
static const char setup_py[] = "client('s3').create_bucket(Bucket='" BUCKET "')\n";

static const char open_setup_py[] =
    "boto3.client('s3', endpoint_url=E, region_name='us-east-1', aws_access_key_id='x',\n"
    "             aws_secret_access_key='y').create_bucket(Bucket='" BUCKET "')\n";

static int group_teardown(void **state)
{
    cl_moto_stop(&m_auth);
    cl_moto_stop(&m_open);
    return 0;
}

static int group_setup(void **state)
{
    const char *t = getenv("CL_TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s", t ? t : "/tmp");
    int avail = cl_moto_available("S3 tests");
    if (avail <= 0)
        return avail;
    char out[512] = "", log_auth[600], log_open[600];
    snprintf(log_auth, sizeof log_auth, "%s/moto_s3_auth.log", tmpdir);
    snprintf(log_open, sizeof log_open, "%s/moto_s3_open.log", tmpdir);
    if (cl_moto_start_verified(&m_auth, tmpdir, log_auth, akid, secret) != 0)
        return -1;
    if (cl_moto_start(&m_open, 0, log_open) != 0) {
        fprintf(stderr, "moto_server did not start (see %s)\n", log_open);
        return group_teardown(state) - 1;
    }
    moto_port = m_auth.port;
    if (run_py(m_auth.port, setup_py, out, sizeof out) != 0 ||
        run_py(m_open.port, open_setup_py, out, sizeof out) != 0) {
        fprintf(stderr, "moto bucket setup failed: %s\n", out);
        return group_teardown(state) - 1;
    }
    moto_ok = 1;
    return 0;
}

#define NEED_MOTO()                                                                                \
    do {                                                                                           \
        if (!moto_ok)                                                                              \
            skip();                                                                                \
    } while (0)

/* Opens s3://BUCKET/prefix at moto m with extra options (may be ""). */
static void open_at(struct cl_store *s, const struct cl_moto *m, const char *prefix,
                    const char *extra)
{
    char url[512], err[256] = "";
    snprintf(url, sizeof url, "s3://" BUCKET "/%s?endpoint=http://127.0.0.1:%d&path_style=1%s",
             prefix, m->port, extra);
    int rc = cl_store_open(s, url, err, sizeof err);
    if (rc != CL_OK)
        fail_msg("cl_store_open(%s): %s", url, err);
}

/* On the verifying moto. */
static void open_s3(struct cl_store *s, const char *prefix, const char *extra)
{
    open_at(s, &m_auth, prefix, extra);
}

static void assert_get(struct cl_store *s, const char *key, const void *want, size_t len)
{
    struct cl_buf b;
    cl_buf_init(&b, 64 << 20);
    assert_int_equal(cl_store_get(s, key, &b), CL_OK);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data ? b.data : "", want, len);
    cl_buf_free(&b);
}

static int get_rc(struct cl_store *s, const char *key)
{
    struct cl_buf b;
    cl_buf_init(&b, 1 << 20);
    int rc = cl_store_get(s, key, &b);
    cl_buf_free(&b);
    return rc;
}

/* Collects listed keys as "key:size\n" lines. */
static int collect(void *arg, const char *key, uint64_t size)
{
    struct cl_buf *b = arg;
    cl_buf_printf(b, "%s:%llu\n", key, (unsigned long long)size);
    return 0;
}

static void test_put_get_delete(void **state)
{
    NEED_MOTO();
    struct cl_store s;
    open_s3(&s, "pg", "");
    size_t n = 300000;
    unsigned char *data = cl_malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 131 + (i >> 9));
    const char *key = "service-api/dt-2026-11-25/hour-15/obj_1.~x.bin";
    assert_int_equal(cl_store_put(&s, key, data, n), CL_OK);
    assert_get(&s, key, data, n);
    assert_int_equal(cl_store_put(&s, "empty", "", 0), CL_OK);
    assert_get(&s, "empty", "", 0);
    assert_int_equal(get_rc(&s, "missing/key"), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_store_delete(&s, key), CL_OK);
    assert_int_equal(get_rc(&s, key), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_store_delete(&s, key), CL_OK); /* missing: still OK */
    assert_int_equal(cl_store_put(&s, "../x", "a", 1), CL_ERR_INVAL);
    /* A bounded reader gets CL_ERR_TOO_LARGE, not a truncated object. */
    assert_int_equal(cl_store_put(&s, "big", data, 5000), CL_OK);
    struct cl_buf small;
    cl_buf_init(&small, 100);
    assert_int_equal(cl_store_get(&s, "big", &small), CL_ERR_TOO_LARGE);
    cl_buf_free(&small);
    free(data);
    cl_store_close(&s);
}

/* Keys needing URI encoding and XML escaping, and store prefixes (list prefixes with '/'),
 * on the non-verifying moto (see the note at the top). */
static void test_special_keys_and_prefixes(void **state)
{
    NEED_MOTO();
    struct cl_store a, b;
    open_at(&a, &m_open, "lp/one", "");
    open_at(&b, &m_open, "lp/one-other", "");
    const char *odd = "service=api/dt=1/a b+c&d<e>'\"~!$%(x)*,;:@.bin";
    assert_int_equal(cl_store_put(&a, "dt=1/b", "bb", 2), CL_OK);
    assert_int_equal(cl_store_put(&a, odd, "a", 1), CL_OK);
    assert_int_equal(cl_store_put(&a, "dt=2/c", "ccc", 3), CL_OK);
    assert_int_equal(cl_store_put(&b, "dt=1/zzz", "z", 1), CL_OK);
    assert_get(&a, odd, "a", 1);
    struct cl_buf got;
    cl_buf_init(&got, 1 << 20);
    assert_int_equal(cl_store_list(&a, "", collect, &got), CL_OK);
    assert_string_equal(got.data, "dt=1/b:2\ndt=2/c:3\n"
                                  "service=api/dt=1/a b+c&d<e>'\"~!$%(x)*,;:@.bin:1\n");
    cl_buf_reset(&got);
    assert_int_equal(cl_store_list(&a, "dt=2/", collect, &got), CL_OK);
    assert_string_equal(got.data, "dt=2/c:3\n");
    cl_buf_reset(&got);
    assert_int_equal(cl_store_list(&a, "dt=9/", collect, &got), CL_OK);
    assert_int_equal(got.len, 0);
    assert_int_equal(cl_store_move(&a, odd, "moved/x&y=1"), CL_OK);
    assert_get(&a, "moved/x&y=1", "a", 1);
    assert_int_equal(get_rc(&a, odd), CL_ERR_NOT_FOUND);
    cl_buf_free(&got);
    cl_store_close(&a);
    cl_store_close(&b);
}

static int count_and_check(void *arg, const char *key, uint64_t size)
{
    int *n = arg;
    char want[64];
    snprintf(want, sizeof want, "page-%05d", *n);
    if (strcmp(key, want) != 0 || size != strlen(want))
        return 99;
    (*n)++;
    return 0;
}

static int stop_at_3(void *arg, const char *key, uint64_t size)
{
    return ++*(int *)arg == 3 ? 42 : 0;
}

/* 1,005 objects: two pages of S3's default 1,000, and 101 pages of 10, all verified. */
static void test_list_pagination(void **state)
{
    NEED_MOTO();
    struct cl_store s, small;
    open_s3(&s, "", "");
    open_s3(&small, "", "&max_keys=10");
    char key[64];
    for (int i = 0; i < 1005; i++) {
        snprintf(key, sizeof key, "page-%05d", i);
        assert_int_equal(cl_store_put(&s, key, key, strlen(key)), CL_OK);
    }
    int n = 0;
    assert_int_equal(cl_store_list(&s, "page-", count_and_check, &n), CL_OK);
    assert_int_equal(n, 1005);
    n = 0;
    assert_int_equal(cl_store_list(&small, "page-", count_and_check, &n), CL_OK);
    assert_int_equal(n, 1005);
    n = 0;
    assert_int_equal(cl_store_list(&small, "page-", stop_at_3, &n), 42);
    cl_store_close(&s);
    cl_store_close(&small);
}

static void test_move(void **state)
{
    NEED_MOTO();
    struct cl_store s;
    open_s3(&s, "mv", "");
    assert_int_equal(cl_store_put(&s, "tmp/a-b", "payload", 7), CL_OK);
    assert_int_equal(cl_store_move(&s, "tmp/a-b", "final/x.y"), CL_OK);
    assert_get(&s, "final/x.y", "payload", 7);
    assert_int_equal(get_rc(&s, "tmp/a-b"), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_store_move(&s, "tmp/missing", "final/y"), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_store_move(&s, "final/x.y", "final/x.y"), CL_OK);
    assert_int_equal(cl_store_move(&s, "tmp/missing", "tmp/missing"), CL_ERR_NOT_FOUND);
    cl_store_close(&s);
}

/* Runs fn(s) with stderr captured into out (the store logs S3 errors there). */
static int with_stderr(int (*fn)(struct cl_store *), struct cl_store *s, char *out, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/s3_stderr_%d.log", tmpdir, (int)getpid());
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    int rc = fn(s);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, out, len - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return rc;
}

static int put_one(struct cl_store *s)
{
    return cl_store_put(s, "denied", "x", 1);
}

static int list_all(struct cl_store *s)
{
    struct cl_buf b;
    cl_buf_init(&b, 1 << 20);
    int rc = cl_store_list(s, "", collect, &b);
    cl_buf_free(&b);
    return rc;
}

/* A wrong secret is rejected (moto verifies our signatures) with a clear message. */
static void test_wrong_secret_and_errors(void **state)
{
    NEED_MOTO();
    struct cl_store s;
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
    open_s3(&s, "auth", "");
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    char log[4096];
    assert_int_equal(with_stderr(put_one, &s, log, sizeof log), CL_ERR_IO);
    if (!strstr(log, "SignatureDoesNotMatch") || !strstr(log, "HTTP 403"))
        fail_msg("expected a SignatureDoesNotMatch error, got: %s", log);
    cl_store_close(&s);

    char url[512], err[256];
    snprintf(url, sizeof url, "s3://no-such-bucket-cl?endpoint=http://127.0.0.1:%d", moto_port);
    assert_int_equal(cl_store_open(&s, url, err, sizeof err), CL_OK);
    assert_int_equal(with_stderr(list_all, &s, log, sizeof log), CL_ERR_IO);
    if (!strstr(log, "NoSuchBucket"))
        fail_msg("expected a NoSuchBucket error, got: %s", log);
    cl_store_close(&s);
    assert_int_equal(cl_store_open(&s, "s3://Bad_Bucket/x", err, sizeof err), CL_ERR_INVAL);
    assert_int_equal(cl_store_open(&s, "s3://bucket/x?bogus=1", err, sizeof err), CL_ERR_INVAL);
    assert_int_equal(cl_store_open(&s, "s3://bucket/../x", err, sizeof err), CL_ERR_INVAL);
}

/* Objects we write are byte-identical through boto3, and boto3's objects read back. */
static void test_boto3_interop(void **state)
{
    NEED_MOTO();
    struct cl_store s;
    open_s3(&s, "interop", "");
    size_t n = 70000;
    unsigned char *data = cl_malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i ^ (i >> 8) ^ 0x5a);
    assert_int_equal(cl_store_put(&s, "dt-1/ours.bin", data, n), CL_OK);
    char want[65], code[1024], out[512];
    cl_sigv4_sha256_hex(data, n, want);
    snprintf(code, sizeof code,
             "s3=boto3.client('s3', endpoint_url=E, region_name='us-east-1')\n"
             "o=s3.get_object(Bucket='" BUCKET "', Key='interop/dt-1/ours.bin',"
             " ChecksumMode='ENABLED')\n"
             "print(hashlib.sha256(o['Body'].read()).hexdigest(), o.get('ChecksumCRC32'))\n"
             "s3.put_object(Bucket='" BUCKET "', Key='interop/dt-1/theirs', Body=b'from boto3')\n");
    assert_int_equal(run_py(m_auth.port, code, out, sizeof out), 0);
    out[strcspn(out, "\n")] = '\0';
    char *sp = strchr(out, ' ');
    assert_non_null(sp);
    *sp = '\0';
    assert_string_equal(out, want);
    print_message("boto3 sees our CRC32 checksum: %s\n", sp + 1);
    assert_get(&s, "dt-1/theirs", "from boto3", 10);
    free(data);
    cl_store_close(&s);
}

/* ---- HTTP client against a scripted keep-alive loopback server ---- */

/* One scripted reply: raw HTTP response text, or NULL to drop the connection unanswered. */
struct fake {
    int fd; /* listening socket */
    int port;
    const char *replies[16]; /* served in order, then the last one repeats */
    int n_replies;
    int requests, accepts;
    _Atomic int stop; /* set by fake_stop; idle keep-alive reads poll it */
    pthread_t thread;
};

/* read(2) that retries the 100 ms receive timeouts until f->stop is set. */
static ssize_t fake_read(struct fake *f, int fd, char *p, size_t n)
{
    for (;;) {
        ssize_t r = read(fd, p, n);
        if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) || f->stop)
            return r;
    }
}

/* Reads one request (headers and Content-Length body); 0 on EOF/error/stop. */
static int fake_read_request(struct fake *f, int fd)
{
    char buf[65536];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        ssize_t n = fake_read(f, fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t body = cl ? strtoul(cl + 17, NULL, 10) : 0, have = len - (size_t)(end + 4 - buf);
    while (have < body) {
        ssize_t n = fake_read(f, fd, buf, CL_MIN(sizeof buf, body - have));
        if (n <= 0)
            return 0;
        have += (size_t)n;
    }
    return 1;
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        int c = accept(f->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        f->accepts++;
        struct timeval tv = {0, 100000};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        while (fake_read_request(f, c)) {
            const char *r = f->replies[CL_MIN(f->requests, f->n_replies - 1)];
            f->requests++;
            if (!r || write(c, r, strlen(r)) < 0)
                break;
        }
        close(c);
    }
}

static void fake_start(struct fake *f)
{
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->fd, 8), 0);
    assert_int_equal(getsockname(f->fd, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
    f->stop = 1;
    shutdown(f->fd, SHUT_RDWR);
    close(f->fd);
    pthread_join(f->thread, NULL);
}

#define R200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
#define R500 "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"
#define R403 "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
#define SLOWDOWN_XML "<Error><Code>SlowDown</Code><Message>Please reduce</Message></Error>"
#define R503 "HTTP/1.1 503 Slow Down\r\nContent-Length: 68\r\n\r\n" SLOWDOWN_XML
#define THROTTLE_JSON "{\"__type\":\"com.amazonaws#ThrottlingException\",\"message\":\"x\"}"
#define R400T "HTTP/1.1 400 Bad Request\r\nContent-Length: 60\r\n\r\n" THROTTLE_JSON

/* Sends GET / to the fake server with a fast backoff; returns cl_http_send's result. */
static int fake_get(struct cl_http_client *c, struct fake *f, struct cl_http_response *resp)
{
    char url[128], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", f->port);
    struct cl_http_request req = {"GET", url, NULL, 0, NULL, 0, NULL, NULL};
    cl_buf_free(&resp->headers);
    cl_buf_free(&resp->body);
    cl_buf_init(&resp->headers, 1 << 16);
    cl_buf_init(&resp->body, 1 << 16);
    return cl_http_send(c, &req, resp, err, sizeof err);
}

static void test_http_reuse_and_retries(void **state)
{
    struct cl_http_options o = {.base_delay_ms = 5, .max_backoff_ms = 20, .max_attempts = 3};
    struct fake f = {.replies = {R200}, .n_replies = 1};
    fake_start(&f);
    struct cl_http_client *c = cl_http_client_new(&o);
    struct cl_http_response r = {0};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(fake_get(c, &f, &r), CL_OK);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body.data, "ok");
    }
    assert_int_equal(cl_http_client_connects(c), 1); /* one connection for ten requests */
    fake_stop(&f);
    assert_int_equal(f.accepts, 1);

    /* A dropped fresh connection, 503 SlowDown, then success: three attempts. (A drop on a
     * reused connection is retried inside curl, so it comes first here.) */
    struct fake g = {.replies = {NULL, R503, R200}, .n_replies = 3};
    fake_start(&g);
    assert_int_equal(fake_get(c, &g, &r), CL_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 3);
    fake_stop(&g);

    /* Throttling in a 400 JSON body is retried; bounded: the last 500 is returned. */
    struct fake h = {.replies = {R400T, R500}, .n_replies = 2};
    fake_start(&h);
    assert_int_equal(fake_get(c, &h, &r), CL_OK);
    assert_int_equal(r.status, 500);
    assert_int_equal(r.attempts, 3);
    fake_stop(&h);
    assert_int_equal(h.requests, 3);

    /* 403 is final at once. */
    struct fake k = {.replies = {R403}, .n_replies = 1};
    fake_start(&k);
    assert_int_equal(fake_get(c, &k, &r), CL_OK);
    assert_int_equal(r.status, 403);
    assert_int_equal(r.attempts, 1);
    fake_stop(&k);

    /* Nothing listening: a network error after every attempt. */
    struct fake gone = {.port = cl_moto_free_port()};
    assert_int_equal(fake_get(c, &gone, &r), CL_ERR_IO);
    assert_int_equal(r.attempts, 3);
    cl_buf_free(&r.headers);
    cl_buf_free(&r.body);
    cl_http_client_free(c);
}

static void test_aws_error_codes(void **state)
{
    char code[64];
    const char *x = SLOWDOWN_XML, *j = THROTTLE_JSON;
    assert_true(cl_aws_error_code(x, strlen(x), code, sizeof code));
    assert_string_equal(code, "SlowDown");
    assert_true(cl_aws_error_code(j, strlen(j), code, sizeof code));
    assert_string_equal(code, "ThrottlingException");
    assert_false(cl_aws_error_code("ok", 2, code, sizeof code));
    assert_true(cl_aws_retryable(503, NULL));
    assert_true(cl_aws_retryable(400, "RequestTimeout"));
    assert_false(cl_aws_retryable(403, "AccessDenied"));
}

/* The store maps S3's SlowDown (after the client's retries) to CL_ERR_FULL. */
static void test_store_slowdown_is_full(void **state)
{
    struct fake f = {.replies = {R503}, .n_replies = 1};
    fake_start(&f);
    setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "fake", 1);
    char url[256], err[256], log[4096];
    snprintf(url, sizeof url, "s3://bkt/p?endpoint=http://127.0.0.1:%d", f.port);
    struct cl_store s;
    assert_int_equal(cl_store_open(&s, url, err, sizeof err), CL_OK);
    assert_int_equal(with_stderr(put_one, &s, log, sizeof log), CL_ERR_FULL);
    if (!strstr(log, "SlowDown: Please reduce") || !strstr(log, "3 attempts"))
        fail_msg("expected a SlowDown error after 3 attempts, got: %s", log);
    cl_store_close(&s);
    fake_stop(&f);
    if (moto_ok) {
        setenv("AWS_ACCESS_KEY_ID", akid, 1);
        setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    }
}

/* ---- S3 answers with empty or hostile XML (issue 13, item 6) ---- */

/* An HTTP response with the given status line and XML body, built into out. */
static const char *xml_reply(char *out, size_t len, const char *status, const char *body)
{
    snprintf(out, len,
             "HTTP/1.1 %s\r\nContent-Type: application/xml\r\nContent-Length: %zu\r\n\r\n%s",
             status, strlen(body), body);
    return out;
}

#define LAUGHS                                                                                     \
    "<?xml version=\"1.0\"?><!DOCTYPE Error [<!ENTITY a \"aaaaaaaaaa\">"                           \
    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c "                                    \
    "\"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>"                                                        \
    "<Error><Code>&c;</Code></Error>"

/* Empty elements where S3 puts a value (<Code></Code>, <IsTruncated></IsTruncated>,
 * <Key></Key>, ...) used to reach strcmp/strtoull as NULL; each must now be a clean error. */
static void test_store_empty_xml_elements(void **state)
{
    static char r[10][1024];
    struct fake f = {.n_replies = 10};
    int i = 0;
    f.replies[i] = xml_reply(r[i], sizeof r[i], "404 Not Found",
                             "<Error><Code></Code><Message></Message></Error>"),
    i++;
    f.replies[i] =
        xml_reply(r[i], sizeof r[i], "500 Internal Server Error", "<Error><Code/></Error>"),
    i++;
    f.replies[i] = xml_reply(r[i], sizeof r[i], "200 OK",
                             "<ListBucketResult><IsTruncated></IsTruncated><Contents><Key></Key>"
                             "<Size></Size></Contents></ListBucketResult>"),
    i++;
    f.replies[i] = xml_reply(r[i], sizeof r[i], "200 OK",
                             "<ListBucketResult><Contents><Key>e/a</Key><Size></Size></Contents>"
                             "</ListBucketResult>"),
    i++;
    f.replies[i] = xml_reply(r[i], sizeof r[i], "200 OK",
                             "<ListBucketResult><IsTruncated>true</IsTruncated>"
                             "<NextContinuationToken></NextContinuationToken></ListBucketResult>"),
    i++;
    f.replies[i] =
        xml_reply(r[i], sizeof r[i], "200 OK",
                  "<ListMultipartUploadsResult><IsTruncated></IsTruncated><Upload>"
                  "<Key></Key><UploadId></UploadId></Upload></ListMultipartUploadsResult>"),
    i++;
    f.replies[i] = xml_reply(r[i], sizeof r[i], "200 OK",
                             "<InitiateMultipartUploadResult><UploadId></UploadId>"
                             "</InitiateMultipartUploadResult>"),
    i++;
    f.replies[i] = xml_reply(r[i], sizeof r[i], "403 Forbidden", LAUGHS), i++;
    f.replies[i] = xml_reply(r[i], sizeof r[i], "200 OK", "<ListBucketResult><Contents>"), i++;
    f.replies[i] = xml_reply(r[i], sizeof r[i], "200 OK", "<ListBucketResult></ListBucketResult>");
    fake_start(&f);
    setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "fake", 1);
    char url[256], err[256], log[4096];
    snprintf(url, sizeof url,
             "s3://bkt/e?endpoint=http://127.0.0.1:%d&max_attempts=1" MP_OPTS_EARLY, f.port);
    struct cl_store s;
    assert_int_equal(cl_store_open(&s, url, err, sizeof err), CL_OK);
    assert_int_equal(get_rc(&s, "k"), CL_ERR_NOT_FOUND); /* the status decides */
    assert_int_equal(with_stderr(put_one, &s, log, sizeof log), CL_ERR_IO);
    if (!strstr(log, "InternalError"))
        fail_msg("an empty <Code/> must fall back to the status's code, got: %s", log);
    for (int k = 0; k < 3; k++)
        assert_int_equal(with_stderr(list_all, &s, log, sizeof log), CL_ERR_CORRUPT);
    assert_int_equal(cl_store_sweep(&s, ""), CL_ERR_CORRUPT);
    unsigned char *big = calloc(1, 5 << 20);
    assert_int_equal(cl_store_put(&s, "big", big, 5 << 20), CL_ERR_CORRUPT);
    free(big);
    /* A DOCTYPE is refused before any entity expands; the status decides. */
    assert_int_equal(with_stderr(put_one, &s, log, sizeof log), CL_ERR_IO);
    if (!strstr(log, "AccessDenied") || strstr(log, "aaaa"))
        fail_msg("a DOCTYPE body must be ignored, got: %s", log);
    assert_int_equal(with_stderr(list_all, &s, log, sizeof log), CL_ERR_CORRUPT); /* cut short */
    assert_int_equal(list_all(&s), CL_OK); /* an empty listing is fine */
    cl_store_close(&s);
    fake_stop(&f);
    assert_int_equal(f.requests, 10);
    if (moto_ok) {
        setenv("AWS_ACCESS_KEY_ID", akid, 1);
        setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    }
}

/* ---- multipart upload, conditional put, sweep, options (issue 9, second part) ---- */

#define MIB ((size_t)1 << 20)
#define MP_OPTS "&multipart_threshold=5MiB&part_size=5MiB"

/* n bytes of a pattern that differs per seed (caller frees). */
static unsigned char *pattern(size_t n, unsigned seed)
{
    unsigned char *d = cl_malloc(n);
    for (size_t i = 0; i < n; i++)
        d[i] = (unsigned char)(i * (seed * 2 + 1) + (i >> 11) + seed);
    return d;
}

/* Runs code on moto at port and scans its first output line with fmt; fails otherwise. */
#define PY_SCAN(port, code, n, fmt, ...)                                                           \
    do {                                                                                           \
        char out_[2048] = "";                                                                      \
        if (run_py(port, code, out_, sizeof out_) != 0 || sscanf(out_, fmt, __VA_ARGS__) != (n))   \
            fail_msg("boto3 snippet failed or printed: %s", out_);                                 \
    } while (0)

static void test_multipart_put(void **state)
{
    NEED_MOTO();
    struct cl_store s;
    open_s3(&s, "mp", MP_OPTS);
    size_t n = 11 * MIB + 7; /* 5 + 5 + 1 MiB: three parts */
    unsigned char *data = pattern(n, 3);
    assert_int_equal(cl_store_put(&s, "big.bin", data, n), CL_OK);
    assert_get(&s, "big.bin", data, n);
    char want[65], sha[65], etag[128], crc[64];
    size_t size = 0;
    int uploads = -1;
    cl_sigv4_sha256_hex(data, n, want);
    PY_SCAN(m_auth.port,
            "s3=boto3.client('s3', endpoint_url=E, region_name='us-east-1')\n"
            "o=s3.get_object(Bucket='" BUCKET "', Key='mp/big.bin', ChecksumMode='ENABLED')\n"
            "u=s3.list_multipart_uploads(Bucket='" BUCKET "').get('Uploads', [])\n"
            "print(hashlib.sha256(o['Body'].read()).hexdigest(), o['ETag'], o['ContentLength'],\n"
            "      o.get('ChecksumCRC32'), len(u))\n",
            5, "%64s %127s %zu %63s %d", sha, etag, &size, crc, &uploads);
    assert_string_equal(sha, want);
    assert_int_equal(size, n);
    if (!strstr(etag, "-3\""))
        fail_msg("expected a 3-part multipart ETag, got %s", etag);
    assert_string_not_equal(crc, "None"); /* the part checksums were taken */
    assert_int_equal(uploads, 0);
    /* Just under the threshold: one PutObject (a plain MD5 ETag, no part count). */
    assert_int_equal(cl_store_put(&s, "small.bin", data, 5 * MIB - 1), CL_OK);
    PY_SCAN(m_auth.port,
            "s3=boto3.client('s3', endpoint_url=E, region_name='us-east-1')\n"
            "print(s3.head_object(Bucket='" BUCKET "', Key='mp/small.bin')['ETag'])\n",
            1, "%127s", etag);
    assert_null(strchr(etag, '-'));
    free(data);
    cl_store_close(&s);
}

/* A control request to the proxy (cl_faultproxy_control) that must be answered 200; the
 * answer's body (NUL-terminated) goes to out. */
static void proxy_control(const struct cl_moto *p, const char *method, const char *path,
                          const char *json, char *out, size_t out_len)
{
    if (cl_faultproxy_control(p, method, path, json, out, out_len) != 0)
        fail_msg("faultproxy %s %s failed (see stderr)", method, path);
}

static const unsigned char *g_put_data; /* what put_big puts (with_stderr takes no data) */
static size_t g_put_len;

static int put_big(struct cl_store *s)
{
    return cl_store_put(s, "obj.bin", g_put_data, g_put_len);
}

/* Incomplete uploads whose key starts with prefix (no '/' in it: moto's verification). */
static int uploads_under(int port, const char *prefix)
{
    char code[512];
    int n = -1;
    snprintf(code, sizeof code,
             "s3=boto3.client('s3', endpoint_url=E, region_name='us-east-1')\n"
             "print(len(s3.list_multipart_uploads(Bucket='" BUCKET "', Prefix='%s')"
             ".get('Uploads', [])))\n",
             prefix);
    PY_SCAN(port, code, 1, "%d", &n);
    return n;
}

/* A part that keeps failing aborts the upload; parts failing once are retried. */
static void test_multipart_faults(void **state)
{
    NEED_MOTO();
    if (cl_faultproxy_start(&cl_test_proxy, m_auth.port, tmpdir, NULL) != 0)
        fail_msg("faultproxy did not start (see stderr)");
    struct cl_store s;
    open_at(&s, &cl_test_proxy, "mpf", MP_OPTS);
    g_put_len = 10 * MIB + 1;
    unsigned char *data = pattern(g_put_len, 5);
    g_put_data = data;
    char out[1 << 16], log[8192];
    proxy_control(&cl_test_proxy, "POST", "/__faults",
                  "[{\"method\": \"PUT\", \"path\": \"partNumber=2\", \"action\": \"status\", "
                  "\"status\": 500, \"times\": null}]",
                  out, sizeof out);
    assert_int_equal(with_stderr(put_big, &s, log, sizeof log), CL_ERR_IO);
    if (!strstr(log, "InternalError") || !strstr(log, "3 attempts") ||
        !strstr(log, "S3 internal error"))
        fail_msg("expected InternalError after 3 attempts, got: %s", log);
    proxy_control(&cl_test_proxy, "GET", "/__faults/log", NULL, out, sizeof out);
    if (!strstr(out, "\"DELETE\"") || !strstr(out, "uploadId="))
        fail_msg("the failed upload was not aborted: %s", out);
    assert_int_equal(uploads_under(m_auth.port, "mpf"), 0);
    assert_int_equal(get_rc(&s, "obj.bin"), CL_ERR_NOT_FOUND);

    proxy_control(&cl_test_proxy, "DELETE", "/__faults", NULL, out, sizeof out);
    proxy_control(&cl_test_proxy, "POST", "/__faults",
                  "[{\"path\": \"partNumber=2\", \"action\": \"reset\"}, {\"path\": "
                  "\"partNumber=1\", \"action\": \"status\", \"status\": 503}, {\"method\": "
                  "\"POST\", \"path\": \"uploadId=\", \"action\": \"status\", \"status\": 500}]",
                  out, sizeof out);
    assert_int_equal(put_big(&s), CL_OK); /* each request failed once, then went through */
    assert_get(&s, "obj.bin", data, g_put_len);
    proxy_control(&cl_test_proxy, "GET", "/__faults/log", NULL, out, sizeof out);
    assert_non_null(strstr(out, "\"reset\""));
    assert_non_null(strstr(out, "\"status\": 503"));
    free(data);
    cl_store_close(&s);
}

static void test_if_none_match(void **state)
{
    NEED_MOTO();
    struct cl_store s, plain;
    open_s3(&s, "inm", "&if_none_match=1" MP_OPTS);
    assert_int_equal(cl_store_put(&s, "a", "first", 5), CL_OK);
    assert_int_equal(cl_store_put(&s, "a", "second", 6), CL_ERR_EXISTS);
    assert_get(&s, "a", "first", 5);
    size_t n = 6 * MIB;
    unsigned char *one = pattern(n, 7), *two = pattern(n, 8);
    assert_int_equal(cl_store_put(&s, "big", one, n), CL_OK);
    assert_int_equal(cl_store_put(&s, "big", two, n), CL_ERR_EXISTS); /* at Complete */
    assert_get(&s, "big", one, n);
    assert_int_equal(uploads_under(m_auth.port, "inm"), 0); /* the refused one was aborted */
    open_s3(&plain, "inm", "");                             /* without the option: overwrite */
    assert_int_equal(cl_store_put(&plain, "a", "second", 6), CL_OK);
    assert_get(&plain, "a", "second", 6);
    free(one);
    free(two);
    cl_store_close(&plain);
    cl_store_close(&s);
}

/* Lists prefixes with '/', so on the non-verifying moto (see the top of the file). */
static void test_sweep(void **state)
{
    NEED_MOTO();
    char out[2048] = "";
    assert_int_equal(
        run_py(m_open.port,
               "s3=boto3.client('s3', endpoint_url=E, region_name='us-east-1',"
               " aws_access_key_id='x', aws_secret_access_key='x')\n"
               "for k in ['sw/_staging/a', 'sw/_staging/b', 'sw/keep/c', 'other/_staging/d']:\n"
               "    s3.create_multipart_upload(Bucket='" BUCKET "', Key=k)\n",
               out, sizeof out),
        0);
    struct cl_store s;
    open_at(&s, &m_open, "sw", "");
    assert_int_equal(cl_store_sweep(&s, "_staging/"), CL_OK);
    const char *left_py = "s3=boto3.client('s3', endpoint_url=E, region_name='us-east-1',"
                          " aws_access_key_id='x', aws_secret_access_key='x')\n"
                          "u=s3.list_multipart_uploads(Bucket='" BUCKET "').get('Uploads', [])\n"
                          "print(','.join(sorted(x['Key'] for x in u)) or '-')\n";
    char left[512];
    PY_SCAN(m_open.port, left_py, 1, "%511s", left);
    assert_string_equal(left, "other/_staging/d,sw/keep/c");
    assert_int_equal(cl_store_sweep(&s, ""), CL_OK); /* the whole store prefix */
    PY_SCAN(m_open.port, left_py, 1, "%511s", left);
    assert_string_equal(left, "other/_staging/d");
    assert_int_equal(cl_store_sweep(&s, ""), CL_OK); /* nothing left: fine */
    cl_store_close(&s);
}

static void test_url_options(void **state)
{
    static const char *const bad[] = {"s3://bucket/x?part_size=1MiB",
                                      "s3://bucket/x?multipart_threshold=4MiB",
                                      "s3://bucket/x?part_size=lots",
                                      "s3://bucket/x?timeout=soon",
                                      "s3://bucket/x?max_attempts=0",
                                      "s3://bucket/x?max_attempts=21",
                                      "s3://bucket/x?max_keys=lots", /* once: atoi, 0 */
                                      "s3://bucket/x?max_keys=1001",
                                      "s3://bucket/x?connect_timeout=0",
                                      "s3://bucket/x?endpoint=http://u:p@127.0.0.1:9",
                                      "s3://bucket/x?endpoint=ftp://127.0.0.1:9",
                                      "s3://bucket/x?endpoint=http://"};
    setenv("AWS_ACCESS_KEY_ID", "AKIDOPTS", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "opts", 1);
    struct cl_store s;
    char err[256];
    for (size_t i = 0; i < CL_ARRAY_LEN(bad); i++) {
        err[0] = '\0';
        assert_int_equal(cl_store_open(&s, bad[i], err, sizeof err), CL_ERR_INVAL);
        if (!strstr(err, "s3 store option") && !strstr(err, "S3 endpoint"))
            fail_msg("%s: unclear error '%s'", bad[i], err);
    }
    assert_int_equal(cl_store_open(&s,
                                   "s3://bucket/x?multipart_threshold=64MiB&part_size=16MiB"
                                   "&if_none_match=1&timeout=2s&connect_timeout=500ms"
                                   "&max_attempts=5",
                                   err, sizeof err),
                     CL_OK);
    cl_store_close(&s);
    if (moto_ok)
        cl_moto_use_key(akid, secret);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_error_codes),
        cmocka_unit_test(test_http_reuse_and_retries),
        cmocka_unit_test(test_store_slowdown_is_full),
        cmocka_unit_test(test_store_empty_xml_elements),
        cmocka_unit_test(test_put_get_delete),
        cmocka_unit_test(test_special_keys_and_prefixes),
        cmocka_unit_test(test_list_pagination),
        cmocka_unit_test(test_move),
        cmocka_unit_test(test_wrong_secret_and_errors),
        cmocka_unit_test(test_boto3_interop),
        cmocka_unit_test(test_multipart_put),
        cmocka_unit_test_teardown(test_multipart_faults, cl_test_proxy_teardown),
        cmocka_unit_test(test_if_none_match),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_url_options),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
