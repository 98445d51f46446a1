/* loki_query.c - /loki/api/v1/query_range and /query: log queries as streams, metric
 * queries as a matrix (range) or a vector (instant). */
#include "loki_int.h"

#include "common.h"
#include "json_write.h"
#include "logql_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Log queries ---- */

struct entry {
    int64_t ts_ms;
    char *line;
    size_t len;
};

struct stream {
    uint64_t hash;
    char *key; /* labels as "n\1v\2..." */
    char **names, **values;
    size_t n_labels;
    struct entry *e;
    size_t n, cap;
};

struct log_run {
    struct cl_lq_eval *ev;
    size_t limit, returned;
    int failed;
    struct cl_lq_label_list labels;
    struct stream *s;
    size_t n, cap;
    char err[300];
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The stream of the record's labels, created if new. */
static struct stream *stream_of(struct log_run *r)
{
    struct cl_buf key;
    cl_buf_init(&key, SIZE_MAX);
    for (size_t i = 0; i < r->labels.n; i++)
        if (r->labels.values[i][0])
            cl_buf_printf(&key, "%s\1%s\2", r->labels.names[i], r->labels.values[i]);
    cl_buf_append_char(&key, '\0');
    uint64_t h = hash_str(key.data);
    for (size_t i = 0; i < r->n; i++)
        if (r->s[i].hash == h && strcmp(r->s[i].key, key.data) == 0) {
            cl_buf_free(&key);
            return &r->s[i];
        }
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->s = cl_realloc(r->s, r->cap * sizeof *r->s);
    }
    struct stream *s = &r->s[r->n++];
    memset(s, 0, sizeof *s);
    s->hash = h;
    s->key = cl_buf_take(&key, NULL);
    s->names = cl_calloc(r->labels.n + 1, sizeof *s->names);
    s->values = cl_calloc(r->labels.n + 1, sizeof *s->values);
    for (size_t i = 0; i < r->labels.n; i++)
        if (r->labels.values[i][0]) {
            s->names[s->n_labels] = cl_strdup(r->labels.names[i]);
            s->values[s->n_labels++] = cl_strdup(r->labels.values[i]);
        }
    return s;
}

static int on_log_record(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct log_run *r = arg;
    const char *out;
    size_t out_len;
    int keep = cl_lq_pass(r->ev, line, len, h, &out, &out_len, &r->failed, r->err, sizeof r->err);
    if (keep <= 0)
        return keep < 0;
    cl_lq_label_list_fill(&r->labels, r->ev, h, NULL);
    struct stream *s = stream_of(r);
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->e = cl_realloc(s->e, s->cap * sizeof *s->e);
    }
    s->e[s->n++] =
        (struct entry){.ts_ms = h->ts_ms, .line = cl_strndup(out, out_len), .len = out_len};
    return ++r->returned >= r->limit;
}

static void log_run_free(struct log_run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct stream *s = &r->s[i];
        for (size_t j = 0; j < s->n; j++)
            free(s->e[j].line);
        for (size_t j = 0; j < s->n_labels; j++) {
            free(s->names[j]);
            free(s->values[j]);
        }
        free(s->e);
        free(s->names);
        free(s->values);
        free(s->key);
    }
    free(r->s);
    cl_lq_label_list_free(&r->labels);
    cl_lq_eval_free(r->ev);
}

static void write_streams(struct cl_buf *b, const struct log_run *r)
{
    cl_buf_append_char(b, '[');
    for (size_t i = 0; i < r->n; i++) {
        const struct stream *s = &r->s[i];
        cl_buf_append_str(b, i ? ",{\"stream\":" : "{\"stream\":");
        lk_write_labels(b, (const char *const *)s->names, (const char *const *)s->values,
                        s->n_labels);
        cl_buf_append_str(b, ",\"values\":[");
        for (size_t j = 0; j < s->n; j++) {
            cl_buf_printf(b, "%s[\"%lld000000\",", j ? "," : "", (long long)s->e[j].ts_ms);
            cl_json_write_string(b, s->e[j].line, s->e[j].len);
            cl_buf_append_char(b, ']');
        }
        cl_buf_append_str(b, "]}");
    }
    cl_buf_append_char(b, ']');
}

