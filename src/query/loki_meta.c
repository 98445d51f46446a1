/* loki_meta.c - /labels, /label/{name}/values, /series, /index/stats, /index/volume,
 * /index/volume_range and /detected_fields.
 *
 * cloudlog's stream labels are service and level. Service names come from the catalog
 * (or the store's listing) without reading objects; anything that depends on levels or
 * on a selector's other matchers scans the time range with the selector pushed into the
 * engine, as a query does, so the answers are exact. */
#include "loki_int.h"

#include "common.h"
#include "json_write.h"
#include "logql_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One scan: the records of a selector (and pipeline) in a range, each handed to visit. */
struct meta_scan {
    struct cl_lq_eval *ev;
    int (*visit)(void *arg, struct cl_lq_eval *ev, const struct cl_line_head *h, size_t len);
    void *arg;
    int fields; /* visit reads the records' top-level fields */
    int failed;
    char err[300];
};

static int on_meta_record(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct meta_scan *m = arg;
    const char *out;
    size_t out_len;
    int keep = cl_lq_pass(m->ev, line, len, h, &out, &out_len, &m->failed, m->err, sizeof m->err);
    if (keep <= 0)
        return keep < 0;
    return m->visit(m->arg, m->ev, h, out_len);
}

/* Parses text (NULL or empty: every stream) as a log query. Returns 0 or -1
 * with the 400 answered. */
static int parse_selector(const char *text, struct cl_lq_expr **e, struct cl_loki_response *r)
{
    char err[300];
    *e = NULL;
    if (!text || !text[0])
        return 0;
    if (cl_logql_parse(text, e, err, sizeof err) != 0) {
        cl_loki_error(r, 400, err);
        return -1;
    }
    if ((*e)->kind != CL_LQ_LOG_QUERY) {
        cl_logql_free(*e);
        *e = NULL;
        cl_loki_error(r, 400, "a stream selector is expected here, not a metric query");
        return -1;
    }
    return 0;
}

/* Scans range with e's selector (and its pipeline unless only_selector; e NULL: all
 * records), newest first, until visit returns non-zero. Returns 0, or -1 with the error
 * answered. */
static int meta_scan(const struct cl_loki_ctx *ctx, const struct cl_lq_expr *e, int only_selector,
                     const struct lk_range *range, struct meta_scan *m, struct cl_query_stats *st,
                     struct cl_loki_response *r)
{
    static const struct cl_lq_matcher none;
    struct cl_lq_log all = {.matchers = (struct cl_lq_matcher *)&none, .n_matchers = 0};
    struct cl_lq_log log = e ? e->log : all;
    if (only_selector)
        log.n_stages = 0;
    struct cl_query q = ctx->base;
    q.from_ms = range->start_ms;
    q.to_ms = CL_MAX(range->end_ms, range->start_ms + 1);
    q.order = CL_ORDER_NEWEST;
    q.count_only = 0;
    q.limit = 0;
    char err[300];
    if (cl_lq_eval_new(&log, &q, &m->ev, err, sizeof err) != 0) {
        cl_loki_error(r, 400, err);
        return -1;
    }
    if (m->fields)
        cl_lq_eval_want_fields(m->ev);
    memset(st, 0, sizeof *st);
    int rc = cl_query_run(ctx->src, &q, on_meta_record, cl_lq_warn_ignore, m, st, err, sizeof err);
    cl_lq_eval_free(m->ev);
    m->ev = NULL;
    if (rc == CL_OK && m->failed) {
        rc = CL_ERR_INVAL;
        snprintf(err, sizeof err, "%s", m->err);
    }
    if (rc != CL_OK) {
        lk_run_error(r, rc, st, err);
        return -1;
    }
    return 0;
}

/* ---- Streams (service, level) with their entries and bytes ---- */

struct stream_tally {
    struct {
        char service[65];
        int level;
        uint64_t entries, bytes;
    } * v;
    size_t n, cap;
};

