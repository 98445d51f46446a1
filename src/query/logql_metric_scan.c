/* logql_metric_scan.c - cl_lq_metric_eval: a range aggregation is one engine scan whose
 * matches, through the LogQL pipeline, become samples; vector aggregations then fold the
 * series (logql_metric.h). */
#include "logql_eval.h"
#include "logql_metric.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The state of one range aggregation's scan (emit is called from one thread). */
struct range_run {
    const struct cl_lq_expr *e;
    struct cl_lq_eval *ev;
    struct cl_lq_range_acc *acc;
    size_t max_series;
    int over_limit, failed;
    struct cl_lq_label_list labels;
    char err[300];
};

/* Sets name=value in the list (a later value wins). */
static void set_label(struct cl_lq_label_list *l, const char *name, const char *value)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0) {
            l->values[i] = value;
            return;
        }
    l->names[l->n] = name;
    l->values[l->n++] = value;
}

void cl_lq_label_list_fill(struct cl_lq_label_list *l, const struct cl_lq_eval *ev,
                           const struct cl_line_head *h, const char *skip)
{
    const char *const *names, *const *values;
    size_t n_all, n_stream;
    cl_lq_eval_labels(ev, &names, &values, &n_all, &n_stream);
    if (l->cap < n_all - n_stream + 2) {
        l->cap = n_all - n_stream + 2;
        l->names = cl_realloc(l->names, l->cap * sizeof *l->names);
        l->values = cl_realloc(l->values, l->cap * sizeof *l->values);
        l->renamed = cl_realloc(l->renamed, l->cap * sizeof *l->renamed);
    }
    l->n = 0;
    set_label(l, "service", h->service);
    set_label(l, "level", cl_level_name(h->level));
    for (size_t i = n_stream; i < n_all; i++) {
        const char *name = names[i];
        if (skip && strcmp(name, skip) == 0)
            continue;
        if (strcmp(name, "service") == 0 || strcmp(name, "level") == 0) {
            snprintf(l->renamed[i - n_stream], sizeof l->renamed[0], "%s_extracted", name);
            name = l->renamed[i - n_stream];
        }
        set_label(l, name, values[i]);
    }
}

void cl_lq_label_list_free(struct cl_lq_label_list *l)
{
    free(l->names);
    free(l->values);
    free(l->renamed);
    memset(l, 0, sizeof *l);
}

/* The unwrapped label's value as a number; 0 when it is missing or not a number. */
static int unwrapped(const struct range_run *r, double *out)
{
    const char *const *names, *const *values;
    size_t n_all, n_stream;
    cl_lq_eval_labels(r->ev, &names, &values, &n_all, &n_stream);
    for (size_t i = n_all; i-- > 0;)
        if (strcmp(names[i], r->e->unwrap) == 0) {
            char *end;
            *out = strtod(values[i], &end);
            return end != values[i] && *end == '\0';
        }
    return 0;
}

static int on_sample(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct range_run *r = arg;
    const char *out;
    size_t out_len;
    int keep = cl_lq_pass(r->ev, line, len, h, &out, &out_len, &r->failed, r->err, sizeof r->err);
    if (keep <= 0)
        return keep < 0;
    double value = 1;
    if (r->e->unwrap && !unwrapped(r, &value))
        return 0; /* docs/loki.md: records without a number are left out */
    if (r->e->range_fn == CL_LQ_BYTES_OVER_TIME || r->e->range_fn == CL_LQ_BYTES_RATE)
        value = (double)out_len;
    cl_lq_label_list_fill(&r->labels, r->ev, h, r->e->unwrap);
    if (cl_lq_range_acc_add(r->acc, r->labels.names, r->labels.values, r->labels.n, h->ts_ms,
                            value) == 0)
        return 0;
    r->over_limit = 1;
    snprintf(r->err, sizeof r->err, "maximum of series (%zu) reached for a single query",
             r->max_series);
    return 1;
}

static void add_stats(struct cl_query_stats *sum, const struct cl_query_stats *st)
{
    sum->objects_considered += st->objects_considered;
    sum->objects_pruned += st->objects_pruned;
    sum->objects_opened += st->objects_opened;
    sum->objects_failed += st->objects_failed;
    sum->bytes_compressed += st->bytes_compressed;
    sum->bytes_scanned += st->bytes_scanned;
    sum->records_scanned += st->records_scanned;
    sum->records_matched += st->records_matched;
    sum->elapsed_ms += st->elapsed_ms;
    if (st->stopped != CL_QUERY_COMPLETE)
        sum->stopped = st->stopped;
}

