/* anomaly.c - the detectors of anomaly.h.
 *
 * Value detector: forecast = level + profile[time-of-day bucket]; the score grows with
 * |value - forecast| / scale, where scale is an EWMA of absolute deviations (a MAD-like
 * spread that needs no window). Learning is robust: the residual is clipped at CLIP
 * scales before it moves level, profile and scale, so a spike does not drag the
 * baseline, while a lasting level shift is absorbed within about 1/ALPHA_LEVEL points. */
#include "anomaly.h"

#include <math.h>
#include <string.h>

#define ALPHA_LEVEL 0.10
#define ALPHA_SEASON 0.10
#define ALPHA_SCALE 0.02
#define ALPHA_WARM 0.10      /* faster learning during warm-up */
#define ALPHA_SURPRISE 0.002 /* long-run statistics of the surprise (about 500 points) */
#define CLIP 4.0
#define HALF_K 4.0        /* k = 4 standard deviations of surprise scores 0.5 */
#define EXTREME_K 8.0     /* a new extreme scores at least 8 / (8 + 4) = 0.67 */
#define EXTREME_MIN_Z 1.0 /* ... when it is at least one spread from the forecast */
#define HOLD 120          /* points without a repeat report after a score of 0.5 */
#define DAY_S 86400

void cl_anomaly_series_init(struct cl_anomaly_series *s)
{
    memset(s, 0, sizeof *s);
}

static int bucket_of(int64_t ts_ms)
{
    int64_t sec = ts_ms / 1000 % DAY_S;
    if (sec < 0)
        sec += DAY_S;
    return (int)(sec * CL_ANOMALY_BUCKETS / DAY_S);
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void learn(struct cl_anomaly_series *s, int b, double forecast, double r, double sc)
{
    double rc = clamp(r, -CLIP * sc, CLIP * sc);
    double seas = (s->seen >> b & 1) ? s->season[b] : 0;
    s->level += ALPHA_LEVEL * rc;
    double target = forecast + rc - s->level; /* the part the level did not explain */
    s->season[b] = (s->seen >> b & 1) ? seas + ALPHA_SEASON * (target - seas) : target * 0.5;
    s->seen |= 1ULL << b;
    double a = s->n < CL_ANOMALY_WARMUP ? ALPHA_WARM : ALPHA_SCALE;
    s->scale += a * (fabs(rc) - s->scale);
}

/* Turns the deviation z into a score comparable across series: how far u = log(1 + z)
 * sits above its long-run distribution (EWMA mean and variance), in standard deviations
 * k, mapped to k / (k + HALF_K), so a noisy series and a quiet one alarm equally rarely.
 * A value outside the range seen so far adds EXTREME_K. After a score of 0.5 the series
 * holds for HOLD points: only a higher score is reported then (one incident, one report,
 * but a worse one still shows). */
static double surprise(struct cl_anomaly_series *s, double z, double x)
{
    /* A new extreme counts only when the forecast did not expect it (at least one usual
     * spread away): a series that moved up to its old maximum and a little past it, as
     * forecast, has not surprised anyone (NAB standard 59.6 -> 60.4, docs/analytics.md). */
    int extreme = (x > s->hi || x < s->lo) && z >= EXTREME_MIN_Z;
    s->hi = fmax(s->hi, x);
    s->lo = fmin(s->lo, x);
    double u = log1p(z);
    double a = s->n < 2 * CL_ANOMALY_WARMUP ? ALPHA_WARM : ALPHA_SURPRISE;
    double d = u - s->u_long;
    s->u_long += a * d;
    s->u_var += a * (d * d - s->u_var);
    if (s->n <= CL_ANOMALY_WARMUP)
        return 0;
    double k = d / sqrt(s->u_var + 1e-6);
    if (extreme)
        k = EXTREME_K + fmax(k, 0);
    double score = k > 0 ? k / (k + HALF_K) : 0;
    if (s->hold > 0) {
        s->hold--;
        if (score <= s->hold_score)
            return 0;
    }
    if (score >= 0.5) {
        s->hold = HOLD;
        s->hold_score = score;
    }
    return score;
}

double cl_anomaly_score(struct cl_anomaly_series *s, int64_t ts_ms, double value, double *expected)
{
    int b = bucket_of(ts_ms);
    if (s->n++ == 0) {
        s->level = value;
        s->lo = s->hi = value;
        if (expected)
            *expected = value;
        return 0;
    }
    double forecast = s->level + ((s->seen >> b & 1) ? s->season[b] : 0);
    if (expected)
        *expected = forecast;
    double r = value - forecast;
    /* Floor: a perfectly flat series still has a spread of 0.1% of its level. */
    double sc = fmax(s->scale, 1e-9 + 1e-3 * fabs(s->level));
    double z = fabs(r) / sc;
    double score = surprise(s, z, value);
    learn(s, b, forecast, r, sc);
    return score;
}

int cl_anomaly_novelty_check(struct cl_anomaly_novelty *d, int64_t ts_ms, int first_seen)
{
    if (d->start_ms == 0)
        d->start_ms = ts_ms;
    return first_seen && ts_ms - d->start_ms >= d->warmup_ms;
}

void cl_anomaly_silence_record(struct cl_anomaly_silence *d, int64_t ts_ms)
{
    if (d->last_ms != 0 && ts_ms > d->last_ms) {
        double gap = (double)(ts_ms - d->last_ms);
        d->gap_ms = d->gap_ms == 0 ? gap : d->gap_ms + 0.05 * (gap - d->gap_ms);
    }
    if (ts_ms > d->last_ms)
        d->last_ms = ts_ms;
}

int cl_anomaly_silence_check(const struct cl_anomaly_silence *d, int64_t now_ms)
{
    if (d->last_ms == 0 || d->gap_ms == 0)
        return 0; /* warming up: no usual gap yet */
    double limit = fmax((double)d->floor_ms, CL_ANOMALY_SILENCE_GAPS * d->gap_ms);
    return (double)(now_ms - d->last_ms) > limit;
}