static int tally_record(void *arg, struct cl_lq_eval *ev, const struct cl_line_head *h, size_t len)
{
    struct stream_tally *t = arg;
    (void)ev;
    size_t i = 0;
    while (i < t->n &&
           !(t->v[i].level == (int)h->level && strcmp(t->v[i].service, h->service) == 0))
        i++;
    if (i == t->n) {
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 16;
            t->v = cl_realloc(t->v, t->cap * sizeof *t->v);
        }
        memset(&t->v[i], 0, sizeof t->v[i]);
        snprintf(t->v[i].service, sizeof t->v[i].service, "%s", h->service);
        t->v[i].level = (int)h->level;
        t->n++;
    }
    t->v[i].entries++;
    t->v[i].bytes += len;
    return 0;
}

/* Tallies the streams of text's selector over p's range; 0, or -1 answered. */
static int tally_streams(const struct cl_loki_ctx *ctx, const char *text,
                         const struct cl_loki_params *p, struct stream_tally *t,
                         struct cl_query_stats *st, struct cl_loki_response *r)
{
    char err[300];
    struct lk_range range;
    if (lk_request_range(ctx, p, 1, &range, err, sizeof err) != 0) {
        cl_loki_error(r, 400, err);
        return -1;
    }
    struct cl_lq_expr *e;
    if (parse_selector(text, &e, r) != 0)
        return -1;
    struct meta_scan m = {.visit = tally_record, .arg = t};
    int rc = meta_scan(ctx, e, 1, &range, &m, st, r);
    cl_logql_free(e);
    return rc;
}

/* ---- /labels, /label/{name}/values ---- */

struct service_list {
    struct lk_strset names;
    struct lk_range range;
};

/* A partition overlaps the range by its hour; with the catalog, its records' own span
 * must overlap too (an hour half outside the range may hold no record inside it). */
static int on_partition(void *arg, const struct cl_query_partition *part)
{
    struct service_list *s = arg;
    if (!part->has_catalog ||
        (part->max_ts_ms >= s->range.start_ms && part->min_ts_ms < s->range.end_ms))
        lk_strset_add(&s->names, part->service);
    return 0;
}

/* The services with objects in p's range, from the catalog (no object is read). */
static int services_in_range(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
                             struct lk_strset *out, struct cl_loki_response *r)
{
    char err[300];
    struct lk_range range;
    if (lk_request_range(ctx, p, 1, &range, err, sizeof err) != 0) {
        cl_loki_error(r, 400, err);
        return -1;
    }
    struct cl_query q = ctx->base;
    q.from_ms = range.start_ms;
    q.to_ms = CL_MAX(range.end_ms, range.start_ms + 1);
    q.services = NULL, q.n_services = 0, q.level_mask = 0;
    struct service_list s = {.range = range};
    int rc = cl_query_partitions(ctx->src, &q, on_partition, &s);
    if (rc != CL_OK) {
        lk_strset_free(&s.names);
        cl_loki_error(r, 500, cl_strerror(rc));
        return -1;
    }
    *out = s.names;
    return 0;
}

void lk_labels(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
               struct cl_loki_response *r)
{
    struct lk_strset services;
    if (services_in_range(ctx, p, &services, r) != 0)
        return;
    char *names[] = {"level", "service"};
    lk_write_string_list(&r->body, names, services.n ? 2 : 0);
    lk_strset_free(&services);
}

void lk_label_values(const struct cl_loki_ctx *ctx, const char *name,
                     const struct cl_loki_params *p, struct cl_loki_response *r)
{
    const char *query = cl_loki_param(p, "query");
    struct lk_strset values = {0};
    if (strcmp(name, "service") == 0 && (!query || !query[0])) {
        if (services_in_range(ctx, p, &values, r) != 0)
            return;
    } else if (strcmp(name, "service") == 0 || strcmp(name, "level") == 0) {
        struct stream_tally t = {0};
        struct cl_query_stats st;
        int rc = tally_streams(ctx, query, p, &t, &st, r);
        for (size_t i = 0; rc == 0 && i < t.n; i++)
            lk_strset_add(&values, name[0] == 's' ? t.v[i].service
                                                  : cl_level_name((enum cl_level)t.v[i].level));
        free(t.v);
        if (rc != 0)
            return;
    }
    lk_strset_sort(&values);
    lk_write_string_list(&r->body, values.v, values.n);
    lk_strset_free(&values);
}

/* ---- /series ---- */

