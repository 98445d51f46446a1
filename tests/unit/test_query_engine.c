/* test_query_engine.c - the query engine against a reference filter over a known store. */
#include "catalog.h"
#include "codec.h"
#include "common.h"
#include "query.h"
#include "queue.h"
#include "record.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fnmatch.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR (3600LL * 1000)
#define N_SVC 3
#define N_HOURS 3
#define OBJS_PER_HOUR 3
#define RECS_PER_OBJ 40
#define MAX_RECS (N_SVC * N_HOURS * OBJS_PER_HOUR * RECS_PER_OBJ)

struct ref {
    int64_t ts;
    int level;
    char service[16];
    char line[300];
    char key[160];
    uint32_t line_no;
};

static const char *const services[N_SVC] = {"api", "web-1", "web-2"};
static const char *const words[] = {"Hello", "ERROR disk", "timeout", "hello world"};
static char test_dir[512];
static struct ref refs[MAX_RECS];
static size_t n_refs;
static int64_t t_base; /* 2026-11-25T22:00:00Z: hours 22, 23 and the next day's 00 */
static uint32_t rng = 12345;

static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 8) & 0xffffff;
}

/* ---- fixture: a store with catalog rows, as the processor writes them ---- */

static void put_object(struct cl_store *st, struct cl_queue *q, const char *key,
                       const struct cl_catalog_object *meta, const void *data, size_t len)
{
    assert_int_equal(cl_store_put(st, key, data, len), CL_OK);
    if (!q)
        return;
    int64_t id;
    struct cl_catalog_flush f = {.obj = meta, .object_id = &id};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(q), &f, NULL), CL_OK);
    assert_int_equal(cl_catalog_mark_published(cl_queue_catalog(q), id), CL_OK);
}

static void make_line(struct ref *r, int i)
{
    char ts[25], svc[16];
    cl_format_timestamp(r->ts, ts);
    memcpy(svc, r->service, sizeof svc); /* snprintf must not read from r */
    const char *w = words[next_rand() % 4];
    int with_path = next_rand() % 3 == 0;
    snprintf(r->line, sizeof r->line,
             "{\"timestamp\":\"%.24s\",\"level\":\"%s\",\"service\":\"%s\",\"message\":\"msg %d "
             "%s\",\"user\":\"u%u\",\"n\":%u,\"ok\":%s%s}",
             ts, cl_level_name((enum cl_level)r->level), svc, i, w, next_rand() % 5,
             next_rand() % 10, next_rand() % 2 ? "true" : "false",
             with_path ? ",\"path\":\"a\\/b\"" : "");
}

/* One object of svc in hour h: records at random (colliding) times, out of order. */
static void add_object(struct cl_store *st, struct cl_queue *q, int svc, int h, int j)
{
    int64_t start = t_base + h * HOUR;
    char ts[25], key[160], buf[RECS_PER_OBJ * 300];
    cl_format_timestamp(start, ts);
    snprintf(key, sizeof key,
             "service=%s/dt=%.10s/hour=%.2s/%.4s%.2s%.2sT%.2s0000Z-%016d.ndjson.gz", services[svc],
             ts, ts + 11, ts, ts + 5, ts + 8, ts + 11, j);
    struct cl_catalog_object m = {.key = key, .service = services[svc], .dt = "", .hour = 0};
    char dt[11];
    snprintf(dt, sizeof dt, "%.10s", ts);
    m.dt = dt;
    m.hour = atoi(ts + 11);
    m.min_ts_ms = INT64_MAX;
    m.max_ts_ms = INT64_MIN;
    size_t len = 0;
    for (int i = 0; i < RECS_PER_OBJ; i++) {
        struct ref *r = &refs[n_refs++];
        r->ts = start + (int64_t)(next_rand() % 600) * 6000;
        r->level = svc == 2 && h == 1 ? 0 : 1 + (int)(next_rand() % 5); /* trace: web-2 @23 */
        snprintf(r->service, sizeof r->service, "%s", services[svc]);
        snprintf(r->key, sizeof r->key, "%s", key);
        r->line_no = (uint32_t)i;
        make_line(r, (int)n_refs);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s\n", r->line);
        m.min_ts_ms = CL_MIN(m.min_ts_ms, r->ts);
        m.max_ts_ms = CL_MAX(m.max_ts_ms, r->ts);
        m.level_counts[r->level]++;
        m.records++;
    }
    struct cl_buf gz;
    cl_buf_init(&gz, SIZE_MAX);
    /* Two gzip members, as a concatenation would leave them. */
    assert_int_equal(cl_gzip_compress(buf, len / 2, 1, &gz), CL_OK);
    assert_int_equal(cl_gzip_compress(buf + len / 2, len - len / 2, 1, &gz), CL_OK);
    m.bytes = gz.len;
    m.raw_bytes = j == 1 ? 0 : len; /* 0: the engine must grow its buffer */
    put_object(st, q, key, &m, gz.data, gz.len);
    cl_buf_free(&gz);
}

