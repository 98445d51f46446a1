/* processor_analytics.c - patterns and anomalies in log_processor (docs/analytics.md, "On
 * AWS"): the batch's stored records feed one cl_analytics per warm container; after each
 * invocation what it drained becomes a small summary object next to the data
 * (_analytics/patterns/dt=D/hour=H/<id>.ndjson under the store's prefix, outside the
 * service= partitions so queries never read it) and EMF lines: PatternCount of the
 * invocation's top patterns and ErrorLogCount, which the template's
 * ANOMALY_DETECTION_BAND alarms watch. CLOUDLOG_ANALYTICS=off turns it off. */
#include "processor.h"

#include "analytics.h"
#include "common.h"
#include "json_write.h"
#include "log.h"
#include "miner.h"
#include "partition.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP_PATTERNS 5 /* PatternCount documents per invocation */

int cl_lp_analytics_init(struct cl_lprocessor *p, char *err, size_t err_len)
{
    const char *v = getenv("CLOUDLOG_ANALYTICS");
    if (v && *v && strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
        snprintf(err, err_len, "CLOUDLOG_ANALYTICS: expected on or off, got '%.40s'", v);
        return -1;
    }
    if (v && strcmp(v, "off") == 0)
        return 0;
    p->analytics = cl_analytics_new(NULL);
    p->opts.analytics = p->analytics;
    return 0;
}

static void str(struct cl_buf *b, const char *key, const char *v)
{
    cl_buf_printf(b, ",\"%s\":", key);
    cl_json_write_string(b, v ? v : "", v ? strlen(v) : 0);
}

static void summary_lines(const struct cl_analytics_batch *a, struct cl_buf *b)
{
    char id[17], id2[17], ts[25];
    for (size_t i = 0; i < a->n_counts; i++) {
        const struct cl_pattern_count *c = &a->counts[i];
        cl_pattern_id_format(c->id, id);
        cl_format_timestamp(c->minute * 60000, ts);
        cl_buf_printf(b, "{\"type\":\"count\",\"minute\":\"%s\"", ts);
        str(b, "service", c->service);
        cl_buf_printf(b, ",\"pattern\":\"%s\",\"level\":\"%s\",\"count\":%llu}\n", id,
                      cl_level_name((enum cl_level)c->level), (unsigned long long)c->count);
    }
    for (size_t i = 0; i < a->n_patterns; i++) {
        const struct cl_pattern_info *pi = &a->patterns[i];
        cl_pattern_id_format(pi->id, id);
        cl_pattern_id_format(pi->prev_id, id2);
        cl_buf_printf(b, "{\"type\":\"%s\"", pi->tmpl ? "pattern" : "rename");
        str(b, "service", pi->service);
        if (!pi->tmpl) {
            cl_buf_printf(b, ",\"from\":\"%s\",\"pattern\":\"%s\"}\n", id2, id);
            continue;
        }
        cl_format_timestamp(pi->first_ms, ts);
        cl_buf_printf(b, ",\"pattern\":\"%s\",\"first_seen\":\"%s\"", id, ts);
        str(b, "template", pi->tmpl);
        str(b, "example", pi->example);
        cl_buf_append_str(b, "}\n");
    }
    for (size_t i = 0; i < a->n_anomalies; i++) {
        const struct cl_anomaly_event *e = &a->anomalies[i];
        cl_format_timestamp(e->ts_ms, ts);
        cl_buf_printf(b, "{\"type\":\"anomaly\",\"time\":\"%s\",\"series\":\"%s\"", ts,
                      cl_anomaly_kind_name(e->kind));
        str(b, "service", e->service);
        cl_buf_printf(b, ",\"observed\":%.6g,\"expected\":%.6g,\"score\":%.4f", e->observed,
                      e->expected, e->score);
        str(b, "text", e->text);
        cl_buf_append_str(b, "}\n");
    }
}

/* The summary object of one drain. Returns CL_OK or the store's error. */
static int put_summary(struct cl_store *st, const struct cl_analytics_batch *a, int64_t now)
{
    if (!a->n_counts && !a->n_patterns && !a->n_anomalies)
        return CL_OK;
    char oid[CL_OBJECT_ID_LEN + 1], key[160], ts[25];
    cl_object_id_new(now, oid);
    cl_format_timestamp(now, ts);
    snprintf(key, sizeof key, "_analytics/patterns/dt=%.10s/hour=%.2s/%s.ndjson", ts, ts + 11, oid);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    summary_lines(a, &b);
    int rc = cl_store_put(st, key, b.data, b.len);
    cl_buf_free(&b);
    return rc;
}

