/* logql_metric.c - series, range accumulators and vector aggregation (logql_metric.h). */
#include "logql_metric.h"

#include "buf.h"
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t cl_lq_window_points(const struct cl_lq_window *w)
{
    if (w->step_ms <= 0 || w->end_ms < w->start_ms)
        return 0;
    int64_t n = (w->end_ms - w->start_ms) / w->step_ms + 1;
    return n > CL_LQ_MAX_POINTS ? 0 : (size_t)n;
}

static void series_free(struct cl_lq_series *s)
{
    for (size_t i = 0; i < s->n_labels; i++) {
        free(s->names[i]);
        free(s->values[i]);
    }
    free(s->names);
    free(s->values);
    free(s->v);
    free(s->has);
}

void cl_lq_matrix_free(struct cl_lq_matrix *m)
{
    for (size_t i = 0; i < m->n; i++)
        series_free(&m->s[i]);
    free(m->s);
    memset(m, 0, sizeof *m);
}

/* Appends a series with copies of the n labels (skipping empty values) sorted by name
 * and no points; returns it (valid until the next append). */
static struct cl_lq_series *matrix_add(struct cl_lq_matrix *m, const char *const *names,
                                       const char *const *values, size_t n)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->s = cl_realloc(m->s, m->cap * sizeof *m->s);
    }
    struct cl_lq_series *s = &m->s[m->n++];
    memset(s, 0, sizeof *s);
    s->names = cl_calloc(n + 1, sizeof *s->names);
    s->values = cl_calloc(n + 1, sizeof *s->values);
    for (size_t i = 0; i < n; i++) {
        if (!values[i][0])
            continue;
        size_t at = s->n_labels; /* insertion sort: label sets are small */
        while (at > 0 && strcmp(s->names[at - 1], names[i]) > 0) {
            s->names[at] = s->names[at - 1];
            s->values[at] = s->values[at - 1];
            at--;
        }
        s->names[at] = cl_strdup(names[i]);
        s->values[at] = cl_strdup(values[i]);
        s->n_labels++;
    }
    s->v = cl_calloc(m->n_points + 1, sizeof *s->v);
    s->has = cl_calloc(m->n_points + 1, 1);
    return s;
}

static int series_cmp(const void *a, const void *b)
{
    const struct cl_lq_series *x = a, *y = b;
    for (size_t i = 0; i < x->n_labels && i < y->n_labels; i++) {
        int c = strcmp(x->names[i], y->names[i]);
        if (!c)
            c = strcmp(x->values[i], y->values[i]);
        if (c)
            return c;
    }
    return x->n_labels < y->n_labels ? -1 : x->n_labels > y->n_labels;
}

void cl_lq_matrix_finish(struct cl_lq_matrix *m)
{
    size_t kept = 0;
    for (size_t i = 0; i < m->n; i++) {
        int any = memchr(m->s[i].has, 1, m->n_points) != NULL;
        if (any)
            m->s[kept++] = m->s[i];
        else
            series_free(&m->s[i]);
    }
    m->n = kept;
    if (m->n > 1) /* m->s may be NULL when no series exists: qsort must not see it */
        qsort(m->s, m->n, sizeof *m->s, series_cmp);
}

/* The labels as one string "n\1v\2n\1v\2..." in name order (caller frees). */
static char *series_key(const struct cl_lq_series *s)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    for (size_t i = 0; i < s->n_labels; i++)
        cl_buf_printf(&b, "%s\1%s\2", s->names[i], s->values[i]);
    cl_buf_append_char(&b, '\0');
    return cl_buf_take(&b, NULL);
}

/* ---- A map from a label key to a series index ---- */

struct key_map {
    char **keys;
    size_t *idx;
    size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void map_free(struct key_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->idx);
}

static void map_put(struct key_map *m, char *key, size_t idx);

static void map_grow(struct key_map *m)
{
    struct key_map old = *m;
    m->cap = old.cap ? 2 * old.cap : 64;
    m->n = 0;
    m->keys = cl_calloc(m->cap, sizeof *m->keys);
    m->idx = cl_calloc(m->cap, sizeof *m->idx);
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i])
            map_put(m, old.keys[i], old.idx[i]);
    free(old.keys);
    free(old.idx);
}

/* Takes ownership of key (not yet in m). */
static void map_put(struct key_map *m, char *key, size_t idx)
{
    if (2 * (m->n + 1) > m->cap)
        map_grow(m);
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->keys[i])
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    m->idx[i] = idx;
    m->n++;
}

