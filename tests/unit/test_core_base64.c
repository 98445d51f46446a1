/* test_core_base64.c - our base64 (base64.h) against OpenSSL's on the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base64.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* Every length 0..200 of pseudo-random bytes (all 256 values occur): the encoding equals
 * EVP_EncodeBlock's, and decoding gives the bytes back. */
static void test_against_openssl(void **state)
{
    (void)state;
    unsigned char in[200], back[200];
    char ours[280], theirs[280];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof in; i++) {
        x = x * 1103515245u + 12345u;
        in[i] = (unsigned char)(x >> 16);
    }
    for (size_t n = 0; n <= sizeof in; n++) {
        size_t w = cl_base64_encode(ours, in, n);
        int tw = EVP_EncodeBlock((unsigned char *)theirs, in, (int)n);
        assert_int_equal(w, (size_t)tw);
        assert_int_equal(w, cl_base64_encoded_len(n));
        assert_string_equal(ours, theirs);
        assert_int_equal(cl_base64_decode(back, ours, w), (long)n);
        assert_memory_equal(back, in, n);
    }
}

static void test_decode_is_strict(void **state)
{
    (void)state;
    unsigned char out[16];
    assert_int_equal(cl_base64_decode(out, "aGk=", 4), 2);
    assert_memory_equal(out, "hi", 2);
    assert_int_equal(cl_base64_decode(out, "aA==", 4), 1);
    assert_int_equal(cl_base64_decode(out, "", 0), 0);
    static const char *const bad[] = {"aGk",   "aGk=a", "a=k=", "a===", "====",    "aG k",
                                      "aGk\n", "aGk-",  "aG_=", "=aGk", "aGk=aGk="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cl_base64_decode(out, bad[i], strlen(bad[i])), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_openssl),
        cmocka_unit_test(test_decode_is_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