struct fixture {
    struct cl_store store;
    struct cl_queue queue;
    char dir[600];
};

static void open_fixture(struct fixture *fx, const char *name, int with_catalog)
{
    char url[700], err[256];
    snprintf(fx->dir, sizeof fx->dir, "%s/%s", test_dir, name);
    snprintf(url, sizeof url, "%s/logs", fx->dir);
    assert_int_equal(cl_store_open(&fx->store, url, err, sizeof err), CL_OK);
    if (!with_catalog)
        return;
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 0;
    snprintf(url, sizeof url, "sqlite:%s/queue.db", fx->dir);
    assert_int_equal(cl_queue_open(&fx->queue, url, &o, err, sizeof err), CL_OK);
}

static void close_fixture(struct fixture *fx, int with_catalog)
{
    if (with_catalog)
        cl_queue_close(&fx->queue);
    cl_store_close(&fx->store);
}

static struct fixture main_fx;

static void build_main_store(void)
{
    assert_int_equal(cl_parse_timestamp_text("2026-11-25T22:00:00Z", 20, &t_base), 0);
    open_fixture(&main_fx, "main", 1);
    for (int s = 0; s < N_SVC; s++)
        for (int h = 0; h < N_HOURS; h++)
            for (int j = 0; j < OBJS_PER_HOUR; j++)
                add_object(&main_fx.store, &main_fx.queue, s, h, j);
    /* Never published: must never be read. */
    static const char staged[] = "{\"timestamp\":\"2026-11-25T22:30:00.000Z\",\"level\":\"info\","
                                 "\"service\":\"api\",\"message\":\"staged timeout\"}\n";
    struct cl_buf gz;
    cl_buf_init(&gz, SIZE_MAX);
    assert_int_equal(cl_gzip_compress(staged, sizeof staged - 1, 1, &gz), CL_OK);
    assert_int_equal(cl_store_put(&main_fx.store,
                                  "_staging/service=api/dt=2026-11-25/hour=22/x.ndjson.gz", gz.data,
                                  gz.len),
                     CL_OK);
    cl_buf_free(&gz);
}

/* ---- reference: the filters written the obvious way ---- */

struct tq {
    int64_t from_off, to_off; /* relative to t_base */
    const char *svc[2];
    size_t n_svc;
    unsigned level_mask;
    const char *grep;
    int icase;
    const char *regex;
    struct cl_query_where where[2];
    size_t n_where;
    const char *where_raw[2]; /* the same where clauses as stored text, for the reference */
};

