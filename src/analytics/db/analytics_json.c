/* analytics_json.c - JSON of patterns and anomalies (GET /v1/patterns, /v1/anomalies and
 * the CLI's --json), and the trend word of a pattern. */
#include "analytics_db.h"

#include "json_write.h"
#include "miner.h"
#include "record.h"

#include <stdio.h>
#include <string.h>

void cl_pattern_trend(const struct cl_pattern_row *r, const struct cl_pattern_query *q, char *out,
                      size_t n)
{
    uint64_t earlier = r->count - r->recent;
    if (r->first_ms >= q->from_ms + (q->to_ms - q->from_ms) / 2 || earlier == 0)
        snprintf(out, n, "new");
    else if (r->recent > 2 * earlier || r->recent * 2 < earlier)
        snprintf(out, n, "%s x%.1f", r->recent > earlier ? "rising" : "falling",
                 (double)r->recent / (double)earlier);
    else
        snprintf(out, n, "steady");
}

static void str_field(struct cl_buf *b, const char *key, const char *v)
{
    cl_buf_printf(b, ",\"%s\":", key);
    if (v)
        cl_json_write_string(b, v, strlen(v));
    else
        cl_buf_printf(b, "null");
}

static void time_field(struct cl_buf *b, const char *key, int64_t ms)
{
    char ts[25];
    cl_format_timestamp(ms, ts);
    cl_buf_printf(b, ",\"%s\":\"%s\"", key, ts);
}

void cl_patterns_render_json(const struct cl_pattern_row *rows, size_t n,
                             const struct cl_pattern_query *q, struct cl_buf *out)
{
    cl_buf_printf(out, "{\"patterns\":[");
    for (size_t i = 0; i < n; i++) {
        const struct cl_pattern_row *r = &rows[i];
        char id[17], trend[32];
        cl_pattern_id_format(r->id, id);
        cl_pattern_trend(r, q, trend, sizeof trend);
        cl_buf_printf(out, "%s{\"id\":\"%s\"", i ? "," : "", id);
        str_field(out, "service", r->service);
        str_field(out, "template", r->tmpl);
        cl_buf_printf(out, ",\"count\":%llu,\"errors\":%llu,\"trend\":\"%s\"",
                      (unsigned long long)r->count, (unsigned long long)r->errors, trend);
        time_field(out, "first_seen", r->first_ms);
        time_field(out, "last_seen", r->last_ms);
        str_field(out, "example", r->example);
        cl_buf_printf(out, "}");
    }
    cl_buf_printf(out, "]}\n");
}

void cl_anomalies_render_json(const struct cl_anomaly_event *rows, size_t n, struct cl_buf *out)
{
    cl_buf_printf(out, "{\"anomalies\":[");
    for (size_t i = 0; i < n; i++) {
        const struct cl_anomaly_event *e = &rows[i];
        cl_buf_printf(out, "%s{\"series\":\"%s\"", i ? "," : "", cl_anomaly_kind_name(e->kind));
        time_field(out, "time", e->ts_ms);
        str_field(out, "service", e->service);
        cl_buf_printf(out,
                      ",\"observed\":%.6g,\"expected\":%.6g,\"band\":[%.6g,%.6g],\"score\":%.4f,"
                      "\"patterns\":[",
                      e->observed, e->expected, e->lo, e->hi, e->score);
        for (int k = 0, first = 1; k < CL_ANOMALY_PATTERNS; k++)
            if (e->patterns[k]) {
                char id[17];
                cl_pattern_id_format(e->patterns[k], id);
                cl_buf_printf(out, "%s\"%s\"", first ? "" : ",", id);
                first = 0;
            }
        cl_buf_printf(out, "]");
        str_field(out, "text", e->text);
        cl_buf_printf(out, "}");
    }
    cl_buf_printf(out, "]}\n");
}
