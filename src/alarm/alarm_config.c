/* alarm_config.c - built-in alarms and the JSON config file (parsed with json.h's
 * scanner) that overrides, disables or adds to them. */
#include "alarm_config.h"

#include "common.h"
#include "json.h"
#include "readfile.h"
#include "url.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS (60 * 1000)
#define ALARM_CONFIG_MAX ((size_t)1 << 20) /* a larger --alarms-config file is refused */

/* The fields of a rule on one-minute periods, enabled, that breaches when the statistic is
 * above threshold in datapoints of the last eval_periods minutes. */
#define ABOVE(stat_, threshold_, datapoints_, eval_periods_, missing_)                             \
    .stat = (stat_), .period_ms = MIN_MS, .eval_periods = (eval_periods_),                         \
    .datapoints = (datapoints_), .cmp = CL_CMP_GT, .threshold = (threshold_),                      \
    .missing = (missing_), .enabled = 1

/* The alarms an operator of a local daemon wants (docs/alarms.md explains each). */
static const struct cl_alarm_rule builtin[] = {
    {.name = "QueueDepthHigh",
     .description = "More than 10000 messages wait in the queue for 5 minutes: processing "
                    "falls behind ingest",
     .metric = "QueueDepth",
     ABOVE(CL_STAT_MAXIMUM, 10000, 5, 5, CL_MISSING_MISSING)},
    {.name = "DLQNotEmpty",
     .description = "Messages are in the dead-letter queue: inspect with `cloudlog dlq list`, "
                    "fix the cause, then `cloudlog dlq redrive --all`",
     .metric = "DLQDepth",
     ABOVE(CL_STAT_MAXIMUM, 0, 1, 1, CL_MISSING_NOT_BREACHING)},
    {.name = "OldestMessageTooOld",
     .description = "The oldest queued message is older than the 300 s SLA",
     .metric = "OldestMessageAgeSeconds",
     ABOVE(CL_STAT_MAXIMUM, 300, 1, 1, CL_MISSING_NOT_BREACHING)},
    {.name = "ProcessingErrorRatio",
     .description = "Processing errors exceed 1% of the records processed in 3 of 5 minutes",
     .metric = "ProcessingErrors",
     .denominator = "ProcessedLogCount",
     ABOVE(CL_STAT_SUM, 0.01, 3, 5, CL_MISSING_NOT_BREACHING)},
    {.name = "EndToEndLatencyP99",
     .description = "p99 of record-received-to-object-published latency above the 300 s SLA "
                    "for 3 minutes",
     .metric = "EndToEndLatency",
     .percentile = 99,
     ABOVE(CL_STAT_PERCENTILE, 300, 3, 3, CL_MISSING_NOT_BREACHING)},
    {.name = "StoreCircuitOpen",
     .description = "The processor's circuit breaker is open: the store (or the queue file) "
                    "fails as a whole; records wait in the queue, none go to the DLQ",
     .metric = "StoreCircuitOpen",
     ABOVE(CL_STAT_MAXIMUM, 0, 1, 1, CL_MISSING_NOT_BREACHING)},
    {.name = "CrashLoop",
     .description = "The daemon restarted after a crash or kill -9 three or more times in 10 "
                    "minutes",
     .metric = "RecentUncleanRestarts",
     ABOVE(CL_STAT_MAXIMUM, 2, 1, 1, CL_MISSING_NOT_BREACHING)},
    {.name = "Ingest5xx",
     .description = "POST /v1/logs answered 5xx (over capacity, shutting down, queue failure) "
                    "in 3 of the last 5 minutes",
     .metric = "IngestRequests",
     .label = "5xx",
     ABOVE(CL_STAT_SUM, 0, 3, 5, CL_MISSING_NOT_BREACHING)},
    {.name = "QueueQuarantined",
     .description = "A damaged queue file was moved to DATA/quarantine and the daemon runs on "
                    "a fresh queue: salvage its messages with `cloudlog verify --repair`",
     .metric = "QueueQuarantinePending",
     ABOVE(CL_STAT_MAXIMUM, 0, 1, 1, CL_MISSING_NOT_BREACHING)},
    {.kind = CL_ALARM_KIND_ANOMALY,
     .name = "LogAnomaly",
     .description = "The inline detectors found an anomaly in the logs (a service's record rate, "
                    "error ratio or a pattern's rate left its band, a new pattern, a silent "
                    "service): the reason says which; `cloudlog anomalies` lists them all",
     .metric = "AnomaliesDetected",
     ABOVE(CL_STAT_SUM, 0, 1, 1, CL_MISSING_NOT_BREACHING)},
};

