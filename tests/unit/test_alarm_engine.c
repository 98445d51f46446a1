/* test_alarm_engine.c - alarm evaluation (M of N, every TreatMissingData mode, every
 * comparison), the engine over a registry driven by a fake clock (gauges, counter
 * deltas, ratios, histogram quantiles, skipped periods), config parsing, webhook body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alarm.h"
#include "alarm_config.h"
#include "alarm_notify.h"
#include "cl_limits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1795624800000LL /* a multiple of every period used here */
#define M_ (-1e300)        /* marks a missing datapoint in a series */

static struct cl_alarm_rule rule(int n, int m, enum cl_alarm_cmp cmp, double thr,
                                 enum cl_alarm_missing miss)
{
    struct cl_alarm_rule r = {.name = "T",
                              .metric = "X",
                              .stat = CL_STAT_MAXIMUM,
                              .period_ms = 1000,
                              .eval_periods = n,
                              .datapoints = m,
                              .cmp = cmp,
                              .threshold = thr,
                              .missing = miss,
                              .enabled = 1};
    return r;
}

/* Evaluates a series (oldest first; M_ = missing) from state cur. */
static enum cl_alarm_state eval(const struct cl_alarm_rule *r, enum cl_alarm_state cur,
                                const double *v, size_t n, char *reason)
{
    struct cl_alarm_datapoint dps[CL_ALARM_MAX_EVAL];
    for (size_t i = 0; i < n; i++)
        dps[i] = (struct cl_alarm_datapoint){v[i] != M_, v[i] != M_ ? v[i] : 0};
    return cl_alarm_evaluate(r, cur, dps, n, reason, CL_ALARM_REASON_MAX);
}

static void test_m_of_n(void **state)
{
    struct cl_alarm_rule r = rule(3, 2, CL_CMP_GT, 3, CL_MISSING_MISSING);
    char reason[CL_ALARM_REASON_MAX];
    double a[] = {5, 1, 7};
    assert_int_equal(eval(&r, CL_ALARM_OK, a, 3, reason), CL_ALARM_ALARM);
    assert_string_equal(reason, "Threshold Crossed: 2 out of the last 3 datapoints [7.0, 5.0] "
                                "were greater than the threshold (3.0) (minimum 2 datapoints "
                                "for OK -> ALARM transition).");
    double b[] = {1, 5, 1};
    assert_int_equal(eval(&r, CL_ALARM_ALARM, b, 3, reason), CL_ALARM_OK);
    assert_string_equal(reason, "Threshold Crossed: 2 out of the last 3 datapoints [1.0, 1.0] "
                                "were not greater than the threshold (3.0) (minimum 2 "
                                "datapoints for ALARM -> OK transition).");
    double c[] = {9, 9, 9, 1, 9}; /* only the last N count: [9, 1, 9] */
    assert_int_equal(eval(&r, CL_ALARM_OK, c, 5, NULL), CL_ALARM_ALARM);
    double d[] = {9, 9, 1, 1, 9};
    assert_int_equal(eval(&r, CL_ALARM_ALARM, d, 5, NULL), CL_ALARM_OK);
    struct cl_alarm_rule one = rule(1, 1, CL_CMP_GT, 3, CL_MISSING_MISSING);
    double e[] = {3.5};
    eval(&one, CL_ALARM_INSUFFICIENT_DATA, e, 1, reason);
    assert_non_null(strstr(reason, "1 out of the last 1 datapoints [3.5] was greater"));
}

static void test_comparisons(void **state)
{
    struct cl_alarm_rule r = rule(1, 1, CL_CMP_GT, 3, CL_MISSING_MISSING);
    assert_false(cl_alarm_breaches(&r, 3));
    assert_true(cl_alarm_breaches(&r, 3.01));
    r.cmp = CL_CMP_GE;
    assert_true(cl_alarm_breaches(&r, 3));
    assert_false(cl_alarm_breaches(&r, 2.99));
    r.cmp = CL_CMP_LT;
    assert_false(cl_alarm_breaches(&r, 3));
    assert_true(cl_alarm_breaches(&r, 2.99));
    r.cmp = CL_CMP_LE;
    assert_true(cl_alarm_breaches(&r, 3));
    assert_false(cl_alarm_breaches(&r, 3.01));
    enum cl_alarm_cmp c;
    assert_int_equal(cl_alarm_parse_cmp("LessThanOrEqualToThreshold", &c), 0);
    assert_int_equal(c, CL_CMP_LE);
    assert_int_equal(cl_alarm_parse_cmp("GreaterThan", &c), -1);
}

