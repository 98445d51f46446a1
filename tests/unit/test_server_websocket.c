/* test_server_websocket.c - RFC 6455 pieces of websocket.c: the accept key (the RFC's own
 * example), frame headers at each length form, and parsing masked client frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "websocket.h"

#include <string.h>

static void test_accept_key(void **state)
{
    (void)state;
    char out[CL_WS_ACCEPT_LEN + 1];
    /* RFC 6455 section 1.3 */
    assert_int_equal(cl_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(cl_ws_accept_key("short", out), -1);
    assert_int_equal(cl_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out), -1);
    assert_int_equal(cl_ws_accept_key("!!!!!!!!!!!!!!!!!!!!!!==", out), -1);
    assert_int_equal(cl_ws_accept_key(NULL, out), -1);
}

static void test_frame_header(void **state)
{
    (void)state;
    unsigned char h[10];
    assert_int_equal(cl_ws_frame_header(CL_WS_TEXT, 5, h), 2);
    assert_int_equal(h[0], 0x81);
    assert_int_equal(h[1], 5);
    assert_int_equal(cl_ws_frame_header(CL_WS_TEXT, 300, h), 4);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], 300);
    assert_int_equal(cl_ws_frame_header(CL_WS_CLOSE, 70000, h), 10);
    assert_int_equal(h[0], 0x88);
    assert_int_equal(h[1], 127);
    assert_int_equal(h[7] << 16 | h[8] << 8 | h[9], 70000);
}

/* A masked client frame of payload into buf; returns its length. */
static size_t client_frame(unsigned char *buf, unsigned first, const char *payload)
{
    static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t n = strlen(payload);
    buf[0] = (unsigned char)first;
    buf[1] = (unsigned char)(0x80 | n);
    memcpy(buf + 2, mask, 4);
    for (size_t i = 0; i < n; i++)
        buf[6 + i] = (unsigned char)payload[i] ^ mask[i & 3];
    return 6 + n;
}

static void test_parse(void **state)
{
    (void)state;
    unsigned char buf[64];
    struct cl_ws_frame f;
    size_t n = client_frame(buf, 0x81, "Hello"); /* RFC 6455 5.7's masked "Hello" */
    assert_int_equal(buf[2], 0x37);
    assert_int_equal(cl_ws_parse(buf, n - 1, 100, &f), 0); /* incomplete */
    assert_int_equal(cl_ws_parse(buf, n, 100, &f), (ssize_t)n);
    assert_int_equal(f.opcode, CL_WS_TEXT);
    assert_true(f.fin);
    assert_memory_equal(f.payload, "Hello", 5);
    n = client_frame(buf, 0x89, "hi");
    assert_int_equal(cl_ws_parse(buf, n, 100, &f), (ssize_t)n);
    assert_int_equal(f.opcode, CL_WS_PING);
    n = client_frame(buf, 0x81, "too long");
    assert_int_equal(cl_ws_parse(buf, n, 4, &f), -2);
    n = client_frame(buf, 0x09, "x"); /* a fragmented control frame */
    assert_int_equal(cl_ws_parse(buf, n, 100, &f), -1);
    n = client_frame(buf, 0xC1, "x"); /* RSV1 without an extension */
    assert_int_equal(cl_ws_parse(buf, n, 100, &f), -1);
    n = client_frame(buf, 0x83, "x"); /* reserved opcode */
    assert_int_equal(cl_ws_parse(buf, n, 100, &f), -1);
    n = client_frame(buf, 0x81, "x");
    buf[1] &= 0x7f; /* not masked */
    assert_int_equal(cl_ws_parse(buf, n, 100, &f), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_frame_header),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
