/* alarm_eval.c - the pure core of the alarms: names, rule checks, M-of-N evaluation with
 * TreatMissingData, and CloudWatch-style reason text. */
#include "alarm.h"

#include "common.h"
#include "record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"INSUFFICIENT_DATA", "OK", "ALARM"};
static const char *const cmp_names[] = {"GreaterThanThreshold", "GreaterThanOrEqualToThreshold",
                                        "LessThanThreshold", "LessThanOrEqualToThreshold"};
static const char *const cmp_phrases[] = {"greater than", "greater than or equal to", "less than",
                                          "less than or equal to"};
static const char *const missing_names[] = {"missing", "ignore", "breaching", "notBreaching"};
static const char *const stat_names[] = {"Sum", "Average", "Maximum", "Minimum", "SampleCount"};

const char *cl_alarm_state_name(enum cl_alarm_state s)
{
    return state_names[s];
}

const char *cl_alarm_cmp_name(enum cl_alarm_cmp c)
{
    return cmp_names[c];
}

const char *cl_alarm_missing_name(enum cl_alarm_missing m)
{
    return missing_names[m];
}

void cl_alarm_stat_name(const struct cl_alarm_rule *r, char *out, size_t n)
{
    if (r->stat == CL_STAT_PERCENTILE)
        snprintf(out, n, "p%g", r->percentile);
    else
        snprintf(out, n, "%s", stat_names[r->stat]);
}

/* Index of s in names[0..n), or -1. */
static int lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

int cl_alarm_parse_cmp(const char *s, enum cl_alarm_cmp *c)
{
    int i = lookup(cmp_names, CL_ARRAY_LEN(cmp_names), s);
    if (i < 0)
        return -1;
    *c = (enum cl_alarm_cmp)i;
    return 0;
}

int cl_alarm_parse_missing(const char *s, enum cl_alarm_missing *m)
{
    int i = lookup(missing_names, CL_ARRAY_LEN(missing_names), s);
    if (i < 0)
        return -1;
    *m = (enum cl_alarm_missing)i;
    return 0;
}

int cl_alarm_parse_state(const char *s, enum cl_alarm_state *st)
{
    int i = lookup(state_names, CL_ARRAY_LEN(state_names), s);
    if (i < 0)
        return -1;
    *st = (enum cl_alarm_state)i;
    return 0;
}

int cl_alarm_parse_stat(const char *s, enum cl_alarm_stat *st, double *percentile)
{
    int i = lookup(stat_names, CL_ARRAY_LEN(stat_names), s);
    if (i >= 0) {
        *st = (enum cl_alarm_stat)i;
        *percentile = 0;
        return 0;
    }
    if (s[0] != 'p' || !s[1])
        return -1;
    char *end;
    double p = strtod(s + 1, &end);
    if (*end || !(p > 0 && p <= 100))
        return -1;
    *st = CL_STAT_PERCENTILE;
    *percentile = p;
    return 0;
}

int cl_alarm_rule_check(const struct cl_alarm_rule *r, char *err, size_t err_len)
{
    const char *why = NULL;
    if (!r->name[0])
        why = "AlarmName is empty";
    else if (!r->metric[0])
        why = "MetricName is empty";
    else if (r->period_ms < 1000)
        why = "Period must be at least 1 second";
    else if (r->eval_periods < 1 || r->eval_periods > CL_ALARM_MAX_EVAL)
        why = "EvaluationPeriods must be 1-100";
    else if (r->datapoints < 1 || r->datapoints > r->eval_periods)
        why = "DatapointsToAlarm must be 1-EvaluationPeriods";
    else if (r->stat == CL_STAT_PERCENTILE && !(r->percentile > 0 && r->percentile <= 100))
        why = "a percentile must be in (0, 100]";
    else if (!isfinite(r->threshold))
        why = "Threshold must be a finite number";
    if (why)
        snprintf(err, err_len, "alarm %s: %s", r->name[0] ? r->name : "(unnamed)", why);
    return why ? -1 : 0;
}

int cl_alarm_breaches(const struct cl_alarm_rule *r, double v)
{
    switch (r->cmp) {
    case CL_CMP_GT:
        return v > r->threshold;
    case CL_CMP_GE:
        return v >= r->threshold;
    case CL_CMP_LT:
        return v < r->threshold;
    case CL_CMP_LE:
        return v <= r->threshold;
    }
    return 0;
}

/* A number as CloudWatch prints it in reasons: "5.0", "0.0125". */
static void fmt_num(double v, char *out, size_t n)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, n, "%.1f", v);
    else
        snprintf(out, n, "%.6g", v);
}