/* Every mode on the same windows (N = 3, M = 2, > 3). */
static void test_missing_modes(void **state)
{
    static const struct {
        double v[3];
        enum cl_alarm_state cur, want[4]; /* missing, ignore, breaching, notBreaching */
    } cases[] = {
        {{M_, M_, M_},
         CL_ALARM_ALARM,
         {CL_ALARM_INSUFFICIENT_DATA, CL_ALARM_ALARM, CL_ALARM_ALARM, CL_ALARM_OK}},
        {{M_, M_, M_},
         CL_ALARM_OK,
         {CL_ALARM_INSUFFICIENT_DATA, CL_ALARM_OK, CL_ALARM_ALARM, CL_ALARM_OK}},
        {{M_, 5, M_},
         CL_ALARM_OK,
         {CL_ALARM_INSUFFICIENT_DATA, CL_ALARM_OK, CL_ALARM_ALARM, CL_ALARM_OK}},
        {{1, M_, 1}, CL_ALARM_ALARM, {CL_ALARM_OK, CL_ALARM_OK, CL_ALARM_OK, CL_ALARM_OK}},
        {{5, M_, 5}, CL_ALARM_OK, {CL_ALARM_ALARM, CL_ALARM_ALARM, CL_ALARM_ALARM, CL_ALARM_ALARM}},
        {{1, M_, 5},
         CL_ALARM_ALARM,
         {CL_ALARM_INSUFFICIENT_DATA, CL_ALARM_ALARM, CL_ALARM_ALARM, CL_ALARM_OK}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int m = 0; m < 4; m++) {
            struct cl_alarm_rule r = rule(3, 2, CL_CMP_GT, 3, (enum cl_alarm_missing)m);
            enum cl_alarm_state got = eval(&r, cases[i].cur, cases[i].v, 3, NULL);
            if (got != cases[i].want[m])
                fail_msg("case %zu mode %s: got %s", i, cl_alarm_missing_name(r.missing),
                         cl_alarm_state_name(got));
        }
    /* fewer datapoints than N (a young alarm): the absent ones are missing */
    struct cl_alarm_rule r = rule(3, 2, CL_CMP_GT, 3, CL_MISSING_MISSING);
    double one[] = {1};
    assert_int_equal(eval(&r, CL_ALARM_INSUFFICIENT_DATA, one, 1, NULL),
                     CL_ALARM_INSUFFICIENT_DATA);
    double two[] = {1, 1};
    assert_int_equal(eval(&r, CL_ALARM_INSUFFICIENT_DATA, two, 2, NULL), CL_ALARM_OK);
    r.missing = CL_MISSING_BREACHING;
    char reason[CL_ALARM_REASON_MAX];
    assert_int_equal(eval(&r, CL_ALARM_OK, one, 1, reason), CL_ALARM_ALARM);
    assert_non_null(strstr(reason, "(2 missing treated as breaching)"));
}

/* ---- engine over a registry ---- */

struct fixture {
    struct cl_metrics *reg;
    struct cl_std_metrics m;
    struct cl_metric *anomalies; /* AnomaliesDetected, as the daemon registers it */
    struct cl_alarm_engine *e;
    int64_t now;
    struct cl_alarm_transition t[8];
    size_t n_t;
};

static void fx_init(struct fixture *f, const struct cl_alarm_rule *rules, size_t n)
{
    char err[256] = "";
    memset(f, 0, sizeof *f);
    f->reg = cl_metrics_new();
    cl_std_metrics_register(f->reg, &f->m);
    f->anomalies = cl_metrics_counter(f->reg, "AnomaliesDetected", CL_UNIT_COUNT, "", NULL, NULL);
    f->now = T0 + 100;
    f->e = cl_alarm_engine_new(f->reg, rules, n, f->now, err, sizeof err);
    if (!f->e)
        fail_msg("engine: %s", err);
}

static void fx_free(struct fixture *f)
{
    cl_alarm_engine_free(f->e);
    cl_metrics_free(f->reg);
}

/* Advances the fake clock by ms and ticks; returns the state of alarm 0. */
static enum cl_alarm_state step(struct fixture *f, int64_t ms)
{
    f->now += ms;
    f->n_t = cl_alarm_engine_tick(f->e, f->now, f->t, 8);
    return cl_alarm_engine_state(f->e, 0, NULL, NULL);
}

static void test_engine_gauge_transitions(void **state)
{
    struct cl_alarm_rule r = rule(1, 1, CL_CMP_GT, 0, CL_MISSING_NOT_BREACHING);
    snprintf(r.metric, sizeof r.metric, "DLQDepth");
    struct fixture f;
    fx_init(&f, &r, 1);
    assert_int_equal(step(&f, 0), CL_ALARM_INSUFFICIENT_DATA); /* opens the first period */
    assert_int_equal(step(&f, 1000), CL_ALARM_OK);
    assert_int_equal(f.n_t, 1);
    assert_int_equal(f.t[0].from, CL_ALARM_INSUFFICIENT_DATA);
    cl_gauge_set(f.m.dlq_depth, 3);
    assert_int_equal(step(&f, 300), CL_ALARM_OK); /* sampled, period still open */
    cl_gauge_set(f.m.dlq_depth, 0);
    assert_int_equal(step(&f, 300), CL_ALARM_OK);
    assert_int_equal(step(&f, 400), CL_ALARM_ALARM); /* Maximum of {0, 3, 0} */
    assert_string_equal(f.t[0].name, "T");
    assert_non_null(strstr(f.t[0].reason, "[3.0] was greater than the threshold (0.0)"));
    assert_int_equal(step(&f, 1000), CL_ALARM_OK);
    assert_int_equal(f.n_t, 1);
    assert_int_equal(step(&f, 1000), CL_ALARM_OK); /* no transition: no history entry */
    assert_int_equal(f.n_t, 0);

    struct cl_buf b;
    cl_buf_init(&b, 1 << 20);
    cl_alarm_engine_render_json(f.e, f.now, &b);
    assert_non_null(strstr(b.data, "{\"alarms\":[{\"name\":\"T\",\"state\":\"OK\""));
    const char *h = strstr(b.data, "\"history\":[{\"name\":\"T\"");
    assert_non_null(h);
    assert_non_null(strstr(h, "\"old_state\":\"ALARM\",\"new_state\":\"OK\"")); /* newest first */
    assert_non_null(strstr(b.data, "\"ComparisonOperator\":\"GreaterThanThreshold\""));
    cl_buf_free(&b);
    fx_free(&f);
}

static void write_text(const char *path, const char *text, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    fclose(fp);
}

/* Removes the "datapoints":[...] member (in place): they belong to the process that
 * rendered them and are not restored. */
static void drop_datapoints(char *doc)
{
    char *p = strstr(doc, "\"datapoints\":[");
    assert_non_null(p);
    char *end = strchr(p, ']');
    assert_non_null(end);
    memmove(p, end + 2, strlen(end + 2) + 1); /* the member and its trailing comma */
}

/* What one engine rendered (the runner's DATA/alarms.json) restores into a new engine:
 * the same states, since times, reasons and history; absent, malformed or foreign files
 * restore nothing. */
static void test_engine_restore(void **state)
{
    struct cl_alarm_rule r = rule(1, 1, CL_CMP_GT, 0, CL_MISSING_NOT_BREACHING);
    snprintf(r.metric, sizeof r.metric, "DLQDepth");
    struct fixture a, b;
    fx_init(&a, &r, 1);
    step(&a, 0);
    step(&a, 1000); /* -> OK */
    cl_gauge_set(a.m.dlq_depth, 3);
    step(&a, 1000); /* sampled into the open period */
    assert_int_equal(step(&a, 1000), CL_ALARM_ALARM);
    struct cl_buf before, after;
    cl_buf_init(&before, 1 << 20);
    cl_buf_init(&after, 1 << 20);
    cl_alarm_engine_render_json(a.e, a.now, &before);
    char path[512];
    const char *dir = getenv("CL_TMPDIR");
    snprintf(path, sizeof path, "%s/alarms_restore_%d.json", dir ? dir : "/tmp", (int)getpid());
    write_text(path, before.data, before.len);

    fx_init(&b, &r, 1);
    assert_int_equal(cl_alarm_restore_file(b.e, path), 1);
    cl_alarm_engine_render_json(b.e, a.now, &after);
    drop_datapoints(before.data);
    drop_datapoints(after.data);
    assert_string_equal(after.data, before.data);
    assert_int_equal(cl_alarm_engine_state(b.e, 0, NULL, NULL), CL_ALARM_ALARM);
    fx_free(&b);

    const char *foreign = "{\"alarms\":[{\"name\":\"Other\",\"state\":\"ALARM\"}]}";
    write_text(path, foreign, strlen(foreign));
    fx_init(&b, &r, 1);
    assert_int_equal(cl_alarm_restore_file(b.e, path), 0);
    const char *truncated = "{\"alarms\":[{\"name\":";
    write_text(path, truncated, strlen(truncated));
    assert_int_equal(cl_alarm_restore_file(b.e, path), 0);
    unlink(path);
    assert_int_equal(cl_alarm_restore_file(b.e, path), 0);
    assert_int_equal(cl_alarm_engine_state(b.e, 0, NULL, NULL), CL_ALARM_INSUFFICIENT_DATA);
    fx_free(&b);
    cl_buf_free(&before);
    cl_buf_free(&after);
    fx_free(&a);
}

/* DATA/alarms.json may be as large as the runner writes it (CL_MAX_ALARM_STATE bytes, its
 * buffer's limit): a file of exactly that size restores; one byte more does not. */
static void test_engine_restore_size_limit(void **state)
{
    (void)state;
    struct cl_alarm_rule r = rule(1, 1, CL_CMP_GT, 0, CL_MISSING_NOT_BREACHING);
    snprintf(r.metric, sizeof r.metric, "DLQDepth");
    const char doc[] = "{\"alarms\":[{\"name\":\"T\",\"state\":\"ALARM\"}]}";
    size_t size = CL_MAX_ALARM_STATE;
    char *text = malloc(size + 1);
    memset(text, ' ', size + 1);
    memcpy(text, doc, strlen(doc));
    char path[512];
    const char *dir = getenv("CL_TMPDIR");
    snprintf(path, sizeof path, "%s/alarms_state_size_%d.json", dir ? dir : "/tmp", (int)getpid());
    struct fixture f;
    write_text(path, text, size);
    fx_init(&f, &r, 1);
    assert_int_equal(cl_alarm_restore_file(f.e, path), 1);
    fx_free(&f);
    write_text(path, text, size + 1);
    fx_init(&f, &r, 1);
    assert_int_equal(cl_alarm_restore_file(f.e, path), 0);
    fx_free(&f);
    unlink(path);
    free(text);
}

static void test_engine_counter_delta_and_skipped(void **state)
{
    struct cl_alarm_rule r = rule(2, 2, CL_CMP_GT, 5, CL_MISSING_MISSING);
    snprintf(r.metric, sizeof r.metric, "Retries");
    r.stat = CL_STAT_SUM;
    r.period_ms = 2000;
    struct fixture f;
    fx_init(&f, &r, 1);
    cl_counter_add(f.m.retries, 100); /* before the first tick: not counted */
    step(&f, 0);
    cl_counter_add(f.m.retries, 6);
    assert_int_equal(step(&f, 2000), CL_ALARM_INSUFFICIENT_DATA); /* [6]: 1 of 2 */
    cl_counter_add(f.m.retries, 7);
    assert_int_equal(step(&f, 2000), CL_ALARM_ALARM); /* [6, 7] */
    assert_non_null(strstr(f.t[0].reason, "[7.0, 6.0]"));
    cl_counter_add(f.m.retries, 2);
    assert_int_equal(step(&f, 2000), CL_ALARM_OK); /* [7, 2]: ALARM out of reach */
    /* a stall of 3 periods: the delta lands in the first, the others are missing */
    cl_counter_add(f.m.retries, 50);
    assert_int_equal(step(&f, 6000), CL_ALARM_INSUFFICIENT_DATA); /* [-, -] after [50] */
    fx_free(&f);
}

static void test_engine_ratio(void **state)
{
    struct cl_alarm_rule r = rule(1, 1, CL_CMP_GT, 0.01, CL_MISSING_MISSING);
    snprintf(r.metric, sizeof r.metric, "ProcessingErrors");
    snprintf(r.denominator, sizeof r.denominator, "ProcessedLogCount");
    r.stat = CL_STAT_SUM;
    struct fixture f;
    fx_init(&f, &r, 1);
    step(&f, 0);
    cl_counter_add(f.m.processed_log_count, 1000);
    cl_counter_add_at(f.m.processing_errors, CL_PERR_STORE, 5); /* 0.5% */
    assert_int_equal(step(&f, 1000), CL_ALARM_OK);
    cl_counter_add(f.m.processed_log_count, 100);
    cl_counter_add_at(f.m.processing_errors, CL_PERR_DECODE, 2); /* 2% */
    assert_int_equal(step(&f, 1000), CL_ALARM_ALARM);
    assert_non_null(strstr(f.t[0].reason, "[0.02]"));
    assert_int_equal(step(&f, 1000), CL_ALARM_INSUFFICIENT_DATA); /* 0 / 0: missing */
    cl_counter_add_at(f.m.processing_errors, CL_PERR_STORE, 3);   /* 3 / 0 counts as 3 / 1 */
    assert_int_equal(step(&f, 1000), CL_ALARM_ALARM);
    assert_non_null(strstr(f.t[0].reason, "[3.0]"));
    fx_free(&f);
}

static void test_engine_histogram_quantile_and_label(void **state)
{
    struct cl_alarm_rule rules[2];
    rules[0] = rule(1, 1, CL_CMP_GT, 2, CL_MISSING_NOT_BREACHING);
    snprintf(rules[0].metric, sizeof rules[0].metric, "EndToEndLatency");
    rules[0].stat = CL_STAT_PERCENTILE;
    rules[0].percentile = 99;
    rules[1] = rule(1, 1, CL_CMP_GE, 1, CL_MISSING_MISSING);
    snprintf(rules[1].name, sizeof rules[1].name, "Ingest5xx");
    snprintf(rules[1].metric, sizeof rules[1].metric, "IngestRequests");
    snprintf(rules[1].label, sizeof rules[1].label, "5xx");
    rules[1].stat = CL_STAT_SUM;
    struct fixture f;
    fx_init(&f, rules, 2);
    for (int i = 0; i < 1000; i++) /* 1 ms each: the old observations do not count */
        cl_histogram_observe(f.m.end_to_end_latency, 1000);
    step(&f, 0);
    for (int i = 0; i < 100; i++)
        cl_histogram_observe(f.m.end_to_end_latency, i < 98 ? 1000 : 4000000);
    cl_counter_add_at(f.m.ingest_requests, CL_STATUS_2XX, 10);
    assert_int_equal(step(&f, 1000), CL_ALARM_ALARM); /* p99 within (2 s, 5 s] */
    int64_t since;
    assert_int_equal(cl_alarm_engine_state(f.e, 1, &since, NULL), CL_ALARM_OK); /* 2xx only */
    assert_true(strstr(f.t[0].reason, "datapoints [") != NULL);
    double p99 = strtod(strstr(f.t[0].reason, "[") + 1, NULL);
    assert_true(p99 > 2.0 && p99 <= 5.0);
    cl_counter_add_at(f.m.ingest_requests, CL_STATUS_5XX, 1);
    assert_int_equal(step(&f, 1000), CL_ALARM_OK); /* no observations: notBreaching */
    assert_int_equal(cl_alarm_engine_state(f.e, 1, &since, NULL), CL_ALARM_ALARM);
    assert_int_equal(since, f.now);
    fx_free(&f);
}

static void test_engine_rejects(void **state)
{
    struct cl_metrics *reg = cl_metrics_new();
    struct cl_std_metrics m;
    cl_std_metrics_register(reg, &m);
    char err[256];
    struct cl_alarm_rule r = rule(1, 1, CL_CMP_GT, 0, CL_MISSING_MISSING);
    snprintf(r.metric, sizeof r.metric, "NoSuchMetric");
    assert_null(cl_alarm_engine_new(reg, &r, 1, T0, err, sizeof err));
    assert_non_null(strstr(err, "unknown metric NoSuchMetric"));
    snprintf(r.metric, sizeof r.metric, "Retries");
    r.stat = CL_STAT_AVERAGE;
    assert_null(cl_alarm_engine_new(reg, &r, 1, T0, err, sizeof err));
    assert_non_null(strstr(err, "Sum statistic only"));
    r = rule(2, 3, CL_CMP_GT, 0, CL_MISSING_MISSING);
    snprintf(r.metric, sizeof r.metric, "DLQDepth");
    assert_null(cl_alarm_engine_new(reg, &r, 1, T0, err, sizeof err));
    assert_non_null(strstr(err, "DatapointsToAlarm"));
    r.enabled = 0; /* disabled rules are not checked or run */
    struct cl_alarm_engine *e = cl_alarm_engine_new(reg, &r, 1, T0, err, sizeof err);
    assert_non_null(e);
    assert_int_equal(cl_alarm_engine_len(e), 0);
    cl_alarm_engine_free(e);
    cl_metrics_free(reg);
}

/* Every built-in alarm resolves against the shared metrics. */
static void test_defaults_resolve(void **state)
{
    struct cl_alarm_config c;
    cl_alarm_config_defaults(&c);
    assert_int_equal(c.n, 10);
    struct cl_metrics *reg = cl_metrics_new();
    struct cl_std_metrics m;
    cl_std_metrics_register(reg, &m);
    /* LogAnomaly's metric: the daemon registers it beside the shared ones */
    cl_metrics_counter(reg, "AnomaliesDetected", CL_UNIT_COUNT, "", NULL, NULL);
    char err[256] = "";
    struct cl_alarm_engine *e = cl_alarm_engine_new(reg, c.rules, c.n, T0, err, sizeof err);
    if (!e)
        fail_msg("%s", err);
    assert_int_equal(cl_alarm_engine_len(e), 10);
    cl_alarm_engine_free(e);
    cl_metrics_free(reg);
    cl_alarm_config_free(&c);
}

static void describe(void *arg, const struct cl_alarm_rule *r, char *out, size_t n)
{
    snprintf(out, n, "%s: %s", r->name, (const char *)arg);
}

/* "Kind": "Anomaly": AnomaliesDetected > 0 in one period, and the reason is what the
 * describer says (the daemon's: the latest anomaly's sentence). */
static void test_anomaly_kind(void **state)
{
    struct cl_alarm_config c;
    char err[256] = "";
    memset(&c, 0, sizeof c);
    const char *doc = "{\"IncludeDefaults\": false, \"Alarms\": [{\"AlarmName\": \"Burst\","
                      " \"Kind\": \"Anomaly\", \"Period\": 1}]}";
    assert_int_equal(cl_alarm_config_parse(&c, doc, strlen(doc), err, sizeof err), 0);
    assert_int_equal(c.n, 1);
    const struct cl_alarm_rule *r = &c.rules[0];
    assert_int_equal(r->kind, CL_ALARM_KIND_ANOMALY);
    assert_string_equal(r->metric, "AnomaliesDetected");
    assert_true(r->threshold == 0 && r->cmp == CL_CMP_GT && r->stat == CL_STAT_SUM);
    assert_int_equal(r->missing, CL_MISSING_NOT_BREACHING);
    struct fixture f;
    fx_init(&f, r, 1);
    cl_alarm_engine_set_describer(f.e, describe, "error ratio of api at 31.8%");
    step(&f, 0);
    assert_int_equal(step(&f, 1000), CL_ALARM_OK);
    cl_counter_add(f.anomalies, 1);
    assert_int_equal(step(&f, 1000), CL_ALARM_ALARM);
    assert_string_equal(f.t[0].reason, "Burst: error ratio of api at 31.8%");
    assert_int_equal(step(&f, 1000), CL_ALARM_OK); /* the plain reason back to OK */
    assert_non_null(strstr(f.t[0].reason, "Threshold Crossed"));
    fx_free(&f);
    cl_alarm_config_free(&c);
    const char *bad = "{\"Alarms\": [{\"AlarmName\": \"X\", \"Kind\": \"Weird\"}]}";
    cl_alarm_config_defaults(&c);
    assert_int_not_equal(cl_alarm_config_parse(&c, bad, strlen(bad), err, sizeof err), 0);
    cl_alarm_config_free(&c);
}

static const char *find_rule(const struct cl_alarm_config *c, const char *name, size_t *i)
{
    for (*i = 0; *i < c->n; (*i)++)
        if (!strcmp(c->rules[*i].name, name))
            return name;
    return NULL;
}

static void test_config(void **state)
{
    struct cl_alarm_config c;
    cl_alarm_config_defaults(&c);
    const char *doc =
        "{\"Alarms\":[{\"AlarmName\":\"DLQNotEmpty\",\"Period\":1},"
        "{\"AlarmName\":\"QueueDepthHigh\",\"Enabled\":false},"
        "{\"AlarmName\":\"ProcessingErrorRatio\",\"EvaluationPeriods\":2},"
        "{\"AlarmName\":\"Slow\",\"MetricName\":\"IngestLatency\",\"ExtendedStatistic\":\"p99.9\","
        "\"Period\":2.5,\"ComparisonOperator\":\"GreaterThanOrEqualToThreshold\",\"Threshold\":1,"
        "\"TreatMissingData\":\"ignore\",\"AlarmDescription\":\"slow \\u00e9\"}],"
        "\"Webhooks\":[\"http://127.0.0.1:9/hook\"]}";
    char err[256];
    assert_int_equal(cl_alarm_config_parse(&c, doc, strlen(doc), err, sizeof err), 0);
    size_t i;
    assert_non_null(find_rule(&c, "DLQNotEmpty", &i));
    assert_int_equal(c.rules[i].period_ms, 1000);
    assert_int_equal(c.rules[i].missing, CL_MISSING_NOT_BREACHING); /* kept */
    assert_non_null(find_rule(&c, "QueueDepthHigh", &i));
    assert_false(c.rules[i].enabled);
    assert_non_null(find_rule(&c, "ProcessingErrorRatio", &i));
    assert_int_equal(c.rules[i].eval_periods, 2);
    assert_int_equal(c.rules[i].datapoints, 2); /* M follows N unless given */
    assert_non_null(find_rule(&c, "Slow", &i));
    assert_int_equal(c.rules[i].stat, CL_STAT_PERCENTILE);
    assert_true(fabs(c.rules[i].percentile - 99.9) < 1e-9);
    assert_int_equal(c.rules[i].period_ms, 2500);
    assert_int_equal(c.rules[i].cmp, CL_CMP_GE);
    assert_int_equal(c.rules[i].missing, CL_MISSING_IGNORE);
    assert_string_equal(c.rules[i].description, "slow \xc3\xa9");
    assert_int_equal(c.n_webhooks, 1);
    assert_string_equal(c.webhooks[0], "http://127.0.0.1:9/hook");
    cl_alarm_config_free(&c);

    static const char *const bad[] = {
        "[]",
        "{\"Alarms\":[{\"AlarmName\":\"DLQNotEmpty\",\"Perod\":1}]}",
        "{\"Alarms\":[{\"Period\":1}]}",
        "{\"Alarms\":[{\"AlarmName\":\"New\",\"MetricName\":\"DLQDepth\"}]}", /* no Threshold */
        "{\"Alarms\":[{\"AlarmName\":\"DLQNotEmpty\",\"Statistic\":\"p0\"}]}",
        "{\"Alarms\":[{\"AlarmName\":\"DLQNotEmpty\",\"TreatMissingData\":\"maybe\"}]}",
        "{\"Alarms\":[{\"AlarmName\":\"DLQNotEmpty\",\"DatapointsToAlarm\":2}]}",
        "{\"Webhooks\":[\"ftp://x\"]}",
        "{\"Webhooks\":[\"http://\"]}",              /* no host (curl_url) */
        "{\"Webhooks\":[\"http://exa mple.com/\"]}", /* not a URL libcurl accepts */
        "{\"Extra\":1}",
        "{\"Alarms\":[}",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cl_alarm_config_defaults(&c);
        err[0] = '\0';
        if (cl_alarm_config_parse(&c, bad[k], strlen(bad[k]), err, sizeof err) == 0)
            fail_msg("accepted: %s", bad[k]);
        assert_true(err[0] != '\0');
        cl_alarm_config_free(&c);
    }
    cl_alarm_config_defaults(&c);
    const char *none = "{\"IncludeDefaults\":false}";
    assert_int_equal(cl_alarm_config_parse(&c, none, strlen(none), err, sizeof err), 0);
    assert_int_equal(c.n, 0);
    cl_alarm_config_free(&c);
}

static void test_webhook_body(void **state)
{
    struct cl_alarm_transition t = {
        .name = "DLQNotEmpty", .ts_ms = T0, .from = CL_ALARM_OK, .to = CL_ALARM_ALARM};
    snprintf(t.reason, sizeof t.reason, "a \"quoted\" reason");
    struct cl_buf b;
    cl_buf_init(&b, 1 << 16);
    cl_alarm_notify_body(&t, &b);
    assert_string_equal(
        b.data, "{\"alarm\":\"DLQNotEmpty\",\"old_state\":\"OK\",\"new_state\":\"ALARM\","
                "\"reason\":\"a \\\"quoted\\\" reason\",\"timestamp\":\"2026-11-25T16:40:00.000Z\","
                "\"timestamp_ms\":1795624800000,\"text\":\":red_circle: cloudlog alarm "
                "*DLQNotEmpty* is ALARM (was OK): a \\\"quoted\\\" reason\"}");
    cl_buf_free(&b);
}

/* A config file of exactly 1 MiB loads (the limit is "larger than 1 MiB"); one byte more
 * does not. */
static void test_config_file_size_limit(void **state)
{
    (void)state;
    const char doc[] = "{\"Alarms\": [{\"AlarmName\": \"DLQNotEmpty\", \"Enabled\": false}]}";
    size_t size = 1u << 20;
    char *text = malloc(size + 1);
    memset(text, ' ', size + 1);
    memcpy(text, doc, strlen(doc));
    text[size - 1] = '\n';
    char path[512], err[512];
    const char *dir = getenv("CL_TMPDIR");
    snprintf(path, sizeof path, "%s/alarms_size_%d.json", dir ? dir : "/tmp", (int)getpid());
    struct cl_alarm_config c;

    write_text(path, text, size);
    cl_alarm_config_defaults(&c);
    int rc = cl_alarm_config_load(&c, path, err, sizeof err);
    assert_int_equal(rc, 0);
    cl_alarm_config_free(&c);

    text[size] = '\n';
    write_text(path, text, size + 1);
    cl_alarm_config_defaults(&c);
    assert_int_not_equal(cl_alarm_config_load(&c, path, err, sizeof err), 0);
    assert_non_null(strstr(err, "larger than 1 MiB"));
    cl_alarm_config_free(&c);
    unlink(path);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_m_of_n),
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_missing_modes),
        cmocka_unit_test(test_engine_gauge_transitions),
        cmocka_unit_test(test_engine_restore),
        cmocka_unit_test(test_engine_restore_size_limit),
        cmocka_unit_test(test_engine_counter_delta_and_skipped),
        cmocka_unit_test(test_engine_ratio),
        cmocka_unit_test(test_engine_histogram_quantile_and_label),
        cmocka_unit_test(test_engine_rejects),
        cmocka_unit_test(test_defaults_resolve),
        cmocka_unit_test(test_anomaly_kind),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_config_file_size_limit),
        cmocka_unit_test(test_webhook_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