/* direction: forward (oldest first) or backward (newest first, the default). */
static int parse_direction(const struct cl_loki_params *p, enum cl_query_order *o)
{
    const char *d = cl_loki_param(p, "direction");
    *o = CL_ORDER_NEWEST;
    if (!d || !d[0] || strcasecmp(d, "backward") == 0)
        return 0;
    if (strcasecmp(d, "forward") != 0)
        return -1;
    *o = CL_ORDER_OLDEST;
    return 0;
}

static void log_query(const struct cl_loki_ctx *ctx, const struct cl_lq_expr *e,
                      const struct cl_loki_params *p, struct cl_loki_response *r)
{
    char err[300];
    struct lk_range range;
    struct log_run run = {0};
    struct cl_query q = ctx->base;
    if (lk_request_range(ctx, p, 1, &range, err, sizeof err) != 0 ||
        lk_request_limit(p, &run.limit, err, sizeof err) != 0) {
        cl_loki_error(r, 400, err);
        return;
    }
    if (parse_direction(p, &q.order) != 0) {
        cl_loki_error(r, 400, "invalid parameter \"direction\": forward or backward");
        return;
    }
    q.from_ms = range.start_ms;
    q.to_ms = CL_MAX(range.end_ms, range.start_ms + 1);
    q.limit = 0; /* the pipeline decides what counts: on_log_record stops at the limit */
    q.count_only = 0;
    if (cl_lq_eval_new(&e->log, &q, &run.ev, err, sizeof err) != 0) {
        cl_loki_error(r, 400, err);
        return;
    }
    if (!cl_lq_eval_needed(run.ev)) /* all pushed down: the engine stops at the limit */
        q.limit = run.limit;
    struct cl_query_stats st = {0};
    int rc =
        cl_query_run(ctx->src, &q, on_log_record, cl_lq_warn_ignore, &run, &st, err, sizeof err);
    if (rc == CL_OK && run.failed) {
        rc = CL_ERR_INVAL;
        snprintf(err, sizeof err, "%s", run.err);
    }
    if (rc != CL_OK)
        lk_run_error(r, rc, &st, err);
    else {
        st.records_matched = run.returned;
        lk_open_result(&r->body, "streams");
        write_streams(&r->body, &run);
        lk_close_result(&r->body, &st, run.returned);
    }
    log_run_free(&run);
}

/* ---- Metric queries ---- */

/* A constant's matrix: one unlabelled series with every point set. */
static void const_matrix(const struct cl_lq_window *w, double value, struct cl_lq_matrix *m)
{
    memset(m, 0, sizeof *m);
    m->n_points = cl_lq_window_points(w);
    m->start_ms = w->start_ms;
    m->step_ms = w->step_ms;
    m->s = cl_calloc(1, sizeof *m->s);
    m->n = m->cap = 1;
    m->s[0].names = cl_calloc(1, sizeof(char *));
    m->s[0].values = cl_calloc(1, sizeof(char *));
    m->s[0].v = cl_calloc(m->n_points + 1, sizeof(double));
    m->s[0].has = cl_calloc(m->n_points + 1, 1);
    for (size_t p = 0; p < m->n_points; p++) {
        m->s[0].v[p] = value;
        m->s[0].has[p] = 1;
    }
}

/* Writes the result of a metric (or constant) query over window w: a matrix, or for an
 * instant query a vector (a scalar for a constant without vector()). */
