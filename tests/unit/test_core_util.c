/* test_core_util.c - sizes, durations, buffers, JSON string writing and gzip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "codec.h"
#include "common.h"
#include "json_write.h"
#include "units.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void test_sizes(void **state)
{
    uint64_t v;
    assert_int_equal(cl_parse_size("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(cl_parse_size("1000", &v), 0);
    assert_int_equal(v, 1000);
    assert_int_equal(cl_parse_size("10MiB", &v), 0);
    assert_int_equal(v, 10u << 20);
    assert_int_equal(cl_parse_size("256k", &v), 0);
    assert_int_equal(v, 256u << 10);
    assert_int_equal(cl_parse_size("4GB", &v), 0);
    assert_int_equal(v, 4ull << 30);
    assert_int_equal(cl_parse_size("", &v), -1);
    assert_int_equal(cl_parse_size("MiB", &v), -1);
    assert_int_equal(cl_parse_size("10 MiB", &v), -1);
    assert_int_equal(cl_parse_size("-1", &v), -1);
    assert_int_equal(cl_parse_size("99999999999999999999", &v), -1);
    assert_int_equal(cl_parse_size("17179869184GiB", &v), -1); /* overflows 64 bits */
    char out[32];
    cl_format_size(10u << 20, out, sizeof out);
    assert_string_equal(out, "10MiB");
    cl_format_size(1000, out, sizeof out);
    assert_string_equal(out, "1000");
}

static void test_durations(void **state)
{
    int64_t ms;
    assert_int_equal(cl_parse_duration_ms("15m", &ms), 0);
    assert_int_equal(ms, 15 * 60000);
    assert_int_equal(cl_parse_duration_ms("30", &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(cl_parse_duration_ms("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(cl_parse_duration_ms("4d", &ms), 0);
    assert_int_equal(ms, 4 * 86400000LL);
    assert_int_equal(cl_parse_duration_ms("2w", &ms), -1);
    assert_int_equal(cl_parse_duration_ms("h", &ms), -1);
}

static void test_buf_limit(void **state)
{
    struct cl_buf b;
    cl_buf_init(&b, 8);
    assert_int_equal(cl_buf_append_str(&b, "12345"), CL_OK);
    assert_false(cl_buf_failed(&b));
    assert_int_equal(cl_buf_append_str(&b, "6789"), CL_ERR_TOO_LARGE);
    assert_true(cl_buf_failed(&b));
    assert_string_equal(b.data, "12345"); /* unchanged on failure */
    /* Sticky (curl's dynbuf): later appends that would fit fail too, and write nothing,
     * so one check at the end sees the first failure. */
    assert_int_equal(cl_buf_printf(&b, "%d", 678), CL_ERR_TOO_LARGE);
    assert_int_equal(cl_buf_append_char(&b, '6'), CL_ERR_TOO_LARGE);
    assert_int_equal(cl_buf_reserve(&b, 1), CL_ERR_TOO_LARGE);
    assert_string_equal(b.data, "12345");
    assert_true(cl_buf_failed(&b));
    /* Emptying clears the poison; the buffer is reusable. */
    cl_buf_reset(&b);
    assert_false(cl_buf_failed(&b));
    assert_int_equal(cl_buf_printf(&b, "%s", "12345678"), CL_OK);
    assert_string_equal(b.data, "12345678");
    assert_int_equal(cl_buf_append_char(&b, '9'), CL_ERR_TOO_LARGE);
    cl_buf_truncate(&b, 2);
    assert_true(cl_buf_failed(&b)); /* truncating does not make the text whole again */
    assert_string_equal(b.data, "12");
    size_t len;
    char *p = cl_buf_take(&b, &len);
    assert_int_equal(len, 2);
    assert_null(b.data);
    assert_false(cl_buf_failed(&b));
    free(p);
    cl_buf_free(&b);
}

static void test_json_write_string(void **state)
{
    struct cl_buf b;
    cl_buf_init(&b, 1024);
    const char in[] = "a\"b\\c\nd\x01\xc3\xa9";
    assert_int_equal(cl_json_write_string(&b, in, sizeof in - 1), CL_OK);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\"");
    cl_buf_free(&b);
}

/* Invalid UTF-8 as in JSONTestSuite's i_string_* / n_string_* cases: each bad byte
 * becomes \ufffd, valid characters around it stay, and the output is valid JSON. */
static void test_json_write_string_invalid_utf8(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"\x80", "\"\\ufffd\""}, /* lone continuation byte */
        {"a\xff"
         "b",
         "\"a\\ufffdb\""},                                        /* never valid in UTF-8 */
        {"\xc0\xaf", "\"\\ufffd\\ufffd\""},                       /* overlong '/' */
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},            /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* above U+10FFFF */
        {"\xe2\x82", "\"\\ufffd\\ufffd\""},                       /* truncated sequence */
        {"\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xe2\x82\xac\xf0\x9f\x98\x80\""}, /* valid */
        {"\xc3\xa9\xc3", "\"\xc3\xa9\\ufffd\""},                              /* cut at the end */
    };
    for (size_t i = 0; i < CL_ARRAY_LEN(cases); i++) {
        struct cl_buf b;
        cl_buf_init(&b, 1024);
        assert_int_equal(cl_json_write_string(&b, cases[i].in, strlen(cases[i].in)), CL_OK);
        assert_string_equal(b.data, cases[i].want);
        cl_buf_free(&b);
    }
}

