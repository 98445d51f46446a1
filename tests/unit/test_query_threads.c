/* test_query_threads.c - the same query over the same store gives the same answer with
 * any number of scan threads: a count's sums, its failures (warned in plan order) and
 * progress reports (from the calling thread), and an ordered or unordered run's records;
 * and objects mapped give what objects read give. */
#include "codec.h"
#include "common.h"
#include "record.h"
#include "query.h"
#include "query_int.h" /* cq_map_min */
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOUR (3600LL * 1000)
#define N_SVC 3
#define N_HOURS 2
#define OBJS 25 /* per service and hour */
#define RECS 30 /* per object */

static const char *const services[N_SVC] = {"api", "db", "web"};
static const char *const bad_keys[] = {
    "service=db/dt=2026-11-25/hour=22/20261125T220000Z-00000000000000ff.ndjson.gz",
    "service=api/dt=2026-11-25/hour=23/20261125T230000Z-00000000000000fe.ndjson.gz",
    "service=web/dt=2026-11-25/hour=23/20261125T230000Z-00000000000000fd.ndjson.gz",
    "service=web/dt=2026-11-25/hour=22/20261125T220000Z-00000000000000fc.ndjson.gz"};
/* The first three are not gzip, the last is empty (a mapping of nothing). */
static const size_t bad_len[] = {15, 15, 15, 0};
static char test_dir[512];
static struct cl_store store;
static struct cl_store *run_store = &store; /* the store run() queries */
static int64_t t_base;                      /* 2026-11-25T22:00:00Z */
static uint64_t n_needles;
static uint32_t rng = 777;

static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 8) & 0xffffff;
}

/* One object of RECS records in hour h, about a third of them holding "needle". */
static void add_object(int svc, int h, int j)
{
    char ts[25], key[160], line[256];
    struct cl_buf raw, gz;
    cl_buf_init(&raw, SIZE_MAX);
    cl_buf_init(&gz, SIZE_MAX);
    int64_t start = t_base + h * HOUR;
    cl_format_timestamp(start, ts);
    snprintf(key, sizeof key,
             "service=%s/dt=%.10s/hour=%.2s/%.4s%.2s%.2sT%.2s0000Z-%016d.ndjson.gz", services[svc],
             ts, ts + 11, ts, ts + 5, ts + 8, ts + 11, j);
    for (int i = 0; i < RECS; i++) {
        int needle = next_rand() % 3 == 0;
        n_needles += (uint64_t)needle;
        cl_format_timestamp(start + (int64_t)(next_rand() % 3600) * 1000, ts);
        int len = snprintf(line, sizeof line,
                           "{\"timestamp\":\"%.24s\",\"level\":\"info\",\"service\":\"%s\","
                           "\"message\":\"rec %d.%d.%d.%d %s\"}\n",
                           ts, services[svc], svc, h, j, i, needle ? "needle" : "hay");
        assert_int_equal(cl_buf_append(&raw, line, (size_t)len), CL_OK);
    }
    assert_int_equal(cl_gzip_compress(raw.data, raw.len, 1, &gz), CL_OK);
    assert_int_equal(cl_store_put(&store, key, gz.data, gz.len), CL_OK);
    cl_buf_free(&raw);
    cl_buf_free(&gz);
}

/* What one run gave: its warnings in order, its emitted lines, its progress reports. */
struct got {
    char warned[8][160];
    size_t n_warned;
    char victim_reason[160]; /* the warning's reason for victim_key */
    char **lines;
    size_t n_lines, cap;
    size_t progress_calls, last_done, last_total;
    int progress_went_back, progress_off_thread;
    pthread_t caller;
    int cancel_after; /* cancelled() says yes once called this often (0: never) */
    int cancel_calls; /* guarded by cancel_mu */
};

static pthread_mutex_t cancel_mu = PTHREAD_MUTEX_INITIALIZER;

static int on_emit(void *arg, const char *line, size_t len, const struct cl_line_head *head)
{
    (void)head;
    struct got *g = arg;
    if (g->n_lines == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->lines = realloc(g->lines, g->cap * sizeof *g->lines);
    }
    g->lines[g->n_lines++] = strndup(line, len);
    return 0;
}