static int ref_match(const struct tq *t, const struct ref *r)
{
    if (r->ts < t_base + t->from_off || r->ts >= t_base + t->to_off)
        return 0;
    int svc_ok = t->n_svc == 0;
    for (size_t i = 0; i < t->n_svc; i++)
        svc_ok |= fnmatch(t->svc[i], r->service, 0) == 0;
    if (!svc_ok || (t->level_mask && !(t->level_mask & (1u << r->level))))
        return 0;
    if (t->grep && !(t->icase ? strcasestr(r->line, t->grep) : strstr(r->line, t->grep)))
        return 0;
    for (size_t i = 0; i < t->n_where; i++)
        if (!strstr(r->line, t->where_raw[i]))
            return 0;
    if (t->regex) {
        int code;
        PCRE2_SIZE off;
        pcre2_code *re =
            pcre2_compile((PCRE2_SPTR)t->regex, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        int rc = pcre2_match(re, (PCRE2_SPTR)r->line, strlen(r->line), 0, 0, md, NULL);
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        return rc >= 0;
    }
    return 1;
}

static enum cl_query_order ref_order;

static int ref_cmp(const void *a, const void *b)
{
    const struct ref *x = *(const struct ref *const *)a, *y = *(const struct ref *const *)b;
    if (x->ts != y->ts)
        return (ref_order == CL_ORDER_OLDEST) == (x->ts < y->ts) ? -1 : 1;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->line_no < y->line_no ? -1 : x->line_no > y->line_no);
}

/* The expected lines in order (array of borrowed refs; caller frees the array). */
static const struct ref **expected(const struct tq *t, enum cl_query_order order, size_t limit,
                                   size_t *n, const char *skip_key)
{
    const struct ref **v = calloc(MAX_RECS, sizeof *v);
    *n = 0;
    for (size_t i = 0; i < n_refs; i++)
        if (ref_match(t, &refs[i]) && (!skip_key || strcmp(refs[i].key, skip_key) != 0))
            v[(*n)++] = &refs[i];
    ref_order = order;
    qsort(v, *n, sizeof *v, ref_cmp);
    if (limit && *n > limit)
        *n = limit;
    return v;
}

/* ---- running the engine ---- */

struct got {
    char **lines;
    size_t n;
    size_t stop_after; /* emit returns 1 after this many; 0: never */
    int warned;
    char warned_key[200];
};

static int on_emit(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct got *g = arg;
    int64_t ts;
    assert_int_equal(cl_parse_timestamp_text(line + 14, 24, &ts), 0);
    assert_int_equal(h->ts_ms, ts);
    g->lines = realloc(g->lines, (g->n + 1) * sizeof *g->lines);
    g->lines[g->n++] = strndup(line, len);
    return g->stop_after && g->n >= g->stop_after;
}

static void on_warn(void *arg, const char *key, const char *reason)
{
    struct got *g = arg;
    g->warned++;
    snprintf(g->warned_key, sizeof g->warned_key, "%s", key);
    assert_non_null(reason);
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->lines[i]);
    free(g->lines);
}