void cl_lq_warn_ignore(void *arg, const char *key, const char *reason)
{
    (void)arg, (void)key, (void)reason; /* the scan goes on; objects_failed counts it */
}

int cl_lq_pass(struct cl_lq_eval *ev, const char *line, size_t len, const struct cl_line_head *h,
               const char **out, size_t *out_len, int *failed, char *err, size_t err_len)
{
    int keep = cl_lq_eval_record(ev, line, len, h, out, out_len, err, err_len);
    if (keep < 0)
        *failed = 1;
    return keep;
}

/* The engine query of a range aggregation: base's limits, the window widened by the
 * range on the left (the first point looks back that far), the end point included. */
static struct cl_query range_query(const struct cl_query *base, const struct cl_lq_expr *e,
                                   const struct cl_lq_window *w)
{
    struct cl_query q = *base;
    q.from_ms = w->start_ms - e->range_ms + 1;
    q.to_ms = w->end_ms + 1;
    q.services = NULL, q.n_services = 0, q.level_mask = 0;
    q.grep = NULL, q.grep_icase = 0, q.regex = NULL, q.where = NULL, q.n_where = 0;
    /* a range aggregation adds each record into its windows: it needs no order */
    q.limit = 0, q.count_only = 0, q.order = CL_ORDER_OLDEST, q.unordered = 1;
    return q;
}

static int scan_range(const struct cl_lq_expr *e, const struct cl_query_source *src,
                      const struct cl_query *base, const struct cl_lq_window *w,
                      struct cl_lq_matrix *out, struct cl_query_stats *stats, char *err,
                      size_t err_len)
{
    struct cl_query q = range_query(base, e, w);
    struct range_run r = {.e = e,
                          .max_series = w->max_series ? w->max_series : CL_LQ_DEFAULT_MAX_SERIES};
    if (cl_lq_eval_new(&e->log, &q, &r.ev, err, err_len) != 0)
        return CL_ERR_INVAL;
    if (e->unwrap)
        cl_lq_eval_want_fields(r.ev);
    r.acc = cl_lq_range_acc_new(e, w);
    if (!r.acc) {
        cl_lq_eval_free(r.ev);
        snprintf(err, err_len,
                 "exceeded maximum resolution of %d points per timeseries. Try decreasing the "
                 "query resolution (?step=XX)",
                 CL_LQ_MAX_POINTS);
        return CL_ERR_INVAL;
    }
    struct cl_query_stats st = {0};
    int rc = cl_query_run(src, &q, on_sample, cl_lq_warn_ignore, &r, &st, err, err_len);
    add_stats(stats, &st);
    if (rc == CL_OK && (r.failed || r.over_limit)) {
        snprintf(err, err_len, "%s", r.err);
        rc = CL_ERR_INVAL;
    }
    if (rc == CL_OK)
        cl_lq_range_acc_finish(r.acc, out);
    else
        cl_lq_range_acc_free(r.acc);
    if (rc == CL_OK)
        cl_lq_matrix_finish(out);
    cl_lq_eval_free(r.ev);
    cl_lq_label_list_free(&r.labels);
    return rc;
}

static int eval(const struct cl_lq_expr *e, const struct cl_query_source *src,
                const struct cl_query *base, const struct cl_lq_window *w, struct cl_lq_matrix *out,
                struct cl_query_stats *stats, char *err, size_t err_len)
{
    if (e->kind == CL_LQ_RANGE_AGG)
        return scan_range(e, src, base, w, out, stats, err, err_len);
    if (e->kind != CL_LQ_VECTOR_AGG) {
        snprintf(err, err_len, "not a metric query");
        return CL_ERR_INVAL;
    }
    struct cl_lq_matrix inner = {0};
    int rc = eval(e->inner, src, base, w, &inner, stats, err, err_len);
    if (rc == CL_OK)
        cl_lq_vector_agg(e, &inner, out);
    cl_lq_matrix_free(&inner);
    return rc;
}

int cl_lq_metric_eval(const struct cl_lq_expr *e, const struct cl_query_source *src,
                      const struct cl_query *base, const struct cl_lq_window *w,
                      struct cl_lq_matrix *out, struct cl_query_stats *stats, char *err,
                      size_t err_len)
{
    struct cl_query_stats unused;
    memset(out, 0, sizeof *out);
    if (!stats)
        stats = &unused;
    memset(stats, 0, sizeof *stats);
    return eval(e, src, base, w, out, stats, err, err_len);
}
