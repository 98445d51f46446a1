/* emf.c - CloudWatch Embedded Metric Format documents from a metrics registry. */
#include "emf.h"

#include "common.h"
#include "json_write.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define EMF_NS_MAX 1024
#define EMF_KEY_MAX 250
#define EMF_VALUE_MAX 1024

struct cl_emf_writer {
    struct cl_metrics *r;
    char *ns;
    char *keys[CL_EMF_MAX_DIMS], *values[CL_EMF_MAX_DIMS];
    size_t n_dims;
    size_t n_metrics;
    uint64_t (*prev)[CL_METRIC_MAX_LABELS]; /* counters: value at the previous write */
    struct cl_hist_snapshot *prev_hist;     /* histograms: snapshot at the previous write */
};

/* What one write reports for a metric. */
struct delta {
    uint64_t v[CL_METRIC_MAX_LABELS];
    uint64_t total;
    struct cl_hist_snapshot hist;
};

const char *cl_emf_unit(const struct cl_metric *m)
{
    static const char *const units[] = {"Count", "Bytes", "Seconds", "Milliseconds"};
    return units[m->unit];
}

void cl_emf_label_dimension(const char *label, char *out, size_t n)
{
    size_t o = 0;
    int up = 1;
    for (const char *p = label; *p && o + 1 < n; p++) {
        if (*p == '_') {
            up = 1;
            continue;
        }
        out[o++] = up ? (char)toupper((unsigned char)*p) : *p;
        up = 0;
    }
    out[o] = '\0';
}

/* Returns 1 if key is already a root member: "_aws", a metric or a label dimension. */
static int key_reserved(const struct cl_metrics *r, const char *key)
{
    if (strcmp(key, "_aws") == 0)
        return 1;
    for (size_t i = 0; i < cl_metrics_len(r); i++) {
        const struct cl_metric *m = cl_metrics_at(r, i);
        char dim[64];
        if (m->label)
            cl_emf_label_dimension(m->label, dim, sizeof dim);
        if (strcmp(m->name, key) == 0 || (m->label && strcmp(dim, key) == 0))
            return 1;
    }
    return 0;
}

/* Parses one "k=v" of length len into the writer; returns 0 or -1 with err set. */
static int add_dimension(struct cl_emf_writer *w, const char *p, size_t len, char *err,
                         size_t err_len)
{
    const char *eq = memchr(p, '=', len);
    size_t klen = eq ? (size_t)(eq - p) : 0, vlen = eq ? len - klen - 1 : 0;
    if (!eq || klen == 0 || klen > EMF_KEY_MAX || vlen == 0 || vlen > EMF_VALUE_MAX) {
        snprintf(err, err_len,
                 "invalid EMF dimension '%.*s' (expected key=value, key 1-%d and value 1-%d "
                 "characters)",
                 (int)CL_MIN(len, (size_t)80), p, EMF_KEY_MAX, EMF_VALUE_MAX);
        return -1;
    }
    if (w->n_dims == CL_EMF_MAX_DIMS) {
        snprintf(err, err_len, "too many EMF dimensions (at most %d)", CL_EMF_MAX_DIMS);
        return -1;
    }
    char *key = cl_strndup(p, klen);
    for (size_t i = 0; i < w->n_dims; i++)
        if (strcmp(w->keys[i], key) == 0)
            klen = 0;
    if (klen == 0 || key_reserved(w->r, key)) {
        snprintf(err, err_len, "EMF dimension key '%s' is repeated or reserved", key);
        free(key);
        return -1;
    }
    w->keys[w->n_dims] = key;
    w->values[w->n_dims++] = cl_strndup(eq + 1, vlen);
    return 0;
}

