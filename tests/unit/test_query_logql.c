/* test_query_logql.c - the LogQL parser: every supported form parses to the expected AST
 * (printed back canonically, and the canonical text parses to itself); unsupported and
 * broken forms fail with the expected message and position; and our parser accepts
 * exactly the "ok" lines of tests/logql/queries.txt (the list Grafana's grammar checks). */
#include "logql.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse_case {
    const char *query;
    const char *canonical;
};

static const struct parse_case parses[] = {
    {"{service=\"api\"}", "{service=\"api\"}"},
    {"{ service = \"api\" , level != `debug` }", "{service=\"api\", level!=\"debug\"}"},
    {"{a=~\"x|y\", b!~\"z\"}", "{a=~\"x|y\", b!~\"z\"}"},
    {"{a=\"\\x41\\u00e9\\101\\\"\\n\"}", "{a=\"A\xc3\xa9"
                                         "A\\\"\\n\"}"},
    {"{a=`raw \\d+`}", "{a=\"raw \\\\d+\"}"},
    {"{a=\"b\"} |= \"x\" != \"y\" |~ \"z\" !~ \"w\"",
     "{a=\"b\"} |= \"x\" != \"y\" |~ \"z\" !~ \"w\""},
    {"{a=\"b\"} |= \"x\" or \"y\" or `z`", "{a=\"b\"} |= \"x\" or \"y\" or \"z\""},
    {"{a=\"b\"} | json", "{a=\"b\"} | json"},
    {"{a=\"b\"} | json s=\"r.status\", m", "{a=\"b\"} | json s=\"r.status\", m=\"m\""},
    {"{a=\"b\"} | logfmt", "{a=\"b\"} | logfmt"},
    {"{a=\"b\"} | json | s >= 500", "{a=\"b\"} | json | s >= 500"},
    {"{a=\"b\"} | json | s = 200", "{a=\"b\"} | json | s == 200"},
    {"{a=\"b\"} | json | s != 200", "{a=\"b\"} | json | s != 200"},
    {"{a=\"b\"} | json | s != \"200\"", "{a=\"b\"} | json | s!=\"200\""},
    {"{a=\"b\"} | json | p =~ \"/a.*\" | q !~ \"b\"", "{a=\"b\"} | json | p=~\"/a.*\" | q!~\"b\""},
    {"{a=\"b\"} | logfmt | d > 5s", "{a=\"b\"} | logfmt | d > 5s"},
    {"{a=\"b\"} | logfmt | d <= 1h30m", "{a=\"b\"} | logfmt | d <= 5400s"},
    {"{a=\"b\"} | logfmt | d < 250ms", "{a=\"b\"} | logfmt | d < 0.25s"},
    {"{a=\"b\"} | logfmt | n < 10MB", "{a=\"b\"} | logfmt | n < 10000000B"},
    {"{a=\"b\"} | logfmt | n >= 1KiB", "{a=\"b\"} | logfmt | n >= 1024B"},
    {"{a=\"b\"} | json | x > -1.5", "{a=\"b\"} | json | x > -1.5"},
    {"{a=\"b\"} | json | x > 1 and y=\"2\" or z < 3",
     "{a=\"b\"} | json | x > 1 and y=\"2\" or z < 3"},
    {"{a=\"b\"} | json | x > 1, y=\"2\"", "{a=\"b\"} | json | x > 1 and y=\"2\""},
    {"{a=\"b\"} | json | x > 1 and (y=\"2\" or z < 3)",
     "{a=\"b\"} | json | x > 1 and (y=\"2\" or z < 3)"},
    {"{a=\"b\"} | json | (x > 1 or y=\"2\") and z < 3",
     "{a=\"b\"} | json | (x > 1 or y=\"2\") and z < 3"},
    {"{a=\"b\"} | json | ((x > 1)) and (y=\"2\" and z < 3) or (w=\"4\" or v=\"5\")",
     "{a=\"b\"} | json | x > 1 and (y=\"2\" and z < 3) or (w=\"4\" or v=\"5\")"},
    {"{a=\"b\"} | drop __error__", "{a=\"b\"} | drop __error__"},
    {"{a=\"b\"} | json | drop x,y | x=\"\"", "{a=\"b\"} | json | drop x, y | x=\"\""},
    {"{a=\"b\"} | json | line_format \"{{.m}} {{.p}}\"",
     "{a=\"b\"} | json | line_format \"{{.m}} {{.p}}\""},
    {"count_over_time({a=\"b\"}[5m])", "count_over_time({a=\"b\"} [5m])"},
    {"count_over_time({a=\"b\"} |= \"e\" [300s])", "count_over_time({a=\"b\"} |= \"e\" [5m])"},
    {"count_over_time({a=\"b\"}[5m] |= \"e\")", "count_over_time({a=\"b\"} |= \"e\" [5m])"},
    {"rate({a=\"b\"}[1h])", "rate({a=\"b\"} [1h])"},
    {"bytes_over_time({a=\"b\"}[90s])", "bytes_over_time({a=\"b\"} [90s])"},
    {"bytes_rate({a=\"b\"}[500ms])", "bytes_rate({a=\"b\"} [500ms])"},
    {"sum by (service) (rate({level=\"error\"}[5m]))",
     "sum by (service) (rate({level=\"error\"} [5m]))"},
    {"sum(rate({level=\"error\"}[5m])) by (service, level)",
     "sum by (service, level) (rate({level=\"error\"} [5m]))"},
    {"avg without (level) (count_over_time({a=\"b\"}[5m]))",
     "avg without (level) (count_over_time({a=\"b\"} [5m]))"},
    {"min(count_over_time({a=\"b\"}[5m]))", "min(count_over_time({a=\"b\"} [5m]))"},
    {"max by () (count_over_time({a=\"b\"}[5m]))", "max by () (count_over_time({a=\"b\"} [5m]))"},
    {"count(rate({a=\"b\"}[5m]))", "count(rate({a=\"b\"} [5m]))"},
    {"topk(5, sum by (s) (rate({a=\"b\"}[5m])))", "topk(5, sum by (s) (rate({a=\"b\"} [5m])))"},
    {"bottomk by (s) (3, rate({a=\"b\"}[5m]))", "bottomk by (s) (3, rate({a=\"b\"} [5m]))"},
    {"sum_over_time({a=\"b\"} | json | unwrap n [5m])",
     "sum_over_time({a=\"b\"} | json | unwrap n [5m])"},
    {"avg_over_time({a=\"b\"} | logfmt | unwrap n [5m])",
     "avg_over_time({a=\"b\"} | logfmt | unwrap n [5m])"},
    {"max_over_time({a=\"b\"} | json | x > 1 | unwrap n [5m])",
     "max_over_time({a=\"b\"} | json | x > 1 | unwrap n [5m])"},
    {"min_over_time({a=\"b\"} | json | unwrap n [5m])",
     "min_over_time({a=\"b\"} | json | unwrap n [5m])"},
    {"quantile_over_time(0.99, {a=\"b\"} | json | unwrap latency [5m])",
     "quantile_over_time(0.98999999999999999, {a=\"b\"} | json | unwrap latency [5m])"},
    {"(sum(rate({a=\"b\"}[5m])))", "sum(rate({a=\"b\"} [5m]))"},
};

