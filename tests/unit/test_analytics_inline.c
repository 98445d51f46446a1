/* test_analytics_inline.c - the processor's inline analytics (analytics.h) and its catalog
 * (analytics_db.h): per-minute counts per pattern and level, ids stable across a restart,
 * the caps on patterns and services, generalizations folded in the catalog, and the
 * detectors on a service's minute series (error burst, new pattern, silence). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analytics.h"
#include "analytics_db.h"
#include "analytics_test_line.h"
#include "buf.h"
#include "common.h"
#include "miner.h"
#include "record.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE_MS 1767268800000LL /* 2026-01-01T12:00:00Z */
#define MIN_MS 60000LL

static void observe(struct cl_analytics *a, struct cl_buf *b)
{
    cl_analytics_observe(a, b->data, b->len);
    cl_buf_reset(b);
}

static uint64_t total(const struct cl_analytics_batch *d)
{
    uint64_t n = 0;
    for (size_t i = 0; i < d->n_counts; i++)
        n += d->counts[i].count;
    return n;
}

static uint64_t count_of(const struct cl_analytics_batch *d, const char *svc, int64_t minute,
                         int level)
{
    uint64_t n = 0;
    for (size_t i = 0; i < d->n_counts; i++)
        if (!strcmp(d->counts[i].service, svc) && d->counts[i].minute == minute &&
            d->counts[i].level == level)
            n += d->counts[i].count;
    return n;
}

static void test_counts_per_minute_and_level(void **state)
{
    struct cl_analytics *a = cl_analytics_new(NULL);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    char msg[64];
    for (int m = 0; m < 3; m++)
        for (int i = 0; i < 10; i++) {
            snprintf(msg, sizeof msg, "GET /item/%d took %d ms", i, m);
            cl_test_line(&b, BASE_MS + m * MIN_MS + i * 1000, i < 2 ? "error" : "info", "api", msg);
        }
    cl_test_line(&b, BASE_MS, "info", "db", "checkpoint done");
    cl_test_line(&b, BASE_MS, "no-such-level-line", "db", "skipped: not a normalized line");
    observe(a, &b);
    struct cl_analytics_batch d;
    cl_analytics_drain(a, &d);
    assert_int_equal(total(&d), 31);
    for (int m = 0; m < 3; m++) {
        assert_int_equal(count_of(&d, "api", BASE_MS / MIN_MS + m, CL_LEVEL_ERROR), 2);
        assert_int_equal(count_of(&d, "api", BASE_MS / MIN_MS + m, CL_LEVEL_INFO), 8);
    }
    assert_int_equal(count_of(&d, "db", BASE_MS / MIN_MS, CL_LEVEL_INFO), 1);
    /* one catalog entry per pattern, with its first record as the example */
    size_t upserts = 0;
    for (size_t i = 0; i < d.n_patterns; i++)
        if (d.patterns[i].tmpl) {
            upserts++;
            if (!strcmp(d.patterns[i].service, "api")) {
                assert_string_equal(d.patterns[i].tmpl, "GET <*> took <*>");
                assert_non_null(strstr(d.patterns[i].example, "GET /item/0 took 0 ms"));
                assert_int_equal(d.patterns[i].first_ms, BASE_MS);
            }
        }
    assert_int_equal(upserts, 2);
    cl_analytics_batch_free(&d);
    cl_analytics_drain(a, &d); /* a drain empties what is pending */
    assert_int_equal(d.n_counts + d.n_patterns, 0);
    cl_analytics_batch_free(&d);
    cl_buf_free(&b);
    cl_analytics_free(a);
}