static int parse_dimensions(struct cl_emf_writer *w, const char *dims, char *err, size_t err_len)
{
    for (const char *p = dims; p && *p;) {
        size_t len = strcspn(p, ",");
        if (add_dimension(w, p, len, err, err_len) != 0)
            return -1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* Takes the registry's current values as the start of the first interval. */
static void baseline(struct cl_emf_writer *w)
{
    for (size_t i = 0; i < w->n_metrics; i++) {
        const struct cl_metric *m = cl_metrics_at(w->r, i);
        for (size_t s = 0; m->type == CL_METRIC_COUNTER && s < m->n_series; s++)
            w->prev[i][s] = cl_counter_get(m, s);
        if (m->type == CL_METRIC_HISTOGRAM)
            cl_histogram_snapshot(m, &w->prev_hist[i]);
    }
}

struct cl_emf_writer *cl_emf_writer_new(struct cl_metrics *r, const char *ns,
                                        const char *dimensions, char *err, size_t err_len)
{
    if (!ns || !*ns || strlen(ns) > EMF_NS_MAX) {
        snprintf(err, err_len, "EMF namespace must be 1-%d characters", EMF_NS_MAX);
        return NULL;
    }
    struct cl_emf_writer *w = cl_calloc(1, sizeof *w);
    w->r = r;
    w->ns = cl_strdup(ns);
    if (parse_dimensions(w, dimensions, err, err_len) != 0) {
        cl_emf_writer_free(w);
        return NULL;
    }
    w->n_metrics = cl_metrics_len(r);
    w->prev = cl_calloc(CL_MAX(w->n_metrics, (size_t)1), sizeof *w->prev);
    w->prev_hist = cl_calloc(CL_MAX(w->n_metrics, (size_t)1), sizeof *w->prev_hist);
    baseline(w);
    return w;
}

void cl_emf_writer_free(struct cl_emf_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_dims; i++) {
        free(w->keys[i]);
        free(w->values[i]);
    }
    free(w->ns);
    free(w->prev);
    free(w->prev_hist);
    free(w);
}

/* Computes metric i's interval delta and moves the baseline forward. */
static void take_delta(struct cl_emf_writer *w, size_t i, struct delta *d)
{
    const struct cl_metric *m = cl_metrics_at(w->r, i);
    memset(d, 0, sizeof *d);
    if (m->type == CL_METRIC_COUNTER) {
        for (size_t s = 0; s < m->n_series; s++) {
            uint64_t now = cl_counter_get(m, s);
            d->v[s] = now - w->prev[i][s];
            d->total += d->v[s];
            w->prev[i][s] = now;
        }
    } else if (m->type == CL_METRIC_HISTOGRAM) {
        struct cl_hist_snapshot now;
        cl_histogram_snapshot(m, &now);
        for (size_t b = 0; b <= CL_HIST_BOUNDS; b++) {
            uint64_t prev_b = w->prev_hist[i].buckets[b];
            d->hist.buckets[b] = now.buckets[b] >= prev_b ? now.buckets[b] - prev_b : 0;
            d->hist.count += d->hist.buckets[b];
        }
        d->hist.sum = now.sum - w->prev_hist[i].sum;
        w->prev_hist[i] = now;
    }
}

/* Writes {"_aws":{...,"Dimensions":[[keys(,label_dim)]],"Metrics":[ -- up to the defs. */
static void begin_doc(const struct cl_emf_writer *w, struct cl_buf *b, int64_t now_ms,
                      const char *label_dim)
{
    cl_buf_printf(b, "{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{\"Namespace\":",
                  (long long)now_ms);
    cl_json_write_string(b, w->ns, strlen(w->ns));
    cl_buf_append_str(b, ",\"Dimensions\":[[");
    for (size_t i = 0; i < w->n_dims; i++) {
        if (i)
            cl_buf_append_char(b, ',');
        cl_json_write_string(b, w->keys[i], strlen(w->keys[i]));
    }
    if (label_dim) {
        if (w->n_dims)
            cl_buf_append_char(b, ',');
        cl_json_write_string(b, label_dim, strlen(label_dim));
    }
    cl_buf_append_str(b, "]],\"Metrics\":[");
}

static void metric_def(struct cl_buf *b, const struct cl_metric *m, int first)
{
    cl_buf_printf(b, "%s{\"Name\":", first ? "" : ",");
    cl_json_write_string(b, m->name, strlen(m->name));
    cl_buf_printf(b, ",\"Unit\":\"%s\"}", cl_emf_unit(m));
}

/* Closes the directive and writes the dimension members (and the label's, if any). */
static void dimension_members(const struct cl_emf_writer *w, struct cl_buf *b,
                              const char *label_dim, const char *label_value)
{
    cl_buf_append_str(b, "]}]}");
    for (size_t i = 0; i < w->n_dims; i++) {
        cl_buf_append_char(b, ',');
        cl_json_write_string(b, w->keys[i], strlen(w->keys[i]));
        cl_buf_append_char(b, ':');
        cl_json_write_string(b, w->values[i], strlen(w->values[i]));
    }
    if (label_dim) {
        cl_buf_append_char(b, ',');
        cl_json_write_string(b, label_dim, strlen(label_dim));
        cl_buf_append_char(b, ':');
        cl_json_write_string(b, label_value, strlen(label_value));
    }
}

/* A histogram's interval as at most CL_EMF_MAX_VALUES values in milliseconds. */
static void histogram_values(struct cl_buf *b, const struct cl_hist_snapshot *h)
{
    size_t k = (size_t)CL_MIN(h->count, (uint64_t)CL_EMF_MAX_VALUES);
    cl_buf_append_char(b, '[');
    for (size_t j = 0; j < k; j++) {
        double v = cl_hist_quantile(h, ((double)j + 0.5) / (double)k);
        cl_buf_printf(b, "%s%.10g", j ? "," : "", v / 1000.0);
    }
    cl_buf_append_char(b, ']');
}

static int in_main_doc(const struct cl_metric *m, const struct delta *d)
{
    return m->type != CL_METRIC_HISTOGRAM || d->hist.count > 0;
}

static void main_value(struct cl_buf *b, const struct cl_metric *m, const struct delta *d)
{
    cl_buf_append_char(b, ',');
    cl_json_write_string(b, m->name, strlen(m->name));
    cl_buf_append_char(b, ':');
    if (m->type == CL_METRIC_COUNTER)
        cl_buf_printf(b, "%llu", (unsigned long long)d->total);
    else if (m->type == CL_METRIC_GAUGE)
        cl_buf_printf(b, "%.15g", cl_gauge_get(m));
    else
        histogram_values(b, &d->hist);
}

static void main_doc(const struct cl_emf_writer *w, struct cl_buf *b, int64_t now_ms,
                     const struct delta *d)
{
    begin_doc(w, b, now_ms, NULL);
    int first = 1;
    for (size_t i = 0; i < w->n_metrics; i++) {
        const struct cl_metric *m = cl_metrics_at(w->r, i);
        if (in_main_doc(m, &d[i])) {
            metric_def(b, m, first);
            first = 0;
        }
    }
    dimension_members(w, b, NULL, NULL);
    for (size_t i = 0; i < w->n_metrics; i++)
        if (in_main_doc(cl_metrics_at(w->r, i), &d[i]))
            main_value(b, cl_metrics_at(w->r, i), &d[i]);
    cl_buf_append_str(b, "}\n");
}

/* One document per series of a labelled counter. */
static void label_docs(const struct cl_emf_writer *w, struct cl_buf *b, int64_t now_ms,
                       const struct cl_metric *m, const struct delta *d)
{
    char dim[64];
    cl_emf_label_dimension(m->label, dim, sizeof dim);
    for (size_t s = 0; s < m->n_series; s++) {
        begin_doc(w, b, now_ms, dim);
        metric_def(b, m, 1);
        dimension_members(w, b, dim, m->label_values[s]);
        cl_buf_append_char(b, ',');
        cl_json_write_string(b, m->name, strlen(m->name));
        cl_buf_printf(b, ":%llu}\n", (unsigned long long)d->v[s]);
    }
}

int cl_emf_write(struct cl_emf_writer *w, FILE *f, int64_t now_ms)
{
    cl_metrics_collect(w->r);
    struct delta *d = cl_malloc(CL_MAX(w->n_metrics, (size_t)1) * sizeof *d);
    for (size_t i = 0; i < w->n_metrics; i++)
        take_delta(w, i, &d[i]);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    main_doc(w, &b, now_ms, d);
    for (size_t i = 0; i < w->n_metrics; i++) {
        const struct cl_metric *m = cl_metrics_at(w->r, i);
        if (m->type == CL_METRIC_COUNTER && m->label)
            label_docs(w, &b, now_ms, m, &d[i]);
    }
    free(d);
    size_t written = b.len ? fwrite(b.data, 1, b.len, f) : 0;
    int rc = written == b.len && fflush(f) == 0 ? 0 : -1;
    cl_buf_free(&b);
    return rc;
}