struct error_case {
    const char *query;
    const char *error;
};

static const struct error_case errors[] = {
    {"{service=\"api\"} | pattern \"<_>\"", "unsupported: pattern parser `| pattern` at 1:19"},
    {"{a=\"b\"} | regexp \"x\"", "unsupported: regexp parser `| regexp` at 1:11"},
    {"{a=\"b\"} | unpack", "unsupported: unpack parser `| unpack` at 1:11"},
    {"{a=\"b\"} | json | label_format x=y", "unsupported: `| label_format` at 1:18"},
    {"{a=\"b\"} | json | drop x=\"1\"", "unsupported: `| drop` with a label matcher at 1:24"},
    {"{a=\"b\"} | json | keep x", "unsupported: `| keep` at 1:18"},
    {"{a=\"b\"} |> \"<_>\"", "unsupported: pattern line filter `|>` at 1:9"},
    {"{a=\"b\"} !> \"<_>\"", "unsupported: pattern line filter `!>` at 1:9"},
    {"{a=\"b\"} |= ip(\"1.2.3.4\")", "unsupported: IP line filter `ip(...)` at 1:12"},
    {"{a=\"b\"} | json | x = ip(\"1.2.3.4\")",
     "unsupported: label filter function `ip(...)` at 1:22"},
    {"{a=\"b\"} | logfmt --strict", "unsupported: `| logfmt` flags or extraction at 1:18"},
    {"{a=\"b\"} | unwrap x",
     "unsupported: `| unwrap` outside an unwrapped range aggregation at 1:11"},
    {"rate({a=\"b\"}[5m]) / 2", "unsupported: binary operator `/` at 1:19"},
    {"rate({a=\"b\"}[5m]) > 10", "unsupported: binary operator `>` at 1:19"},
    {"rate({a=\"b\"}[5m]) or rate({c=\"d\"}[5m])", "unsupported: binary operator `or` at 1:19"},
    {"rate({a=\"b\"}[5m] offset 1h)", "unsupported: `offset` at 1:18"},
    {"absent_over_time({a=\"b\"}[5m])", "unsupported: function `absent_over_time` at 1:1"},
    {"first_over_time({a=\"b\"} | unwrap x [5m])",
     "unsupported: function `first_over_time` at 1:1"},
    {"stddev(rate({a=\"b\"}[5m]))", "unsupported: function `stddev` at 1:1"},
    {"sum(vector(1))", "unsupported: function `vector` at 1:5"},
    {"avg_over_time({a=\"b\"} | unwrap duration(x) [5m])",
     "unsupported: unwrap conversion `duration(...)` at 1:32"},
    {"avg_over_time({a=\"b\"} | unwrap x | y > 1 [5m])",
     "unsupported: pipeline stages after `| unwrap` at 1:34"},
    {"avg_over_time({a=\"b\"} | unwrap x [5m]) by (y)",
     "unsupported: grouping on a range aggregation at 1:40"},
    {"{a=\"b\"", "syntax error: expected `}` at 1:7"},
    {"{}", "syntax error: expected a label name at 1:2"},
    {"{a=b}", "syntax error: expected a label value (a string) at 1:4"},
    {"{a=\"b\"} |= \"x", "syntax error: unterminated string at 1:12"},
    {"{a=\"\\q\"}", "syntax error: invalid escape in string at 1:5"},
    {"{a=\"b\"} | json | x > \"1\"",
     "syntax error: expected a number, duration or byte size at 1:22"},
    {"{a=\"b\"} | json | x > 5parsecs", "syntax error: unknown unit at 1:23"},
    {"sum({a=\"b\"})", "syntax error: `sum` needs a metric expression at 1:5"},
    {"rate({a=\"b\"})", "syntax error: expected `[` at 1:13"},
    {"rate({a=\"b\"}[5])", "syntax error: expected a duration such as 5m at 1:14"},
    {"sum_over_time({a=\"b\"}[5m])",
     "syntax error: `sum_over_time` needs `| unwrap field` at 1:26"},
    {"topk(rate({a=\"b\"}[5m]))", "syntax error: expected k (a positive whole number) at 1:6"},
    {"{a=\"b\"} {c=\"d\"}", "syntax error: unexpected input after the end of the query at 1:9"},
    {"{a=\"b\"}\n  | pattern \"x\"", "unsupported: pattern parser `| pattern` at 2:5"},
    {"", "syntax error: expected a stream selector `{...}` or a metric function at 1:1"},
    {"{a=\"b\"} | json | x > 1e999", "syntax error: number out of range at 1:22"},
    {"rate({a=\"b\"}[1e999h])", "syntax error: number out of range at 1:14"},
};