/* The ids of everything drained, in order of the counts. */
static void ids_of(struct cl_analytics *a, uint64_t *ids, size_t *n)
{
    struct cl_analytics_batch d;
    cl_analytics_drain(a, &d);
    *n = 0;
    for (size_t i = 0; i < d.n_patterns; i++)
        if (d.patterns[i].tmpl)
            ids[(*n)++] = d.patterns[i].id;
    cl_analytics_batch_free(&d);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void test_ids_stable_across_restart(void **state)
{
    uint64_t first[16], second[16];
    size_t n1, n2;
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    for (int run = 0; run < 2; run++) {
        struct cl_analytics *a = cl_analytics_new(NULL); /* a restart: nothing carried over */
        for (int i = 0; i < 40; i++) {
            char msg[96];
            snprintf(msg, sizeof msg, "connection %d from 10.0.%d.%d closed after %d s", i, run, i,
                     i * 3);
            cl_test_line(&b, BASE_MS + (run * 100 + i) * 1000, "info", "edge", msg);
            snprintf(msg, sizeof msg, "user u%d logged in", i + run);
            cl_test_line(&b, BASE_MS + (run * 100 + i) * 1000, "info", "auth", msg);
        }
        observe(a, &b);
        ids_of(a, run ? second : first, run ? &n2 : &n1);
        cl_analytics_free(a);
    }
    assert_int_equal(n1, 2);
    assert_int_equal(n2, 2);
    qsort(first, n1, sizeof *first, cmp_u64);
    qsort(second, n2, sizeof *second, cmp_u64);
    assert_memory_equal(first, second, n1 * sizeof *first);
    /* the id is the hash of the template: the same in every process and version */
    const char *t = "user u<*> logged in";
    uint64_t want = 0xcbf29ce484222325ULL;
    for (const char *p = t; *p; p++)
        want = (want ^ (unsigned char)*p) * 0x100000001b3ULL;
    assert_true(first[0] == want || first[1] == want);
    cl_buf_free(&b);
}

static void test_caps_on_patterns_and_services(void **state)
{
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    o.max_patterns = 16;
    o.max_new_per_minute = 1u << 20; /* evictions: no budget of new clusters per minute */
    o.max_services = 4;
    struct cl_analytics *a = cl_analytics_new(&o);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    char msg[96], svc[16];
    /* 1000 different events of one service: a word in each makes it a new pattern */
    static const char *const w[] = {"alpha",   "bravo", "charlie", "delta", "echo",
                                    "foxtrot", "golf",  "hotel",   "india", "juliet"};
    for (int i = 0; i < 1000; i++) {
        snprintf(msg, sizeof msg, "%s %s %s step done", w[i % 10], w[i / 10 % 10], w[i / 100]);
        cl_test_line(&b, BASE_MS + i, "info", "busy", msg);
    }
    observe(a, &b);
    struct cl_analytics_stats st;
    cl_analytics_stats(a, &st);
    assert_int_equal(st.patterns, 16);
    assert_int_equal(st.patterns_evicted, 1000 - 16);
    size_t bytes16 = st.miner_bytes;
    /* 10 services, one record each, with 4 kept: the 6 evicted still have their counts */
    for (int i = 0; i < 10; i++) {
        snprintf(svc, sizeof svc, "svc%d", i);
        cl_test_line(&b, BASE_MS + 5000 + i, "warn", svc, "disk almost full");
    }
    observe(a, &b);
    cl_analytics_stats(a, &st);
    assert_int_equal(st.services, 4);
    assert_int_equal(st.services_evicted, 7); /* "busy" and the 6 oldest svcN */
    assert_int_equal(st.patterns, 4);         /* "busy"'s miner went with it */
    assert_true(st.miner_bytes != bytes16);
    struct cl_analytics_batch d;
    cl_analytics_drain(a, &d);
    assert_int_equal(total(&d), 1010);
    cl_analytics_batch_free(&d);
    cl_buf_free(&b);
    cl_analytics_free(a);
}

static char db_path[512];

static struct cl_analytics_db *temp_db(void)
{
    const char *dir = getenv("CL_TMPDIR");
    snprintf(db_path, sizeof db_path, "%s/analytics-unit-%d.db", dir ? dir : "/tmp", (int)getpid());
    unlink(db_path);
    struct cl_analytics_db *db;
    char err[256];
    assert_int_equal(cl_analytics_db_open(db_path, 0, &db, err, sizeof err), 0);
    return db;
}

static void drop_db(struct cl_analytics_db *db)
{
    char p[600];
    cl_analytics_db_close(db);
    unlink(db_path);
    snprintf(p, sizeof p, "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db_path);
    unlink(p);
}

/* A template that generalizes (pool_a, then pool_b, in two drains): the catalog folds the
 * counts of the first template into the general one, one row, all records. */
static void test_catalog_folds_generalized_template(void **state)
{
    struct cl_analytics *a = cl_analytics_new(NULL);
    struct cl_analytics_db *db = temp_db();
    struct cl_buf b;
    struct cl_analytics_batch d;
    char err[256];
    cl_buf_init(&b, SIZE_MAX);
    for (int i = 0; i < 3; i++)
        cl_test_line(&b, BASE_MS + i, "info", "jobs", "worker started job pool_a now");
    observe(a, &b);
    cl_analytics_drain(a, &d);
    assert_int_equal(cl_analytics_db_apply(db, &d, BASE_MS, err, sizeof err), 0);
    cl_analytics_batch_free(&d);
    for (int i = 0; i < 2; i++)
        cl_test_line(&b, BASE_MS + MIN_MS + i, "error", "jobs", "worker started job pool_b now");
    observe(a, &b);
    cl_analytics_drain(a, &d);
    size_t renames = 0;
    for (size_t i = 0; i < d.n_patterns; i++)
        renames += d.patterns[i].tmpl == NULL;
    assert_int_equal(renames, 1);
    assert_int_equal(cl_analytics_db_apply(db, &d, BASE_MS, err, sizeof err), 0);
    cl_analytics_batch_free(&d);

    struct cl_pattern_query q = {.from_ms = BASE_MS - MIN_MS,
                                 .to_ms = BASE_MS + 10 * MIN_MS,
                                 .level_max = CL_LEVEL_COUNT - 1,
                                 .limit = 10};
    struct cl_pattern_row *rows;
    size_t n;
    assert_int_equal(cl_analytics_db_patterns(db, &q, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].tmpl, "worker started job <*> now");
    assert_int_equal(rows[0].count, 5);
    assert_int_equal(rows[0].errors, 2);
    assert_int_equal(rows[0].first_ms, BASE_MS);
    assert_non_null(strstr(rows[0].example, "pool_a"));
    cl_pattern_rows_free(rows, n);
    q.level_min = CL_LEVEL_ERROR; /* --level error+ */
    assert_int_equal(cl_analytics_db_patterns(db, &q, &rows, &n), 0);
    assert_int_equal(rows[0].count, 2);
    cl_pattern_rows_free(rows, n);
    drop_db(db);
    cl_buf_free(&b);
    cl_analytics_free(a);
}

/* 90 minutes of 30 records (1 error) a minute, then a minute with 20 errors of a new
 * pattern: an error-ratio anomaly and a new-pattern one, nothing before; then silence. */
static void test_detectors_on_minute_series(void **state)
{
    struct cl_analytics *a = cl_analytics_new(NULL);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    char msg[96];
    for (int m = 0; m < 90; m++) {
        for (int i = 0; i < 30; i++) {
            snprintf(msg, sizeof msg, "served request %d in %d ms", m * 30 + i, i);
            cl_test_line(&b, BASE_MS + m * MIN_MS + i * 2000, i ? "info" : "error", "shop",
                         i ? msg : "cache miss for key k0");
        }
        observe(a, &b);
    }
    struct cl_anomaly_event ev[8];
    assert_int_equal(cl_analytics_recent(a, ev, 8), 0);
    for (int i = 0; i < 30; i++) {
        snprintf(msg, sizeof msg,
                 i < 20 ? "payment refused for card %d" : "served request %d in 1 ms", i);
        cl_test_line(&b, BASE_MS + 90 * MIN_MS + i * 2000, i < 20 ? "error" : "info", "shop", msg);
    }
    cl_test_line(&b, BASE_MS + 91 * MIN_MS, "info", "shop",
                 "served request 1 in 1 ms"); /* closes it */
    observe(a, &b);
    size_t n = cl_analytics_recent(a, ev, 8);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].kind, CL_ANOMALY_ERROR_RATIO); /* newest first */
    assert_int_equal(ev[0].ts_ms, BASE_MS + 90 * MIN_MS);
    assert_true(ev[0].observed > 0.66 && ev[0].observed < 0.67);
    assert_true(ev[0].hi < ev[0].observed);
    assert_non_null(strstr(ev[0].text, "66.7% of service shop's records were errors (20 of 30)"));
    assert_non_null(strstr(ev[0].text, "\"payment refused for card <*>\""));
    assert_int_equal(ev[1].kind, CL_ANOMALY_NEW_PATTERN);
    assert_int_equal(ev[0].patterns[0], ev[1].patterns[0]);
    /* Silence: the pipeline's clock moves on with the wall clock (here: 20 minutes) */
    cl_analytics_tick(a, cl_now_ms() + 20 * MIN_MS);
    n = cl_analytics_recent(a, ev, 8);
    assert_int_equal(ev[0].kind, CL_ANOMALY_SILENCE);
    assert_non_null(strstr(ev[0].text, "Service shop has sent no record since"));
    struct cl_buf prom;
    cl_buf_init(&prom, SIZE_MAX);
    cl_analytics_render_prom(a, &prom);
    assert_non_null(
        strstr(prom.data, "cloudlog_anomaly_score{service=\"shop\",series=\"silence\"} 1.0000"));
    cl_buf_free(&prom);
    cl_buf_free(&b);
    cl_analytics_free(a);
}

