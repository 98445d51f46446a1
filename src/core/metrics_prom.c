/* metrics_prom.c - the registry in Prometheus text exposition format 0.0.4. */
#include "metrics.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define PROM_PREFIX "cloudlog_"
#define NAME_MAX_LEN 128

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* "DLQDepth" -> "dlq_depth", "QueueInFlight" -> "queue_in_flight". */
static size_t snake_case(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 2 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (i > 0 && isupper(c)) {
            unsigned char prev = (unsigned char)in[i - 1], next = (unsigned char)in[i + 1];
            if (islower(prev) || isdigit(prev) || (isupper(prev) && islower(next)))
                out[o++] = '_';
        }
        out[o++] = (char)tolower(c);
    }
    out[o] = '\0';
    return o;
}

void cl_metric_prom_name(const struct cl_metric *m, char *out, size_t n)
{
    char base[NAME_MAX_LEN];
    size_t len = snake_case(m->name, base, sizeof base);
    const char *unit = "";
    if (m->unit == CL_UNIT_BYTES && !ends_with(base, len, "_bytes"))
        unit = "_bytes";
    if ((m->unit == CL_UNIT_SECONDS || m->unit == CL_UNIT_MICROSECONDS) &&
        !ends_with(base, len, "_seconds"))
        unit = "_seconds";
    snprintf(out, n, PROM_PREFIX "%s%s%s", base, unit,
             m->type == CL_METRIC_COUNTER ? "_total" : "");
}

/* HELP text escapes backslash and newline. */
static void append_help(struct cl_buf *b, const char *name, const char *help)
{
    cl_buf_printf(b, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            cl_buf_append_str(b, "\\\\");
        else if (*p == '\n')
            cl_buf_append_str(b, "\\n");
        else
            cl_buf_append_char(b, *p);
    }
    cl_buf_append_char(b, '\n');
}

/* Shortest exact-enough text for a double ("0.0005", "1000", "2.5"). */
static void append_double(struct cl_buf *b, double v)
{
    cl_buf_printf(b, "%.15g", v);
}

static double seconds_of(const struct cl_metric *m, double v)
{
    return m->unit == CL_UNIT_MICROSECONDS ? v / 1e6 : v;
}

static void render_counter(struct cl_buf *b, const struct cl_metric *m, const char *name)
{
    if (!m->label) {
        cl_buf_printf(b, "%s %llu\n", name, (unsigned long long)cl_counter_get(m, 0));
        return;
    }
    for (size_t i = 0; i < m->n_series; i++)
        cl_buf_printf(b, "%s{%s=\"%s\"} %llu\n", name, m->label, m->label_values[i],
                      (unsigned long long)cl_counter_get(m, i));
}

static void render_histogram(struct cl_buf *b, const struct cl_metric *m, const char *name)
{
    struct cl_hist_snapshot s;
    cl_histogram_snapshot(m, &s);
    uint64_t cum = 0;
    for (size_t i = 0; i < CL_HIST_BOUNDS; i++) {
        cum += s.buckets[i];
        cl_buf_printf(b, "%s_bucket{le=\"", name);
        append_double(b, seconds_of(m, (double)cl_hist_bounds[i]));
        cl_buf_printf(b, "\"} %llu\n", (unsigned long long)cum);
    }
    cl_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)s.count);
    cl_buf_printf(b, "%s_sum ", name);
    append_double(b, seconds_of(m, (double)s.sum));
    cl_buf_printf(b, "\n%s_count %llu\n", name, (unsigned long long)s.count);
}

void cl_metrics_render_prom(struct cl_metrics *r, struct cl_buf *out)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    cl_metrics_collect(r);
    for (size_t i = 0; i < cl_metrics_len(r); i++) {
        const struct cl_metric *m = cl_metrics_at(r, i);
        char name[NAME_MAX_LEN + 32];
        cl_metric_prom_name(m, name, sizeof name);
        append_help(out, name, m->help);
        cl_buf_printf(out, "# TYPE %s %s\n", name, types[m->type]);
        if (m->type == CL_METRIC_COUNTER) {
            render_counter(out, m, name);
        } else if (m->type == CL_METRIC_GAUGE) {
            cl_buf_printf(out, "%s ", name);
            append_double(out, cl_gauge_get(m));
            cl_buf_append_char(out, '\n');
        } else {
            render_histogram(out, m, name);
        }
    }
}
