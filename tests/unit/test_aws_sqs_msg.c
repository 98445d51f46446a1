/* test_aws_sqs_msg.c - base64 bodies and message attributes of SQS messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "queue.h"
#include "message.h"

#include <stdlib.h>
#include <string.h>

/* Encodes then decodes len bytes and checks the bytes and the text. */
static void round_trip(const unsigned char *data, size_t len, const char *want_text)
{
    size_t tlen = 0;
    char *text = cl_msg_body_to_text(data, len, &tlen);
    assert_non_null(text);
    assert_int_equal(tlen, strlen(text));
    assert_int_equal(tlen, cl_msg_text_len(len));
    if (want_text)
        assert_string_equal(text, want_text);
    void *back = NULL;
    size_t blen = 99;
    assert_int_equal(cl_msg_body_from_text(text, tlen, &back, &blen), CL_OK);
    assert_int_equal(blen, len);
    if (len)
        assert_memory_equal(back, data, len);
    free(back);
    free(text);
}

/* RFC 4648 section 10 vectors, each padding case. */
static void test_rfc4648_vectors(void **state)
{
    (void)state;
    round_trip((const unsigned char *)"", 0, "");
    round_trip((const unsigned char *)"f", 1, "Zg==");
    round_trip((const unsigned char *)"fo", 2, "Zm8=");
    round_trip((const unsigned char *)"foo", 3, "Zm9v");
    round_trip((const unsigned char *)"foob", 4, "Zm9vYg==");
    round_trip((const unsigned char *)"fooba", 5, "Zm9vYmE=");
    round_trip((const unsigned char *)"foobar", 6, "Zm9vYmFy");
}

/* Binary data with zero bytes at the end (where the padding quirk would bite) and a
 * body larger than one encode/decode chunk. */
static void test_binary_and_large(void **state)
{
    (void)state;
    unsigned char small[] = {0x1f, 0x8b, 0x00, 0xff, 0x00, 0x00};
    for (size_t n = 0; n <= sizeof small; n++)
        round_trip(small, n, NULL);
    size_t big = 5 * 1024 * 1024 + 1;
    unsigned char *data = malloc(big);
    assert_non_null(data);
    for (size_t i = 0; i < big; i++)
        data[i] = (unsigned char)(i * 131 + (i >> 9));
    data[big - 1] = 0;
    round_trip(data, big, NULL);
    free(data);
}

static void expect_bad(const char *text)
{
    void *out = (void *)1;
    size_t len = 7;
    assert_int_equal(cl_msg_body_from_text(text, strlen(text), &out, &len), CL_ERR_INVAL);
    assert_null(out);
    assert_int_equal(len, 0);
}

static void test_bad_base64(void **state)
{
    (void)state;
    expect_bad("Zg=");       /* length not a multiple of 4 */
    expect_bad("Zm9");       /* unpadded */
    expect_bad("Zm9v!A==");  /* outside the alphabet */
    expect_bad("Zm-_");      /* URL-safe alphabet is not ours */
    expect_bad("Z===");      /* too much padding */
    expect_bad("Zg==Zg==");  /* padding in the middle */
    expect_bad(" Zm9v");     /* whitespace */
    expect_bad("{\"a\":1}"); /* a JSON body */
}

static void test_attrs(void **state)
{
    (void)state;
    struct cl_msg_attrs a;
    memset(&a, 0, sizeof a);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_COUNT, "42", 2), CL_OK);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_RAW_BYTES, "12345678901", 11), CL_OK);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_MIN_TS, "1700000000000", 13), CL_OK);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_MAX_TS, "-5xyz", 2), CL_OK);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_ENCODING, "gzipXX", 4), CL_OK);
    assert_int_equal(cl_msg_attr_set(&a, "unknown", "zz", 2), CL_OK);
    assert_int_equal(a.record_count, 42);
    assert_int_equal(a.raw_bytes, 12345678901ULL);
    assert_int_equal(a.min_ts_ms, 1700000000000LL);
    assert_int_equal(a.max_ts_ms, -5);
    assert_string_equal(a.encoding, "gzip");

    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_COUNT, "", 0), CL_ERR_INVAL);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_COUNT, "4x", 2), CL_ERR_INVAL);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_COUNT, "-1", 2), CL_ERR_INVAL);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_COUNT, "4294967296", 10), CL_ERR_INVAL);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_RAW_BYTES, " 1", 2), CL_ERR_INVAL);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_MIN_TS, "99999999999999999999", 20),
                     CL_ERR_INVAL);
    assert_int_equal(cl_msg_attr_set(&a, CL_MSG_ATTR_ENCODING, "a-very-long-encoding", 20),
                     CL_ERR_INVAL);
    assert_int_equal(a.record_count, 42); /* failures leave the field alone */
    assert_string_equal(a.encoding, "gzip");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_binary_and_large),
        cmocka_unit_test(test_bad_base64),
        cmocka_unit_test(test_attrs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
