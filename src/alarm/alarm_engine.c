/* alarm_engine.c - alarms over the metrics registry: readings -> per-period datapoints ->
 * evaluation (alarm_eval.c) -> state and a bounded history of transitions.
 *
 * HOW IT WORKS. Each alarm has an open period [start, start + Period), aligned to a
 * multiple of the period since the epoch. A tick reads the rule's metrics once:
 *  - counters keep the reading at the period's start; the datapoint is the increase;
 *  - gauges accumulate min/max/sum/count of the samples of the period;
 *  - histograms keep the bucket snapshot at the period's start; the datapoint is the
 *    statistic of the difference (the period's observations alone).
 * When a tick finds now >= start + Period the period closes into a datapoint (using
 * that tick's reading for counters and histograms, so it includes at most one tick
 * interval of the next period), periods nobody ticked in become missing datapoints, and
 * the alarm is evaluated over its last N datapoints. The first period after start-up is
 * partial. */
#include "alarm.h"

#include "common.h"
#include "json_write.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct source {
    const struct cl_metric *m;
    int series; /* -1: sum over series */
};

struct acc {
    double base;                  /* counters: value at the period's start */
    struct cl_hist_snapshot hist; /* histograms: snapshot at the period's start */
    double gmin, gmax, gsum;      /* gauges: samples of the period */
    uint64_t gcount;
};

struct alarm {
    struct cl_alarm_rule rule;
    struct source num, den;
    int ratio;
    struct acc anum, aden;
    int64_t period_start;                             /* 0: not started (first tick) */
    struct cl_alarm_datapoint dps[CL_ALARM_MAX_EVAL]; /* oldest first */
    size_t n_dps;
    enum cl_alarm_state state;
    int64_t since_ms;
    char reason[CL_ALARM_REASON_MAX];
};

struct cl_alarm_engine {
    struct alarm *a;
    size_t n;
    struct cl_alarm_transition hist[CL_ALARM_HISTORY]; /* ring */
    size_t hist_next, hist_len;
    cl_alarm_describe_fn describe;
    void *describe_arg;
};

void cl_alarm_engine_set_describer(struct cl_alarm_engine *e, cl_alarm_describe_fn fn, void *arg)
{
    e->describe = fn;
    e->describe_arg = arg;
}

static const struct cl_metric *find_metric(struct cl_metrics *reg, const char *name)
{
    for (size_t i = 0; i < cl_metrics_len(reg); i++)
        if (strcmp(cl_metrics_at(reg, i)->name, name) == 0)
            return cl_metrics_at(reg, i);
    return NULL;
}

/* Resolves a metric (and label) for rule r; checks the statistic fits its type. */
static int resolve(struct cl_metrics *reg, const struct cl_alarm_rule *r, const char *name,
                   const char *label, struct source *s, char *err, size_t err_len)
{
    s->m = find_metric(reg, name);
    s->series = -1;
    if (!s->m) {
        snprintf(err, err_len, "alarm %s: unknown metric %s", r->name, name);
        return -1;
    }
    if (label && label[0]) {
        for (size_t i = 0; s->m->label && i < s->m->n_series; i++)
            if (strcmp(s->m->label_values[i], label) == 0)
                s->series = (int)i;
        if (s->series < 0) {
            snprintf(err, err_len, "alarm %s: metric %s has no label value %s", r->name, name,
                     label);
            return -1;
        }
    }
    const char *bad = NULL;
    if (s->m->type == CL_METRIC_COUNTER && r->stat != CL_STAT_SUM)
        bad = "counters have the Sum statistic only";
    else if (s->m->type == CL_METRIC_GAUGE && r->stat == CL_STAT_PERCENTILE)
        bad = "percentiles need a histogram";
    if (bad) {
        snprintf(err, err_len, "alarm %s: %s: %s", r->name, name, bad);
        return -1;
    }
    return 0;
}

static double counter_now(const struct source *s)
{
    return (double)(s->series < 0 ? cl_counter_total(s->m)
                                  : cl_counter_get(s->m, (size_t)s->series));
}

/* Starts a period: the baseline of counters and histograms, empty gauge samples. */
static void acc_start(const struct source *s, struct acc *a)
{
    if (s->m->type == CL_METRIC_COUNTER)
        a->base = counter_now(s);
    else if (s->m->type == CL_METRIC_HISTOGRAM)
        cl_histogram_snapshot(s->m, &a->hist);
    a->gmin = a->gmax = a->gsum = 0;
    a->gcount = 0;
}