#undef ABOVE

void cl_alarm_config_defaults(struct cl_alarm_config *c)
{
    memset(c, 0, sizeof *c);
    c->n = CL_ARRAY_LEN(builtin);
    c->rules = cl_malloc(sizeof builtin);
    memcpy(c->rules, builtin, sizeof builtin);
}

void cl_alarm_config_add_webhook(struct cl_alarm_config *c, const char *url)
{
    c->webhooks = cl_realloc(c->webhooks, (c->n_webhooks + 1) * sizeof *c->webhooks);
    c->webhooks[c->n_webhooks++] = cl_strdup(url);
}

void cl_alarm_config_free(struct cl_alarm_config *c)
{
    for (size_t i = 0; i < c->n_webhooks; i++)
        free(c->webhooks[i]);
    free(c->webhooks);
    free(c->rules);
    memset(c, 0, sizeof *c);
}

/* A JSON string into out (NUL-terminated); -1 if not a string, too long or holding NUL. */
static int get_string(const struct cl_json_value *v, char *out, size_t n)
{
    if (v->type != CL_JSON_STRING || v->len > 4096)
        return -1;
    char tmp[4096];
    size_t len = cl_json_unescape(v, tmp);
    if (len >= n || memchr(tmp, '\0', len))
        return -1;
    memcpy(out, tmp, len);
    out[len] = '\0';
    return 0;
}

static int get_number(const struct cl_json_value *v, double *out)
{
    char tmp[64];
    if (v->type != CL_JSON_NUMBER || v->len >= sizeof tmp)
        return -1;
    memcpy(tmp, v->ptr, v->len);
    tmp[v->len] = '\0';
    *out = strtod(tmp, NULL);
    return isfinite(*out) ? 0 : -1;
}

static int get_int(const struct cl_json_value *v, int lo, int hi, int *out)
{
    double d;
    if (get_number(v, &d) != 0 || d != floor(d) || d < lo || d > hi)
        return -1;
    *out = (int)d;
    return 0;
}

/* Named-value fields: Statistic, ComparisonOperator, TreatMissingData. 1 if key is not
 * one of them. */
static int apply_enum(struct cl_alarm_rule *r, const char *key, const struct cl_json_value *v)
{
    char s[64];
    int is_stat = !strcmp(key, "Statistic") || !strcmp(key, "ExtendedStatistic");
    if (!is_stat && strcmp(key, "ComparisonOperator") && strcmp(key, "TreatMissingData"))
        return 1;
    if (get_string(v, s, sizeof s) != 0)
        return -1;
    if (is_stat)
        return cl_alarm_parse_stat(s, &r->stat, &r->percentile);
    if (!strcmp(key, "ComparisonOperator"))
        return cl_alarm_parse_cmp(s, &r->cmp);
    return cl_alarm_parse_missing(s, &r->missing);
}

/* Numeric and boolean fields; *n_set tells whether EvaluationPeriods / DatapointsToAlarm
 * were given. 1 if key is not one of them. */
static int apply_number(struct cl_alarm_rule *r, const char *key, const struct cl_json_value *v,
                        int *n_set, int *m_set)
{
    double d;
    if (!strcmp(key, "Period")) {
        if (get_number(v, &d) != 0 || d < 1 || d > 86400)
            return -1;
        r->period_ms = (int64_t)llround(d * 1000);
        return 0;
    }
    if (!strcmp(key, "EvaluationPeriods"))
        return *n_set = 1, get_int(v, 1, CL_ALARM_MAX_EVAL, &r->eval_periods);
    if (!strcmp(key, "DatapointsToAlarm"))
        return *m_set = 1, get_int(v, 1, CL_ALARM_MAX_EVAL, &r->datapoints);
    if (!strcmp(key, "Threshold"))
        return get_number(v, &r->threshold);
    if (!strcmp(key, "Enabled")) {
        if (v->type != CL_JSON_TRUE && v->type != CL_JSON_FALSE)
            return -1;
        r->enabled = v->type == CL_JSON_TRUE;
        return 0;
    }
    return 1;
}

