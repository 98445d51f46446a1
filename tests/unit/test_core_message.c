/* test_core_message.c - the queue message contract (message.h): a sealed batch encodes
 * into a message whose body decodes back into the same normalized lines, its attributes
 * travel as text and back, and its size as sent is base64 plus the attribute room. */
#include "batch.h"
#include "common.h"
#include "message.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE1                                                                                      \
    "{\"timestamp\":\"2026-11-25T15:04:05.000Z\",\"level\":\"info\",\"service\":\"api\","          \
    "\"message\":\"one\"}"
#define LINE2                                                                                      \
    "{\"timestamp\":\"2026-11-25T16:00:00.000Z\",\"level\":\"error\",\"service\":\"web\","         \
    "\"message\":\"two\"}"

static void add_line(struct cl_batch *b, const char *line, int64_t ts)
{
    struct cl_batch_sealed unused;
    size_t mark = cl_batch_lines(b)->len;
    cl_buf_append_str(cl_batch_lines(b), line);
    cl_buf_append_char(cl_batch_lines(b), '\n');
    assert_int_equal(cl_batch_add(b, mark, ts, &unused), 0);
}

struct seen {
    int n;
    char services[2][65];
};

static int on_line(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct seen *s = arg;
    (void)line, (void)len;
    snprintf(s->services[s->n++], sizeof s->services[0], "%s", h->service);
    return 0;
}

static void test_encode_decode(void **state)
{
    (void)state;
    struct cl_batch b;
    cl_batch_init(&b, 1 << 20, 0, 1);
    add_line(&b, LINE1, 1764083045000);
    add_line(&b, LINE2, 1764086400000);
    struct cl_batch_sealed s;
    assert_int_equal(cl_batch_flush(&b, &s), 1);
    struct cl_msg_out m;
    cl_msg_from_sealed(&s, &m);
    assert_ptr_equal(m.body, s.gz); /* borrowed, not copied */
    assert_int_equal(m.len, s.gz_len);
    assert_int_equal(m.attrs.record_count, 2);
    assert_int_equal(m.attrs.raw_bytes, strlen(LINE1 LINE2) + 2);
    assert_int_equal(m.attrs.min_ts_ms, 1764083045000);
    assert_int_equal(m.attrs.max_ts_ms, 1764086400000);
    assert_string_equal(m.attrs.encoding, "gzip");

    struct cl_buf out;
    char err[128];
    cl_buf_init(&out, 1 << 20);
    assert_int_equal(cl_msg_decode(&m.attrs, m.body, m.len, &out, err, sizeof err), 0);
    assert_int_equal(out.len, m.attrs.raw_bytes);
    struct seen seen = {0};
    assert_int_equal(cl_msg_lines(&out, on_line, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.services[0], "api");
    assert_string_equal(seen.services[1], "web");

    struct cl_msg_attrs other = m.attrs;
    snprintf(other.encoding, sizeof other.encoding, "zstd");
    assert_int_equal(cl_msg_decode(&other, m.body, m.len, &out, err, sizeof err), -1);
    assert_string_equal(err, "unsupported message encoding 'zstd'");
    cl_buf_free(&out);
    free(s.gz);
    cl_batch_free(&b);
}

static void test_text_round_trip(void **state)
{
    (void)state;
    static const unsigned char body[] = {0x1f, 0x8b, 0, 0, 0xff};
    size_t text_len;
    char *text = cl_msg_body_to_text(body, sizeof body, &text_len);
    assert_non_null(text);
    assert_int_equal(text_len, cl_msg_text_len(sizeof body));
    void *back;
    size_t back_len;
    assert_int_equal(cl_msg_body_from_text(text, text_len, &back, &back_len), CL_OK);
    assert_int_equal(back_len, sizeof body);
    assert_memory_equal(back, body, sizeof body);
    free(back);
    free(text);

    struct cl_msg_attrs a = {0};
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_COUNT, "7", 1), CL_OK);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_MIN_TS, "-5", 2), CL_OK);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_ENCODING, "gzip", 4), CL_OK);
    assert_int_equal(cl_msg_attr_set(&a, "unknown", "x", 1), CL_OK);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_RAW_BYTES, "x", 1), CL_ERR_INVAL);
    assert_int_equal(a.record_count, 7);
    assert_int_equal(a.min_ts_ms, -5);
    assert_string_equal(a.encoding, "gzip");
}

static void test_sent_size(void **state)
{
    (void)state;
    assert_int_equal(cl_msg_sent_size(0), CL_MSG_ATTR_ROOM);
    assert_int_equal(cl_msg_sent_size(1), 4 + CL_MSG_ATTR_ROOM);
    assert_int_equal(cl_msg_sent_size(3), 4 + CL_MSG_ATTR_ROOM);
    assert_int_equal(cl_msg_sent_size(4), 8 + CL_MSG_ATTR_ROOM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_decode),
        cmocka_unit_test(test_text_round_trip),
        cmocka_unit_test(test_sent_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
