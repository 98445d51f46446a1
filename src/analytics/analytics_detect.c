/* analytics_detect.c - closing a service's minute into its series (records, error ratio,
 * each pattern's count), scoring them with the streaming detector (anomaly.h), and the
 * sentences of the anomalies. A score of 0.5 or more is an anomaly only when it also
 * moves enough records to matter (CL_ANALYTICS_MIN_*) and in the direction that hurts:
 * more errors, more of a pattern; the record rate counts both ways. */
#include "analytics_int.h"

#include "common.h"
#include "record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PENDING_EVENTS 1024
#define MAX_ZERO_MINUTES 60 /* minutes of silence fed as zeros; the rest is one gap */
#define BAND 4.0            /* the band: forecast +- BAND spreads (the detector's clip) */
#define NOISE_K 5.0         /* counting noise: a count moves NOISE_K Poisson sigmas ... */
#define RATIO_K 4.0         /* ... an error count RATIO_K binomial sigmas (bench/incident_day.c) */

static const char *const kind_names[] = {"rate", "error_ratio", "pattern_rate", "new_pattern",
                                         "silence"};

const char *cl_anomaly_kind_name(enum cl_anomaly_kind k)
{
    return kind_names[k];
}

static void hhmm(int64_t ts_ms, char out[32])
{
    time_t t = (time_t)(ts_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm);
}

static void band_of(const struct cl_anomaly_series *s, double expected, double *lo, double *hi)
{
    double spread = fmax(s->scale, 1e-9 + 1e-3 * fabs(s->level));
    *lo = fmax(0, expected - BAND * spread);
    *hi = expected + BAND * spread;
}

/* Whether a count moved further than counting noise could move it: per-minute counts are
 * Poisson-like, so a quiet series' spread (which the detector learns) understates how far a
 * small count wanders; the detector's score says "unusual", this says "more than noise". */
static int beyond_noise(double observed, double expected, double min_delta)
{
    return fabs(observed - expected) >= fmax(min_delta, NOISE_K * sqrt(fmax(expected, 1.0)));
}

double cl_an_max_score(const struct cl_analytics *a)
{
    double m = 0;
    for (size_t i = 0; i < a->o.max_services; i++)
        for (int k = 0; a->svcs[i] && k < 4; k++)
            m = fmax(m, a->svcs[i]->score[k]);
    return m;
}

void cl_an_emit(struct cl_analytics *a, const struct cl_anomaly_event *e)
{
    if (a->n_events < MAX_PENDING_EVENTS) {
        if (a->n_events == a->cap_events) {
            a->cap_events = a->cap_events ? a->cap_events * 2 : 16;
            a->events = cl_realloc(a->events, a->cap_events * sizeof *a->events);
        }
        a->events[a->n_events++] = *e;
    }
    a->recent[a->recent_next] = *e;
    a->recent_next = (a->recent_next + 1) % CL_ANALYTICS_RECENT;
    a->recent_n = CL_MIN(a->recent_n + 1, (size_t)CL_ANALYTICS_RECENT);
    cl_counter_add(a->o.anomalies_detected, 1);
}

/* Appends ` "template"` of slot to text (cut to fit). */
static void append_template(struct svc *s, uint32_t slot, char *text, size_t n)
{
    size_t len = strlen(text);
    const char *t = cl_miner_template(s->miner, slot, NULL, NULL);
    snprintf(text + len, n - len, " \"%.200s%s\"", t, strlen(t) > 200 ? "..." : "");
}

/* The slots with the three largest keys (key <= 0: not involved). */
struct top3 {
    uint32_t slot[CL_ANOMALY_PATTERNS];
    double key[CL_ANOMALY_PATTERNS];
    size_t n;
};

static void top3_add(struct top3 *t, uint32_t slot, double key)
{
    size_t i;
    if (key <= 0)
        return;
    if (t->n < CL_ANOMALY_PATTERNS)
        i = t->n++;
    else if (key > t->key[CL_ANOMALY_PATTERNS - 1])
        i = CL_ANOMALY_PATTERNS - 1;
    else
        return;
    while (i > 0 && t->key[i - 1] < key) {
        t->slot[i] = t->slot[i - 1];
        t->key[i] = t->key[i - 1];
        i--;
    }
    t->slot[i] = slot;
    t->key[i] = key;
}

