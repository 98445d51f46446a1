/* test_server_http_queue.c - cl_http_queue over a real libmicrohttpd daemon on 127.0.0.1 and
 * a real socket: a response libmicrohttpd could not allocate (NULL, as
 * MHD_create_response_* returns when out of memory) is answered 500 and the connection
 * closed; a made response is queued as is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_queue.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_len, void **con_cls)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_len, (void)con_cls;
    struct MHD_Response *resp = NULL; /* "/null": as if the allocation had failed */
    if (strcmp(url, "/ok") == 0)
        resp = MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
    return cl_http_queue(c, MHD_HTTP_OK, resp);
}

/* Sends one request for path (Connection: close) and reads the answer until the server closes
 * (bounded: 10 s receive timeout). Returns the bytes read into out (NUL-terminated). */
static size_t fetch(unsigned port, const char *path, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    size_t got = 0;
    ssize_t k;
    while (got < cap - 1 && (k = recv(fd, out + got, cap - 1 - got, 0)) > 0)
        got += (size_t)k;
    out[got] = '\0';
    close(fd);
    return got;
}

static void test_null_response_is_500_and_close(void **state)
{
    (void)state;
    cl_http_queue_init();
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, NULL,
                         MHD_OPTION_CONNECTION_TIMEOUT, 5u, MHD_OPTION_END);
    assert_non_null(d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    char out[4096];
    for (int i = 0; i < 2; i++) { /* the same 500 serves every such request */
        fetch(info->port, "/null", out, sizeof out);
        if (strncmp(out, "HTTP/1.1 500 ", 13) != 0)
            fail_msg("expected a 500, got: '%s'", out);
        assert_non_null(strstr(out, "Connection: close\r\n"));
        assert_non_null(strstr(out, "\r\n\r\n{\"error\":\"internal error: out of memory\"}\n"));
    }
    fetch(info->port, "/ok", out, sizeof out);
    assert_int_equal(strncmp(out, "HTTP/1.1 200 ", 13), 0);
    assert_non_null(strstr(out, "\r\n\r\nok\n"));
    MHD_stop_daemon(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_response_is_500_and_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