/* The index stored for key, or SIZE_MAX. */
static size_t map_get(const struct key_map *m, const char *key)
{
    if (!m->cap)
        return SIZE_MAX;
    for (size_t i = hash_str(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], key) == 0)
            return m->idx[i];
    return SIZE_MAX;
}

/* ---- Range accumulator ---- */

struct value_list {
    double *v;
    size_t n, cap;
};

struct cl_lq_range_acc {
    const struct cl_lq_expr *e;
    struct cl_lq_window w;
    struct cl_lq_matrix m;      /* v: the sum, min or max so far */
    double **count;             /* per series, per point: samples in the window */
    struct value_list **values; /* quantile_over_time: per series, per point */
    struct key_map map;
    struct cl_buf key; /* the sample's label key, reused: no allocation per sample */
    size_t *order;     /* its labels' order, reused */
    size_t max_series;
};

struct cl_lq_range_acc *cl_lq_range_acc_new(const struct cl_lq_expr *e,
                                            const struct cl_lq_window *w)
{
    size_t n = cl_lq_window_points(w);
    if (!n)
        return NULL;
    struct cl_lq_range_acc *a = cl_calloc(1, sizeof *a);
    a->e = e;
    a->w = *w;
    a->m.n_points = n;
    a->m.start_ms = w->start_ms;
    a->m.step_ms = w->step_ms;
    a->max_series = w->max_series ? w->max_series : CL_LQ_DEFAULT_MAX_SERIES;
    cl_buf_init(&a->key, SIZE_MAX);
    return a;
}

/* The series of these labels, created if new; SIZE_MAX past max_series. */
static size_t acc_series(struct cl_lq_range_acc *a, const char *const *names,
                         const char *const *values, size_t n)
{
    /* The key series_key would give: non-empty labels in name order. */
    size_t k = 0, *order = a->order = cl_realloc(a->order, (n + 1) * sizeof *a->order);
    for (size_t j = 0; j < n; j++) {
        if (!values[j][0])
            continue;
        size_t at = k++;
        while (at > 0 && strcmp(names[order[at - 1]], names[j]) > 0) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = j;
    }
    cl_buf_reset(&a->key);
    for (size_t j = 0; j < k; j++) { /* appends, not printf: this runs per sample */
        cl_buf_append_str(&a->key, names[order[j]]);
        cl_buf_append_char(&a->key, '\1');
        cl_buf_append_str(&a->key, values[order[j]]);
        cl_buf_append_char(&a->key, '\2');
    }
    cl_buf_append_char(&a->key, '\0');
    size_t i = map_get(&a->map, a->key.data);
    if (i != SIZE_MAX || a->m.n >= a->max_series)
        return i;
    i = a->m.n;
    matrix_add(&a->m, names, values, n);
    map_put(&a->map, cl_strdup(a->key.data), i);
    a->count = cl_realloc(a->count, (i + 1) * sizeof *a->count);
    a->count[i] = cl_calloc(a->m.n_points, sizeof **a->count);
    if (a->e->range_fn == CL_LQ_QUANTILE_OVER_TIME) {
        a->values = cl_realloc(a->values, (i + 1) * sizeof *a->values);
        a->values[i] = cl_calloc(a->m.n_points, sizeof **a->values);
    }
    return i;
}

static void fold(struct cl_lq_range_acc *a, size_t s, size_t p, double value)
{
    double *acc = &a->m.s[s].v[p];
    double n = a->count[s][p]++;
    switch (a->e->range_fn) {
    case CL_LQ_MAX_OVER_TIME:
        *acc = n == 0 || value > *acc || isnan(*acc) ? value : *acc;
        break;
    case CL_LQ_MIN_OVER_TIME:
        *acc = n == 0 || value < *acc || isnan(*acc) ? value : *acc;
        break;
    case CL_LQ_QUANTILE_OVER_TIME: {
        struct value_list *l = &a->values[s][p];
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 8;
            l->v = cl_realloc(l->v, l->cap * sizeof *l->v);
        }
        l->v[l->n++] = value;
        break;
    }
    default:
        *acc += value;
    }
}

