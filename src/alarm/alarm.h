/* alarm.h - CloudWatch-style alarms over the metrics registry: rules, the pure evaluation
 * core, and the engine that turns registry readings into per-period datapoints.
 *
 * Semantics (docs/alarms.md has the full text):
 *  - A rule reads one metric of the registry (optionally one label value of a labelled
 *    counter), or the ratio of two, and reduces each period to one datapoint with a
 *    statistic: counters give their increase over the period (Sum); gauges give the
 *    statistic of the samples taken during the period; histograms give the statistic of
 *    the period's observations (pNN, Average, Sum, SampleCount, Maximum, Minimum), in
 *    seconds for latency histograms.
 *  - The last N datapoints (EvaluationPeriods) decide the state: M of them breaching
 *    (DatapointsToAlarm) -> ALARM; enough non-breaching that ALARM is out of reach even
 *    if every missing datapoint breached -> OK; otherwise too few datapoints ->
 *    INSUFFICIENT_DATA (TreatMissingData missing) or the state kept (ignore). breaching
 *    and notBreaching substitute missing datapoints before counting.
 *
 * Nothing here starts threads or reads clocks: the caller passes the time, so tests
 * drive the engine with a fake clock and a registry they fill themselves. An engine is
 * not thread-safe; the daemon guards it with its own mutex (alarm_runner.h). */
#ifndef CL_ALARM_H
#define CL_ALARM_H

#include "buf.h"
#include "metrics.h"

#include <stddef.h>
#include <stdint.h>

enum cl_alarm_state { CL_ALARM_INSUFFICIENT_DATA, CL_ALARM_OK, CL_ALARM_ALARM };

enum cl_alarm_stat {
    CL_STAT_SUM,
    CL_STAT_AVERAGE,
    CL_STAT_MAXIMUM,
    CL_STAT_MINIMUM,
    CL_STAT_SAMPLE_COUNT,
    CL_STAT_PERCENTILE /* histograms only: rule.percentile in (0, 100] */
};

enum cl_alarm_cmp { CL_CMP_GT, CL_CMP_GE, CL_CMP_LT, CL_CMP_LE };

enum cl_alarm_missing {
    CL_MISSING_MISSING, /* default */
    CL_MISSING_IGNORE,
    CL_MISSING_BREACHING,
    CL_MISSING_NOT_BREACHING
};

#define CL_ALARM_NAME_MAX 64
#define CL_ALARM_MAX_EVAL 100    /* largest EvaluationPeriods */
#define CL_ALARM_REASON_MAX 1024 /* an anomaly alarm's reason holds the anomaly's sentence */

/* Metric: a threshold on a registry metric. Anomaly: the same on AnomaliesDetected (the
 * inline detectors, docs/analytics.md), whose reason is the latest anomaly's sentence. */
enum cl_alarm_kind { CL_ALARM_KIND_METRIC, CL_ALARM_KIND_ANOMALY };

struct cl_alarm_rule {
    enum cl_alarm_kind kind;
    char name[CL_ALARM_NAME_MAX];
    char description[256];
    char metric[CL_ALARM_NAME_MAX];      /* registry name, e.g. "ProcessingErrors" */
    char label[CL_ALARM_NAME_MAX];       /* one series of a labelled counter; "" = all */
    char denominator[CL_ALARM_NAME_MAX]; /* "" = no ratio; else metric / denominator */
    enum cl_alarm_stat stat;
    double percentile; /* CL_STAT_PERCENTILE: 99 for p99 */
    int64_t period_ms;
    int eval_periods; /* N */
    int datapoints;   /* M <= N */
    enum cl_alarm_cmp cmp;
    double threshold;
    enum cl_alarm_missing missing;
    int enabled;
};

/* One datapoint of a period: present or missing. */
struct cl_alarm_datapoint {
    int present;
    double value;
};

/* ---- Names (CloudWatch spellings) ---- */
const char *cl_alarm_state_name(enum cl_alarm_state s);     /* "OK", "ALARM", "INSUFFICIENT_DATA" */
const char *cl_alarm_cmp_name(enum cl_alarm_cmp c);         /* "GreaterThanThreshold", ... */
const char *cl_alarm_missing_name(enum cl_alarm_missing m); /* "missing", "notBreaching", ... */
/* "Sum", "Average", ..., or "p99" / "p99.9" into out. */
void cl_alarm_stat_name(const struct cl_alarm_rule *r, char *out, size_t n);
/* Parsers: 0, or -1 for an unknown name. */
int cl_alarm_parse_cmp(const char *s, enum cl_alarm_cmp *c);
int cl_alarm_parse_missing(const char *s, enum cl_alarm_missing *m);
int cl_alarm_parse_stat(const char *s, enum cl_alarm_stat *st, double *percentile);
int cl_alarm_parse_state(const char *s, enum cl_alarm_state *st);

/* Checks a rule's fields (name, period >= 1 s, 1 <= M <= N <= CL_ALARM_MAX_EVAL,
 * percentile range). Returns 0, or -1 with err set. */