/* "Kind": "Anomaly" makes an anomaly alarm: AnomaliesDetected, Sum > 0, missing data
 * not breaching, unless fields of the entry say otherwise; "Metric" is the default. */
static int apply_kind(struct cl_alarm_rule *r, const struct cl_json_value *v)
{
    char s[32];
    if (get_string(v, s, sizeof s) != 0)
        return -1;
    if (!strcmp(s, "Metric")) {
        r->kind = CL_ALARM_KIND_METRIC;
        return 0;
    }
    if (strcmp(s, "Anomaly") != 0)
        return -1;
    r->kind = CL_ALARM_KIND_ANOMALY;
    if (!r->metric[0])
        snprintf(r->metric, sizeof r->metric, "AnomaliesDetected");
    if (isnan(r->threshold))
        r->threshold = 0;
    r->missing = CL_MISSING_NOT_BREACHING;
    return 0;
}

static int apply_text(struct cl_alarm_rule *r, const char *key, const struct cl_json_value *v)
{
    if (!strcmp(key, "AlarmDescription"))
        return get_string(v, r->description, sizeof r->description);
    if (!strcmp(key, "MetricName"))
        return get_string(v, r->metric, sizeof r->metric);
    if (!strcmp(key, "Label"))
        return get_string(v, r->label, sizeof r->label);
    if (!strcmp(key, "DenominatorMetricName"))
        return get_string(v, r->denominator, sizeof r->denominator);
    if (!strcmp(key, "AlarmName"))
        return 0; /* already read */
    if (!strcmp(key, "Kind"))
        return apply_kind(r, v);
    return 1;
}

/* The AlarmName member of one Alarms entry. */
static int entry_name(const char *elem, size_t len, char *name, size_t n)
{
    struct cl_json_reader rd;
    struct cl_json_value k, v;
    cl_json_reader_init(&rd, elem, len, 0);
    if (cl_json_object_open(&rd) != 0)
        return -1;
    int rc;
    while ((rc = cl_json_object_next(&rd, &k, &v)) == 1)
        if (k.len == 11 && memcmp(k.ptr, "\"AlarmName\"", 11) == 0)
            return get_string(&v, name, n);
    return -1;
}

/* The rule named name in c, added (with CloudWatch's defaults) if absent. */
static struct cl_alarm_rule *rule_for(struct cl_alarm_config *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->rules[i].name, name) == 0)
            return &c->rules[i];
    c->rules = cl_realloc(c->rules, (c->n + 1) * sizeof *c->rules);
    struct cl_alarm_rule *r = &c->rules[c->n++];
    *r = (struct cl_alarm_rule){.period_ms = MIN_MS,
                                .eval_periods = 1,
                                .datapoints = 1,
                                .cmp = CL_CMP_GT,
                                .threshold = NAN,
                                .enabled = 1};
    snprintf(r->name, sizeof r->name, "%s", name);
    return r;
}

struct parse_ctx {
    struct cl_alarm_config *c;
    char *err;
    size_t err_len;
};

static int apply_member(struct cl_alarm_rule *r, const char *key, const struct cl_json_value *v,
                        int *n_set, int *m_set)
{
    int rc = apply_text(r, key, v);
    if (rc == 1)
        rc = apply_enum(r, key, v);
    if (rc == 1)
        rc = apply_number(r, key, v, n_set, m_set);
    return rc;
}

static int parse_alarm(void *arg, const char *elem, size_t len)
{
    struct parse_ctx *p = arg;
    char name[CL_ALARM_NAME_MAX], key[64];
    if (entry_name(elem, len, name, sizeof name) != 0 || !name[0]) {
        snprintf(p->err, p->err_len, "Alarms: every entry needs a string AlarmName (< 64 bytes)");
        return -1;
    }
    struct cl_alarm_rule *r = rule_for(p->c, name);
    struct cl_json_reader rd;
    struct cl_json_value k, v;
    cl_json_reader_init(&rd, elem, len, 0);
    cl_json_object_open(&rd);
    int n_set = 0, m_set = 0, rc;
    while ((rc = cl_json_object_next(&rd, &k, &v)) == 1) {
        if (get_string(&k, key, sizeof key) != 0 || apply_member(r, key, &v, &n_set, &m_set)) {
            snprintf(p->err, p->err_len, "alarm %s: bad or unknown member %.*s", name,
                     (int)CL_MIN(k.len, (size_t)64), k.ptr);
            return -1;
        }
    }
    if (n_set && !m_set)
        r->datapoints = r->eval_periods; /* CloudWatch: M defaults to N */
    return cl_alarm_rule_check(r, p->err, p->err_len);
}