static void metric_query(const struct cl_loki_ctx *ctx, const struct cl_lq_expr *e, double value,
                         int has_vector, const struct cl_lq_window *w, int instant,
                         struct cl_loki_response *r)
{
    char err[300] = "";
    struct cl_lq_matrix m;
    struct cl_query_stats st = {0};
    if (!cl_lq_window_points(w)) {
        snprintf(err, sizeof err,
                 "exceeded maximum resolution of %d points per timeseries. Try decreasing the "
                 "query resolution (?step=XX)",
                 CL_LQ_MAX_POINTS);
        cl_loki_error(r, 400, err);
        return;
    }
    if (!e)
        const_matrix(w, value, &m);
    else {
        int rc = cl_lq_metric_eval(e, ctx->src, &ctx->base, w, &m, &st, err, sizeof err);
        if (rc != CL_OK) {
            lk_run_error(r, rc, &st, err);
            return;
        }
    }
    if (instant && !e && !has_vector) {
        lk_open_result(&r->body, "scalar");
        lk_write_sample(&r->body, w->start_ms, value);
    } else {
        lk_open_result(&r->body, instant ? "vector" : "matrix");
        lk_write_series(&r->body, &m, SIZE_MAX, !instant);
    }
    lk_close_result(&r->body, &st, m.n);
    cl_lq_matrix_free(&m);
}

/* A request's query: a LogQL expression, or a constant (e NULL). */
struct request_query {
    struct cl_lq_expr *e;
    int is_const, has_vector;
    double value;
};

/* Parses p's query into *q (free q->e with cl_logql_free); 0, or -1 with the 400
 * answered. */
static int request_query(const struct cl_loki_params *p, struct request_query *q,
                         struct cl_loki_response *r)
{
    const char *text = cl_loki_param(p, "query");
    char err[300];
    memset(q, 0, sizeof *q);
    if (!text || !text[0]) {
        cl_loki_error(r, 400, "parameter \"query\" is required");
        return -1;
    }
    if (lk_parse_query(text, &q->e, &q->is_const, &q->value, &q->has_vector, err, sizeof err) !=
        0) {
        cl_loki_error(r, 400, err);
        return -1;
    }
    return 0;
}

int64_t lk_default_step(const struct lk_range *range)
{
    int64_t s = (range->end_ms - range->start_ms) / 250 / 1000 * 1000;
    return s < 1000 ? 1000 : s;
}

void lk_query_range(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
                    struct cl_loki_response *r)
{
    struct request_query rq;
    if (request_query(p, &rq, r) != 0)
        return;
    struct cl_lq_expr *e = rq.e;
    if (e && e->kind == CL_LQ_LOG_QUERY) {
        log_query(ctx, e, p, r);
        cl_logql_free(e);
        return;
    }
    char err[300];
    struct lk_range range;
    struct cl_lq_window w = {.max_series = ctx->max_series};
    const char *step = cl_loki_param(p, "step");
    if (lk_request_range(ctx, p, 0, &range, err, sizeof err) != 0)
        cl_loki_error(r, 400, err);
    else if (step && step[0] && (lk_parse_duration(step, &w.step_ms) != 0 || w.step_ms <= 0))
        cl_loki_error(r, 400,
                      "invalid parameter \"step\": a positive number of seconds or a duration "
                      "(15s, 1m)");
    else {
        w.start_ms = range.start_ms;
        w.end_ms = range.end_ms;
        if (!step || !step[0])
            w.step_ms = lk_default_step(&range);
        metric_query(ctx, e, rq.value, rq.has_vector, &w, 0, r);
    }
    cl_logql_free(e);
}

void lk_query_instant(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
                      struct cl_loki_response *r)
{
    struct request_query rq;
    if (request_query(p, &rq, r) != 0)
        return;
    struct cl_lq_expr *e = rq.e;
    const char *t = cl_loki_param(p, "time");
    struct cl_lq_window w = {.step_ms = 1000, .max_series = ctx->max_series};
    w.start_ms = ctx->now_ms;
    if (e && e->kind == CL_LQ_LOG_QUERY)
        cl_loki_error(r, 400,
                      "log queries are not supported as an instant query type, please change "
                      "your query to a range query type");
    else if (t && t[0] && lk_parse_time(t, ctx->now_ms, 0, &w.start_ms) != 0)
        cl_loki_error(r, 400, "invalid parameter \"time\": cannot parse it to a valid timestamp");
    else {
        w.end_ms = w.start_ms;
        metric_query(ctx, e, rq.value, rq.has_vector, &w, 1, r);
    }
    cl_logql_free(e);
}
