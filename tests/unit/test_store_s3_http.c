/* test_store_s3_http.c - the AWS HTTP client and the S3 store against a scripted keep-alive
 * loopback server (no moto): connection reuse and retries, AWS error codes, SlowDown as
 * CL_ERR_FULL, and empty or hostile XML answers. */
#include "common.h"
#include "credentials.h"
#include "http.h"
#include "moto_test.h"
#include "s3_test_util.h"
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
    assert_int_equal(cl_s3_with_stderr(cl_s3_put_one, &s, log, sizeof log), CL_ERR_FULL);
    if (!strstr(log, "SlowDown: Please reduce") || !strstr(log, "3 attempts"))
        fail_msg("expected a SlowDown error after 3 attempts, got: %s", log);
    cl_store_close(&s);
    fake_stop(&f);
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
             "s3://bkt/e?endpoint=http://"
             "127.0.0.1:%d&max_attempts=1&multipart_threshold=5MiB&part_size=5MiB",
             f.port);
    struct cl_store s;
    assert_int_equal(cl_store_open(&s, url, err, sizeof err), CL_OK);
    assert_int_equal(cl_s3_get_rc(&s, "k"), CL_ERR_NOT_FOUND); /* the status decides */
    assert_int_equal(cl_s3_with_stderr(cl_s3_put_one, &s, log, sizeof log), CL_ERR_IO);
    if (!strstr(log, "InternalError"))
        fail_msg("an empty <Code/> must fall back to the status's code, got: %s", log);
    for (int k = 0; k < 3; k++)
        assert_int_equal(cl_s3_with_stderr(cl_s3_list_all, &s, log, sizeof log), CL_ERR_CORRUPT);
    assert_int_equal(cl_store_sweep(&s, ""), CL_ERR_CORRUPT);
    unsigned char *big = calloc(1, 5 << 20);
    assert_int_equal(cl_store_put(&s, "big", big, 5 << 20), CL_ERR_CORRUPT);
    free(big);
    /* A DOCTYPE is refused before any entity expands; the status decides. */
    assert_int_equal(cl_s3_with_stderr(cl_s3_put_one, &s, log, sizeof log), CL_ERR_IO);
    if (!strstr(log, "AccessDenied") || strstr(log, "aaaa"))
        fail_msg("a DOCTYPE body must be ignored, got: %s", log);
    assert_int_equal(cl_s3_with_stderr(cl_s3_list_all, &s, log, sizeof log),
                     CL_ERR_CORRUPT);            /* cut short */
    assert_int_equal(cl_s3_list_all(&s), CL_OK); /* an empty listing is fine */
    cl_store_close(&s);
    fake_stop(&f);
    assert_int_equal(f.requests, 10);
}

/* An <Error> whose <Code> is longer than any S3 code (the fuzzer's was padded with
 * whitespace) once left the code buffer without text and crashed in strcmp; the status
 * must decide, as for an empty <Code/>. */
static void test_store_overlong_error_code(void **state)
{
    static char reply[2048], body[1024];
    int n = snprintf(body, sizeof body, "<Error><Code>NoSuch");
    memset(body + n, '\t', 300);
    snprintf(body + n + 300, sizeof body - (size_t)n - 300,
             "Key</Code><Message>m</Message></Error>");
    struct fake f = {.replies = {xml_reply(reply, sizeof reply, "404 Not Found", body)},
                     .n_replies = 1};
    fake_start(&f);
    setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "fake", 1);
    char url[256], err[256];
    snprintf(url, sizeof url, "s3://bkt/e?endpoint=http://127.0.0.1:%d&max_attempts=1", f.port);
    struct cl_store s;
    assert_int_equal(cl_store_open(&s, url, err, sizeof err), CL_OK);
    assert_int_equal(cl_s3_get_rc(&s, "k"), CL_ERR_NOT_FOUND); /* the status decides */
    cl_store_close(&s);
    fake_stop(&f);
    assert_int_equal(f.requests, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_error_codes),
        cmocka_unit_test(test_http_reuse_and_retries),
        cmocka_unit_test(test_store_slowdown_is_full),
        cmocka_unit_test(test_store_empty_xml_elements),
        cmocka_unit_test(test_store_overlong_error_code),
    };
    return cmocka_run_group_tests(tests, cl_s3_tmpdir_setup, NULL);
}