void lk_series(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
               struct cl_loki_response *r)
{
    struct stream_tally t = {0};
    struct cl_query_stats st;
    size_t matches = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->n; i++)
        if (strcmp(p->keys[i], "match[]") == 0 || strcmp(p->keys[i], "match") == 0) {
            matches++;
            rc = tally_streams(ctx, p->values[i], p, &t, &st, r);
        }
    if (rc == 0 && !matches)
        rc = tally_streams(ctx, NULL, p, &t, &st, r);
    if (rc == 0) {
        cl_buf_append_str(&r->body, "{\"status\":\"success\",\"data\":[");
        for (size_t i = 0; i < t.n; i++) {
            const char *names[] = {"level", "service"};
            const char *values[] = {cl_level_name((enum cl_level)t.v[i].level), t.v[i].service};
            if (i)
                cl_buf_append_char(&r->body, ',');
            lk_write_labels(&r->body, names, values, 2);
        }
        cl_buf_append_str(&r->body, "]}\n");
    }
    free(t.v);
}

/* ---- /index/stats ---- */

void lk_index_stats(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
                    struct cl_loki_response *r)
{
    struct stream_tally t = {0};
    struct cl_query_stats st;
    if (tally_streams(ctx, cl_loki_param(p, "query"), p, &t, &st, r) == 0) {
        uint64_t entries = 0, bytes = 0;
        for (size_t i = 0; i < t.n; i++)
            entries += t.v[i].entries, bytes += t.v[i].bytes;
        cl_buf_printf(&r->body,
                      "{\"streams\":%zu,\"chunks\":%llu,\"bytes\":%llu,\"entries\":%llu}\n", t.n,
                      (unsigned long long)st.objects_opened, (unsigned long long)bytes,
                      (unsigned long long)entries);
    }
    free(t.v);
}

/* ---- /index/volume, /index/volume_range ---- */

#define VOLUME_MAX_LABELS 16

struct volume_run {
    const char *names[VOLUME_MAX_LABELS];
    size_t n_names;
    struct cl_lq_range_acc *acc;
    int over_limit; /* more series than the query may have */
};

/* A label of the record: service, level, or a top-level field ("" if none). */
static const char *record_label(const struct cl_lq_eval *ev, const struct cl_line_head *h,
                                const char *name)
{
    if (strcmp(name, "service") == 0)
        return h->service;
    if (strcmp(name, "level") == 0)
        return cl_level_name(h->level);
    const char *const *names, *const *values;
    size_t n, n_stream;
    cl_lq_eval_labels(ev, &names, &values, &n, &n_stream);
    for (size_t i = n; i-- > 0;)
        if (strcmp(names[i], name) == 0)
            return values[i];
    return "";
}

static int volume_record(void *arg, struct cl_lq_eval *ev, const struct cl_line_head *h, size_t len)
{
    struct volume_run *v = arg;
    const char *values[VOLUME_MAX_LABELS];
    for (size_t i = 0; i < v->n_names; i++)
        values[i] = record_label(ev, h, v->names[i]);
    v->over_limit =
        cl_lq_range_acc_add(v->acc, v->names, values, v->n_names, h->ts_ms, (double)len) != 0;
    return v->over_limit;
}

/* The labels volumes are grouped by: targetLabels, else the selector's label names. */
static void volume_labels(const struct cl_loki_params *p, const struct cl_lq_expr *e,
                          struct volume_run *v, char *targets)
{
    const char *t = cl_loki_param(p, "targetLabels");
    if (t && t[0]) {
        snprintf(targets, 1024, "%s", t);
        char *save = NULL;
        for (char *s = strtok_r(targets, ",", &save); s && v->n_names < VOLUME_MAX_LABELS;
             s = strtok_r(NULL, ",", &save))
            v->names[v->n_names++] = s;
        return;
    }
    for (size_t i = 0; e && i < e->log.n_matchers && v->n_names < VOLUME_MAX_LABELS; i++) {
        size_t j = 0;
        while (j < v->n_names && strcmp(v->names[j], e->log.matchers[i].name) != 0)
            j++;
        if (j == v->n_names)
            v->names[v->n_names++] = e->log.matchers[i].name;
    }
}

static int cmp_volume(const void *a, const void *b)
{
    const struct cl_lq_series *x = a, *y = b;
    return x->v[0] < y->v[0] ? 1 : x->v[0] > y->v[0] ? -1 : 0;
}