static void involve(struct svc *s, const struct top3 *t, struct cl_anomaly_event *e,
                    const char *lead)
{
    size_t len = strlen(e->text);
    if (t->n == 0)
        return;
    snprintf(e->text + len, sizeof e->text - len, " %s", lead);
    for (size_t i = 0; i < t->n; i++) {
        e->patterns[i] = s->pats[t->slot[i]].id;
        if (i)
            strncat(e->text, ",", sizeof e->text - strlen(e->text) - 1);
        append_template(s, t->slot[i], e->text, sizeof e->text);
    }
    strncat(e->text, ".", sizeof e->text - strlen(e->text) - 1);
}

static void event_init(struct cl_anomaly_event *e, const struct svc *s, enum cl_anomaly_kind k,
                       int64_t ts_ms, double observed, double expected, double score)
{
    memset(e, 0, sizeof *e);
    e->ts_ms = ts_ms;
    memcpy(e->service, s->name, sizeof e->service);
    e->kind = k;
    e->observed = observed;
    e->expected = expected;
    e->score = score;
}

/* Scores every live pattern's minute; returns the index of the worst pattern anomaly or
 * -1, and fills the patterns that grew most and that logged most errors. */
static int64_t score_patterns(struct cl_analytics *a, struct svc *s, int64_t ts, struct top3 *grew,
                              struct top3 *errs, double *exp_out)
{
    int64_t worst = -1;
    double worst_score = 0;
    s->score[2] = 0;
    for (uint32_t i = 0; i < a->o.max_patterns; i++) {
        struct pat *p = &s->pats[i];
        if (!p->used || !cl_miner_alive(s->miner, i, p->generation))
            continue;
        if (!p->rate_ready) {
            cl_anomaly_series_init(&p->rate);
            p->rate_ready = 1;
        }
        double e = 0, sc = cl_anomaly_score(&p->rate, ts, p->minute_count, &e);
        p->score = sc;
        s->score[2] = fmax(s->score[2], sc);
        top3_add(grew, i, p->minute_count - e);
        top3_add(errs, i, p->minute_errors);
        if (sc >= 0.5 && p->minute_count > e &&
            beyond_noise(p->minute_count, e, CL_ANALYTICS_MIN_PATTERN) && sc > worst_score) {
            worst = i;
            worst_score = sc;
            *exp_out = e;
        }
    }
    return worst;
}

static int rate_anomaly(struct cl_analytics *a, struct svc *s, int64_t ts, const struct top3 *grew)
{
    double e = 0, sc = cl_anomaly_score(&s->rate, ts, s->m_records, &e);
    s->score[0] = sc;
    if (sc < 0.5 || !beyond_noise(s->m_records, e, CL_ANALYTICS_MIN_RATE_DELTA))
        return 0;
    struct cl_anomaly_event ev;
    char when[32];
    hhmm(ts, when);
    event_init(&ev, s, CL_ANOMALY_RATE, ts, s->m_records, e, sc);
    band_of(&s->rate, e, &ev.lo, &ev.hi);
    snprintf(ev.text, sizeof ev.text,
             "At %s service %s logged %u records in one minute, %s the expected %.0f "
             "(usual range %.0f to %.0f).",
             when, s->name, s->m_records, s->m_records > e ? "above" : "below", e, ev.lo, ev.hi);
    if (s->m_records > e)
        involve(s, grew, &ev, "Most of the increase:");
    cl_an_emit(a, &ev);
    return 1;
}

static int error_anomaly(struct cl_analytics *a, struct svc *s, int64_t ts, const struct top3 *errs)
{
    s->score[1] = 0;
    if (s->m_records < CL_ANALYTICS_MIN_RATE_DELTA)
        return 0; /* too few records for a ratio: not learned either */
    double ratio = (double)s->m_errors / s->m_records, e = 0;
    double sc = cl_anomaly_score(&s->errors, ts, ratio, &e);
    s->score[1] = sc;
    double n = s->m_records, p = fmin(fmax(e, 0.0), 1.0);
    double excess = s->m_errors - n * p, sd = sqrt(fmax(n * p * (1 - p), 1.0));
    if (sc < 0.5 || ratio <= e || s->m_errors < CL_ANALYTICS_MIN_ERRORS || excess < RATIO_K * sd)
        return 0;
    struct cl_anomaly_event ev;
    char when[32];
    hhmm(ts, when);
    event_init(&ev, s, CL_ANOMALY_ERROR_RATIO, ts, ratio, e, sc);
    band_of(&s->errors, e, &ev.lo, &ev.hi);
    snprintf(ev.text, sizeof ev.text,
             "At %s %.1f%% of service %s's records were errors (%u of %u), expected %.1f%% "
             "(usual range %.1f%% to %.1f%%).",
             when, 100 * ratio, s->name, s->m_errors, s->m_records, 100 * e, 100 * ev.lo,
             100 * ev.hi);
    involve(s, errs, &ev, "Top error patterns:");
    cl_an_emit(a, &ev);
    return 1;
}

