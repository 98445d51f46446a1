/* test_store_s3_multipart.c - the S3 store against moto: multipart upload (also through
 * tests/tools/faultproxy.py), conditional put (if_none_match), sweep and URL options. */
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
        if (cl_s3_run_py(port, code, out_, sizeof out_) != 0 ||                                    \
            sscanf(out_, fmt, __VA_ARGS__) != (n))                                                 \
            fail_msg("boto3 snippet failed or printed: %s", out_);                                 \
    } while (0)

static void test_multipart_put(void **state)
{
    NEED_MOTO();
    struct cl_store s;
    cl_s3_open(&s, "mp", MP_OPTS);
    size_t n = 11 * MIB + 7; /* 5 + 5 + 1 MiB: three parts */
    unsigned char *data = pattern(n, 3);
    assert_int_equal(cl_store_put(&s, "big.bin", data, n), CL_OK);
    cl_s3_assert_get(&s, "big.bin", data, n);
    char want[65], sha[65], etag[128], crc[64];
    size_t size = 0;
    int uploads = -1;
    cl_sigv4_sha256_hex(data, n, want);
    PY_SCAN(cl_s3_fx.m_auth.port,
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
    PY_SCAN(cl_s3_fx.m_auth.port,
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

static const unsigned char *g_put_data; /* what put_big puts (cl_s3_with_stderr takes no data) */
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
    if (cl_faultproxy_start(&cl_test_proxy, cl_s3_fx.m_auth.port, cl_s3_fx.tmpdir, NULL) != 0)
        fail_msg("faultproxy did not start (see stderr)");
    struct cl_store s;
    cl_s3_open_at(&s, &cl_test_proxy, "mpf", MP_OPTS);
    g_put_len = 10 * MIB + 1;
    unsigned char *data = pattern(g_put_len, 5);
    g_put_data = data;
    char out[1 << 16], log[8192];
    proxy_control(&cl_test_proxy, "POST", "/__faults",
                  "[{\"method\": \"PUT\", \"path\": \"partNumber=2\", \"action\": \"status\", "
                  "\"status\": 500, \"times\": null}]",
                  out, sizeof out);
    assert_int_equal(cl_s3_with_stderr(put_big, &s, log, sizeof log), CL_ERR_IO);
    if (!strstr(log, "InternalError") || !strstr(log, "3 attempts") ||
        !strstr(log, "S3 internal error"))
        fail_msg("expected InternalError after 3 attempts, got: %s", log);
    proxy_control(&cl_test_proxy, "GET", "/__faults/log", NULL, out, sizeof out);
    if (!strstr(out, "\"DELETE\"") || !strstr(out, "uploadId="))
        fail_msg("the failed upload was not aborted: %s", out);
    assert_int_equal(uploads_under(cl_s3_fx.m_auth.port, "mpf"), 0);
    assert_int_equal(cl_s3_get_rc(&s, "obj.bin"), CL_ERR_NOT_FOUND);

    proxy_control(&cl_test_proxy, "DELETE", "/__faults", NULL, out, sizeof out);
    proxy_control(&cl_test_proxy, "POST", "/__faults",
                  "[{\"path\": \"partNumber=2\", \"action\": \"reset\"}, {\"path\": "
                  "\"partNumber=1\", \"action\": \"status\", \"status\": 503}, {\"method\": "
                  "\"POST\", \"path\": \"uploadId=\", \"action\": \"status\", \"status\": 500}]",
                  out, sizeof out);
    assert_int_equal(put_big(&s), CL_OK); /* each request failed once, then went through */
    cl_s3_assert_get(&s, "obj.bin", data, g_put_len);
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
    cl_s3_open(&s, "inm", "&if_none_match=1" MP_OPTS);
    assert_int_equal(cl_store_put(&s, "a", "first", 5), CL_OK);
    assert_int_equal(cl_store_put(&s, "a", "second", 6), CL_ERR_EXISTS);
    cl_s3_assert_get(&s, "a", "first", 5);
    size_t n = 6 * MIB;
    unsigned char *one = pattern(n, 7), *two = pattern(n, 8);
    assert_int_equal(cl_store_put(&s, "big", one, n), CL_OK);
    assert_int_equal(cl_store_put(&s, "big", two, n), CL_ERR_EXISTS); /* at Complete */
    cl_s3_assert_get(&s, "big", one, n);
    assert_int_equal(uploads_under(cl_s3_fx.m_auth.port, "inm"),
                     0);           /* the refused one was aborted */
    cl_s3_open(&plain, "inm", ""); /* without the option: overwrite */
    assert_int_equal(cl_store_put(&plain, "a", "second", 6), CL_OK);
    cl_s3_assert_get(&plain, "a", "second", 6);
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
        cl_s3_run_py(
            cl_s3_fx.m_open.port,
            "s3=boto3.client('s3', endpoint_url=E, region_name='us-east-1',"
            " aws_access_key_id='x', aws_secret_access_key='x')\n"
            "for k in ['sw/_staging/a', 'sw/_staging/b', 'sw/keep/c', 'other/_staging/d']:\n"
            "    s3.create_multipart_upload(Bucket='" BUCKET "', Key=k)\n",
            out, sizeof out),
        0);
    struct cl_store s;
    cl_s3_open_at(&s, &cl_s3_fx.m_open, "sw", "");
    assert_int_equal(cl_store_sweep(&s, "_staging/"), CL_OK);
    const char *left_py = "s3=boto3.client('s3', endpoint_url=E, region_name='us-east-1',"
                          " aws_access_key_id='x', aws_secret_access_key='x')\n"
                          "u=s3.list_multipart_uploads(Bucket='" BUCKET "').get('Uploads', [])\n"
                          "print(','.join(sorted(x['Key'] for x in u)) or '-')\n";
    char left[512];
    PY_SCAN(cl_s3_fx.m_open.port, left_py, 1, "%511s", left);
    assert_string_equal(left, "other/_staging/d,sw/keep/c");
    assert_int_equal(cl_store_sweep(&s, ""), CL_OK); /* the whole store prefix */
    PY_SCAN(cl_s3_fx.m_open.port, left_py, 1, "%511s", left);
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
    if (cl_s3_fx.ok)
        cl_moto_use_key(cl_s3_fx.akid, cl_s3_fx.secret);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multipart_put),
        cmocka_unit_test_teardown(test_multipart_faults, cl_test_proxy_teardown),
        cmocka_unit_test(test_if_none_match),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_url_options),
    };
    return cmocka_run_group_tests(tests, cl_s3_group_setup, cl_s3_group_teardown);
}
