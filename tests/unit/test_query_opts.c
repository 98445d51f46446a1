/* Unit tests of the query option set shared by `cloudlog query`/`tail` and GET /v1/query
 * (query_opts.c, query_params.c): one behaviour and one set of messages for both. */
#include "common.h"
#include "query_opts.h"
#include "query_params.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#define NOW 1764547200000LL /* 2025-12-01T00:00:00Z */

/* Runs GET /v1/query parameters k=v...; returns finish's result, p filled. */
static int params(struct cl_query_params *p, const char *const *kv, size_t n)
{
    cl_query_params_init(p);
    for (size_t i = 0; i + 1 < n; i += 2)
        if (cl_query_params_add(p, kv[i], kv[i + 1]) != 0)
            return -1;
    return cl_query_params_finish(p, NOW, CL_QUERY_MAX_LIMIT);
}

static void test_since_with_to_is_a_range(void **state)
{
    (void)state;
    struct cl_query_params p;
    const char *kv[] = {"since", "2h", "to", "1h"};
    assert_int_equal(params(&p, kv, 4), 0);
    assert_int_equal(p.q.from_ms, NOW - 2 * 3600000LL);
    assert_int_equal(p.q.to_ms, NOW - 3600000LL);
    cl_query_params_free(&p);
}

static void test_default_range_ends_now_inclusive(void **state)
{
    (void)state;
    struct cl_query_params p;
    assert_int_equal(params(&p, NULL, 0), 0);
    assert_int_equal(p.q.from_ms, NOW - 3600000LL);
    assert_int_equal(p.q.to_ms, NOW + 1); /* a record stamped now is in */
    assert_int_equal(p.q.limit, 100);
    cl_query_params_free(&p);
    /* the command line's range is the same */
    struct cl_query_opts o = {0};
    struct cl_query q = {0};
    struct cl_query_wheres w = {0};
    char err[256];
    assert_int_equal(cl_query_opts_build(&o, "--", NOW, 3600000LL, &q, &w, err, sizeof err), 0);
    assert_int_equal(q.to_ms, NOW + 1);
    cl_query_wheres_free(&w);
}

static void test_same_messages_both_ways(void **state)
{
    (void)state;
    struct cl_query_params p;
    const char *kv[] = {"since", "2h", "from", "3h"};
    assert_int_equal(params(&p, kv, 4), -1);
    assert_string_equal(p.err, "give since or from, not both");
    cl_query_params_free(&p);
    struct cl_query_opts o = {.since = "2h", .from = "3h"};
    struct cl_query q = {0};
    struct cl_query_wheres w = {0};
    char err[256];
    assert_int_equal(cl_query_opts_build(&o, "--", NOW, 3600000LL, &q, &w, err, sizeof err), -1);
    assert_string_equal(err, "give --since or --from, not both");
    cl_query_wheres_free(&w);

    const char *lv[] = {"level", "loud"};
    assert_int_equal(params(&p, lv, 2), -1);
    assert_non_null(strstr(p.err, "unknown level 'loud'"));
    cl_query_params_free(&p);
    const char *wv[] = {"where", "novalue"};
    assert_int_equal(params(&p, wv, 2), -1);
    assert_string_equal(p.err, "bad where 'novalue' (expected FIELD=VALUE)");
    cl_query_params_free(&p);
    const char *ev[] = {"from", "2026-01-02T00:00:00Z", "to", "2026-01-01T00:00:00Z"};
    assert_int_equal(params(&p, ev, 4), -1);
    assert_non_null(strstr(p.err, "empty time range"));
    cl_query_params_free(&p);
}

static void test_http_parameters(void **state)
{
    (void)state;
    struct cl_query_params p;
    const char *kv[] = {"service", "api",        "service",     "web-*", "level", "warn+",
                        "where",   "status=500", "ignore_case", "",      "grep",  "x",
                        "order",   "oldest",     "limit",       "5"};
    assert_int_equal(params(&p, kv, CL_ARRAY_LEN(kv)), 0);
    assert_int_equal(p.q.n_services, 2);
    assert_string_equal(p.q.services[1], "web-*");
    assert_int_equal(p.q.n_where, 1);
    assert_string_equal(p.q.where[0].field, "status");
    assert_string_equal(p.q.where[0].value, "500");
    assert_int_equal(p.q.grep_icase, 1);
    assert_int_equal(p.q.order, CL_ORDER_OLDEST);
    assert_int_equal(p.q.limit, 5);
    cl_query_params_free(&p);
    const char *zero[] = {"limit", "0"};
    assert_int_equal(params(&p, zero, 2), -1);
    assert_string_equal(p.err, "limit must be between 1 and 100000");
    cl_query_params_free(&p);
    const char *unknown[] = {"colour", "red"};
    assert_int_equal(params(&p, unknown, 2), -1);
    assert_string_equal(p.err, "unknown parameter 'colour'");
    cl_query_params_free(&p);
    const char *bad[] = {"order", "random"};
    assert_int_equal(params(&p, bad, 2), -1);
    assert_non_null(strstr(p.err, "invalid value 'random' for order"));
    cl_query_params_free(&p);
    cl_query_params_init(&p);
    for (int i = 0; i <= CL_QUERY_MAX_LIST; i++)
        if (cl_query_params_add(&p, "service", "s") != 0)
            break;
    assert_non_null(strstr(p.err, "too many service values"));
    cl_query_params_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_since_with_to_is_a_range),
        cmocka_unit_test(test_default_range_ends_now_inclusive),
        cmocka_unit_test(test_same_messages_both_ways),
        cmocka_unit_test(test_http_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