static const char victim_key[] =
    "service=api/dt=2026-11-25/hour=22/20261125T220000Z-0000000000000099.ndjson.gz";

static void on_warn(void *arg, const char *key, const char *reason)
{
    struct got *g = arg;
    if (strcmp(key, victim_key) == 0)
        snprintf(g->victim_reason, sizeof g->victim_reason, "%s", reason);
    if (g->n_warned < 8)
        snprintf(g->warned[g->n_warned], sizeof g->warned[0], "%s", key);
    g->n_warned++;
}

static void on_progress(void *arg, const struct cl_query_stats *st, size_t done, size_t total)
{
    (void)st;
    struct got *g = arg;
    g->progress_went_back |= done < g->last_done;
    g->progress_off_thread |= !pthread_equal(pthread_self(), g->caller);
    g->progress_calls++;
    g->last_done = done;
    g->last_total = total;
}

static int cancelled(void *arg)
{
    struct got *g = arg;
    pthread_mutex_lock(&cancel_mu);
    int yes = g->cancel_after && ++g->cancel_calls >= g->cancel_after;
    pthread_mutex_unlock(&cancel_mu);
    return yes;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n_lines; i++)
        free(g->lines[i]);
    free(g->lines);
}

static struct cl_query base_query(int threads)
{
    static const char *const all[] = {"*"};
    return (struct cl_query){.from_ms = t_base,
                             .to_ms = t_base + N_HOURS * HOUR,
                             .services = all,
                             .n_services = 1,
                             .grep = "needle",
                             .threads = threads};
}

static int run(struct cl_query *q, struct got *g, struct cl_query_stats *st)
{
    struct cl_query_source src = {run_store, NULL};
    char err[256] = "";
    g->caller = pthread_self();
    q->cancelled = cancelled;
    q->cancel_arg = g;
    return cl_query_run_progress(&src, q, on_emit, on_warn, on_progress, g, st, err, sizeof err);
}

/* b's run gave what a's did: the same sums and the same warnings, in the same order. */
static void assert_same_run(const struct cl_query_stats *sa, const struct got *a,
                            const struct cl_query_stats *sb, const struct got *b)
{
    assert_int_equal(sb->records_matched, sa->records_matched);
    assert_int_equal(sb->records_scanned, sa->records_scanned);
    assert_int_equal(sb->bytes_scanned, sa->bytes_scanned);
    assert_int_equal(sb->bytes_compressed, sa->bytes_compressed);
    assert_int_equal(sb->objects_opened, sa->objects_opened);
    assert_int_equal(sb->objects_failed, sa->objects_failed);
    assert_int_equal(b->n_warned, a->n_warned);
    for (size_t i = 0; i < a->n_warned && i < 8; i++)
        assert_string_equal(b->warned[i], a->warned[i]);
}

static void test_count_same_for_any_threads(void **state)
{
    (void)state;
    struct got one = {0};
    struct cl_query_stats st1;
    struct cl_query q = base_query(1);
    q.count_only = 1;
    assert_int_equal(run(&q, &one, &st1), CL_OK);
    assert_int_equal(st1.records_matched, n_needles);
    assert_int_equal(st1.objects_opened, N_SVC * N_HOURS * OBJS);
    assert_int_equal(st1.objects_failed, CL_ARRAY_LEN(bad_keys));
    assert_int_equal(st1.records_scanned, N_SVC * N_HOURS * OBJS * RECS);
    assert_int_equal(one.n_warned, CL_ARRAY_LEN(bad_keys));
    static const int threads[] = {2, 3, 7, 200};
    for (size_t k = 0; k < CL_ARRAY_LEN(threads); k++) {
        struct got g = {0};
        struct cl_query_stats st;
        q.threads = threads[k];
        assert_int_equal(run(&q, &g, &st), CL_OK);
        /* the failures, warned in the plan's order whichever thread met them */
        assert_same_run(&st1, &one, &st, &g);
        assert_int_equal(g.n_lines, 0);
        /* progress from the calling thread only, never backwards, ending at all done */
        assert_true(g.progress_calls >= 1);
        assert_false(g.progress_went_back);
        assert_false(g.progress_off_thread);
        assert_int_equal(g.last_done, g.last_total);
        assert_int_equal(g.last_total, N_SVC * N_HOURS * OBJS + CL_ARRAY_LEN(bad_keys));
        got_free(&g);
    }
    got_free(&one);
}