int cl_alarm_rule_check(const struct cl_alarm_rule *r, char *err, size_t err_len);

/* ---- The pure evaluation core ---- */

/* 1 if value breaches the rule's threshold under its comparison. */
int cl_alarm_breaches(const struct cl_alarm_rule *r, double value);

/* Evaluates the last n datapoints (dps[0] oldest, n <= rule->eval_periods; fewer than N
 * only before N periods have passed: the absent ones count as missing) with the state
 * current. Returns the new state and, if reason is not NULL, writes CloudWatch-style
 * reason text ("Threshold Crossed: 2 out of the last 3 datapoints [7.0, 5.0] were
 * greater than the threshold (3.0) ..."). */
enum cl_alarm_state cl_alarm_evaluate(const struct cl_alarm_rule *r, enum cl_alarm_state current,
                                      const struct cl_alarm_datapoint *dps, size_t n, char *reason,
                                      size_t reason_len);

/* ---- The engine: rules over a registry ---- */

struct cl_alarm_transition {
    char name[CL_ALARM_NAME_MAX];
    int64_t ts_ms;
    enum cl_alarm_state from, to;
    char reason[CL_ALARM_REASON_MAX];
};

#define CL_ALARM_HISTORY 100 /* transitions kept, newest last */

struct cl_alarm_engine;

/* Resolves every enabled rule's metrics in reg (borrowed; must outlive the engine) and
 * starts all alarms in INSUFFICIENT_DATA at now_ms. Returns the engine (caller frees
 * with cl_alarm_engine_free), or NULL with err set (unknown metric, a statistic the
 * metric's type does not have, a bad rule). */
struct cl_alarm_engine *cl_alarm_engine_new(struct cl_metrics *reg,
                                            const struct cl_alarm_rule *rules, size_t n,
                                            int64_t now_ms, char *err, size_t err_len);
void cl_alarm_engine_free(struct cl_alarm_engine *e);

/* Reads the registry once (the caller runs cl_metrics_collect first if gauges need
 * refreshing): adds a sample to each gauge rule's open period, and for every period
 * that ended at or before now_ms closes it into a datapoint and evaluates. Periods
 * are aligned to multiples of the period since the epoch, like CloudWatch's; a period
 * in which no tick happened is missing. Transitions are appended to the history and
 * to out (up to max_out); returns how many were written to out. */
size_t cl_alarm_engine_tick(struct cl_alarm_engine *e, int64_t now_ms,
                            struct cl_alarm_transition *out, size_t max_out);

size_t cl_alarm_engine_len(const struct cl_alarm_engine *e);
/* State of alarm i (rule order); since_ms is the last transition or the start. */
enum cl_alarm_state cl_alarm_engine_state(const struct cl_alarm_engine *e, size_t i,
                                          int64_t *since_ms, const char **reason);
const struct cl_alarm_rule *cl_alarm_engine_rule(const struct cl_alarm_engine *e, size_t i);

/* Writes what an anomaly alarm's reason says (the latest anomalies) into out. */
typedef void (*cl_alarm_describe_fn)(void *arg, const struct cl_alarm_rule *r, char *out, size_t n);

/* Sets the describer used when an anomaly-kind alarm goes to ALARM (NULL: none). */
void cl_alarm_engine_set_describer(struct cl_alarm_engine *e, cl_alarm_describe_fn fn, void *arg);

/* Start-up restore of what a previous run left (alarm_restore.c): sets the state of the
 * alarm called name (returns 0 when no such alarm is configured), and appends one
 * transition to the history (oldest first). No notification is sent for either. */
int cl_alarm_engine_restore(struct cl_alarm_engine *e, const char *name, enum cl_alarm_state st,
                            int64_t since_ms, const char *reason);
void cl_alarm_engine_restore_transition(struct cl_alarm_engine *e,
                                        const struct cl_alarm_transition *t);

/* Reads a state file written by the runner (cl_alarm_engine_render_json's document) and
 * restores the states of the alarms still configured and the history. A missing file is
 * not an error; an unreadable or malformed one is logged and ignored. Returns the number
 * of alarm states restored. */
size_t cl_alarm_restore_file(struct cl_alarm_engine *e, const char *path);

/* Appends {"alarms":[{name,state,reason,since,since_ms,rule:{...}}],
 * "history":[{name,timestamp,timestamp_ms,old_state,new_state,reason}],
 * "generated_ms":...} (history newest first). */
void cl_alarm_engine_render_json(const struct cl_alarm_engine *e, int64_t now_ms,
                                 struct cl_buf *out);

/* Appends a rule as a JSON object in the config file's spelling. */
void cl_alarm_rule_json(const struct cl_alarm_rule *r, struct cl_buf *out);

/* RFC 3339 UTC with milliseconds into out[32]. */
void cl_alarm_format_ts(int64_t ms, char out[32]);

#endif