/* "k=v,k=v" of CLOUDLOG_EMF_DIMENSIONS as JSON members (",\"k\":\"v\"") and a dimension
 * list ("\"k\",\"k\""). */
static void dims(struct cl_buf *members, struct cl_buf *names)
{
    const char *v = getenv("CLOUDLOG_EMF_DIMENSIONS");
    for (const char *p = v; p && *p;) {
        size_t len = strcspn(p, ","), eq = strcspn(p, "=");
        if (eq < len) {
            cl_buf_printf(names, "%s\"%.*s\"", names->len ? "," : "", (int)eq, p);
            cl_buf_printf(members, ",\"%.*s\":", (int)eq, p);
            cl_json_write_string(members, p + eq + 1, len - eq - 1);
        }
        p += len + (p[len] == ',');
    }
}

struct top {
    const struct cl_pattern_count *c;
    uint64_t n;
};

void cl_lp_analytics_emit(const struct cl_analytics_batch *a, int64_t now)
{
    const char *ns = getenv("CLOUDLOG_EMF_NAMESPACE");
    struct cl_buf m, names;
    cl_buf_init(&m, SIZE_MAX);
    cl_buf_init(&names, SIZE_MAX);
    dims(&m, &names);
    uint64_t errors = 0;
    struct top top[TOP_PATTERNS] = {{0}};
    for (size_t i = 0; i < a->n_counts; i++) {
        const struct cl_pattern_count *c = &a->counts[i];
        errors += c->level >= CL_LEVEL_ERROR ? c->count : 0;
        size_t k = TOP_PATTERNS; /* rows of one pattern (minutes, levels) are not summed:
                                  * the largest row stands for it, which is enough to rank */
        while (k > 0 && (!top[k - 1].c || top[k - 1].n < c->count))
            k--;
        if (k < TOP_PATTERNS) {
            memmove(&top[k + 1], &top[k], (TOP_PATTERNS - k - 1) * sizeof *top);
            top[k] = (struct top){c, c->count};
        }
    }
    const char *dim = names.len ? names.data : "";
    printf("{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{\"Namespace\":\"%s\","
           "\"Dimensions\":[[%s]],\"Metrics\":[{\"Name\":\"ErrorLogCount\",\"Unit\":\"Count\"},"
           "{\"Name\":\"AnomaliesDetected\",\"Unit\":\"Count\"}]}]}%s,\"ErrorLogCount\":%llu,"
           "\"AnomaliesDetected\":%zu}\n",
           (long long)now, ns && *ns ? ns : "cloudlog", dim, m.len ? m.data : "",
           (unsigned long long)errors, a->n_anomalies);
    for (size_t k = 0; k < TOP_PATTERNS && top[k].c; k++) {
        char id[17];
        cl_pattern_id_format(top[k].c->id, id);
        printf("{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{\"Namespace\":\"%s\","
               "\"Dimensions\":[[%s%s\"Service\",\"Pattern\"]],\"Metrics\":[{\"Name\":"
               "\"PatternCount\",\"Unit\":\"Count\"}]}]}%s,\"Service\":\"%s\",\"Pattern\":\"%s\","
               "\"PatternCount\":%llu}\n",
               (long long)now, ns && *ns ? ns : "cloudlog", dim, names.len ? "," : "",
               m.len ? m.data : "", top[k].c->service, id, (unsigned long long)top[k].n);
    }
    fflush(stdout);
    cl_buf_free(&m);
    cl_buf_free(&names);
}

void cl_lp_analytics_after(struct cl_lprocessor *p)
{
    if (!p->analytics)
        return;
    int64_t now = cl_now_ms();
    struct cl_analytics_batch a;
    cl_analytics_tick(p->analytics, now);
    cl_analytics_drain(p->analytics, &a);
    for (size_t i = 0; i < a.n_anomalies; i++)
        cl_log(CL_LOG_WARN, "anomaly: %s", a.anomalies[i].text);
    int rc = put_summary(&p->store, &a, now);
    if (rc != CL_OK) /* derived data: logged, never a failed batch */
        cl_log(CL_LOG_WARN, "processor: cannot store the patterns summary: %s", cl_strerror(rc));
    cl_lp_analytics_emit(&a, now);
    cl_analytics_batch_free(&a);
}