static void acc_sample_gauge(const struct source *s, struct acc *a)
{
    if (s->m->type != CL_METRIC_GAUGE)
        return;
    double v = cl_gauge_get(s->m);
    a->gmin = a->gcount ? fmin(a->gmin, v) : v;
    a->gmax = a->gcount ? fmax(a->gmax, v) : v;
    a->gsum += v;
    a->gcount++;
}

static struct cl_alarm_datapoint hist_value(const struct cl_alarm_rule *r, const struct source *s,
                                            const struct acc *a)
{
    struct cl_hist_snapshot now, d;
    cl_histogram_snapshot(s->m, &now);
    for (size_t b = 0; b <= CL_HIST_BOUNDS; b++)
        d.buckets[b] = now.buckets[b] - a->hist.buckets[b];
    d.count = now.count - a->hist.count;
    d.sum = now.sum - a->hist.sum;
    if (d.count == 0)
        return (struct cl_alarm_datapoint){0, 0};
    double scale = s->m->unit == CL_UNIT_MICROSECONDS ? 1e-6 : 1.0, v = 0;
    switch (r->stat) {
    case CL_STAT_SUM:
        v = (double)d.sum * scale;
        break;
    case CL_STAT_AVERAGE:
        v = (double)d.sum / (double)d.count * scale;
        break;
    case CL_STAT_MAXIMUM:
        v = cl_hist_quantile(&d, 1.0) * scale;
        break;
    case CL_STAT_MINIMUM:
        v = cl_hist_quantile(&d, 0.0) * scale;
        break;
    case CL_STAT_SAMPLE_COUNT:
        v = (double)d.count;
        break;
    case CL_STAT_PERCENTILE:
        v = cl_hist_quantile(&d, r->percentile / 100.0) * scale;
        break;
    }
    return (struct cl_alarm_datapoint){1, v};
}

static struct cl_alarm_datapoint gauge_value(const struct cl_alarm_rule *r, const struct acc *a)
{
    if (!a->gcount)
        return (struct cl_alarm_datapoint){0, 0};
    double v = a->gsum;
    if (r->stat == CL_STAT_AVERAGE)
        v = a->gsum / (double)a->gcount;
    else if (r->stat == CL_STAT_MAXIMUM)
        v = a->gmax;
    else if (r->stat == CL_STAT_MINIMUM)
        v = a->gmin;
    else if (r->stat == CL_STAT_SAMPLE_COUNT)
        v = (double)a->gcount;
    return (struct cl_alarm_datapoint){1, v};
}

/* The closing period's datapoint of one source. */
static struct cl_alarm_datapoint source_value(const struct cl_alarm_rule *r, const struct source *s,
                                              const struct acc *a)
{
    if (s->m->type == CL_METRIC_COUNTER)
        return (struct cl_alarm_datapoint){1, fmax(counter_now(s) - a->base, 0)};
    if (s->m->type == CL_METRIC_HISTOGRAM)
        return hist_value(r, s, a);
    return gauge_value(r, a);
}

/* Ratio: missing if a side is; 0/0 is missing; x/0 counts the denominator as 1. */
static struct cl_alarm_datapoint alarm_value(const struct alarm *al)
{
    struct cl_alarm_datapoint n = source_value(&al->rule, &al->num, &al->anum);
    if (!al->ratio || !n.present)
        return n;
    struct cl_alarm_datapoint d = source_value(&al->rule, &al->den, &al->aden);
    if (!d.present || (d.value == 0 && n.value == 0))
        return (struct cl_alarm_datapoint){0, 0};
    return (struct cl_alarm_datapoint){1, n.value / (d.value > 0 ? d.value : 1.0)};
}

static void push_dp(struct alarm *al, struct cl_alarm_datapoint dp)
{
    size_t cap = (size_t)al->rule.eval_periods;
    if (al->n_dps == cap) {
        memmove(al->dps, al->dps + 1, (cap - 1) * sizeof al->dps[0]);
        al->n_dps--;
    }
    al->dps[al->n_dps++] = dp;
}

static int init_alarm(struct cl_metrics *reg, const struct cl_alarm_rule *r, struct alarm *al,
                      int64_t now_ms, char *err, size_t err_len)
{
    if (cl_alarm_rule_check(r, err, err_len) != 0)
        return -1;
    al->rule = *r;
    al->ratio = r->denominator[0] != '\0';
    if (resolve(reg, r, r->metric, r->label, &al->num, err, err_len) != 0)
        return -1;
    if (al->ratio && resolve(reg, r, r->denominator, NULL, &al->den, err, err_len) != 0)
        return -1;
    al->state = CL_ALARM_INSUFFICIENT_DATA;
    al->since_ms = now_ms;
    snprintf(al->reason, sizeof al->reason, "Unchecked: Initial alarm creation");
    return 0;
}