/* The escaping of one byte as the rules say (the reference for the 8-byte fast path). */
static void escape_one(struct cl_buf *want, unsigned char c)
{
    if (c >= 0x80)
        cl_buf_append_str(want, "\\ufffd"); /* a lone byte >= 0x80 is never valid UTF-8 */
    else if (c == '"' || c == '\\')
        cl_buf_printf(want, "\\%c", c);
    else if (c == '\n' || c == '\r' || c == '\t')
        cl_buf_printf(want, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
    else if (c < 0x20)
        cl_buf_printf(want, "\\u%04x", c);
    else
        cl_buf_append_char(want, (char)c);
}

/* Every byte value at every offset of a 8-byte word, in plain ASCII around it: the
 * word-at-a-time scan must stop at each byte that needs escaping. */
static void test_json_write_string_every_byte_every_offset(void **state)
{
    (void)state;
    for (unsigned c = 1; c < 256; c++)
        for (size_t at = 0; at < 20; at++) {
            char in[24];
            memset(in, 'x', sizeof in);
            in[at] = (char)c;
            struct cl_buf got, want;
            cl_buf_init(&got, 1024);
            cl_buf_init(&want, 1024);
            cl_buf_append_char(&want, '"');
            for (size_t i = 0; i < sizeof in; i++)
                escape_one(&want, (unsigned char)in[i]);
            cl_buf_append_char(&want, '"');
            assert_int_equal(cl_json_write_string(&got, in, sizeof in), CL_OK);
            assert_string_equal(got.data, want.data);
            cl_buf_free(&got);
            cl_buf_free(&want);
        }
}

/* Integers as printf would write them, the extremes included. */
static void test_json_write_int(void **state)
{
    (void)state;
    struct cl_buf b;
    cl_buf_init(&b, 1024);
    cl_json_write_uint(&b, 0);
    cl_buf_append_char(&b, ' ');
    cl_json_write_uint(&b, UINT64_MAX);
    cl_buf_append_char(&b, ' ');
    cl_json_write_int(&b, INT64_MIN);
    cl_buf_append_char(&b, ' ');
    cl_json_write_int(&b, -7);
    cl_buf_append_char(&b, ' ');
    cl_json_write_int(&b, INT64_MAX);
    assert_string_equal(b.data, "0 18446744073709551615 -9223372036854775808 -7 "
                                "9223372036854775807");
    cl_buf_free(&b);
}

static void test_gzip_round_trip(void **state)
{
    const size_t n = 1 << 20;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)("abcdefgh\n"[i % 9] + (i % 4096 == 0));
    struct cl_buf gz, out;
    cl_buf_init(&gz, 4u << 20);
    cl_buf_init(&out, 4u << 20);
    assert_int_equal(cl_gzip_compress(data, n, 1, &gz), CL_OK);
    assert_true(gz.len < n / 4);
    assert_int_equal((unsigned char)gz.data[0], 0x1f); /* gzip magic */
    assert_int_equal((unsigned char)gz.data[1], 0x8b);
    assert_int_equal(cl_gzip_decompress(gz.data, gz.len, &out), CL_OK);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, data, n);

    /* Truncated input and garbage are corrupt, not crashes. */
    cl_buf_reset(&out);
    assert_int_equal(cl_gzip_decompress(gz.data, gz.len / 2, &out), CL_ERR_CORRUPT);
    assert_int_equal(out.len, 0);
    assert_int_equal(cl_gzip_decompress("hello world", 11, &out), CL_ERR_CORRUPT);
    /* The trailer is checked: a wrong CRC-32, or a member followed by garbage. */
    gz.data[gz.len - 8] ^= 0x01;
    assert_int_equal(cl_gzip_decompress(gz.data, gz.len, &out), CL_ERR_CORRUPT);
    assert_int_equal(out.len, 0);
    gz.data[gz.len - 8] ^= 0x01;
    cl_buf_append(&gz, "\x1f\x8b", 2);
    assert_int_equal(cl_gzip_decompress(gz.data, gz.len, &out), CL_ERR_CORRUPT);
    cl_buf_free(&gz);
    cl_buf_free(&out);
    free(data);
}