static void test_parses_to_canonical(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parses / sizeof parses[0]; i++) {
        struct cl_lq_expr *e = NULL, *again = NULL;
        char err[256] = "", printed[1024], reprinted[1024];
        if (cl_logql_parse(parses[i].query, &e, err, sizeof err) != 0)
            fail_msg("%s: %s", parses[i].query, err);
        cl_logql_print(e, printed, sizeof printed);
        if (strcmp(printed, parses[i].canonical) != 0)
            fail_msg("%s printed as %s, want %s", parses[i].query, printed, parses[i].canonical);
        /* The canonical form is a fixed point. */
        assert_int_equal(cl_logql_parse(printed, &again, err, sizeof err), 0);
        cl_logql_print(again, reprinted, sizeof reprinted);
        assert_string_equal(reprinted, printed);
        cl_logql_free(e);
        cl_logql_free(again);
    }
}

static void test_errors(void **state)
{
    (void)state;
    int wrong = 0; /* every case is checked and reported before the test fails */
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        struct cl_lq_expr *e = (struct cl_lq_expr *)1;
        char err[256] = "";
        if (cl_logql_parse(errors[i].query, &e, err, sizeof err) == 0)
            fail_msg("%s: parsed, want %s", errors[i].query, errors[i].error);
        assert_null(e);
        if (strcmp(err, errors[i].error) != 0) {
            print_error("%s: error %s, want %s\n", errors[i].query, err, errors[i].error);
            wrong++;
        }
    }
    assert_int_equal(wrong, 0);
}

