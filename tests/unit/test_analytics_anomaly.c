/* test_analytics_anomaly.c - the streaming detectors on known series: warm-up, a spike,
 * a level shift, daily seasonality, new patterns and silence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "anomaly.h"

#include <math.h>

#define STEP_MS (5 * 60 * 1000LL) /* NAB's usual 5-minute points */
#define DAY_POINTS 288

static uint64_t rng = 42;

/* Deterministic noise in [-1, 1]. */
static double noise(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) / (double)(1ULL << 52) - 1.0;
}

static void test_warmup_scores_zero(void **state)
{
    struct cl_anomaly_series s;
    cl_anomaly_series_init(&s);
    for (int i = 0; i < CL_ANOMALY_WARMUP; i++)
        assert_true(cl_anomaly_score(&s, i * STEP_MS, i % 2 ? 1000 : -1000, NULL) == 0);
}

static void test_spike_stands_out(void **state)
{
    struct cl_anomaly_series s;
    cl_anomaly_series_init(&s);
    double max_normal = 0;
    int64_t t = 0;
    for (int i = 0; i < 3 * DAY_POINTS; i++, t += STEP_MS) {
        double sc = cl_anomaly_score(&s, t, 100 + 5 * noise(), NULL);
        if (i > 2 * DAY_POINTS && sc > max_normal)
            max_normal = sc;
    }
    double expected;
    double spike = cl_anomaly_score(&s, t, 200, &expected);
    assert_true(fabs(expected - 100) < 5);
    assert_true(spike >= 0.5);
    assert_true(max_normal < spike);
    assert_true(spike <= 1.0);
}

static void test_daily_seasonality(void **state)
{
    struct cl_anomaly_series s;
    cl_anomaly_series_init(&s);
    int64_t t = 0;
    double max_day10 = 0;
    /* Ten days of a daily wave (day 100, night 0) with small noise. */
    for (int i = 0; i < 10 * DAY_POINTS; i++, t += STEP_MS) {
        double v = 50 + 50 * sin(2 * M_PI * i / DAY_POINTS) + noise();
        double sc = cl_anomaly_score(&s, t, v, NULL);
        if (i >= 9 * DAY_POINTS && sc > max_day10)
            max_day10 = sc;
    }
    assert_true(max_day10 < 0.5); /* the wave itself is expected */
    /* Day 11 up to its peak (6 h: 100), where the night value (0) is an anomaly. */
    for (int i = 0; i < DAY_POINTS / 4; i++, t += STEP_MS)
        cl_anomaly_score(&s, t, 50 + 50 * sin(2 * M_PI * i / DAY_POINTS) + noise(), NULL);
    double expected;
    double sc = cl_anomaly_score(&s, t, 0, &expected);
    assert_true(expected > 80);
    assert_true(sc >= 0.5);
}

/* A value past the range seen so far that the forecast expected (within one usual spread
 * of it) is not an anomaly; before, every new extreme scored at least 0.67. */
static void test_expected_new_extreme(void **state)
{
    struct cl_anomaly_series s;
    cl_anomaly_series_init(&s);
    int64_t t = 0;
    for (int i = 0; i < 300; i++, t += STEP_MS) /* 90, 110, 90, ...: spread 10 */
        cl_anomaly_score(&s, t, i % 2 ? 110 : 90, NULL);
    for (int i = 0; i < 40; i++, t += STEP_MS) /* the series settles at 109 */
        assert_true(cl_anomaly_score(&s, t, 109, NULL) < 0.5);
    double expected;
    double sc = cl_anomaly_score(&s, t, 110.5, &expected); /* past 110, near the forecast */
    assert_true(expected > 105);
    assert_true(sc < 0.5);
    assert_true(cl_anomaly_score(&s, t + STEP_MS, 200, NULL) >= 0.5); /* a real one still is */
}

static void test_level_shift_is_absorbed(void **state)
{
    struct cl_anomaly_series s;
    cl_anomaly_series_init(&s);
    int64_t t = 0;
    for (int i = 0; i < 2 * DAY_POINTS; i++, t += STEP_MS)
        cl_anomaly_score(&s, t, 10 + noise(), NULL);
    double first = cl_anomaly_score(&s, t, 30, NULL);
    assert_true(first >= 0.5); /* reported once */
    double last = 1;
    for (int i = 0; i < 2 * DAY_POINTS; i++, t += STEP_MS)
        last = cl_anomaly_score(&s, t, 30 + noise(), NULL);
    assert_true(last < 0.5); /* the new level became normal */
}

static void test_new_pattern_after_warmup(void **state)
{
    struct cl_anomaly_novelty d = {0, 3600 * 1000};
    assert_false(cl_anomaly_novelty_check(&d, 1000, 1));        /* warming up */
    assert_false(cl_anomaly_novelty_check(&d, 3000 * 1000, 1)); /* still */
    assert_true(cl_anomaly_novelty_check(&d, 3602 * 1000, 1));  /* new after an hour */
    assert_false(cl_anomaly_novelty_check(&d, 3700 * 1000, 0)); /* seen before */
}

static void test_silence(void **state)
{
    struct cl_anomaly_silence d = {0, 0, 60 * 1000};
    assert_false(cl_anomaly_silence_check(&d, 1000)); /* nothing yet */
    for (int i = 1; i <= 100; i++)
        cl_anomaly_silence_record(&d, i * 10 * 1000LL); /* every 10 s */
    assert_false(cl_anomaly_silence_check(&d, 1000 * 1000 + 50 * 1000));
    assert_true(cl_anomaly_silence_check(&d, 1000 * 1000 + 101 * 1000)); /* > 10 gaps */
    d.floor_ms = 300 * 1000; /* the floor wins over 10 short gaps */
    assert_false(cl_anomaly_silence_check(&d, 1000 * 1000 + 200 * 1000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warmup_scores_zero),
        cmocka_unit_test(test_spike_stands_out),
        cmocka_unit_test(test_daily_seasonality),
        cmocka_unit_test(test_expected_new_extreme),
        cmocka_unit_test(test_level_shift_is_absorbed),
        cmocka_unit_test(test_new_pattern_after_warmup),
        cmocka_unit_test(test_silence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