/* The shape cache (a message of a shape seen before skips the scanner) gives the patterns
 * the miner gives: digit runs of other lengths are other shapes ("abc1" is an identifier,
 * "abc12345" a hex id). */
static void test_shape_cache_matches_miner(void **state)
{
    static const char *const msgs[] = {
        "token abc1 done",
        "token abc12345 done",
        "token abc7 done",
        "token abc98765 done",
        "GET /items/1 took 5 ms",
        "GET /items/22 took 51 ms",
        "GET /items/1 took 7 ms",
        "user u1 logged in",
        "user u22 logged in",
        "user u1 logged in",
        "retry 3 of 5 for job-9",
        "retry 4 of 5 for job-12",
        "size 5.2 KB",
        "size 93 B",
    };
    struct cl_analytics *a = cl_analytics_new(NULL);
    struct cl_miner *m = cl_miner_new(NULL);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof msgs / sizeof *msgs; i++) {
            struct cl_pattern_match pm;
            cl_miner_add(m, msgs[i], strlen(msgs[i]), &pm);
            cl_test_line(&b, BASE_MS + (int64_t)i, "info", "svc", msgs[i]);
        }
    observe(a, &b);
    struct cl_analytics_batch d;
    cl_analytics_drain(a, &d);
    size_t upserts = 0;
    for (size_t i = 0; i < d.n_patterns; i++) {
        if (!d.patterns[i].tmpl)
            continue;
        upserts++;
        struct cl_pattern_match pm;
        const char *ex = strstr(d.patterns[i].example, "\"message\":\"") + 11;
        assert_int_equal(cl_miner_match(m, ex, strcspn(ex, "\""), &pm), 0);
        assert_int_equal(pm.id, d.patterns[i].id);
    }
    assert_int_equal(upserts, cl_miner_count(m));
    assert_int_equal(total(&d), 3 * sizeof msgs / sizeof *msgs);
    cl_analytics_batch_free(&d);
    cl_buf_free(&b);
    cl_miner_free(m);
    cl_analytics_free(a);
}