struct cl_alarm_engine *cl_alarm_engine_new(struct cl_metrics *reg,
                                            const struct cl_alarm_rule *rules, size_t n,
                                            int64_t now_ms, char *err, size_t err_len)
{
    struct cl_alarm_engine *e = cl_calloc(1, sizeof *e);
    e->a = cl_calloc(n ? n : 1, sizeof *e->a);
    for (size_t i = 0; i < n; i++) {
        if (!rules[i].enabled)
            continue;
        for (size_t j = 0; j < e->n; j++)
            if (strcmp(e->a[j].rule.name, rules[i].name) == 0) {
                snprintf(err, err_len, "two alarms named %s", rules[i].name);
                cl_alarm_engine_free(e);
                return NULL;
            }
        if (init_alarm(reg, &rules[i], &e->a[e->n], now_ms, err, err_len) != 0) {
            cl_alarm_engine_free(e);
            return NULL;
        }
        e->n++;
    }
    return e;
}

void cl_alarm_engine_free(struct cl_alarm_engine *e)
{
    if (!e)
        return;
    free(e->a);
    free(e);
}

static void record(struct cl_alarm_engine *e, const struct cl_alarm_transition *t)
{
    e->hist[e->hist_next] = *t;
    e->hist_next = (e->hist_next + 1) % CL_ALARM_HISTORY;
    if (e->hist_len < CL_ALARM_HISTORY)
        e->hist_len++;
}

/* Evaluates after a datapoint was added; returns 1 and fills *t on a transition. */
static int evaluate(const struct cl_alarm_engine *e, struct alarm *al, int64_t now_ms,
                    struct cl_alarm_transition *t)
{
    char reason[CL_ALARM_REASON_MAX];
    enum cl_alarm_state next =
        cl_alarm_evaluate(&al->rule, al->state, al->dps, al->n_dps, reason, sizeof reason);
    if (next == al->state)
        return 0;
    /* An anomaly alarm says what happened, not only how many anomalies there were. */
    if (next == CL_ALARM_ALARM && al->rule.kind == CL_ALARM_KIND_ANOMALY && e->describe)
        e->describe(e->describe_arg, &al->rule, reason, sizeof reason);
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", al->rule.name);
    t->ts_ms = now_ms;
    t->from = al->state;
    t->to = next;
    snprintf(t->reason, sizeof t->reason, "%s", reason);
    al->state = next;
    al->since_ms = now_ms;
    snprintf(al->reason, sizeof al->reason, "%s", reason);
    return 1;
}

static void start_period(struct alarm *al)
{
    acc_start(&al->num, &al->anum);
    if (al->ratio)
        acc_start(&al->den, &al->aden);
}

/* Closes every ended period of one alarm; returns 1 with *t if the state changed. */
static int tick_alarm(const struct cl_alarm_engine *e, struct alarm *al, int64_t now_ms,
                      struct cl_alarm_transition *t)
{
    int64_t p = al->rule.period_ms;
    int changed = 0;
    if (!al->period_start) {
        al->period_start = now_ms - now_ms % p;
        start_period(al);
    } else if (now_ms >= al->period_start + p) {
        push_dp(al, alarm_value(al));
        al->period_start += p;
        /* periods without a tick: missing (bounded by N, older ones would drop out) */
        for (int k = 0; k < al->rule.eval_periods && now_ms >= al->period_start + p; k++) {
            push_dp(al, (struct cl_alarm_datapoint){0, 0});
            al->period_start += p;
        }
        if (now_ms >= al->period_start + p)
            al->period_start = now_ms - now_ms % p;
        start_period(al);
        changed = evaluate(e, al, now_ms, t);
    }
    acc_sample_gauge(&al->num, &al->anum);
    if (al->ratio)
        acc_sample_gauge(&al->den, &al->aden);
    return changed;
}

size_t cl_alarm_engine_tick(struct cl_alarm_engine *e, int64_t now_ms,
                            struct cl_alarm_transition *out, size_t max_out)
{
    size_t n_out = 0;
    for (size_t i = 0; i < e->n; i++) {
        struct cl_alarm_transition t;
        if (!tick_alarm(e, &e->a[i], now_ms, &t))
            continue;
        record(e, &t);
        if (n_out < max_out)
            out[n_out++] = t;
    }
    return n_out;
}

size_t cl_alarm_engine_len(const struct cl_alarm_engine *e)
{
    return e->n;
}

enum cl_alarm_state cl_alarm_engine_state(const struct cl_alarm_engine *e, size_t i,
                                          int64_t *since_ms, const char **reason)
{
    if (since_ms)
        *since_ms = e->a[i].since_ms;
    if (reason)
        *reason = e->a[i].reason;
    return e->a[i].state;
}

