/* test_pipeline_breaker.c - the processor's circuit breaker as a state machine (time is
 * passed in, so no clock is involved). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "breaker.h"

static enum cl_breaker_verdict check(struct cl_breaker *b, int64_t now, int64_t *wait)
{
    return cl_breaker_check(b, now, wait);
}

static void test_open_probe_backoff_close(void **state)
{
    (void)state;
    struct cl_breaker *b = cl_breaker_new(1000, 4000, NULL);
    int64_t wait;
    assert_int_equal(check(b, 0, &wait), CL_BREAKER_PASS);
    assert_int_equal(cl_breaker_failure(b, 0, "store down"), 0);
    assert_int_equal(check(b, 10, &wait), CL_BREAKER_WAIT);
    assert_int_equal(wait, 990);
    /* A second worker failing while open changes nothing. */
    cl_breaker_failure(b, 500, "store down");
    assert_int_equal(check(b, 1000, &wait), CL_BREAKER_PROBE);
    assert_int_equal(check(b, 1000, &wait), CL_BREAKER_WAIT); /* one prober at a time */
    cl_breaker_probe_failed(b, 1000, "probe failed");
    assert_int_equal(check(b, 2999, &wait), CL_BREAKER_WAIT);
    assert_int_equal(check(b, 3000, &wait), CL_BREAKER_PROBE); /* 2 s later */
    cl_breaker_probe_failed(b, 3000, "probe failed");
    assert_int_equal(check(b, 7000, &wait), CL_BREAKER_PROBE); /* 4 s: the cap */
    cl_breaker_probe_failed(b, 7000, "probe failed");
    assert_int_equal(check(b, 11000, &wait), CL_BREAKER_PROBE); /* still 4 s */
    cl_breaker_probe_ok(b, 11000);
    assert_int_equal(check(b, 11000, &wait), CL_BREAKER_PASS);
    cl_breaker_free(b);
}

/* A failure right after a probe closed it counts against the messages (on trial); once
 * an object was stored, failures are systemic again. */
static void test_trial(void **state)
{
    (void)state;
    struct cl_breaker *b = cl_breaker_new(10, 100, NULL);
    int64_t wait;
    cl_breaker_failure(b, 0, "down");
    assert_int_equal(check(b, 10, &wait), CL_BREAKER_PROBE);
    cl_breaker_probe_ok(b, 10);
    assert_int_equal(cl_breaker_failure(b, 20, "refused"), 1);
    assert_int_equal(check(b, 30, &wait), CL_BREAKER_PROBE);
    cl_breaker_probe_ok(b, 30);
    cl_breaker_success(b);
    assert_int_equal(cl_breaker_failure(b, 40, "down again"), 0);
    cl_breaker_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_probe_backoff_close),
        cmocka_unit_test(test_trial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