int cl_lq_range_acc_add(struct cl_lq_range_acc *a, const char *const *names,
                        const char *const *values, size_t n, int64_t ts_ms, double value)
{
    size_t s = acc_series(a, names, values, n);
    if (s == SIZE_MAX)
        return -1;
    /* Points t with ts <= t < ts + range: from the first at or after ts. */
    int64_t from = ts_ms - a->w.start_ms, to = ts_ms + a->e->range_ms - 1 - a->w.start_ms;
    int64_t k0 = from <= 0 ? 0 : (from + a->w.step_ms - 1) / a->w.step_ms;
    if (to < 0)
        return 0;
    int64_t k1 = CL_MIN(to / a->w.step_ms, (int64_t)a->m.n_points - 1);
    for (int64_t k = k0; k <= k1; k++)
        fold(a, s, (size_t)k, value);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Prometheus' quantile: linear interpolation between the closest ranks. */
static double quantile(double q, struct value_list *l)
{
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(l->v, l->n, sizeof *l->v, cmp_double);
    double rank = q * (double)(l->n - 1);
    size_t lo = (size_t)floor(rank), hi = CL_MIN(lo + 1, l->n - 1);
    double w = rank - floor(rank);
    return l->v[lo] * (1 - w) + l->v[hi] * w;
}

static double point_value(const struct cl_lq_range_acc *a, size_t s, size_t p)
{
    double range_s = (double)a->e->range_ms / 1000.0, n = a->count[s][p], v = a->m.s[s].v[p];
    switch (a->e->range_fn) {
    case CL_LQ_COUNT_OVER_TIME:
        return n;
    case CL_LQ_RATE:
        return n / range_s;
    case CL_LQ_BYTES_RATE:
        return v / range_s;
    case CL_LQ_AVG_OVER_TIME:
        return v / n;
    case CL_LQ_QUANTILE_OVER_TIME:
        return quantile(a->e->quantile, &a->values[s][p]);
    default: /* bytes_over_time, sum, min, max: the folded value */
        return v;
    }
}

/* Frees the per-point counts and values (a->m keeps its series). */
static void acc_free_counts(struct cl_lq_range_acc *a)
{
    for (size_t s = 0; s < a->m.n; s++) {
        free(a->count[s]);
        for (size_t p = 0; a->values && p < a->m.n_points; p++)
            free(a->values[s][p].v);
        if (a->values)
            free(a->values[s]);
    }
    free(a->count);
    free(a->values);
    a->count = NULL;
    a->values = NULL;
}

void cl_lq_range_acc_finish(struct cl_lq_range_acc *a, struct cl_lq_matrix *out)
{
    for (size_t s = 0; s < a->m.n; s++)
        for (size_t p = 0; p < a->m.n_points; p++) {
            a->m.s[s].has[p] = a->count[s][p] > 0;
            a->m.s[s].v[p] = a->m.s[s].has[p] ? point_value(a, s, p) : 0;
        }
    acc_free_counts(a);
    *out = a->m;
    memset(&a->m, 0, sizeof a->m);
    cl_lq_range_acc_free(a);
}

void cl_lq_range_acc_free(struct cl_lq_range_acc *a)
{
    if (!a)
        return;
    acc_free_counts(a);
    map_free(&a->map);
    cl_buf_free(&a->key);
    free(a->order);
    cl_lq_matrix_free(&a->m);
    free(a);
}

/* ---- Vector aggregation ---- */

static int listed(const struct cl_lq_expr *e, const char *name)
{
    for (size_t i = 0; i < e->n_labels; i++)
        if (strcmp(e->labels[i], name) == 0)
            return 1;
    return 0;
}

/* The group labels of s under e's by/without (into names/values, n_labels room). */
static size_t group_labels(const struct cl_lq_expr *e, const struct cl_lq_series *s,
                           const char **names, const char **values)
{
    size_t n = 0;
    for (size_t i = 0; e->has_grouping && i < s->n_labels; i++)
        if (listed(e, s->names[i]) != e->without) {
            names[n] = s->names[i];
            values[n++] = s->values[i];
        }
    return n;
}

/* Assigns each series of in a group: group[i] indexes out's series (created). */
static void make_groups(const struct cl_lq_expr *e, const struct cl_lq_matrix *in,
                        struct cl_lq_matrix *out, size_t *group)
{
    struct key_map map = {0};
    const char **names = cl_calloc(1, sizeof *names), **values = cl_calloc(1, sizeof *values);
    for (size_t i = 0; i < in->n; i++) {
        names = cl_realloc(names, (in->s[i].n_labels + 1) * sizeof *names);
        values = cl_realloc(values, (in->s[i].n_labels + 1) * sizeof *values);
        size_t n = group_labels(e, &in->s[i], names, values);
        struct cl_lq_series *g = matrix_add(out, names, values, n);
        char *key = series_key(g);
        size_t at = map_get(&map, key);
        if (at != SIZE_MAX) { /* the group exists: drop the new copy */
            series_free(g);
            out->n--;
            free(key);
        } else {
            at = out->n - 1;
            map_put(&map, key, at);
        }
        group[i] = at;
    }
    free(names);
    free(values);
    map_free(&map);
}

static void aggregate(const struct cl_lq_expr *e, const struct cl_lq_matrix *in,
                      struct cl_lq_matrix *out, const size_t *group)
{
    double *count = cl_calloc(out->n * out->n_points + 1, sizeof *count);
    for (size_t i = 0; i < in->n; i++)
        for (size_t p = 0; p < in->n_points; p++) {
            if (!in->s[i].has[p])
                continue;
            struct cl_lq_series *g = &out->s[group[i]];
            double x = in->s[i].v[p], *acc = &g->v[p];
            double n = count[group[i] * out->n_points + p]++;
            if (e->vector_op == CL_LQ_MIN)
                *acc = n == 0 || x < *acc ? x : *acc;
            else if (e->vector_op == CL_LQ_MAX)
                *acc = n == 0 || x > *acc ? x : *acc;
            else if (e->vector_op == CL_LQ_COUNT)
                *acc += 1;
            else
                *acc += x;
            g->has[p] = 1;
        }
    if (e->vector_op == CL_LQ_AVG)
        for (size_t g = 0; g < out->n; g++)
            for (size_t p = 0; p < out->n_points; p++)
                if (out->s[g].has[p])
                    out->s[g].v[p] /= count[g * out->n_points + p];
    free(count);
}

/* 1 if a ranks before b for topk (larger first) or bottomk (smaller first). */
static int ranks_before(int top, double a, double b)
{
    return top ? a > b : a < b;
}

/* topk/bottomk: per group and point, the k best series keep their point. */
static void select_k(const struct cl_lq_expr *e, const struct cl_lq_matrix *in,
                     struct cl_lq_matrix *out, const size_t *group, size_t n_groups)
{
    size_t k = (size_t)CL_MAX(e->k, 0);
    for (size_t i = 0; i < in->n; i++) {
        struct cl_lq_series *s =
            matrix_add(out, (const char *const *)in->s[i].names,
                       (const char *const *)in->s[i].values, in->s[i].n_labels);
        memcpy(s->v, in->s[i].v, in->n_points * sizeof *s->v);
    }
    size_t *best = cl_calloc(k + 1, sizeof *best);
    int top = e->vector_op == CL_LQ_TOPK;
    for (size_t g = 0; g < n_groups; g++)
        for (size_t p = 0; p < in->n_points; p++) {
            size_t n = 0;
            for (size_t i = 0; i < in->n; i++) {
                if (group[i] != g || !in->s[i].has[p])
                    continue;
                size_t at = n < k ? n++ : k;
                while (at > 0 && ranks_before(top, in->s[i].v[p], in->s[best[at - 1]].v[p])) {
                    if (at < k)
                        best[at] = best[at - 1];
                    at--;
                }
                if (at < k)
                    best[at] = i;
            }
            for (size_t j = 0; j < n; j++)
                out->s[best[j]].has[p] = 1;
        }
    free(best);
}

void cl_lq_vector_agg(const struct cl_lq_expr *e, const struct cl_lq_matrix *in,
                      struct cl_lq_matrix *out)
{
    memset(out, 0, sizeof *out);
    out->n_points = in->n_points;
    out->start_ms = in->start_ms;
    out->step_ms = in->step_ms;
    size_t *group = cl_calloc(in->n + 1, sizeof *group);
    if (e->vector_op == CL_LQ_TOPK || e->vector_op == CL_LQ_BOTTOMK) {
        struct cl_lq_matrix groups = {.n_points = 0};
        make_groups(e, in, &groups, group);
        select_k(e, in, out, group, groups.n);
        cl_lq_matrix_free(&groups);
    } else {
        make_groups(e, in, out, group);
        aggregate(e, in, out, group);
    }
    free(group);
    cl_lq_matrix_finish(out);
}

void cl_lq_format_value(double v, char out[32])
{
    if (isnan(v)) {
        snprintf(out, 32, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, 32, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == trunc(v) && fabs(v) < 1e15) {
        snprintf(out, 32, "%.0f", v);
        return;
    }
    for (int p = 1; p <= 17; p++) { /* the shortest text that reads back as v */
        snprintf(out, 32, "%.*g", p, v);
        if (strtod(out, NULL) == v)
            return;
    }
}
