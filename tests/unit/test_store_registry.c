/* test_store_registry.c - the store backend registry (CL_STORE_BACKENDS, store.c): URL
 * dispatch, the help text built from it, and the prefix check the Lambda uses. */
#include "common.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char test_dir[512];

static void test_forms_from_registry(void **state)
{
    (void)state;
    /* One string literal built from the registry: every backend's form, then paths. */
    assert_string_equal(CL_STORE_URL_FORMS, "file:DIR, s3://BUCKET/PREFIX, or a directory");
}

static void test_has_prefix(void **state)
{
    (void)state;
    assert_true(cl_store_url_has_prefix("s3://bucket/prefix"));
    assert_true(cl_store_url_has_prefix("file:/tmp/logs"));
    assert_false(cl_store_url_has_prefix("/tmp/logs"));
    assert_false(cl_store_url_has_prefix("gs://bucket"));
}

static void test_open_dispatch(void **state)
{
    (void)state;
    struct cl_store s;
    char err[512], url[600];
    assert_int_equal(cl_store_open(&s, "gs://bucket/x", err, sizeof err), CL_ERR_UNSUPPORTED);
    assert_string_equal(err, "unsupported store URL scheme 'gs' (use " CL_STORE_URL_FORMS ")");
    /* file:DIR and a plain path both reach the directory backend. */
    snprintf(url, sizeof url, "file:%s/a", test_dir);
    assert_int_equal(cl_store_open(&s, url, err, sizeof err), CL_OK);
    assert_int_equal(cl_store_put(&s, "k/one", "1", 1), CL_OK);
    cl_store_close(&s);
    snprintf(url, sizeof url, "%s/a", test_dir);
    assert_int_equal(cl_store_open(&s, url, err, sizeof err), CL_OK);
    struct cl_buf b;
    cl_buf_init(&b, 1024);
    assert_int_equal(cl_store_get(&s, "k/one", &b), CL_OK);
    assert_int_equal(b.len, 1);
    cl_buf_free(&b);
    cl_store_close(&s);
}

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("CL_TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/store_registry_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(test_dir) ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms_from_registry),
        cmocka_unit_test(test_has_prefix),
        cmocka_unit_test(test_open_dispatch),
    };
    return cmocka_run_group_tests(tests, setup_dir, NULL);
}