/* An ordered run (with and without a limit) and an unordered one print the same records
 * with 1 and 3 threads: the same lines in the same order (unordered: as a set). */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_same_records(size_t limit, int unordered, enum cl_query_order order)
{
    struct got a = {0}, b = {0};
    struct cl_query_stats sa, sb;
    struct cl_query q = base_query(1);
    q.limit = limit;
    q.unordered = unordered;
    q.order = order;
    assert_int_equal(run(&q, &a, &sa), CL_OK);
    q.threads = 3;
    assert_int_equal(run(&q, &b, &sb), CL_OK);
    assert_int_equal(a.n_lines, limit ? limit : n_needles);
    assert_int_equal(b.n_lines, a.n_lines);
    if (unordered) {
        qsort(a.lines, a.n_lines, sizeof *a.lines, cmp_str);
        qsort(b.lines, b.n_lines, sizeof *b.lines, cmp_str);
    }
    for (size_t i = 0; i < a.n_lines; i++)
        assert_string_equal(a.lines[i], b.lines[i]);
    assert_int_equal(sb.objects_failed, sa.objects_failed);
    got_free(&a);
    got_free(&b);
}

static void test_records_same_for_any_threads(void **state)
{
    (void)state;
    check_same_records(0, 0, CL_ORDER_NEWEST);
    check_same_records(50, 0, CL_ORDER_NEWEST);
    check_same_records(70, 0, CL_ORDER_OLDEST);
    check_same_records(0, 1, CL_ORDER_NEWEST);
}

/* Objects mapped (map_objects) or read: the same counts, stats, failures and records. */
static void test_mapped_same_as_read(void **state)
{
    (void)state;
    for (int count = 0; count < 2; count++) {
        struct got a = {0}, b = {0};
        struct cl_query_stats sa, sb;
        struct cl_query q = base_query(2);
        q.count_only = count;
        q.limit = count ? 0 : 40;
        assert_int_equal(run(&q, &a, &sa), CL_OK);
        q.map_objects = 1;
        cq_map_min = 0; /* map every object, however small */
        assert_int_equal(run(&q, &b, &sb), CL_OK);
        cq_map_min = CQ_MAP_MIN;
        assert_same_run(&sa, &a, &sb, &b);
        assert_int_equal(b.n_lines, a.n_lines);
        for (size_t i = 0; i < a.n_lines; i++)
            assert_string_equal(b.lines[i], a.lines[i]);
        got_free(&a);
        got_free(&b);
    }
}

/* A count cancelled midway fails as a whole, whatever the threads. */
static void test_count_cancelled(void **state)
{
    (void)state;
    static const int threads[] = {1, 2, 3};
    for (size_t k = 0; k < CL_ARRAY_LEN(threads); k++) {
        struct got g = {.cancel_after = 20};
        struct cl_query_stats st;
        struct cl_query q = base_query(threads[k]);
        q.count_only = 1;
        assert_int_equal(run(&q, &g, &st), CL_ERR_CLOSED);
        assert_int_equal(st.stopped, CL_QUERY_CANCELLED);
        assert_true(st.objects_opened < N_SVC * N_HOURS * OBJS);
        got_free(&g);
    }
}

/* ---- a store whose map of victim_key goes wrong ---- */

enum { MAP_CUT, MAP_FAILS };
static int victim_mode;
static struct cl_store_ops victim_ops;
static struct cl_store victim_store;

/* Maps as the fs store does, then: MAP_CUT truncates the mapped file to 0 (its pages
 * raise SIGBUS when read, as a disk's I/O error does), MAP_FAILS unmaps and fails the
 * way an mmap on a file system that cannot map does. */
