/* anomaly.h - streaming anomaly detectors with O(1) memory per series and no training
 * step: a value detector (rates, ratios) with a time-of-day profile, and the "new
 * pattern" and "silence" detectors. docs/analytics.md justifies the choices. */
#ifndef CL_ANOMALY_H
#define CL_ANOMALY_H

#include <stdint.h>

/* Time-of-day buckets of the seasonal profile (30 minutes each). */
#define CL_ANOMALY_BUCKETS 48
/* Points learned before any score is given. */
#define CL_ANOMALY_WARMUP 64

/* One series' state: fixed size, no allocation. */
struct cl_anomaly_series {
    double level;                      /* robust EWMA of the deseasonalized value */
    double scale;                      /* EWMA of the absolute deviation from the forecast */
    double season[CL_ANOMALY_BUCKETS]; /* EWMA of value - level per time-of-day bucket */
    uint64_t seen;                     /* bit b: bucket b has a profile value */
    uint64_t n;                        /* points so far */
    /* Surprise normalization: u = log(1 + z) for the deviation z in scales. */
    double u_long, u_var; /* long-run mean and variance of u */
    uint32_t hold;        /* points left in which a reported anomaly is not repeated */
    double lo, hi;        /* range of the values seen so far */
    double hold_score;    /* the score that started the hold */
};

void cl_anomaly_series_init(struct cl_anomaly_series *s);

/* Scores value at ts_ms (Unix ms, UTC) against what the series learned so far, then
 * learns it. Returns a score in [0, 1]: 0 = as expected or warming up; 0.5 and more = an
 * anomaly (the surprise is 4 of its usual standard deviations above its mean, or the
 * value leaves the range seen so far); after one, the next 120 points score 0 unless they score
 * higher. *expected (may be NULL) gets the forecast. */
double cl_anomaly_score(struct cl_anomaly_series *s, int64_t ts_ms, double value, double *expected);

/* New-pattern detector: a pattern is "new" when first seen after the service's warm-up. */
struct cl_anomaly_novelty {
    int64_t start_ms; /* first record of the service; 0 = none yet */
    int64_t warmup_ms;
};

/* Returns 1 when a pattern first seen at ts_ms counts as a new pattern. */
int cl_anomaly_novelty_check(struct cl_anomaly_novelty *d, int64_t ts_ms, int first_seen);

/* Silence detector: learns the usual gap between records of a series. */
struct cl_anomaly_silence {
    int64_t last_ms;  /* last record; 0 = none yet */
    double gap_ms;    /* EWMA of the gaps between records */
    int64_t floor_ms; /* never silent for gaps shorter than this */
};

void cl_anomaly_silence_record(struct cl_anomaly_silence *d, int64_t ts_ms);

/* Returns 1 when, at now_ms, no record came for max(floor, CL_ANOMALY_SILENCE_GAPS x the
 * usual gap). */
int cl_anomaly_silence_check(const struct cl_anomaly_silence *d, int64_t now_ms);

#define CL_ANOMALY_SILENCE_GAPS 10.0

#endif