/* Counts of a window of N slots after TreatMissingData substitution. */
struct window {
    int n, breaching, ok, missing;
    double b_vals[CL_ALARM_MAX_EVAL], ok_vals[CL_ALARM_MAX_EVAL]; /* newest first */
    int b_subst, ok_subst; /* missing datapoints counted as breaching / not breaching */
};

static void count_window(const struct cl_alarm_rule *r, const struct cl_alarm_datapoint *dps,
                         size_t n, struct window *w)
{
    memset(w, 0, sizeof *w);
    w->n = r->eval_periods;
    for (int k = 0; k < w->n; k++) { /* newest first */
        size_t back = (size_t)k;
        const struct cl_alarm_datapoint *d = back < n ? &dps[n - 1 - back] : NULL;
        if (d && d->present) {
            if (cl_alarm_breaches(r, d->value))
                w->b_vals[w->breaching++] = d->value;
            else
                w->ok_vals[w->ok++] = d->value;
        } else if (r->missing == CL_MISSING_BREACHING) {
            w->breaching++, w->b_subst++;
        } else if (r->missing == CL_MISSING_NOT_BREACHING) {
            w->ok++, w->ok_subst++;
        } else {
            w->missing++;
        }
    }
}

/* "[7.0, 5.0]" of the present values. */
static void fmt_list(const double *v, int n, char *out, size_t len)
{
    size_t pos = 0;
    out[0] = '\0';
    pos += (size_t)snprintf(out, len, "[");
    for (int i = 0; i < n && pos < len; i++) {
        char num[48];
        fmt_num(v[i], num, sizeof num);
        pos += (size_t)snprintf(out + pos, len - pos, "%s%s", i ? ", " : "", num);
    }
    if (pos < len)
        snprintf(out + pos, len - pos, "]");
}

static void threshold_reason(const struct cl_alarm_rule *r, const struct window *w, int alarm,
                             enum cl_alarm_state from, char *out, size_t len)
{
    int count = alarm ? w->breaching : w->ok;
    int present = count - (alarm ? w->b_subst : w->ok_subst);
    char list[300], thr[48], subst[96] = "";
    fmt_list(alarm ? w->b_vals : w->ok_vals, present, list, sizeof list);
    fmt_num(r->threshold, thr, sizeof thr);
    if (count > present)
        snprintf(subst, sizeof subst, " (%d missing treated as %s)", count - present,
                 cl_alarm_missing_name(r->missing));
    int need = alarm ? r->datapoints : r->eval_periods - r->datapoints + 1;
    snprintf(out, len,
             "Threshold Crossed: %d out of the last %d datapoints %s%s %s %s%s the threshold "
             "(%s) (minimum %d datapoint%s for %s -> %s transition).",
             count, w->n, list, subst, count == 1 ? "was" : "were", alarm ? "" : "not ",
             cmp_phrases[r->cmp], thr, need, need == 1 ? "" : "s", cl_alarm_state_name(from),
             alarm ? "ALARM" : "OK");
}

enum cl_alarm_state cl_alarm_evaluate(const struct cl_alarm_rule *r, enum cl_alarm_state current,
                                      const struct cl_alarm_datapoint *dps, size_t n, char *reason,
                                      size_t reason_len)
{
    struct window w;
    count_window(r, dps, n, &w);
    char scratch[CL_ALARM_REASON_MAX];
    if (!reason) {
        reason = scratch;
        reason_len = sizeof scratch;
    }
    if (w.breaching >= r->datapoints) {
        threshold_reason(r, &w, 1, current, reason, reason_len);
        return CL_ALARM_ALARM;
    }
    /* OK once ALARM is out of reach even if every missing datapoint breached. */
    if (w.breaching + w.missing < r->datapoints) {
        threshold_reason(r, &w, 0, current, reason, reason_len);
        return CL_ALARM_OK;
    }
    snprintf(reason, reason_len,
             "Insufficient Data: %d of the last %d datapoints were missing (%d breaching, "
             "%d not breaching; %d breaching needed for ALARM)%s.",
             w.missing, w.n, w.breaching, w.ok, r->datapoints,
             r->missing == CL_MISSING_IGNORE ? "; TreatMissingData ignore keeps the state" : "");
    return r->missing == CL_MISSING_IGNORE ? current : CL_ALARM_INSUFFICIENT_DATA;
}

void cl_alarm_format_ts(int64_t ms, char out[32])
{
    char ts[25];
    cl_format_timestamp(ms, ts);
    snprintf(out, 32, "%.24s", ts);
}