/* With an observer thread (async_bytes) every record handed over is learned by the time
 * cl_analytics_drain returns, also when producers had to wait for room, and the counts
 * are those of the synchronous object. */
static void test_async_observer_learns_everything(void **state)
{
    (void)state;
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    struct cl_analytics *sync = cl_analytics_new(&o);
    o.async_bytes = 65536; /* the minimum: a few of the 40 KiB chunks below fill it */
    struct cl_analytics *async = cl_analytics_new(&o);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    for (int chunk = 0; chunk < 200; chunk++) {
        for (int i = 0; i < 400; i++) {
            char msg[96];
            snprintf(msg, sizeof msg, "job %d of chunk %d took %d ms", i, chunk, i * 7);
            cl_test_line(&b, BASE_MS + chunk * 100 + i, i % 10 ? "info" : "error", "jobs", msg);
        }
        cl_analytics_observe(sync, b.data, b.len);
        observe(async, &b);
    }
    struct cl_analytics_batch ds, da;
    cl_analytics_drain(sync, &ds);
    cl_analytics_drain(async, &da);
    assert_int_equal(total(&da), 80000);
    assert_int_equal(count_of(&da, "jobs", BASE_MS / MIN_MS, CL_LEVEL_ERROR),
                     count_of(&ds, "jobs", BASE_MS / MIN_MS, CL_LEVEL_ERROR));
    assert_int_equal(da.n_counts, ds.n_counts);
    struct cl_analytics_stats st;
    cl_analytics_stats(async, &st);
    assert_int_equal(st.records, 80000);
    cl_analytics_batch_free(&ds);
    cl_analytics_batch_free(&da);
    cl_buf_free(&b);
    cl_analytics_free(sync);
    cl_analytics_free(async);
}

