/* s3_test_util.c - the S3 store tests' moto fixture and store helpers (s3_test_util.h). */
#include "s3_test_util.h"

#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cl_s3_fixture cl_s3_fx = {.m_auth = CL_MOTO_INIT, .m_open = CL_MOTO_INIT};

/* Runs a boto3 snippet against moto at port (cl_s3_fx.m_auth's or cl_s3_fx.m_open's). */
int cl_s3_run_py(int port, const char *code, char *out, size_t out_len)
{
    struct cl_moto at = {-1, port};
    return cl_moto_python(&at, cl_s3_fx.tmpdir, code, out, out_len);
}

/* After cl_moto_iam_setup: the bucket, created with that key (so signature-checked). */
static const char setup_py[] = "client('s3').create_bucket(Bucket='" BUCKET "')\n";

static const char open_setup_py[] =
    "boto3.client('s3', endpoint_url=E, region_name='us-east-1', aws_access_key_id='x',\n"
    "             aws_secret_access_key='y').create_bucket(Bucket='" BUCKET "')\n";

int cl_s3_group_teardown(void **state)
{
    (void)state;
    cl_moto_stop(&cl_s3_fx.m_auth);
    cl_moto_stop(&cl_s3_fx.m_open);
    return 0;
}

int cl_s3_tmpdir_setup(void **state)
{
    (void)state;
    const char *t = getenv("CL_TMPDIR");
    snprintf(cl_s3_fx.tmpdir, sizeof cl_s3_fx.tmpdir, "%s", t ? t : "/tmp");
    return 0;
}

int cl_s3_group_setup(void **state)
{
    cl_s3_tmpdir_setup(state);
    int avail = cl_moto_available("S3 tests");
    if (avail <= 0)
        return avail;
    char out[512] = "", log_auth[600], log_open[600];
    snprintf(log_auth, sizeof log_auth, "%s/moto_s3_auth.log", cl_s3_fx.tmpdir);
    snprintf(log_open, sizeof log_open, "%s/moto_s3_open.log", cl_s3_fx.tmpdir);
    if (cl_moto_start_verified(&cl_s3_fx.m_auth, cl_s3_fx.tmpdir, log_auth, cl_s3_fx.akid,
                               cl_s3_fx.secret) != 0)
        return -1;
    if (cl_moto_start(&cl_s3_fx.m_open, 0, log_open) != 0) {
        fprintf(stderr, "moto_server did not start (see %s)\n", log_open);
        return cl_s3_group_teardown(state) - 1;
    }
    if (cl_s3_run_py(cl_s3_fx.m_auth.port, setup_py, out, sizeof out) != 0 ||
        cl_s3_run_py(cl_s3_fx.m_open.port, open_setup_py, out, sizeof out) != 0) {
        fprintf(stderr, "moto bucket setup failed: %s\n", out);
        return cl_s3_group_teardown(state) - 1;
    }
    cl_s3_fx.ok = 1;
    return 0;
}

/* Opens s3://BUCKET/prefix at moto m with extra options (may be ""). */
void cl_s3_open_at(struct cl_store *s, const struct cl_moto *m, const char *prefix,
                   const char *extra)
{
    char url[512], err[256] = "";
    snprintf(url, sizeof url, "s3://" BUCKET "/%s?endpoint=http://127.0.0.1:%d&path_style=1%s",
             prefix, m->port, extra);
    int rc = cl_store_open(s, url, err, sizeof err);
    if (rc != CL_OK)
        fail_msg("cl_store_open(%s): %s", url, err);
}

/* On the verifying moto. */
void cl_s3_open(struct cl_store *s, const char *prefix, const char *extra)
{
    cl_s3_open_at(s, &cl_s3_fx.m_auth, prefix, extra);
}

void cl_s3_assert_get(struct cl_store *s, const char *key, const void *want, size_t len)
{
    struct cl_buf b;
    cl_buf_init(&b, 64 << 20);
    assert_int_equal(cl_store_get(s, key, &b), CL_OK);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data ? b.data : "", want, len);
    cl_buf_free(&b);
}

int cl_s3_get_rc(struct cl_store *s, const char *key)
{
    struct cl_buf b;
    cl_buf_init(&b, 1 << 20);
    int rc = cl_store_get(s, key, &b);
    cl_buf_free(&b);
    return rc;
}

/* Collects listed keys as "key:size\n" lines. */
int cl_s3_collect(void *arg, const char *key, uint64_t size)
{
    struct cl_buf *b = arg;
    cl_buf_printf(b, "%s:%llu\n", key, (unsigned long long)size);
    return 0;
}

/* Runs fn(s) with stderr captured into out (the store logs S3 errors there). */
int cl_s3_with_stderr(int (*fn)(struct cl_store *), struct cl_store *s, char *out, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/s3_stderr_%d.log", cl_s3_fx.tmpdir, (int)getpid());
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    int rc = fn(s);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, out, len - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return rc;
}

int cl_s3_put_one(struct cl_store *s)
{
    return cl_store_put(s, "denied", "x", 1);
}

int cl_s3_list_all(struct cl_store *s)
{
    struct cl_buf b;
    cl_buf_init(&b, 1 << 20);
    int rc = cl_store_list(s, "", cl_s3_collect, &b);
    cl_buf_free(&b);
    return rc;
}
