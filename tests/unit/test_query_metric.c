/* test_query_metric.c - the LogQL metric evaluator without a store: range accumulators
 * (window bounds (t - range, t], each function), the series limit, vector aggregations
 * (grouping, topk/bottomk per point), value formatting, and the Loki API's parameter
 * parsing and constant expressions. */
#include "logql.h"
#include "logql_metric.h"
#include "loki_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cl_lq_expr *parse(const char *q)
{
    struct cl_lq_expr *e;
    char err[256];
    int rc = cl_logql_parse(q, &e, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", q, err);
    assert_int_equal(rc, 0);
    return e;
}

/* Adds a sample of the series {service=svc, level=lvl}. */
static void add(struct cl_lq_range_acc *a, const char *svc, const char *lvl, int64_t ts, double v)
{
    const char *names[] = {"service", "level"};
    const char *values[] = {svc, lvl};
    assert_int_equal(cl_lq_range_acc_add(a, names, values, 2, ts, v), 0);
}

/* The series whose label name has value (NULL if none). */
static const struct cl_lq_series *find(const struct cl_lq_matrix *m, const char *name,
                                       const char *value)
{
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < m->s[i].n_labels; j++)
            if (strcmp(m->s[i].names[j], name) == 0 && strcmp(m->s[i].values[j], value) == 0)
                return &m->s[i];
    return NULL;
}

/* Evaluates q (a range aggregation) over points 10 s, 20 s, 30 s with these samples. */
static void eval_range(const char *q, struct cl_lq_matrix *m, struct cl_lq_expr **keep)
{
    struct cl_lq_expr *e = parse(q);
    struct cl_lq_window w = {.start_ms = 10000, .end_ms = 30000, .step_ms = 10000};
    struct cl_lq_range_acc *a = cl_lq_range_acc_new(e, &w);
    assert_non_null(a);
    add(a, "api", "info", 1000, 4);   /* in (0, 10]: point 10 s only with range 10 s */
    add(a, "api", "info", 10000, 2);  /* t = 10 s exactly: in point 10 s, not 20 s... */
    add(a, "api", "info", 10001, 6);  /* ... this one is in point 20 s */
    add(a, "api", "error", 25000, 8); /* point 30 s */
    add(a, "web", "info", 30001, 1);  /* after the last point: nowhere */
    cl_lq_range_acc_finish(a, m);
    cl_lq_matrix_finish(m);
    *keep = e;
}

static void test_count_window_bounds(void **state)
{
    (void)state;
    struct cl_lq_matrix m;
    struct cl_lq_expr *e;
    eval_range("count_over_time({a=\"b\"}[10s])", &m, &e);
    assert_int_equal(m.n, 2); /* web has no point: dropped */
    assert_int_equal(m.n_points, 3);
    const struct cl_lq_series *info = find(&m, "level", "info");
    assert_non_null(info);
    assert_true(info->has[0] && info->has[1] && !info->has[2]);
    assert_true(info->v[0] == 2 && info->v[1] == 1);
    const struct cl_lq_series *err = find(&m, "level", "error");
    assert_true(!err->has[0] && !err->has[1] && err->has[2] && err->v[2] == 1);
    assert_string_equal(m.s[0].names[0], "level");  /* labels sorted by name */
    assert_string_equal(m.s[0].values[0], "error"); /* series sorted by labels */
    cl_lq_matrix_free(&m);
    cl_logql_free(e);
}

