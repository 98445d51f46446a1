/* test_store_s3.c - S3 store against moto_server with SigV4 verification: put/get/list/
 * delete/move, keys moto cannot verify, a wrong secret, and objects exchanged with boto3.
 * The AWS HTTP client against a scripted server: test_store_s3_http.c; multipart,
 * conditional put, sweep and URL options: test_store_s3_multipart.c. */
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

static void test_put_get_delete(void **state)
{
    NEED_MOTO();
    struct cl_store s;
    cl_s3_open(&s, "pg", "");
    size_t n = 300000;
    unsigned char *data = cl_malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 131 + (i >> 9));
    const char *key = "service-api/dt-2026-11-25/hour-15/obj_1.~x.bin";
    assert_int_equal(cl_store_put(&s, key, data, n), CL_OK);
    cl_s3_assert_get(&s, key, data, n);
    assert_int_equal(cl_store_put(&s, "empty", "", 0), CL_OK);
    cl_s3_assert_get(&s, "empty", "", 0);
    assert_int_equal(cl_s3_get_rc(&s, "missing/key"), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_store_delete(&s, key), CL_OK);
    assert_int_equal(cl_s3_get_rc(&s, key), CL_ERR_NOT_FOUND);
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
    cl_s3_open_at(&a, &cl_s3_fx.m_open, "lp/one", "");
    cl_s3_open_at(&b, &cl_s3_fx.m_open, "lp/one-other", "");
    const char *odd = "service=api/dt=1/a b+c&d<e>'\"~!$%(x)*,;:@.bin";
    assert_int_equal(cl_store_put(&a, "dt=1/b", "bb", 2), CL_OK);
    assert_int_equal(cl_store_put(&a, odd, "a", 1), CL_OK);
    assert_int_equal(cl_store_put(&a, "dt=2/c", "ccc", 3), CL_OK);
    assert_int_equal(cl_store_put(&b, "dt=1/zzz", "z", 1), CL_OK);
    cl_s3_assert_get(&a, odd, "a", 1);
    struct cl_buf got;
    cl_buf_init(&got, 1 << 20);
    assert_int_equal(cl_store_list(&a, "", cl_s3_collect, &got), CL_OK);
    assert_string_equal(got.data, "dt=1/b:2\ndt=2/c:3\n"
                                  "service=api/dt=1/a b+c&d<e>'\"~!$%(x)*,;:@.bin:1\n");
    cl_buf_reset(&got);
    assert_int_equal(cl_store_list(&a, "dt=2/", cl_s3_collect, &got), CL_OK);
    assert_string_equal(got.data, "dt=2/c:3\n");
    cl_buf_reset(&got);
    assert_int_equal(cl_store_list(&a, "dt=9/", cl_s3_collect, &got), CL_OK);
    assert_int_equal(got.len, 0);
    assert_int_equal(cl_store_move(&a, odd, "moved/x&y=1"), CL_OK);
    cl_s3_assert_get(&a, "moved/x&y=1", "a", 1);
    assert_int_equal(cl_s3_get_rc(&a, odd), CL_ERR_NOT_FOUND);
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
    cl_s3_open(&s, "", "");
    cl_s3_open(&small, "", "&max_keys=10");
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
    cl_s3_open(&s, "mv", "");
    assert_int_equal(cl_store_put(&s, "tmp/a-b", "payload", 7), CL_OK);
    assert_int_equal(cl_store_move(&s, "tmp/a-b", "final/x.y"), CL_OK);
    cl_s3_assert_get(&s, "final/x.y", "payload", 7);
    assert_int_equal(cl_s3_get_rc(&s, "tmp/a-b"), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_store_move(&s, "tmp/missing", "final/y"), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_store_move(&s, "final/x.y", "final/x.y"), CL_OK);
    assert_int_equal(cl_store_move(&s, "tmp/missing", "tmp/missing"), CL_ERR_NOT_FOUND);
    cl_store_close(&s);
}

/* A wrong secret is rejected (moto verifies our signatures) with a clear message. */
static void test_wrong_secret_and_errors(void **state)
{
    NEED_MOTO();
    struct cl_store s;
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
    cl_s3_open(&s, "auth", "");
    setenv("AWS_SECRET_ACCESS_KEY", cl_s3_fx.secret, 1);
    char log[4096];
    assert_int_equal(cl_s3_with_stderr(cl_s3_put_one, &s, log, sizeof log), CL_ERR_IO);
    if (!strstr(log, "SignatureDoesNotMatch") || !strstr(log, "HTTP 403"))
        fail_msg("expected a SignatureDoesNotMatch error, got: %s", log);
    cl_store_close(&s);

    char url[512], err[256];
    snprintf(url, sizeof url, "s3://no-such-bucket-cl?endpoint=http://127.0.0.1:%d",
             cl_s3_fx.m_auth.port);
    assert_int_equal(cl_store_open(&s, url, err, sizeof err), CL_OK);
    assert_int_equal(cl_s3_with_stderr(cl_s3_list_all, &s, log, sizeof log), CL_ERR_IO);
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
    cl_s3_open(&s, "interop", "");
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
    assert_int_equal(cl_s3_run_py(cl_s3_fx.m_auth.port, code, out, sizeof out), 0);
    out[strcspn(out, "\n")] = '\0';
    char *sp = strchr(out, ' ');
    assert_non_null(sp);
    *sp = '\0';
    assert_string_equal(out, want);
    print_message("boto3 sees our CRC32 checksum: %s\n", sp + 1);
    cl_s3_assert_get(&s, "dt-1/theirs", "from boto3", 10);
    free(data);
    cl_store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_delete),
        cmocka_unit_test(test_special_keys_and_prefixes),
        cmocka_unit_test(test_list_pagination),
        cmocka_unit_test(test_move),
        cmocka_unit_test(test_wrong_secret_and_errors),
        cmocka_unit_test(test_boto3_interop),
    };
    return cmocka_run_group_tests(tests, cl_s3_group_setup, cl_s3_group_teardown);
}
