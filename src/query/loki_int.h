/* loki_int.h - pieces shared by the Loki API's files (loki_*.c); not a public API. */
#ifndef CL_LOKI_INT_H
#define CL_LOKI_INT_H

#include "logql.h"
#include "logql_metric.h"
#include "loki_read.h"

#include <stddef.h>
#include <stdint.h>

/* A request's time range in ms: records with start <= ts < end (logs, metadata), or the
 * metric points start..end (both included). */
struct lk_range {
    int64_t start_ms, end_ms;
};

/* Parses Loki's time forms: nanoseconds (or seconds when 10 digits or fewer), float
 * seconds, RFC 3339, or (cloudlog) an age like 15m. ceil: round a nanosecond time up to
 * the ms (a bound records must reach), else down. Returns 0 or -1. */
int lk_parse_time(const char *v, int64_t now_ms, int up, int64_t *out_ms);

/* Float seconds ("15", "0.5") or a duration ("15s", "1m30s") in ms. Returns 0 or -1. */
int lk_parse_duration(const char *v, int64_t *out_ms);

/* start, end and since of p (defaults: the last hour before now); ceil as above. Returns
 * 0, or -1 with err set. */
int lk_request_range(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p, int up,
                     struct lk_range *out, char *err, size_t err_len);

/* Loki's default step of a range: the range in 250 points, at least 1 s. */
int64_t lk_default_step(const struct lk_range *range);

/* limit of p (default CL_LOKI_DEFAULT_LIMIT, at most CL_LOKI_MAX_LIMIT). */
int lk_request_limit(const struct cl_loki_params *p, size_t *out, char *err, size_t err_len);

/* Parses a LogQL expression; a constant expression (vector(1)+vector(1), Grafana's health
 * check) is returned in *is_const with its value (*out NULL). Returns 0, or -1 with err. */
int lk_parse_query(const char *text, struct cl_lq_expr **out, int *is_const, double *value,
                   int *has_vector, char *err, size_t err_len);

/* Evaluates a constant expression of numbers, vector(N), + - * / % ^ and parentheses.
 * Returns 0 with *value and *has_vector, or -1 (not such an expression). */
int lk_const_eval(const char *text, double *value, int *has_vector);

/* ---- JSON ---- */

/* {"status":"success","data":{"resultType":"TYPE","result": */
void lk_open_result(struct cl_buf *b, const char *type);
/* ,"stats":{...}}} */
void lk_close_result(struct cl_buf *b, const struct cl_query_stats *st, uint64_t returned);
/* {"name":"value",...} */
void lk_write_labels(struct cl_buf *b, const char *const *names, const char *const *values,
                     size_t n);
/* A Prometheus sample time: seconds with up to ms decimals, as a JSON number. */
void lk_write_seconds(struct cl_buf *b, int64_t ms);
/* [seconds,"value"] */
void lk_write_sample(struct cl_buf *b, int64_t ms, double v);
/* The series of m (at most limit): as a matrix ({"metric","values"}) or, matrix 0, as a
 * vector ({"metric","value"} at the first point, series without it left out). */
void lk_write_series(struct cl_buf *b, const struct cl_lq_matrix *m, size_t limit, int matrix);
/* {"status":"success","data":[ "a", "b" ]} from a sorted list of strings */
void lk_write_string_list(struct cl_buf *b, char **v, size_t n);

/* The error answer for a failed engine run (rc, stats, message). */
void lk_run_error(struct cl_loki_response *r, int rc, const struct cl_query_stats *st,
                  const char *err);

/* ---- Endpoints (loki_query.c, loki_meta.c) ---- */

void lk_query_range(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
                    struct cl_loki_response *r);
void lk_query_instant(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
                      struct cl_loki_response *r);
void lk_labels(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
               struct cl_loki_response *r);
void lk_label_values(const struct cl_loki_ctx *ctx, const char *name,
                     const struct cl_loki_params *p, struct cl_loki_response *r);
void lk_series(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
               struct cl_loki_response *r);
void lk_index_stats(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
                    struct cl_loki_response *r);
void lk_index_volume(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p, int range,
                     struct cl_loki_response *r);
void lk_detected_fields(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
                        struct cl_loki_response *r);

/* Sorted, distinct strings (owned). */
struct lk_strset {
    char **v;
    size_t n, cap;
};
void lk_strset_add(struct lk_strset *s, const char *v);
void lk_strset_sort(struct lk_strset *s);
void lk_strset_free(struct lk_strset *s);

#endif
