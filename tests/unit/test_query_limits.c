/* test_query_limits.c - a query's budget: regex limits and JIT stack, deadline, byte
 * budget, cancellation, and query times out of range. */
#include "catalog.h"
#include "codec.h"
#include "common.h"
#include "query.h"
#include "query_params.h"
#include "queue.h"
#include "record.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_RECORDS 50
#define RUN_LEN 20000 /* a/b characters: well past the JIT's default 32 KiB stack */
#define HOUR (3600LL * 1000)

static char test_dir[512];
static struct cl_store store;
static struct cl_queue queue;
static int64_t t_base; /* 2026-11-25T10:00:00Z */

/* One object of N_RECORDS records whose message is a long run of 'a' and 'b'. */
static void build_store(void)
{
    char url[700], err[256], ts[25];
    snprintf(url, sizeof url, "%s/logs", test_dir);
    assert_int_equal(cl_store_open(&store, url, err, sizeof err), CL_OK);
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 0;
    snprintf(url, sizeof url, "sqlite:%s/queue.db", test_dir);
    assert_int_equal(cl_queue_open(&queue, url, &o, err, sizeof err), CL_OK);
    struct cl_buf raw, gz;
    cl_buf_init(&raw, SIZE_MAX);
    cl_buf_init(&gz, SIZE_MAX);
    for (int i = 0; i < N_RECORDS; i++) {
        cl_format_timestamp(t_base + i * 1000, ts);
        cl_buf_printf(&raw,
                      "{\"timestamp\":\"%.24s\",\"level\":\"info\",\"service\":\"rx\","
                      "\"message\":\"",
                      ts);
        for (int j = 0; j < RUN_LEN; j++)
            cl_buf_append_char(&raw, j % 3 ? 'a' : 'b');
        cl_buf_append_str(&raw, "\"}\n");
    }
    assert_int_equal(cl_gzip_compress(raw.data, raw.len, 1, &gz), CL_OK);
    static const char key[] = "service=rx/dt=2026-11-25/hour=10/o1.ndjson.gz";
    assert_int_equal(cl_store_put(&store, key, gz.data, gz.len), CL_OK);
    struct cl_catalog_object m = {.key = key,
                                  .service = "rx",
                                  .dt = "2026-11-25",
                                  .hour = 10,
                                  .records = N_RECORDS,
                                  .bytes = gz.len,
                                  .raw_bytes = raw.len,
                                  .min_ts_ms = t_base,
                                  .max_ts_ms = t_base + (N_RECORDS - 1) * 1000};
    m.level_counts[CL_LEVEL_INFO] = N_RECORDS;
    int64_t id;
    struct cl_catalog_flush f = {.obj = &m, .object_id = &id};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&queue), &f, NULL), CL_OK);
    assert_int_equal(cl_catalog_mark_published(cl_queue_catalog(&queue), id), CL_OK);
    cl_buf_free(&raw);
    cl_buf_free(&gz);
}

static struct cl_query count_query(const char *regex)
{
    return (struct cl_query){
        .from_ms = t_base, .to_ms = t_base + HOUR, .regex = regex, .count_only = 1, .threads = 1};
}

/* Runs q with and without the catalog (both must agree); *st gets the catalog run's. */
static int run(const struct cl_query *q, struct cl_query_stats *st, char *err, size_t len)
{
    struct cl_query_source listing = {&store, NULL}, catalog = {&store, cl_queue_catalog(&queue)};
    struct cl_query_stats other;
    int rc = cl_query_run(&listing, q, NULL, NULL, NULL, &other, err, len);
    assert_int_equal(cl_query_run(&catalog, q, NULL, NULL, NULL, st, err, len), rc);
    assert_int_equal(other.stopped, st->stopped);
    assert_int_equal(other.records_matched, st->records_matched);
    return rc;
}

/* A repeated group over a long run overflows the JIT's default stack: it must match
 * (the issue's (?:a|b)+"\} counted 0 where every record matches). */
static void test_jit_stack(void **state)
{
    struct cl_query q = count_query("(?:a|b)+\"\\}");
    struct cl_query_stats st;
    char err[512] = "";
    assert_int_equal(run(&q, &st, err, sizeof err), CL_OK);
    assert_int_equal(st.records_matched, N_RECORDS);
    assert_int_equal(st.stopped, CL_QUERY_COMPLETE);
}

/* Catastrophic backtracking hits the match limit: the query fails and says why, it
 * never reports "0 matches". The pattern's longest literal (message":") is in every
 * record, so the regex runs on each (a literal absent from a record keeps the regex off
 * it: "}}" alone would give an exact 0). */