static void write_volume(struct cl_buf *b, struct cl_lq_matrix *m, size_t limit, int range)
{
    if (!range && m->n > 1)
        qsort(m->s, m->n, sizeof *m->s, cmp_volume);
    lk_open_result(b, range ? "matrix" : "vector");
    lk_write_series(b, m, limit, range);
    cl_buf_append_str(b, "}}\n");
}

/* The window of a volume request: one point at end covering the whole range, or (range)
 * Loki's steps. Returns 0, or -1 with the 400 answered. */
static int volume_window(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p, int range,
                         struct lk_range *rg, struct cl_lq_window *w, struct cl_lq_expr *fn,
                         struct cl_loki_response *r)
{
    char err[300];
    if (lk_request_range(ctx, p, 1, rg, err, sizeof err) != 0) {
        cl_loki_error(r, 400, err);
        return -1;
    }
    const char *step = cl_loki_param(p, "step");
    int64_t step_ms = lk_default_step(rg);
    if (range && step && step[0] && (lk_parse_duration(step, &step_ms) != 0 || step_ms <= 0)) {
        cl_loki_error(r, 400, "invalid parameter \"step\"");
        return -1;
    }
    *w = (struct cl_lq_window){.start_ms = range ? rg->start_ms : rg->end_ms - 1,
                               .end_ms = rg->end_ms - 1,
                               .step_ms = range ? step_ms : 1000,
                               .max_series = ctx->max_series};
    fn->kind = CL_LQ_RANGE_AGG;
    fn->range_fn = CL_LQ_BYTES_OVER_TIME;
    fn->range_ms = range ? step_ms : rg->end_ms - rg->start_ms;
    if (!cl_lq_window_points(w)) {
        cl_loki_error(r, 400, "exceeded maximum resolution of 11000 points per timeseries");
        return -1;
    }
    return 0;
}

void lk_index_volume(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p, int range,
                     struct cl_loki_response *r)
{
    const char *agg = cl_loki_param(p, "aggregateBy");
    if (agg && agg[0] && strcmp(agg, "series") != 0) {
        cl_loki_error(r, 400, "unsupported: aggregateBy=labels (only series)");
        return;
    }
    size_t limit;
    char err[300], targets[1024];
    if (lk_request_limit(p, &limit, err, sizeof err) != 0) {
        cl_loki_error(r, 400, err);
        return;
    }
    struct cl_lq_expr *e, fn = {0};
    struct lk_range rg;
    struct cl_lq_window w;
    if (parse_selector(cl_loki_param(p, "query"), &e, r) != 0)
        return;
    struct volume_run v = {0};
    struct cl_query_stats st;
    if (volume_window(ctx, p, range, &rg, &w, &fn, r) == 0) {
        volume_labels(p, e, &v, targets);
        v.acc = cl_lq_range_acc_new(&fn, &w);
        struct meta_scan m = {.visit = volume_record, .arg = &v, .fields = 1};
        int rc = meta_scan(ctx, e, 1, &rg, &m, &st, r);
        if (rc == 0 && v.over_limit) {
            char msg[120];
            snprintf(msg, sizeof msg, "maximum of series (%zu) reached for a single query",
                     ctx->max_series ? ctx->max_series : (size_t)CL_LQ_DEFAULT_MAX_SERIES);
            cl_loki_error(r, 400, msg);
            rc = -1;
        }
        if (rc == 0) {
            struct cl_lq_matrix out;
            cl_lq_range_acc_finish(v.acc, &out);
            cl_lq_matrix_finish(&out);
            write_volume(&r->body, &out, limit, range);
            cl_lq_matrix_free(&out);
        } else
            cl_lq_range_acc_free(v.acc);
    }
    cl_logql_free(e);
}

/* ---- /detected_fields ---- */

#define FIELDS_MAX 256

struct field {
    char *name;
    struct lk_strset values;
    unsigned not_int : 1, not_float : 1, not_bool : 1, not_duration : 1, not_bytes : 1;
    int extracted;
};

struct fields_run {
    struct field f[FIELDS_MAX];
    size_t n;
    size_t lines, line_limit;
};