static struct cl_query to_query(const struct tq *t, enum cl_query_order order, size_t limit,
                                int threads)
{
    struct cl_query q = {.from_ms = t_base + t->from_off,
                         .to_ms = t_base + t->to_off,
                         .services = t->svc,
                         .n_services = t->n_svc,
                         .level_mask = t->level_mask,
                         .grep = t->grep,
                         .grep_icase = t->icase,
                         .regex = t->regex,
                         .where = t->where,
                         .n_where = t->n_where,
                         .limit = limit,
                         .order = order,
                         .threads = threads};
    return q;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* q unordered: n records (want's lines in any order when want is given: without a limit),
 * each line emitted once. */
static void check_unordered(const struct cl_query_source *src, const struct cl_query *ordered,
                            const struct ref **want, size_t n)
{
    struct cl_query q = *ordered;
    q.unordered = 1;
    struct got g = {0};
    char err[256] = "";
    assert_int_equal(cl_query_run(src, &q, on_emit, on_warn, &g, NULL, err, sizeof err), CL_OK);
    if (g.n != n)
        fail_msg("unordered limit %zu: got %zu records, want %zu", q.limit, g.n, n);
    if (want && n) {
        char **w = calloc(n + 1, sizeof *w);
        for (size_t i = 0; i < n; i++)
            w[i] = (char *)want[i]->line;
        qsort(w, n, sizeof *w, cmp_line);
        qsort(g.lines, g.n, sizeof *g.lines, cmp_line);
        for (size_t i = 0; i < n; i++)
            assert_string_equal(g.lines[i], w[i]);
        free(w);
    }
    got_free(&g);
}

/* Runs t on src and checks the output equals the reference, line for line, and unordered
 * the same lines in some order. */
static void check_query(const struct cl_query_source *src, const struct tq *t,
                        enum cl_query_order order, size_t limit, int threads, const char *skip)
{
    struct cl_query q = to_query(t, order, limit, threads);
    struct got g = {0};
    struct cl_query_stats st;
    char err[256] = "";
    int rc = cl_query_run(src, &q, on_emit, on_warn, &g, &st, err, sizeof err);
    assert_int_equal(rc, CL_OK);
    size_t n;
    const struct ref **want = expected(t, order, limit, &n, skip);
    if (g.n != n)
        fail_msg("order %d limit %zu threads %d: got %zu records, want %zu", order, limit, threads,
                 g.n, n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(g.lines[i], want[i]->line) != 0)
            fail_msg("record %zu of %zu differs:\n got  %s\n want %s", i, n, g.lines[i],
                     want[i]->line);
    if (!limit && !skip)
        assert_int_equal(st.records_matched, n);
    check_unordered(src, &q, limit ? NULL : want, n);
    /* count_only counts every match, whatever the limit */
    q.count_only = 1;
    struct cl_query_stats cst;
    assert_int_equal(cl_query_run(src, &q, on_emit, on_warn, &g, &cst, err, sizeof err), CL_OK);
    assert_int_equal(g.n, n); /* nothing emitted */
    size_t all;
    free(want);
    want = expected(t, order, 0, &all, skip);
    assert_int_equal(cst.records_matched, all);
    free(want);
    got_free(&g);
}

#define LVL(l) (1u << (l))

#define ALL .from_off = 0, .to_off = 3 * HOUR
#define WARN_UP (LVL(3) | LVL(4) | LVL(5))

static const struct tq queries[] = {
    {ALL},
    {.from_off = HOUR + HOUR / 2, .to_off = 2 * HOUR + HOUR / 4}, /* 23:30 .. 00:15 */
    {.from_off = HOUR / 3, .to_off = HOUR / 3 + 7 * 6000},        /* minutes in one hour */
    {ALL, .svc = {"web-*"}, .n_svc = 1},
    {ALL, .svc = {"api", "web-2"}, .n_svc = 2},
    {ALL, .level_mask = WARN_UP},
    {ALL, .svc = {"api"}, .n_svc = 1, .level_mask = LVL(4)},
    {ALL, .level_mask = LVL(0)}, /* web-2 at 23:00 holds only trace records */
    {ALL, .grep = "timeout"},
    {ALL, .grep = "hello", .icase = 1},
    {ALL, .grep = "HELLO w", .icase = 1},
    {ALL, .regex = "msg [0-9]*7 (Hello|timeout)"},
    {ALL, .where = {{"user", "u3"}}, .n_where = 1, .where_raw = {"\"user\":\"u3\""}},
    {ALL, .where = {{"n", "4"}, {"user", "u1"}}, .n_where = 2,
     .where_raw = {"\"n\":4,", "\"user\":\"u1\""}},
    {ALL, .where = {{"path", "a/b"}}, .n_where = 1, .where_raw = {"\"path\":\"a\\/b\""}},
    {ALL, .where = {{"ok", "true"}}, .n_where = 1, .where_raw = {"\"ok\":true"}},
    {.from_off = HOUR / 2,
     .to_off = 3 * HOUR,
     .svc = {"web-*"},
     .n_svc = 1,
     .level_mask = WARN_UP,
     .grep = "o",
     .where = {{"ok", "true"}},
     .n_where = 1,
     .where_raw = {"\"ok\":true"}},
    {ALL, .svc = {"nosuch"}, .n_svc = 1},
    {.from_off = -5 * HOUR, .to_off = -HOUR}, /* before the data */
    {ALL, .grep = "no such text anywhere"},
};

static void run_all(const struct cl_query_source *src, const char *skip)
{
    static const size_t limits[] = {0, 1, 5, 50};
    for (size_t i = 0; i < CL_ARRAY_LEN(queries); i++)
        for (int o = 0; o < 2; o++)
            for (size_t l = 0; l < CL_ARRAY_LEN(limits); l++)
                check_query(src, &queries[i], o ? CL_ORDER_OLDEST : CL_ORDER_NEWEST, limits[l],
                            1 + (int)(l % 3), skip);
}

static void test_filters_with_catalog(void **state)
{
    struct cl_query_source src = {&main_fx.store, cl_queue_catalog(&main_fx.queue)};
    run_all(&src, NULL);
}

static void test_filters_without_catalog(void **state)
{
    struct cl_query_source src = {&main_fx.store, NULL};
    run_all(&src, NULL);
}

static struct cl_query_stats stats_of(const struct cl_query_source *src, const struct tq *t)
{
    struct cl_query q = to_query(t, CL_ORDER_NEWEST, 0, 2);
    struct got g = {0};
    struct cl_query_stats st;
    char err[256];
    assert_int_equal(cl_query_run(src, &q, on_emit, on_warn, &g, &st, err, sizeof err), CL_OK);
    got_free(&g);
    assert_int_equal(g.warned, 0);
    return st;
}

static void test_pruning(void **state)
{
    struct cl_query_source cat = {&main_fx.store, cl_queue_catalog(&main_fx.queue)},
                           list = {&main_fx.store, NULL};
    const size_t total = N_SVC * N_HOURS * OBJS_PER_HOUR;
    struct cl_query_stats st = stats_of(&cat, &queries[0]);
    assert_int_equal(st.objects_considered, total);
    assert_int_equal(st.objects_opened, total);
    assert_int_equal(st.records_scanned, MAX_RECS);
    /* one hour: only that hour's partitions are considered */
    struct tq one_hour = {.from_off = HOUR, .to_off = 2 * HOUR};
    st = stats_of(&list, &one_hour);
    assert_int_equal(st.objects_considered, N_SVC * OBJS_PER_HOUR);
    /* trace only: the catalog's level counts rule out every object but web-2 at 23:00 */
    st = stats_of(&cat, &queries[7]);
    assert_int_equal(st.objects_opened, OBJS_PER_HOUR);
    assert_int_equal(st.objects_pruned + st.objects_opened, st.objects_considered);
    /* a single service literal: listing reads only its partitions */
    struct tq api = {ALL, .svc = {"api"}, .n_svc = 1};
    st = stats_of(&list, &api);
    assert_int_equal(st.objects_considered, N_HOURS * OBJS_PER_HOUR);
    /* a few minutes: min/max ts prune the objects that cannot hold them */
    st = stats_of(&cat, &queries[2]);
    assert_true(st.objects_pruned > 0 || st.objects_considered <= N_SVC * OBJS_PER_HOUR);
}

static void test_limit_stops_early(void **state)
{
    struct cl_query_source src = {&main_fx.store, cl_queue_catalog(&main_fx.queue)};
    struct tq t = {ALL};
    struct cl_query q = to_query(&t, CL_ORDER_NEWEST, 3, 1);
    struct got g = {0};
    struct cl_query_stats st;
    char err[256];
    assert_int_equal(cl_query_run(&src, &q, on_emit, on_warn, &g, &st, err, sizeof err), CL_OK);
    assert_int_equal(g.n, 3);
    assert_true(st.objects_opened < N_SVC * N_HOURS * OBJS_PER_HOUR);
    got_free(&g);
    /* emit asking to stop ends the query */
    struct got g2 = {.stop_after = 2};
    q.limit = 0;
    assert_int_equal(cl_query_run(&src, &q, on_emit, on_warn, &g2, &st, err, sizeof err), CL_OK);
    assert_int_equal(g2.n, 2);
    got_free(&g2);
    /* ... unordered too */
    struct got g3 = {.stop_after = 2};
    q.unordered = 1;
    assert_int_equal(cl_query_run(&src, &q, on_emit, on_warn, &g3, &st, err, sizeof err), CL_OK);
    assert_int_equal(g3.n, 2);
    got_free(&g3);
}

static void test_bad_queries(void **state)
{
    struct cl_query_source src = {&main_fx.store, cl_queue_catalog(&main_fx.queue)};
    struct tq t = {ALL, .regex = "msg (unclosed"};
    struct cl_query q = to_query(&t, CL_ORDER_NEWEST, 0, 1);
    struct cl_query_stats st;
    char err[256] = "";
    assert_int_equal(cl_query_run(&src, &q, NULL, NULL, NULL, &st, err, sizeof err), CL_ERR_INVAL);
    assert_true(strlen(err) > 0);
    q.regex = NULL;
    q.to_ms = q.from_ms;
    assert_int_equal(cl_query_run(&src, &q, NULL, NULL, NULL, &st, err, sizeof err), CL_ERR_INVAL);
}

static int on_partition(void *arg, const struct cl_query_partition *p)
{
    size_t *n = arg;
    assert_int_equal(p->objects, OBJS_PER_HOUR);
    if (p->has_catalog) {
        assert_int_equal(p->records, OBJS_PER_HOUR * RECS_PER_OBJ);
        assert_true(p->min_ts_ms <= p->max_ts_ms);
    }
    (*n)++;
    return 0;
}

static void test_partitions(void **state)
{
    struct cl_query q = {.from_ms = t_base, .to_ms = t_base + 3 * HOUR};
    for (int c = 0; c < 2; c++) {
        struct cl_query_source src = {&main_fx.store, c ? cl_queue_catalog(&main_fx.queue) : NULL};
        size_t n = 0;
        assert_int_equal(cl_query_partitions(&src, &q, on_partition, &n), CL_OK);
        assert_int_equal(n, N_SVC * N_HOURS);
    }
}

/* The engine drops lines outside the range by their timestamp text before parsing them;
 * texts that order differently from their times must still be parsed: the parser also
 * takes 't' and ' ' for 'T', and a leap second :60 is :59.999. */
static void test_timestamp_text_forms(void **state)
{
    static const char *const ts[] = {"2026-11-25 22:10:00.000Z", "2026-11-25t22:10:00.000Z",
                                     "2026-11-25T22:09:60.000Z", "2026-11-25T22:09:59.999Z",
                                     "2026-11-25T22:10:00.001Z", "2026-11-25T22:09:59.998Z",
                                     "2026-11-25 22:10:00.001Z", "2026-11-25t22:09:59.998Z"};
    char buf[2048];
    size_t len = 0;
    for (size_t i = 0; i < CL_ARRAY_LEN(ts); i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len,
                                "{\"timestamp\":\"%s\",\"level\":\"info\",\"service\":"
                                "\"api\",\"message\":\"m%zu\"}\n",
                                ts[i], i);
    struct fixture fx;
    open_fixture(&fx, "text_forms", 0);
    struct cl_buf gz;
    cl_buf_init(&gz, SIZE_MAX);
    assert_int_equal(cl_gzip_compress(buf, len, 1, &gz), CL_OK);
    assert_int_equal(
        cl_store_put(
            &fx.store,
            "service=api/dt=2026-11-25/hour=22/20261125T220000Z-0000000000000001.ndjson.gz",
            gz.data, gz.len),
        CL_OK);
    cl_buf_free(&gz);
    struct cl_query q = {.order = CL_ORDER_NEWEST, .threads = 1};
    assert_int_equal(cl_parse_timestamp_text("2026-11-25T22:09:59.999Z", 24, &q.from_ms), 0);
    q.to_ms = q.from_ms + 2; /* [22:09:59.999, 22:10:00.001) */
    struct cl_query_source src = {&fx.store, NULL};
    struct got g = {0};
    struct cl_query_stats st;
    char err[256] = "";
    assert_int_equal(cl_query_run(&src, &q, on_emit, on_warn, &g, &st, err, sizeof err), CL_OK);
    /* the first four: two at 22:10:00.000 ('t', ' '), the leap second and 22:09:59.999 */
    assert_int_equal(g.n, 4);
    assert_int_equal(st.records_scanned, CL_ARRAY_LEN(ts));
    for (size_t i = 0; i < g.n; i++)
        assert_non_null(strstr(g.lines[i], ts[i])); /* newest first, ties in line order */
    got_free(&g);
    close_fixture(&fx, 0);
}

/* Runs last: adds a garbage object and a truncated one (whose first gzip member is
 * intact and full of matches), which must be reported and skipped whole. */
static void test_corrupt_objects(void **state)
{
    static const char *const keys[] = {
        "service=api/dt=2026-11-25/hour=23/20261125T230000Z-00000000000000aa.ndjson.gz",
        "service=web-1/dt=2026-11-26/hour=00/20261126T000000Z-00000000000000bb.ndjson.gz"};
    char line[200], ts[25];
    cl_format_timestamp(t_base + HOUR + 60000, ts);
    int len = snprintf(line, sizeof line,
                       "{\"timestamp\":\"%.24s\",\"level\":\"info\",\"service\":\"api\","
                       "\"message\":\"timeout hello\",\"user\":\"u3\"}\n",
                       ts);
    struct cl_buf gz;
    cl_buf_init(&gz, SIZE_MAX);
    assert_int_equal(cl_gzip_compress(line, (size_t)len, 1, &gz), CL_OK);
    size_t first = gz.len;
    assert_int_equal(cl_gzip_compress(line, (size_t)len, 1, &gz), CL_OK);
    struct cl_catalog_object m = {.key = keys[0],
                                  .service = "api",
                                  .dt = "2026-11-25",
                                  .hour = 23,
                                  .records = 2,
                                  .bytes = 10,
                                  .raw_bytes = 2 * len,
                                  .min_ts_ms = t_base + HOUR,
                                  .max_ts_ms = t_base + 2 * HOUR - 1};
    m.level_counts[2] = 2;
    put_object(&main_fx.store, &main_fx.queue, keys[0], &m, gz.data, first + (gz.len - first) / 2);
    m.key = keys[1];
    m.service = "web-1";
    m.dt = "2026-11-26";
    m.hour = 0;
    m.min_ts_ms += HOUR;
    m.max_ts_ms += HOUR;
    put_object(&main_fx.store, &main_fx.queue, keys[1], &m, "not gzip at all", 15);
    cl_buf_free(&gz);
    for (int c = 0; c < 2; c++) {
        struct cl_query_source src = {&main_fx.store, c ? cl_queue_catalog(&main_fx.queue) : NULL};
        struct tq t = {ALL};
        struct cl_query q = to_query(&t, CL_ORDER_NEWEST, 0, 2);
        struct got g = {0};
        struct cl_query_stats st;
        char err[256];
        assert_int_equal(cl_query_run(&src, &q, on_emit, on_warn, &g, &st, err, sizeof err), CL_OK);
        assert_int_equal(g.warned, 2);
        assert_int_equal(st.objects_failed, 2);
        assert_int_equal(g.n, n_refs);
        got_free(&g);
        check_query(&src, &queries[8], CL_ORDER_OLDEST, 0, 2, NULL); /* "timeout" */
        check_query(&src, &queries[12], CL_ORDER_NEWEST, 5, 1, NULL);
    }
}

static int setup(void **state)
{
    const char *base = getenv("CL_TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/query_engine_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(test_dir))
        return -1;
    build_main_store();
    return 0;
}

static int teardown(void **state)
{
    close_fixture(&main_fx, 1);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters_with_catalog),
        cmocka_unit_test(test_filters_without_catalog),
        cmocka_unit_test(test_pruning),
        cmocka_unit_test(test_limit_stops_early),
        cmocka_unit_test(test_bad_queries),
        cmocka_unit_test(test_partitions),
        cmocka_unit_test(test_timestamp_text_forms),
        cmocka_unit_test(test_corrupt_objects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