static void test_ast_fields(void **state)
{
    (void)state;
    struct cl_lq_expr *e;
    char err[256];
    assert_int_equal(cl_logql_parse("{a=\"b\"} | json | d > 2m and n <= 1kB", &e, err, sizeof err),
                     0);
    const struct cl_lq_label_filter *f = e->log.stages[1].filter;
    assert_int_equal(f->kind, CL_LQ_LF_AND);
    assert_int_equal(f->left->unit, CL_LQ_DURATION);
    assert_true(f->left->number == 120);
    assert_int_equal(f->right->unit, CL_LQ_BYTES);
    assert_true(f->right->number == 1000);
    cl_logql_free(e);
    assert_int_equal(
        cl_logql_parse("topk(3, sum_over_time({a=\"b\"} | unwrap x [2h]))", &e, err, sizeof err),
        0);
    assert_int_equal(e->kind, CL_LQ_VECTOR_AGG);
    assert_int_equal(e->k, 3);
    assert_int_equal(e->inner->range_ms, 2 * 3600 * 1000);
    assert_string_equal(e->inner->unwrap, "x");
    cl_logql_free(e);
}

/* Every "ok" line of the shared list parses; every "unsupported" line fails with an
 * "unsupported: " message (not a syntax error: they are valid LogQL). */
static void test_shared_query_list(void **state)
{
    (void)state;
    FILE *f = fopen(CL_LOGQL_QUERIES, "r");
    assert_non_null(f);
    char line[2048];
    int ok = 0, unsupported = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (line[0] == '#' || !tab)
            continue;
        *tab = '\0';
        struct cl_lq_expr *e = NULL;
        char err[256] = "";
        int rc = cl_logql_parse(tab + 1, &e, err, sizeof err);
        cl_logql_free(e);
        if (strcmp(line, "ok") == 0) {
            if (rc != 0)
                fail_msg("ok query rejected: %s: %s", tab + 1, err);
            ok++;
        } else {
            if (rc == 0 || strncmp(err, "unsupported: ", 13) != 0)
                fail_msg("unsupported query: %s: got rc %d, %s", tab + 1, rc, err);
            unsupported++;
        }
    }
    fclose(f);
    assert_true(ok >= 40);
    assert_true(unsupported >= 20);
}

/* Deep nesting is refused, not a stack overflow. */
static void test_nesting_limit(void **state)
{
    (void)state;
    char q[4096], err[256];
    struct cl_lq_expr *e;
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        q[n++] = '(';
    snprintf(q + n, sizeof q - n, "rate({a=\"b\"}[5m])");
    assert_int_equal(cl_logql_parse(q, &e, err, sizeof err), -1);
    assert_string_equal(err, "syntax error: nested deeper than 64 at 1:65");
    n = (size_t)snprintf(q, sizeof q, "{a=\"b\"} | ");
    for (int i = 0; i < 1000; i++)
        q[n++] = '(';
    snprintf(q + n, sizeof q - n, "x=\"1\"");
    assert_int_equal(cl_logql_parse(q, &e, err, sizeof err), -1);
    assert_string_equal(err, "syntax error: nested deeper than 64 at 1:74");
    n = 0; /* 30 levels parse */
    for (int i = 0; i < 30; i++)
        q[n++] = '(';
    n += (size_t)snprintf(q + n, sizeof q - n, "rate({a=\"b\"}[5m])");
    for (int i = 0; i < 30; i++)
        q[n++] = ')';
    q[n] = '\0';
    assert_int_equal(cl_logql_parse(q, &e, err, sizeof err), 0);
    cl_logql_free(e);
}

/* A long chain of `,`-joined filters (no parentheses) prints back to a text that parses: the
 * printer once parenthesised each join, 100 nested levels past the parser's limit of 64
 * (found by fuzz_logql). */
static void test_long_filter_chain_round_trips(void **state)
{
    (void)state;
    char q[4096], printed[8192], reprinted[8192], err[256];
    struct cl_lq_expr *e = NULL, *again = NULL;
    size_t n = (size_t)snprintf(q, sizeof q, "{a=\"b\"} | x0=\"v\"");
    for (int i = 1; i < 100; i++)
        n += (size_t)snprintf(q + n, sizeof q - n, i % 2 ? ",x%d=\"v\"" : " and x%d=\"v\"", i);
    assert_int_equal(cl_logql_parse(q, &e, err, sizeof err), 0);
    assert_true(cl_logql_print(e, printed, sizeof printed) < sizeof printed);
    if (cl_logql_parse(printed, &again, err, sizeof err) != 0)
        fail_msg("canonical form %s does not parse: %s", printed, err);
    cl_logql_print(again, reprinted, sizeof reprinted);
    assert_string_equal(reprinted, printed);
    cl_logql_free(e);
    cl_logql_free(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_to_canonical),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_ast_fields),
        cmocka_unit_test(test_shared_query_list),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_long_filter_chain_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
