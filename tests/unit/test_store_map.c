/* test_store_map.c - cl_store_map: a local object mapped read-only gives its bytes, an
 * empty one nothing, a missing one CL_ERR_NOT_FOUND; a mapping outlives a delete and a
 * replacing put; a backend without map says CL_ERR_UNSUPPORTED. */
#include "common.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "service=api/dt=2026-11-25/hour=22/a.ndjson.gz"

static char dir[512];

static void open_store(struct cl_store *s)
{
    char err[256];
    assert_int_equal(cl_store_open(s, dir, err, sizeof err), CL_OK);
}

static void test_map_bytes(void **state)
{
    (void)state;
    struct cl_store s;
    open_store(&s);
    static const char body[] = "0123456789 some object bytes";
    assert_int_equal(cl_store_put(&s, KEY, body, sizeof body - 1), CL_OK);
    const void *p = NULL;
    size_t n = 0;
    assert_int_equal(cl_store_map(&s, KEY, &p, &n), CL_OK);
    assert_int_equal(n, sizeof body - 1);
    assert_memory_equal(p, body, n);
    /* replaced and then deleted: the mapping still shows what it mapped */
    assert_int_equal(cl_store_put(&s, KEY, "other", 5), CL_OK);
    assert_int_equal(cl_store_delete(&s, KEY), CL_OK);
    assert_memory_equal(p, body, n);
    cl_store_unmap(&s, p, n);
    assert_int_equal(cl_store_map(&s, KEY, &p, &n), CL_ERR_NOT_FOUND);
    assert_null(p);
    assert_int_equal(n, 0);
    cl_store_close(&s);
}

static void test_map_empty(void **state)
{
    (void)state;
    struct cl_store s;
    open_store(&s);
    assert_int_equal(cl_store_put(&s, KEY, "", 0), CL_OK);
    const void *p = "x";
    size_t n = 1;
    assert_int_equal(cl_store_map(&s, KEY, &p, &n), CL_OK);
    assert_null(p);
    assert_int_equal(n, 0);
    cl_store_unmap(&s, p, n);
    assert_int_equal(cl_store_delete(&s, KEY), CL_OK);
    cl_store_close(&s);
}

static int no_put(void *impl, const char *key, const void *data, size_t len)
{
    (void)impl, (void)key, (void)data, (void)len;
    return CL_ERR_IO;
}

static void test_map_unsupported(void **state)
{
    (void)state;
    static const struct cl_store_ops ops = {.name = "nomap", .put = no_put};
    struct cl_store s = {.ops = &ops, .impl = NULL};
    const void *p = NULL;
    size_t n = 0;
    assert_int_equal(cl_store_map(&s, KEY, &p, &n), CL_ERR_UNSUPPORTED);
    cl_store_unmap(&s, p, n); /* nothing to release, no unmap: a no-op */
}

int main(void)
{
    const char *base = getenv("CL_TMPDIR");
    snprintf(dir, sizeof dir, "%s/store_map_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_bytes),
        cmocka_unit_test(test_map_empty),
        cmocka_unit_test(test_map_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
