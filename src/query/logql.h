/* logql.h - a LogQL subset: recursive-descent parser into an AST, and a canonical printer.
 *
 * The subset (docs/query.md "LogQL"): stream selectors, line filters (chained, with `or`),
 * `| json` (optionally extracting), `| logfmt`, label filters (string, number, duration,
 * bytes; `and`, `or`, `,`, parentheses), `| line_format`, range aggregations over log
 * ranges (count_over_time, rate, bytes_over_time, bytes_rate) and unwrapped ranges
 * (sum/avg/min/max/quantile_over_time), vector aggregations (sum, avg, min, max, count
 * with by/without; topk, bottomk). Everything else is rejected with an error that names
 * the construct and its line:column, never parsed into something else.
 */
#ifndef CL_LOGQL_H
#define CL_LOGQL_H

#include <stddef.h>
#include <stdint.h>

enum cl_lq_match { CL_LQ_EQ = 0, CL_LQ_NE, CL_LQ_RE, CL_LQ_NRE };

struct cl_lq_matcher {
    char *name;
    enum cl_lq_match op;
    char *value;
};

/* A label filter: a tree of and/or over comparisons. */
enum cl_lq_lf_kind { CL_LQ_LF_AND = 0, CL_LQ_LF_OR, CL_LQ_LF_STRING, CL_LQ_LF_NUMBER };
enum cl_lq_cmp { CL_LQ_GT = 0, CL_LQ_GE, CL_LQ_LT, CL_LQ_LE, CL_LQ_EQEQ, CL_LQ_NEQ };
/* Unit of a numeric label filter's value: the field is converted the same way. */
enum cl_lq_unit { CL_LQ_PLAIN = 0, CL_LQ_DURATION, CL_LQ_BYTES };

struct cl_lq_label_filter {
    enum cl_lq_lf_kind kind;
    struct cl_lq_label_filter *left, *right; /* AND, OR */
    char *name;                              /* STRING, NUMBER */
    enum cl_lq_match str_op;                 /* STRING */
    char *str;                               /* STRING */
    enum cl_lq_cmp num_op;                   /* NUMBER */
    double number;                           /* NUMBER: seconds for durations, bytes for bytes */
    enum cl_lq_unit unit;                    /* NUMBER */
};

enum cl_lq_stage_kind {
    CL_LQ_LINE_FILTER = 0,
    CL_LQ_JSON,
    CL_LQ_LOGFMT,
    CL_LQ_LABEL_FILTER,
    CL_LQ_LINE_FORMAT,
    CL_LQ_DROP /* `| drop a, b`: the labels named in extract[].name are removed */
};

/* `|= "a" or "b"`: the line contains a or b (for != and !~: contains neither). */
struct cl_lq_line_filter {
    enum cl_lq_match op; /* EQ |=, NE !=, RE |~, NRE !~ */
    char **values;
    size_t n_values;
};

/* `| json a="x.y", b`: extract a from the path x.y, b from b; none: every field. */
struct cl_lq_extract {
    char *name;
    char *path; /* NULL: the same as name */
};

struct cl_lq_stage {
    enum cl_lq_stage_kind kind;
    struct cl_lq_line_filter line;     /* LINE_FILTER */
    struct cl_lq_extract *extract;     /* JSON; DROP: the names (path NULL) */
    size_t n_extract;                  /* JSON, DROP */
    struct cl_lq_label_filter *filter; /* LABEL_FILTER */
    char *format;                      /* LINE_FORMAT: the template */
};

/* A log query: a selector and its pipeline. */
struct cl_lq_log {
    struct cl_lq_matcher *matchers;
    size_t n_matchers;
    struct cl_lq_stage *stages;
    size_t n_stages;
};

enum cl_lq_kind { CL_LQ_LOG_QUERY = 0, CL_LQ_RANGE_AGG, CL_LQ_VECTOR_AGG };

enum cl_lq_range_fn {
    CL_LQ_COUNT_OVER_TIME = 0,
    CL_LQ_RATE,
    CL_LQ_BYTES_OVER_TIME,
    CL_LQ_BYTES_RATE,
    CL_LQ_SUM_OVER_TIME, /* this and below need `| unwrap field` */
    CL_LQ_AVG_OVER_TIME,
    CL_LQ_MAX_OVER_TIME,
    CL_LQ_MIN_OVER_TIME,
    CL_LQ_QUANTILE_OVER_TIME
};

enum cl_lq_vector_op {
    CL_LQ_SUM = 0,
    CL_LQ_AVG,
    CL_LQ_MIN,
    CL_LQ_MAX,
    CL_LQ_COUNT,
    CL_LQ_TOPK,
    CL_LQ_BOTTOMK
};

struct cl_lq_expr {
    enum cl_lq_kind kind;
    struct cl_lq_log log; /* LOG_QUERY; RANGE_AGG: the ranged log query */
    /* RANGE_AGG */
    enum cl_lq_range_fn range_fn;
    char *unwrap;     /* unwrapped field; NULL for the log-range functions */
    int64_t range_ms; /* [5m] */
    double quantile;  /* quantile_over_time's first argument */
    /* VECTOR_AGG */
    enum cl_lq_vector_op vector_op;
    int has_grouping; /* by/without given */
    int without;
    char **labels;
    size_t n_labels;
    int64_t k; /* topk, bottomk */
    struct cl_lq_expr *inner;
};

/* Parses text into *out (caller frees it with cl_logql_free). Returns 0, or -1 with err
 * set to "syntax error: ... at L:C" or "unsupported: ... at L:C" (*out then NULL). */
int cl_logql_parse(const char *text, struct cl_lq_expr **out, char *err, size_t err_len);

void cl_logql_free(struct cl_lq_expr *e);

/* Prints e canonically into buf (NUL-terminated, truncated to len). Returns the length
 * it needed, like snprintf. Parsing the output gives the same AST. */
size_t cl_logql_print(const struct cl_lq_expr *e, char *buf, size_t len);

#endif