int cl_alarm_engine_restore(struct cl_alarm_engine *e, const char *name, enum cl_alarm_state st,
                            int64_t since_ms, const char *reason)
{
    for (size_t i = 0; i < e->n; i++) {
        struct alarm *al = &e->a[i];
        if (strcmp(al->rule.name, name) != 0)
            continue;
        al->state = st;
        al->since_ms = since_ms;
        snprintf(al->reason, sizeof al->reason, "%s", reason);
        return 1;
    }
    return 0;
}

void cl_alarm_engine_restore_transition(struct cl_alarm_engine *e,
                                        const struct cl_alarm_transition *t)
{
    record(e, t);
}

const struct cl_alarm_rule *cl_alarm_engine_rule(const struct cl_alarm_engine *e, size_t i)
{
    return &e->a[i].rule;
}

/* Appends pre"key":"v" (pre: "{", "," or ""). */
static void json_str(struct cl_buf *b, const char *pre, const char *key, const char *v)
{
    cl_buf_printf(b, "%s\"%s\":", pre, key);
    cl_json_write_string(b, v, strlen(v));
}

static void json_ts(struct cl_buf *b, const char *key, int64_t ms)
{
    char ts[32];
    cl_alarm_format_ts(ms, ts);
    cl_buf_printf(b, ",\"%s\":\"%s\",\"%s_ms\":%lld", key, ts, key, (long long)ms);
}

void cl_alarm_rule_json(const struct cl_alarm_rule *r, struct cl_buf *b)
{
    char stat[32];
    cl_alarm_stat_name(r, stat, sizeof stat);
    json_str(b, "{", "AlarmName", r->name);
    json_str(b, ",", "AlarmDescription", r->description);
    json_str(b, ",", "MetricName", r->metric);
    if (r->label[0])
        json_str(b, ",", "Label", r->label);
    if (r->denominator[0])
        json_str(b, ",", "DenominatorMetricName", r->denominator);
    json_str(b, ",", "Statistic", stat);
    cl_buf_printf(b, ",\"Period\":%g,\"EvaluationPeriods\":%d,\"DatapointsToAlarm\":%d",
                  (double)r->period_ms / 1000.0, r->eval_periods, r->datapoints);
    json_str(b, ",", "ComparisonOperator", cl_alarm_cmp_name(r->cmp));
    cl_buf_printf(b, ",\"Threshold\":%.10g", r->threshold);
    json_str(b, ",", "TreatMissingData", cl_alarm_missing_name(r->missing));
    if (r->kind == CL_ALARM_KIND_ANOMALY)
        json_str(b, ",", "Kind", "Anomaly");
    cl_buf_append_str(b, "}");
}

static void render_alarm(const struct alarm *al, struct cl_buf *b)
{
    json_str(b, "{", "name", al->rule.name);
    json_str(b, ",", "state", cl_alarm_state_name(al->state));
    json_str(b, ",", "reason", al->reason);
    json_ts(b, "since", al->since_ms);
    cl_buf_append_str(b, ",\"datapoints\":[");
    for (size_t k = 0; k < al->n_dps; k++) {
        if (al->dps[k].present)
            cl_buf_printf(b, "%s%.10g", k ? "," : "", al->dps[k].value);
        else
            cl_buf_printf(b, "%snull", k ? "," : "");
    }
    cl_buf_append_str(b, "],\"rule\":");
    cl_alarm_rule_json(&al->rule, b);
    cl_buf_append_str(b, "}");
}

void cl_alarm_engine_render_json(const struct cl_alarm_engine *e, int64_t now_ms, struct cl_buf *b)
{
    cl_buf_append_str(b, "{\"alarms\":[");
    for (size_t i = 0; i < e->n; i++) {
        if (i)
            cl_buf_append_char(b, ',');
        render_alarm(&e->a[i], b);
    }
    cl_buf_append_str(b, "],\"history\":[");
    for (size_t k = 0; k < e->hist_len; k++) { /* newest first */
        size_t i = (e->hist_next + CL_ALARM_HISTORY - 1 - k) % CL_ALARM_HISTORY;
        const struct cl_alarm_transition *t = &e->hist[i];
        json_str(b, k ? ",{" : "{", "name", t->name);
        json_ts(b, "timestamp", t->ts_ms);
        json_str(b, ",", "old_state", cl_alarm_state_name(t->from));
        json_str(b, ",", "new_state", cl_alarm_state_name(t->to));
        json_str(b, ",", "reason", t->reason);
        cl_buf_append_str(b, "}");
    }
    cl_buf_printf(b, "],\"generated_ms\":%lld}\n", (long long)now_ms);
}
