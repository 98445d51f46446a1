/* test_pipeline_part_map.c - the processor's partition-key hash map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "part_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 5000

/* Insert many keys, remove every third (backward-shift deletion must keep the others
 * findable), re-insert, and check every answer against the expected set. */
static void test_put_get_del(void **state)
{
    static char keys[N][64];
    struct cl_part_map m;
    cl_part_map_init(&m);
    assert_null(cl_part_map_get(&m, "service=a/dt=2026-01-01/hour=00"));
    cl_part_map_del(&m, "absent"); /* empty map: no-op */
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "service=s%d/dt=2026-01-%02d/hour=%02d", i % 7,
                 1 + i % 28, i % 24);
        snprintf(keys[i] + strlen(keys[i]), 16, "/%d", i); /* unique */
        cl_part_map_put(&m, keys[i], keys[i]);
    }
    assert_int_equal(m.n, N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(cl_part_map_get(&m, keys[i]), keys[i]);
    for (int i = 0; i < N; i += 3)
        cl_part_map_del(&m, keys[i]);
    cl_part_map_del(&m, keys[0]); /* already gone: no-op */
    for (int i = 0; i < N; i++)
        assert_ptr_equal(cl_part_map_get(&m, keys[i]), i % 3 ? keys[i] : NULL);
    for (int i = 0; i < N; i += 3)
        cl_part_map_put(&m, keys[i], keys[(i + 1) % N]);
    assert_int_equal(m.n, N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(cl_part_map_get(&m, keys[i]), i % 3 ? keys[i] : keys[(i + 1) % N]);
    assert_true(m.n * 4 <= m.cap * 3); /* load stays at most 3/4 */
    for (int i = 0; i < N; i++)
        cl_part_map_del(&m, keys[i]);
    assert_int_equal(m.n, 0);
    cl_part_map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_del),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