static int victim_map(void *impl, const char *key, const void **data, size_t *len)
{
    int rc = store.ops->map(impl, key, data, len);
    if (rc != CL_OK || strcmp(key, victim_key) != 0)
        return rc;
    if (victim_mode == MAP_FAILS) {
        store.ops->unmap(impl, *data, *len);
        return CL_ERR_IO;
    }
    char path[800];
    snprintf(path, sizeof path, "%s/logs/%s", test_dir, victim_key);
    assert_int_equal(truncate(path, 0), 0);
    return rc;
}

/* A mapped object whose pages cannot be read (SIGBUS) fails as "cannot read" and gives
 * nothing (no counts, no records), and the run goes on: the same as without it but for
 * its warning. A map that fails falls back to reading: the object counts as read. */
static void test_mapped_unreadable(void **state)
{
    (void)state;
    victim_ops = *store.ops;
    victim_ops.map = victim_map;
    victim_store = (struct cl_store){&victim_ops, store.impl};
    for (int mode = MAP_CUT; mode <= MAP_FAILS; mode++)
        for (int count = 0; count < 2; count++) {
            struct got a = {0}, b = {0}, c = {0};
            struct cl_query_stats sa, sb, sc;
            struct cl_query q = base_query(2);
            q.count_only = count; /* records: all of them, so that every object is read */
            q.map_objects = 1;
            cq_map_min = 0;
            assert_int_equal(run(&q, &a, &sa), CL_OK); /* without the victim */
            add_object(0, 0, 99);
            assert_int_equal(run(&q, &c, &sc), CL_OK); /* with it, readable */
            run_store = &victim_store;
            victim_mode = mode;
            int rc = run(&q, &b, &sb);
            run_store = &store;
            assert_int_equal(cl_store_delete(&store, victim_key), CL_OK);
            assert_int_equal(rc, CL_OK);
            if (mode == MAP_FAILS) {
                assert_same_run(&sc, &c, &sb, &b);
                assert_int_equal(b.n_lines, c.n_lines);
            } else {
                assert_int_equal(sb.objects_failed, sa.objects_failed + 1);
                assert_non_null(strstr(b.victim_reason, "cannot read"));
                sb.objects_failed--;
                assert_int_equal(sb.records_matched, sa.records_matched);
                assert_int_equal(sb.records_scanned, sa.records_scanned);
                assert_int_equal(sb.bytes_scanned, sa.bytes_scanned);
                assert_int_equal(sb.objects_opened, sa.objects_opened);
                assert_int_equal(b.n_warned, a.n_warned + 1);
                assert_int_equal(b.n_lines, a.n_lines);
                for (size_t i = 0; i < a.n_lines; i++)
                    assert_string_equal(b.lines[i], a.lines[i]);
            }
            got_free(&a);
            got_free(&b);
            got_free(&c);
        }
    cq_map_min = CQ_MAP_MIN;
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("CL_TMPDIR");
    char url[600], err[256];
    snprintf(test_dir, sizeof test_dir, "%s/query_threads_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(test_dir))
        return -1;
    snprintf(url, sizeof url, "%s/logs", test_dir);
    if (cl_store_open(&store, url, err, sizeof err) != CL_OK)
        return -1;
    if (cl_parse_timestamp_text("2026-11-25T22:00:00Z", 20, &t_base) != 0)
        return -1;
    for (int s = 0; s < N_SVC; s++)
        for (int h = 0; h < N_HOURS; h++)
            for (int j = 0; j < OBJS; j++)
                add_object(s, h, j);
    for (size_t i = 0; i < CL_ARRAY_LEN(bad_keys); i++)
        if (cl_store_put(&store, bad_keys[i], "not gzip at all", bad_len[i]) != CL_OK)
            return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_store_close(&store);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_same_for_any_threads),
        cmocka_unit_test(test_records_same_for_any_threads),
        cmocka_unit_test(test_mapped_same_as_read),
        cmocka_unit_test(test_count_cancelled),
        cmocka_unit_test(test_mapped_unreadable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