static void test_match_limit_fails_query(void **state)
{
    struct cl_query q = count_query("message\":\"(.*a){12}\\}\\}");
    struct cl_query_stats st;
    char err[512] = "";
    q.regex_match_limit = 100000;
    assert_int_equal(run(&q, &st, err, sizeof err), CL_ERR_INVAL);
    assert_int_equal(st.stopped, CL_QUERY_REGEX);
    assert_non_null(strstr(err, "match limit"));
    assert_non_null(strstr(err, "--regex-match-limit"));
    /* the heap limit of the interpreter (a JIT stack overflow falls back to it) */
    q = count_query("(?:a|b)+\"\\}");
    q.regex_heap_limit = 1;                                 /* KiB granularity: the smallest heap */
    assert_int_equal(run(&q, &st, err, sizeof err), CL_OK); /* the JIT needs no heap */
}

/* Takes 5 ms per call, so a 1 ms deadline has passed at the next check at the latest. */
static int sleepy_cancel(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return 0;
}

static int always_cancel(void *arg)
{
    (void)arg;
    return 1;
}

static void test_deadline_budget_cancel(void **state)
{
    struct cl_query_stats st;
    char err[512] = "";
    struct cl_query q = count_query("a\"\\}");
    q.timeout_ms = 1;
    q.cancelled = sleepy_cancel;
    assert_int_equal(run(&q, &st, err, sizeof err), CL_ERR_TOO_LARGE);
    assert_int_equal(st.stopped, CL_QUERY_DEADLINE);
    assert_non_null(strstr(err, "deadline"));

    q = count_query("a\"\\}");
    q.max_bytes = 1000; /* the object decompresses to ~1 MB */
    assert_int_equal(run(&q, &st, err, sizeof err), CL_ERR_TOO_LARGE);
    assert_int_equal(st.stopped, CL_QUERY_BUDGET);
    assert_non_null(strstr(err, "budget"));
    q.max_bytes = 100u << 20;
    assert_int_equal(run(&q, &st, err, sizeof err), CL_OK);
    assert_int_equal(st.records_matched, N_RECORDS);

    q = count_query(NULL);
    q.cancelled = always_cancel;
    assert_int_equal(run(&q, &st, err, sizeof err), CL_ERR_CLOSED);
    assert_int_equal(st.stopped, CL_QUERY_CANCELLED);
}

/* since=9223372036854775807ms once gave an empty range silently. */
static void test_time_out_of_range(void **state)
{
    int64_t now = cl_now_ms(), out;
    assert_int_equal(cl_query_parse_time("9223372036854775807ms", now, &out), -2);
    assert_int_equal(cl_query_parse_time("99999999999999999999999ms", now, &out), -2);
    assert_int_equal(cl_query_parse_time("1000000d", now, &out), -2);
    assert_int_equal(cl_query_parse_time("3d", now, &out), 0);
    assert_int_equal(out, now - 3 * 86400000LL);
    assert_int_equal(cl_query_parse_time("0001-01-01T00:00:00Z", now, &out), 0);
    assert_int_equal(cl_query_parse_time("yesterday", now, &out), -1);
    assert_int_equal(cl_query_parse_time("5x", now, &out), -1);

    struct cl_query_params p;
    cl_query_params_init(&p);
    assert_int_equal(cl_query_params_add(&p, "since", "9223372036854775807ms"), 0);
    assert_int_equal(cl_query_params_finish(&p, now, CL_QUERY_MAX_LIMIT), -1);
    assert_non_null(strstr(p.err, "out of range"));
    cl_query_params_free(&p);
    cl_query_params_init(&p);
    assert_int_equal(cl_query_params_add(&p, "to", "nonsense"), 0);
    assert_int_equal(cl_query_params_finish(&p, now, CL_QUERY_MAX_LIMIT), -1);
    assert_non_null(strstr(p.err, "invalid to"));
    cl_query_params_free(&p);
}

static int setup(void **state)
{
    const char *base = getenv("CL_TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/query_limits_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(test_dir))
        return -1;
    if (cl_parse_timestamp_text("2026-11-25T10:00:00Z", 20, &t_base) != 0)
        return -1;
    build_store();
    return 0;
}

static int teardown(void **state)
{
    cl_queue_close(&queue);
    cl_store_close(&store);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jit_stack),
        cmocka_unit_test(test_match_limit_fails_query),
        cmocka_unit_test(test_deadline_budget_cancel),
        cmocka_unit_test(test_time_out_of_range),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