static void test_functions(void **state)
{
    (void)state;
    struct {
        const char *q;
        double point10; /* api/info at t = 10 s: samples 4 (ts 1 s) and 2 (ts 10 s) */
    } cases[] = {
        {"count_over_time({a=\"b\"}[10s])", 2},
        {"rate({a=\"b\"}[10s])", 0.2},
        {"bytes_over_time({a=\"b\"}[10s])", 6},
        {"bytes_rate({a=\"b\"}[10s])", 0.6},
        {"sum_over_time({a=\"b\"} | unwrap x [10s])", 6},
        {"avg_over_time({a=\"b\"} | unwrap x [10s])", 3},
        {"max_over_time({a=\"b\"} | unwrap x [10s])", 4},
        {"min_over_time({a=\"b\"} | unwrap x [10s])", 2},
        {"quantile_over_time(0.5, {a=\"b\"} | unwrap x [10s])", 3},
        {"quantile_over_time(0.25, {a=\"b\"} | unwrap x [10s])", 2.5},
        {"quantile_over_time(1, {a=\"b\"} | unwrap x [10s])", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cl_lq_matrix m;
        struct cl_lq_expr *e;
        eval_range(cases[i].q, &m, &e);
        const struct cl_lq_series *info = find(&m, "level", "info");
        assert_non_null(info);
        if (fabs(info->v[0] - cases[i].point10) > 1e-12)
            fail_msg("%s: %g, want %g", cases[i].q, info->v[0], cases[i].point10);
        cl_lq_matrix_free(&m);
        cl_logql_free(e);
    }
}

static void test_series_limit(void **state)
{
    (void)state;
    struct cl_lq_expr *e = parse("count_over_time({a=\"b\"}[1m])");
    struct cl_lq_window w = {.start_ms = 0, .end_ms = 0, .step_ms = 1000, .max_series = 2};
    struct cl_lq_range_acc *a = cl_lq_range_acc_new(e, &w);
    add(a, "a", "info", 0, 1);
    add(a, "b", "info", 0, 1);
    add(a, "a", "info", 0, 1); /* existing series: fine */
    const char *names[] = {"service"}, *values[] = {"c"};
    assert_int_equal(cl_lq_range_acc_add(a, names, values, 1, 0, 1), -1);
    cl_lq_range_acc_free(a);
    w.end_ms = (int64_t)CL_LQ_MAX_POINTS * 1000; /* one point too many */
    assert_null(cl_lq_range_acc_new(e, &w));
    w.end_ms -= 1000;
    assert_int_equal(cl_lq_window_points(&w), CL_LQ_MAX_POINTS);
    cl_logql_free(e);
}

/* Three series over two points: api/info 1,5; api/error 3,2; web/info 2,(none). */
static void three_series(struct cl_lq_matrix *m)
{
    struct cl_lq_expr *e = parse("sum_over_time({a=\"b\"} | unwrap x [1s])");
    struct cl_lq_window w = {.start_ms = 0, .end_ms = 1000, .step_ms = 1000};
    struct cl_lq_range_acc *a = cl_lq_range_acc_new(e, &w);
    add(a, "api", "info", 0, 1);
    add(a, "api", "info", 1000, 5);
    add(a, "api", "error", 0, 3);
    add(a, "api", "error", 1000, 2);
    add(a, "web", "info", 0, 2);
    cl_lq_range_acc_finish(a, m);
    cl_lq_matrix_finish(m);
    cl_logql_free(e);
}

static void agg(const char *q, const struct cl_lq_matrix *in, struct cl_lq_matrix *out)
{
    struct cl_lq_expr *e = parse(q);
    cl_lq_vector_agg(e, in, out);
    cl_logql_free(e);
}

static void test_vector_aggregations(void **state)
{
    (void)state;
    struct cl_lq_matrix in, out;
    three_series(&in);
    struct {
        const char *q, *name, *value;
        double p0, p1; /* NAN: no point */
    } cases[] = {
        {"sum by (service) (count_over_time({a=\"b\"}[1s]))", "service", "api", 4, 7},
        {"sum without (level) (count_over_time({a=\"b\"}[1s]))", "service", "web", 2, NAN},
        {"avg by (level) (count_over_time({a=\"b\"}[1s]))", "level", "info", 1.5, 5},
        {"min by (service) (count_over_time({a=\"b\"}[1s]))", "service", "api", 1, 2},
        {"max by (service) (count_over_time({a=\"b\"}[1s]))", "service", "api", 3, 5},
        {"count by (level) (count_over_time({a=\"b\"}[1s]))", "level", "info", 2, 1},
        /* topk picks per point: api/error at 0 (3), api/info at 1 (5) */
        {"topk(1, count_over_time({a=\"b\"}[1s]))", "level", "error", 3, NAN},
        {"topk(1, count_over_time({a=\"b\"}[1s]))", "level", "info", NAN, 5},
        {"bottomk(1, count_over_time({a=\"b\"}[1s]))", "level", "info", 1, NAN},
        {"topk(1, count_over_time({a=\"b\"}[1s])) by (service)", "service", "web", 2, NAN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        agg(cases[i].q, &in, &out);
        const struct cl_lq_series *s = find(&out, cases[i].name, cases[i].value);
        if (!s)
            fail_msg("%s: no series %s=%s", cases[i].q, cases[i].name, cases[i].value);
        double want[2] = {cases[i].p0, cases[i].p1};
        for (int p = 0; p < 2; p++) {
            if (isnan(want[p]) ? s->has[p] : !s->has[p] || s->v[p] != want[p])
                fail_msg("%s point %d: has %d value %g, want %g", cases[i].q, p, s->has[p], s->v[p],
                         want[p]);
        }
        cl_lq_matrix_free(&out);
    }
    agg("sum(count_over_time({a=\"b\"}[1s]))", &in, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.s[0].n_labels, 0);
    assert_true(out.s[0].v[0] == 6 && out.s[0].v[1] == 7);
    cl_lq_matrix_free(&out);
    agg("topk(2, count_over_time({a=\"b\"}[1s]))", &in, &out);
    assert_int_equal(out.n, 3); /* web/info is in the top 2 at point 0 */
    cl_lq_matrix_free(&out);
    cl_lq_matrix_free(&in);
}

static void test_format_value(void **state)
{
    (void)state;
    char b[32];
    double v[] = {2, 0.5, 1.0 / 3, -4, NAN, INFINITY, -INFINITY, 1e20, 123456.789};
    const char *want[] = {"2",    "0.5",   "0.3333333333333333", "-4", "NaN", "+Inf",
                          "-Inf", "1e+20", "123456.789"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cl_lq_format_value(v[i], b);
        assert_string_equal(b, want[i]);
    }
}

static void test_params(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(lk_parse_time("1700000000123456789", 0, 0, &ms), 0);
    assert_int_equal(ms, 1700000000123LL);
    assert_int_equal(lk_parse_time("1700000000123456789", 0, 1, &ms), 0);
    assert_int_equal(ms, 1700000000124LL); /* a lower bound rounds up */
    assert_int_equal(lk_parse_time("1700000000", 0, 0, &ms), 0);
    assert_int_equal(ms, 1700000000000LL); /* 10 digits: seconds */
    assert_int_equal(lk_parse_time("1700000000.25", 0, 0, &ms), 0);
    assert_int_equal(ms, 1700000000250LL);
    assert_int_equal(lk_parse_time("2023-11-14T22:13:20Z", 0, 0, &ms), 0);
    assert_int_equal(ms, 1700000000000LL);
    assert_int_equal(lk_parse_time("15m", 1700000000000LL, 0, &ms), 0);
    assert_int_equal(ms, 1700000000000LL - 900000);
    assert_int_equal(lk_parse_time("yesterday", 0, 0, &ms), -1);
    assert_int_equal(lk_parse_duration("15", &ms), 0);
    assert_int_equal(ms, 15000);
    assert_int_equal(lk_parse_duration("0.5", &ms), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(lk_parse_duration("1m30s", &ms), 0);
    assert_int_equal(ms, 90000);
    assert_int_equal(lk_parse_duration("5x", &ms), -1);

    struct cl_loki_params p = {0};
    const char form[] = "query=%7Bservice%3D%22a+b%22%7D&limit=5&match%5B%5D=x&match%5B%5D=y&e";
    cl_loki_params_add_form(&p, form, strlen(form));
    assert_string_equal(cl_loki_param(&p, "query"), "{service=\"a b\"}");
    assert_string_equal(cl_loki_param(&p, "limit"), "5");
    assert_string_equal(cl_loki_param(&p, "match[]"), "y"); /* the last; both are kept */
    assert_int_equal(p.n, 5);
    assert_string_equal(cl_loki_param(&p, "e"), "");
    cl_loki_params_free(&p);
}

static void test_constants(void **state)
{
    (void)state;
    double v;
    int vec;
    assert_int_equal(lk_const_eval("vector(1)+vector(1)", &v, &vec), 0);
    assert_true(v == 2 && vec);
    assert_int_equal(lk_const_eval(" 2 * (3 + 4) - 10 / 4 ", &v, &vec), 0);
    assert_true(v == 11.5 && !vec);
    assert_int_equal(lk_const_eval("2 ^ 3 % 5", &v, &vec), 0);
    assert_true(v == 3);
    assert_int_equal(lk_const_eval("-vector(2)", &v, &vec), 0);
    assert_true(v == -2 && vec);
    const char *bad[] = {"", "vector(", "1 +", "sum(1)", "1 2", "{a=\"b\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(lk_const_eval(bad[i], &v, &vec), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_window_bounds), cmocka_unit_test(test_functions),
        cmocka_unit_test(test_series_limit),        cmocka_unit_test(test_vector_aggregations),
        cmocka_unit_test(test_format_value),        cmocka_unit_test(test_params),
        cmocka_unit_test(test_constants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
