/* logql_metric.h - LogQL metric queries: range aggregations over samples, vector
 * aggregations over the resulting series, and the scan that feeds them.
 *
 * A query is evaluated at the points start, start+step, ..., end (inclusive, ms). The
 * value of a range aggregation at point t covers the samples with t - range < ts <= t,
 * as Loki's. Each matching record is one sample: 1 for count_over_time and rate, its
 * line's bytes for bytes_over_time and bytes_rate, the unwrapped label's number for the
 * *_over_time functions. docs/loki.md "Metric queries".
 */
#ifndef CL_LOGQL_METRIC_H
#define CL_LOGQL_METRIC_H

#include "logql.h"
#include "query.h"

#include <stddef.h>
#include <stdint.h>

#define CL_LQ_MAX_POINTS 11000       /* per series, as Loki's query resolution limit */
#define CL_LQ_DEFAULT_MAX_SERIES 500 /* series of one query, as Loki's max_query_series */

/* One series: labels sorted by name (owned), a value per point where has[i] is set. */
struct cl_lq_series {
    char **names, **values;
    size_t n_labels;
    double *v;
    unsigned char *has;
};

/* Series over the same points. scalar: a constant expression without vector(), one
 * unlabelled series whose points are all set. */
struct cl_lq_matrix {
    struct cl_lq_series *s; /* owned */
    size_t n, cap;
    size_t n_points;
    int64_t start_ms, step_ms;
    int scalar;
};

/* The points and limits of one evaluation. */
struct cl_lq_window {
    int64_t start_ms, end_ms, step_ms; /* end >= start, step > 0 */
    size_t max_series;                 /* 0: CL_LQ_DEFAULT_MAX_SERIES */
};

/* Number of points of w, or 0 when there are more than CL_LQ_MAX_POINTS. */
size_t cl_lq_window_points(const struct cl_lq_window *w);

void cl_lq_matrix_free(struct cl_lq_matrix *m);

/* Sorts m's series by their labels (Loki's order) and drops series without a point. */
void cl_lq_matrix_finish(struct cl_lq_matrix *m);

/* ---- Range aggregation over samples ---- */

struct cl_lq_range_acc;

/* An accumulator for e (a CL_LQ_RANGE_AGG) over w's points. Free with
 * cl_lq_range_acc_free. Returns NULL when w has too many points. */
struct cl_lq_range_acc *cl_lq_range_acc_new(const struct cl_lq_expr *e,
                                            const struct cl_lq_window *w);

/* Adds the sample (ts_ms, value) of the series with these labels (n pairs, any order,
 * copied; an empty value means no label). Returns 0, or -1 when a new series would pass
 * the window's max_series. */
int cl_lq_range_acc_add(struct cl_lq_range_acc *a, const char *const *names,
                        const char *const *values, size_t n, int64_t ts_ms, double value);

/* Moves the result into *out (free with cl_lq_matrix_free) and frees a. */
void cl_lq_range_acc_finish(struct cl_lq_range_acc *a, struct cl_lq_matrix *out);

void cl_lq_range_acc_free(struct cl_lq_range_acc *a);

/* ---- Vector aggregation ---- */

/* Applies e (a CL_LQ_VECTOR_AGG) to in, point by point, into *out (free with
 * cl_lq_matrix_free). in is left as it was. */
void cl_lq_vector_agg(const struct cl_lq_expr *e, const struct cl_lq_matrix *in,
                      struct cl_lq_matrix *out);

/* ---- Evaluation over the store ---- */

/* Evaluates metric expression e over src: each range aggregation is one scan of the
 * engine with base's limits (budgets, regex limits, cancellation, threads), its
 * selector and filters pushed down as `cloudlog query --logql` does. Returns CL_OK,
 * CL_ERR_INVAL (bad regex, a regex failure, e not a metric query), CL_ERR_TOO_LARGE
 * (more than max_series series: err says so; or a budget, stats->stopped says which),
 * CL_ERR_CLOSED (cancelled) or a store error; err is set on failure. stats (may be
 * NULL) sums the scans. */
int cl_lq_metric_eval(const struct cl_lq_expr *e, const struct cl_query_source *src,
                      const struct cl_query *base, const struct cl_lq_window *w,
                      struct cl_lq_matrix *out, struct cl_query_stats *stats, char *err,
                      size_t err_len);

/* A record's series (or stream) labels: service and level, then what the pipeline's
 * parsers extracted (an extracted service or level is renamed service_extracted, as
 * Loki renames labels that clash with stream labels), without the label skip (the
 * unwrapped one). Strings point into the evaluator's labels (valid until its next
 * record) or into renamed. */
struct cl_lq_label_list {
    const char **names, **values;
    char (*renamed)[80];
    size_t n, cap;
};
struct cl_lq_eval;
void cl_lq_label_list_fill(struct cl_lq_label_list *l, const struct cl_lq_eval *ev,
                           const struct cl_line_head *h, const char *skip);
void cl_lq_label_list_free(struct cl_lq_label_list *l);

/* One record the engine matched, through ev (cl_lq_eval_record): 1 keep (*out,
 * *out_len: the line), 0 drop, -1 a regex failure (*failed set, err filled), on which
 * an engine callback returns non-zero to stop the scan. */
int cl_lq_pass(struct cl_lq_eval *ev, const char *line, size_t len, const struct cl_line_head *h,
               const char **out, size_t *out_len, int *failed, char *err, size_t err_len);

/* A cl_query_warn_fn for scans whose answer reports objects_failed instead. */
void cl_lq_warn_ignore(void *arg, const char *key, const char *reason);

/* Writes v as Prometheus does ("2", "0.5", "NaN", "+Inf") into out (32 bytes). */
void cl_lq_format_value(double v, char out[32]);

#endif