static void pattern_anomaly(struct cl_analytics *a, struct svc *s, int64_t ts, uint32_t slot,
                            double e)
{
    struct pat *p = &s->pats[slot];
    struct cl_anomaly_event ev;
    char when[32];
    hhmm(ts, when);
    event_init(&ev, s, CL_ANOMALY_PATTERN_RATE, ts, p->minute_count, e, p->score);
    band_of(&p->rate, e, &ev.lo, &ev.hi);
    ev.patterns[0] = p->id;
    snprintf(ev.text, sizeof ev.text, "At %s service %s logged the pattern", when, s->name);
    append_template(s, slot, ev.text, sizeof ev.text);
    size_t len = strlen(ev.text);
    snprintf(ev.text + len, sizeof ev.text - len,
             " %u times in one minute, expected %.0f (usual range %.0f to %.0f).", p->minute_count,
             e, ev.lo, ev.hi);
    cl_an_emit(a, &ev);
}

void cl_an_close_minute(struct cl_analytics *a, struct svc *s)
{
    int64_t ts = s->minute * 60000;
    struct top3 grew = {0}, errs = {0};
    double pe = 0;
    int64_t worst = score_patterns(a, s, ts, &grew, &errs, &pe);
    int reported = rate_anomaly(a, s, ts, &grew);
    reported |= error_anomaly(a, s, ts, &errs);
    if (worst >= 0 && !reported)
        pattern_anomaly(a, s, ts, (uint32_t)worst, pe);
    s->m_records = s->m_errors = s->m_new = s->m_created = 0;
    for (size_t i = 0; i < a->o.max_patterns; i++)
        s->pats[i].minute_count = s->pats[i].minute_errors = 0;
    cl_gauge_set(a->o.anomaly_score, cl_an_max_score(a));
}

void cl_an_advance(struct cl_analytics *a, struct svc *s, int64_t minute)
{
    cl_an_close_minute(a, s);
    int64_t m = s->minute + 1;
    /* Quiet minutes are zeros for the detectors, up to an hour; a longer gap is a gap. */
    for (; m < minute && m <= s->minute + MAX_ZERO_MINUTES; m++) {
        s->minute = m;
        cl_an_close_minute(a, s);
    }
    s->minute = minute;
}

void cl_an_new_pattern(struct cl_analytics *a, struct svc *s, struct pat *p, const char *tmpl,
                       int64_t ts_ms, int level)
{
    if (s->m_new++ >= CL_ANALYTICS_NEW_PER_MINUTE)
        return;
    struct cl_anomaly_event ev;
    char when[32];
    hhmm(ts_ms, when);
    event_init(&ev, s, CL_ANOMALY_NEW_PATTERN, ts_ms, 1, 0, 1);
    ev.patterns[0] = p->id;
    snprintf(ev.text, sizeof ev.text,
             "At %s service %s logged a pattern never seen before (level %s): \"%.300s%s\".", when,
             s->name, cl_level_name((enum cl_level)level), tmpl, strlen(tmpl) > 300 ? "..." : "");
    cl_an_emit(a, &ev);
}

void cl_an_check_silence(struct cl_analytics *a, struct svc *s, int64_t now_ms)
{
    if (s->silent || !cl_anomaly_silence_check(&s->silence, now_ms))
        return;
    s->silent = 1;
    s->score[3] = 1;
    double quiet_min = (double)(now_ms - s->silence.last_ms) / 60000.0;
    struct cl_anomaly_event ev;
    char when[32];
    hhmm(s->silence.last_ms, when);
    event_init(&ev, s, CL_ANOMALY_SILENCE, now_ms, quiet_min, s->silence.gap_ms / 60000.0, 1);
    ev.hi =
        fmax((double)s->silence.floor_ms, CL_ANOMALY_SILENCE_GAPS * s->silence.gap_ms) / 60000.0;
    snprintf(ev.text, sizeof ev.text,
             "Service %s has sent no record since %s (%.0f minutes); it usually sends one every "
             "%.1f s, so silence past %.0f minutes is unusual.",
             s->name, when, quiet_min, s->silence.gap_ms / 1000.0, ev.hi);
    cl_an_emit(a, &ev);
    cl_gauge_set(a->o.anomaly_score, cl_an_max_score(a));
}