/* An http(s) URL with a host, as libcurl (which posts to it) parses it. */
static int webhook_url_ok(const char *url)
{
    struct cl_url_parts u;
    char err[256];
    return cl_url_parse(url, &u, err, sizeof err) == CL_OK &&
           (strcmp(u.scheme, "http") == 0 || strcmp(u.scheme, "https") == 0);
}

static int parse_webhook(void *arg, const char *elem, size_t len)
{
    struct parse_ctx *p = arg;
    struct cl_json_reader rd;
    struct cl_json_value v;
    char url[2048];
    cl_json_reader_init(&rd, elem, len, 0);
    if (cl_json_scan_value(&rd, &v) != 0 || get_string(&v, url, sizeof url) != 0 ||
        !webhook_url_ok(url)) {
        snprintf(p->err, p->err_len, "Webhooks: each entry must be an http(s):// URL string");
        return -1;
    }
    cl_alarm_config_add_webhook(p->c, url);
    return 0;
}

static int parse_top_member(struct parse_ctx *p, const struct cl_json_value *k,
                            const struct cl_json_value *v)
{
    struct cl_json_error je;
    char key[64];
    if (get_string(k, key, sizeof key) != 0)
        key[0] = '\0';
    if (!strcmp(key, "IncludeDefaults") && (v->type == CL_JSON_TRUE || v->type == CL_JSON_FALSE)) {
        if (v->type == CL_JSON_FALSE)
            p->c->n = 0; /* before Alarms: members are applied in order */
        return 0;
    }
    if (!strcmp(key, "Alarms") && v->type == CL_JSON_ARRAY)
        return cl_json_split_array(v->ptr, v->len, parse_alarm, p, &je) ? -1 : 0;
    if (!strcmp(key, "Webhooks") && v->type == CL_JSON_ARRAY)
        return cl_json_split_array(v->ptr, v->len, parse_webhook, p, &je) ? -1 : 0;
    snprintf(p->err, p->err_len,
             "bad or unknown member %.*s (expected IncludeDefaults, "
             "Alarms, Webhooks)",
             (int)CL_MIN(k->len, (size_t)64), k->ptr);
    return -1;
}

int cl_alarm_config_parse(struct cl_alarm_config *c, const char *text, size_t len, char *err,
                          size_t err_len)
{
    struct parse_ctx p = {c, err, err_len};
    struct cl_json_reader rd;
    struct cl_json_value k, v;
    cl_json_reader_init(&rd, text, len, 0);
    err[0] = '\0';
    if (cl_json_object_open(&rd) != 0) {
        snprintf(err, err_len, "the config must be a JSON object");
        return -1;
    }
    int rc;
    while ((rc = cl_json_object_next(&rd, &k, &v)) == 1)
        if (parse_top_member(&p, &k, &v) != 0)
            return -1;
    if (rc < 0 || !cl_json_at_end(&rd)) {
        snprintf(err, err_len, "invalid JSON at byte %zu: %s", rd.err.offset,
                 rd.err.msg ? rd.err.msg : "trailing data");
        return -1;
    }
    return 0;
}

int cl_alarm_config_load(struct cl_alarm_config *c, const char *path, char *err, size_t err_len)
{
    char *buf = NULL, inner[400];
    size_t n = 0;
    int rc = cl_read_file(path, ALARM_CONFIG_MAX, &buf, &n);
    if (rc == CL_ERR_TOO_LARGE)
        snprintf(err, err_len, "alarms config %s: larger than 1 MiB", path);
    else if (rc != CL_OK)
        snprintf(err, err_len, "cannot read alarms config %s: %s", path, strerror(errno));
    else if ((rc = cl_alarm_config_parse(c, buf, n, inner, sizeof inner)) != 0)
        snprintf(err, err_len, "alarms config %s: %s", path, inner);
    free(buf);
    return rc == CL_OK ? 0 : -1;
}
