/* test_core_partition.c - normalized line heads, partition keys, object ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "partition.h"

#include <string.h>

static int head(const char *line, struct cl_line_head *h)
{
    return cl_line_head_parse(line, strlen(line), h);
}

static void test_head_of_normalized_line(void **state)
{
    struct cl_line_head h;
    const char *line = "{\"timestamp\":\"2026-11-24T23:59:59.123Z\",\"level\":\"warn\","
                       "\"service\":\"web-1.eu_west\",\"message\":\"x\",\"a\":1}";
    assert_int_equal(head(line, &h), 0);
    assert_int_equal(h.ts_ms, 1795564799123LL);
    assert_int_equal(h.level, CL_LEVEL_WARN);
    assert_string_equal(h.service, "web-1.eu_west");
    assert_string_equal(h.dt, "2026-11-24");
    assert_int_equal(h.hour, 23);
    char key[CL_PARTITION_MAX];
    cl_partition_key(&h, key);
    assert_string_equal(key, "service=web-1.eu_west/dt=2026-11-24/hour=23");
}

static void test_head_rejects_other_shapes(void **state)
{
    struct cl_line_head h;
    /* Order differs from what the normalizer writes. */
    assert_int_equal(head("{\"level\":\"info\",\"timestamp\":\"2026-11-24T23:59:59.123Z\"}", &h),
                     -1);
    /* Not UTC milliseconds. */
    assert_int_equal(head("{\"timestamp\":\"2026-11-24T23:59:59+01:00\",\"level\":\"info\","
                          "\"service\":\"a\",\"message\":\"\"}",
                          &h),
                     -1);
    /* Unknown level, bad service, truncated. */
    assert_int_equal(head("{\"timestamp\":\"2026-11-24T23:59:59.123Z\",\"level\":\"loud\","
                          "\"service\":\"a\",\"message\":\"\"}",
                          &h),
                     -1);
    assert_int_equal(head("{\"timestamp\":\"2026-11-24T23:59:59.123Z\",\"level\":\"info\","
                          "\"service\":\"a b\",\"message\":\"\"}",
                          &h),
                     -1);
    assert_int_equal(head("{\"timestamp\":\"2026-11-24T23:59:59.123Z\",\"level\":\"info\","
                          "\"service\":\"a",
                          &h),
                     -1);
    assert_int_equal(head("", &h), -1);
    assert_int_equal(head("garbage", &h), -1);
}

static void test_object_ids_unique_and_sortable(void **state)
{
    char a[CL_OBJECT_ID_LEN + 1], b[CL_OBJECT_ID_LEN + 1];
    cl_object_id_new(1795564799123LL, a);
    cl_object_id_new(1795564799123LL, b);
    assert_int_equal(strlen(a), CL_OBJECT_ID_LEN);
    assert_memory_equal(a, "20261124T235959Z-", 17);
    assert_string_not_equal(a, b);
    cl_object_id_new(1795564800000LL, b);
    assert_true(strcmp(a, b) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_of_normalized_line),
        cmocka_unit_test(test_head_rejects_other_shapes),
        cmocka_unit_test(test_object_ids_unique_and_sortable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