/* Clears the type flags v rules out. */
static void type_check(struct field *f, const char *v)
{
    char *end;
    (void)strtoll(v, &end, 10);
    f->not_int |= end == v || *end != '\0';
    double d = strtod(v, &end);
    f->not_float |= end == v || *end != '\0' || !isfinite(d);
    f->not_bool |= strcmp(v, "true") != 0 && strcmp(v, "false") != 0;
    int64_t ms;
    f->not_duration |= lk_parse_duration(v, &ms) != 0 || strspn(v, "0123456789.") == strlen(v);
    size_t num = strspn(v, "0123456789.");
    f->not_bytes |=
        num == 0 || num == strlen(v) || strspn(v + num, "KMGTPEkmgtpeiB") != strlen(v + num);
}

static const char *field_type(const struct field *f)
{
    return !f->not_int        ? "int"
           : !f->not_float    ? "float"
           : !f->not_bool     ? "boolean"
           : !f->not_duration ? "duration"
           : !f->not_bytes    ? "bytes"
                              : "string";
}

static int fields_record(void *arg, struct cl_lq_eval *ev, const struct cl_line_head *h, size_t len)
{
    struct fields_run *fr = arg;
    (void)h, (void)len;
    const char *const *names, *const *values;
    size_t n, n_stream;
    cl_lq_eval_labels(ev, &names, &values, &n, &n_stream);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], "service") == 0 || strcmp(names[i], "level") == 0 ||
            strcmp(names[i], "__error__") == 0 || !values[i][0])
            continue;
        size_t j = 0;
        while (j < fr->n && strcmp(fr->f[j].name, names[i]) != 0)
            j++;
        if (j == fr->n && fr->n == FIELDS_MAX)
            continue;
        if (j == fr->n) {
            memset(&fr->f[j], 0, sizeof fr->f[j]);
            fr->f[j].name = cl_strdup(names[i]);
            fr->f[j].extracted = i >= n_stream;
            fr->n++;
        }
        lk_strset_add(&fr->f[j].values, values[i]);
        type_check(&fr->f[j], values[i]);
    }
    return ++fr->lines >= fr->line_limit;
}

static int has_logfmt(const struct cl_lq_expr *e)
{
    for (size_t i = 0; e && i < e->log.n_stages; i++)
        if (e->log.stages[i].kind == CL_LQ_LOGFMT)
            return 1;
    return 0;
}

static size_t size_param(const struct cl_loki_params *p, const char *name, size_t def)
{
    const char *v = cl_loki_param(p, name);
    long long n = v && v[0] ? strtoll(v, NULL, 10) : 0;
    return n > 0 ? (size_t)CL_MIN(n, 100000) : def;
}

void lk_detected_fields(const struct cl_loki_ctx *ctx, const struct cl_loki_params *p,
                        struct cl_loki_response *r)
{
    char err[300];
    struct lk_range range;
    struct cl_lq_expr *e;
    if (lk_request_range(ctx, p, 1, &range, err, sizeof err) != 0) {
        cl_loki_error(r, 400, err);
        return;
    }
    if (parse_selector(cl_loki_param(p, "query"), &e, r) != 0)
        return;
    struct fields_run *fr = cl_calloc(1, sizeof *fr);
    fr->line_limit = size_param(p, "line_limit", 1000);
    size_t limit = size_param(p, "limit", 1000);
    struct meta_scan m = {.visit = fields_record, .arg = fr, .fields = 1};
    struct cl_query_stats st;
    if (meta_scan(ctx, e, 0, &range, &m, &st, r) == 0) {
        cl_buf_append_str(&r->body, "{\"fields\":[");
        for (size_t i = 0; i < fr->n && i < limit; i++) {
            const struct field *f = &fr->f[i];
            cl_buf_append_str(&r->body, i ? ",{\"label\":" : "{\"label\":");
            cl_json_write_string(&r->body, f->name, strlen(f->name));
            cl_buf_printf(&r->body, ",\"type\":\"%s\",\"cardinality\":%zu,\"parsers\":[\"%s\"]}",
                          field_type(f), f->values.n,
                          f->extracted && has_logfmt(e) ? "logfmt" : "json");
        }
        cl_buf_printf(&r->body, "],\"limit\":%zu}\n", limit);
    }
    for (size_t i = 0; i < fr->n; i++) {
        free(fr->f[i].name);
        lk_strset_free(&fr->f[i].values);
    }
    free(fr);
    cl_logql_free(e);
}