static void test_gzip_concatenated_members(void **state)
{
    struct cl_buf gz, out;
    cl_buf_init(&gz, 1 << 20);
    cl_buf_init(&out, 1 << 20);
    assert_int_equal(cl_gzip_compress("first\n", 6, 1, &gz), CL_OK);
    assert_int_equal(cl_gzip_compress("second\n", 7, 3, &gz), CL_OK);
    assert_int_equal(cl_gzip_decompress(gz.data, gz.len, &out), CL_OK);
    assert_string_equal(out.data, "first\nsecond\n");
    cl_buf_free(&gz);
    cl_buf_free(&out);
}

/* A bomb: 256 MiB of zeros compressed; decoding must stop at the bound. */
static void test_gzip_bomb_bounded(void **state)
{
    const size_t chunk = 1 << 20;
    char *zeros = calloc(1, chunk);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = 1 << 20, len = 0;
    unsigned char *gz = malloc(cap);
    for (int i = 0; i < 256; i++) {
        z.next_in = (Bytef *)zeros;
        z.avail_in = (uInt)chunk;
        do {
            z.next_out = gz + len;
            z.avail_out = (uInt)(cap - len);
            deflate(&z, i == 255 ? Z_FINISH : Z_NO_FLUSH);
            len = cap - z.avail_out;
        } while (z.avail_in > 0);
    }
    deflateEnd(&z);
    struct cl_buf out;
    cl_buf_init(&out, 8u << 20);
    assert_int_equal(cl_gzip_decompress(gz, len, &out), CL_ERR_TOO_LARGE);
    assert_true(out.cap <= (8u << 20) + 1);
    cl_buf_free(&out);
    free(gz);
    free(zeros);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_buf_limit),
        cmocka_unit_test(test_json_write_string),
        cmocka_unit_test(test_json_write_string_invalid_utf8),
        cmocka_unit_test(test_json_write_string_every_byte_every_offset),
        cmocka_unit_test(test_json_write_int),
        cmocka_unit_test(test_gzip_round_trip),
        cmocka_unit_test(test_gzip_concatenated_members),
        cmocka_unit_test(test_gzip_bomb_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