struct steady_producer {
    struct cl_analytics *a;
    struct cl_buf *b;
    atomic_int stop;
    int puts;
};

static void *produce_until_stopped(void *arg)
{
    struct steady_producer *p = arg;
    for (int i = 0; i < 2000000 && !atomic_load(&p->stop); i++, p->puts++)
        cl_analytics_observe(p->a, p->b->data, p->b->len);
    return NULL;
}

/* A drain under a steady stream of observes returns: it waits for what was handed over
 * before it, not for a moment with nothing pending (which may never come). */
static void test_async_drain_under_steady_observes(void **state)
{
    (void)state;
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    o.async_bytes = 65536;
    struct cl_analytics *a = cl_analytics_new(&o);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    for (int i = 0; i < 40; i++)
        cl_test_line(&b, BASE_MS + i, "info", "jobs", "job done in 12 ms");
    struct steady_producer p = {.a = a, .b = &b};
    atomic_init(&p.stop, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, produce_until_stopped, &p), 0);
    int64_t records = 0;
    for (int k = 0; k < 20; k++) { /* each drain returns though the producer never pauses */
        struct cl_analytics_batch d;
        cl_analytics_drain(a, &d);
        records += total(&d);
        cl_analytics_batch_free(&d);
    }
    atomic_store(&p.stop, 1);
    pthread_join(t, NULL);
    struct cl_analytics_batch d;
    cl_analytics_drain(a, &d);
    records += total(&d);
    cl_analytics_batch_free(&d);
    assert_int_equal(records, (int64_t)p.puts * 40);
    cl_buf_free(&b);
    cl_analytics_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_per_minute_and_level),
        cmocka_unit_test(test_ids_stable_across_restart),
        cmocka_unit_test(test_caps_on_patterns_and_services),
        cmocka_unit_test(test_catalog_folds_generalized_template),
        cmocka_unit_test(test_detectors_on_minute_series),
        cmocka_unit_test(test_shape_cache_matches_miner),
        cmocka_unit_test(test_async_observer_learns_everything),
        cmocka_unit_test(test_async_drain_under_steady_observes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
