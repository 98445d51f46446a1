/* test_lambda_runtime.c - the Runtime API client against a scripted loopback server:
 * /next headers (request id, deadline, ARN, trace id -> _X_AMZN_TRACE_ID), response and
 * error posts (paths, error type header, error JSON), init errors, failures of /next. */
#include "common.h"
#include "runtime.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One scripted exchange: the answer to send and what the request was. */
struct server {
    int fd;
    int port;
    const char *answer; /* full HTTP response, sent for every request */
    char request[65536];
    size_t request_len;
    pthread_t thread;
};

/* Reads one request (headers + Content-Length body) from c into s->request. */
static void read_request(struct server *s, int c)
{
    s->request_len = 0;
    size_t want = 0;
    while (s->request_len < sizeof s->request - 1) {
        ssize_t n = read(c, s->request + s->request_len, sizeof s->request - 1 - s->request_len);
        if (n <= 0)
            break;
        s->request_len += (size_t)n;
        s->request[s->request_len] = '\0';
        char *end = strstr(s->request, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(s->request, "Content-Length:");
        want = (size_t)(end + 4 - s->request) + (cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
        if (s->request_len >= want)
            break;
    }
}

/* Serves exactly one connection (the client is told to close it). */
static void *serve_one(void *arg)
{
    struct server *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    read_request(s, c);
    ssize_t w = write(c, s->answer, strlen(s->answer));
    (void)w;
    close(c);
    return NULL;
}

static void server_start(struct server *s, const char *answer)
{
    memset(s, 0, sizeof *s);
    s->answer = answer;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 4), 0);
    socklen_t len = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, serve_one, s);
}

static void server_join(struct server *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static struct cl_lambda_runtime *client_for(const struct server *s)
{
    char api[64], err[256];
    snprintf(api, sizeof api, "127.0.0.1:%d", s->port);
    struct cl_lambda_runtime *rt = cl_lambda_runtime_new(api, err, sizeof err);
    assert_non_null(rt);
    return rt;
}

static const char next_answer[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
    "lambda-runtime-aws-request-id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n"
    "Lambda-Runtime-Deadline-Ms: 1542409706888\r\n"
    "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:f\r\n"
    "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a91;Sampled=1\r\n"
    "Content-Length: 13\r\n\r\n{\"event\":42}\n";

static void test_next(void **state)
{
    struct server s;
    server_start(&s, next_answer);
    struct cl_lambda_runtime *rt = client_for(&s);
    struct cl_lambda_invocation inv;
    char err[256];
    assert_int_equal(cl_lambda_next(rt, &inv, err, sizeof err), CL_OK);
    server_join(&s);
    assert_non_null(strstr(s.request, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"));
    assert_string_equal(inv.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    assert_int_equal(inv.deadline_ms, 1542409706888LL);
    assert_string_equal(inv.function_arn, "arn:aws:lambda:us-east-2:123456789012:function:f");
    assert_string_equal(getenv("_X_AMZN_TRACE_ID"),
                        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a91;Sampled=1");
    assert_int_equal(inv.event.len, 13);
    assert_memory_equal(inv.event.data, "{\"event\":42}\n", 13);
    assert_true(cl_lambda_remaining_ms(&inv) < 0); /* a deadline in 2018 */
    cl_lambda_invocation_free(&inv);
    cl_lambda_runtime_free(rt);
}

static const char accepted[] = "HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: "
                               "15\r\n\r\n{\"status\":\"OK\"}";

static void test_post_response(void **state)
{
    struct server s;
    server_start(&s, accepted);
    struct cl_lambda_runtime *rt = client_for(&s);
    struct cl_lambda_result res = {0};
    cl_buf_init(&res.body, 1024);
    cl_buf_append_str(&res.body, "{\"batchItemFailures\":[]}");
    char err[256];
    assert_int_equal(cl_lambda_post_result(rt, "abc-1", &res, err, sizeof err), CL_OK);
    server_join(&s);
    assert_non_null(strstr(s.request, "POST /2018-06-01/runtime/invocation/abc-1/response "));
    assert_non_null(strstr(s.request, "\r\n\r\n{\"batchItemFailures\":[]}"));
    cl_buf_free(&res.body);
    cl_lambda_runtime_free(rt);
}

static void test_post_error(void **state)
{
    struct server s;
    server_start(&s, accepted);
    struct cl_lambda_runtime *rt = client_for(&s);
    struct cl_lambda_result res = {0};
    cl_buf_init(&res.body, 1024);
    cl_lambda_result_fail(&res, "Function.InvalidEvent", "bad \"%s\"", "event");
    cl_lambda_result_fail(&res, "Runtime.Other", "kept only the first");
    char err[256];
    assert_int_equal(cl_lambda_post_result(rt, "abc-2", &res, err, sizeof err), CL_OK);
    server_join(&s);
    assert_non_null(strstr(s.request, "POST /2018-06-01/runtime/invocation/abc-2/error "));
    assert_non_null(strcasestr(s.request, "Lambda-Runtime-Function-Error-Type: "
                                          "Function.InvalidEvent\r\n"));
    assert_non_null(strstr(s.request, "\r\n\r\n{\"errorMessage\":\"bad \\\"event\\\"\","
                                      "\"errorType\":\"Function.InvalidEvent\","
                                      "\"stackTrace\":[]}"));
    cl_buf_free(&res.body);
    cl_lambda_runtime_free(rt);
}

static void test_init_error(void **state)
{
    struct server s;
    server_start(&s, accepted);
    struct cl_lambda_runtime *rt = client_for(&s);
    char err[256];
    assert_int_equal(cl_lambda_post_init_error(rt, "Runtime.InitError",
                                               "CLOUDLOG_STORE is "
                                               "required",
                                               err, sizeof err),
                     CL_OK);
    server_join(&s);
    assert_non_null(strstr(s.request, "POST /2018-06-01/runtime/init/error "));
    assert_non_null(strstr(s.request, "\"errorMessage\":\"CLOUDLOG_STORE is required\""));
    cl_lambda_runtime_free(rt);
}

/* A 500 from /next ("container error") or a missing request id end the loop. */
static void test_next_failures(void **state)
{
    static const char *const answers[] = {
        "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        ("HTTP/1.1 200 OK\r\nConnection: close\r\nLambda-Runtime-Aws-Request-Id: ../x\r\n"
         "Content-Length: 2\r\n\r\n{}"),
    };
    for (size_t i = 0; i < CL_ARRAY_LEN(answers); i++) {
        struct server s;
        server_start(&s, answers[i]);
        struct cl_lambda_runtime *rt = client_for(&s);
        struct cl_lambda_invocation inv;
        char err[256];
        assert_int_equal(cl_lambda_next(rt, &inv, err, sizeof err), CL_ERR_IO);
        server_join(&s);
        cl_lambda_runtime_free(rt);
    }
}

static void test_bad_api_address(void **state)
{
    char err[256];
    const char *bad[] = {NULL, "", "127.0.0.1", "127.0.0.1:", ":9001", "h:90a", "h/x:9001"};
    for (size_t i = 0; i < CL_ARRAY_LEN(bad); i++) {
        assert_null(cl_lambda_runtime_new(bad[i], err, sizeof err));
        assert_non_null(strstr(err, "AWS_LAMBDA_RUNTIME_API"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next),          cmocka_unit_test(test_post_response),
        cmocka_unit_test(test_post_error),    cmocka_unit_test(test_init_error),
        cmocka_unit_test(test_next_failures), cmocka_unit_test(test_bad_api_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
