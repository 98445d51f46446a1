/* test_analytics_shard.c - analytics split by service over shards (analytics.h, shards;
 * analytics_shard.c) learns what one object learns from the same records: the same count
 * rows (pattern id, minute, level, count), the same patterns (templates, examples, first
 * and last seen, renames) and, with the same ticks, the same anomalies. Templated
 * messages (the shape cache's hits) and random words with a small pattern cap (every
 * record a miss, LRU evictions), services mixed within one hand-over; synchronously and
 * with an observer thread per shard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analytics.h"
#include "analytics_test_line.h"
#include "buf.h"
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_MS 1767268800000LL /* 2026-01-01T12:00:00Z */
#define MIN_MS 60000LL
#define SERVICES 12

/* Canonical lines of everything drained, sorted at the end. */
struct seen {
    char **v;
    size_t n, cap;
};

static void seen_add(struct seen *s, const char *line)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        assert_non_null(s->v);
    }
    s->v[s->n++] = strdup(line);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static void take_drain(struct cl_analytics *a, struct seen *s, int with_anomalies)
{
    struct cl_analytics_batch b;
    char line[2048];
    cl_analytics_drain(a, &b);
    for (size_t i = 0; i < b.n_counts; i++) {
        const struct cl_pattern_count *c = &b.counts[i];
        snprintf(line, sizeof line, "count %s %016llx %lld %d %llu", c->service,
                 (unsigned long long)c->id, (long long)c->minute, c->level,
                 (unsigned long long)c->count);
        seen_add(s, line);
    }
    for (size_t i = 0; i < b.n_patterns; i++) {
        const struct cl_pattern_info *p = &b.patterns[i];
        snprintf(line, sizeof line, "pattern %s %016llx %016llx %s | %.500s | %lld %lld",
                 p->service, (unsigned long long)p->id, (unsigned long long)p->prev_id,
                 p->tmpl ? p->tmpl : "-", p->example ? p->example : "-", (long long)p->first_ms,
                 (long long)p->last_ms);
        seen_add(s, line);
    }
    for (size_t i = 0; with_anomalies && i < b.n_anomalies; i++) {
        const struct cl_anomaly_event *e = &b.anomalies[i];
        snprintf(line, sizeof line, "anomaly %s %d %lld %s", e->service, (int)e->kind,
                 (long long)e->ts_ms, e->text);
        seen_add(s, line);
    }
    cl_analytics_batch_free(&b);
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static const char *const words[] = {"alpha", "bravo", "charlie", "delta", "echo",   "foxtrot",
                                    "golf",  "hotel", "india",   "kilo",  "lima",   "mike",
                                    "oscar", "papa",  "romeo",   "tango", "victor", "zulu"};

/* One message: templated (numbers, hex ids, sizes) or 5 to 14 random words. */
static void message(uint64_t *r, int random_words, char *out, size_t n)
{
    if (random_words) {
        size_t at = 0, k = 5 + rng_next(r) % 10;
        for (size_t i = 0; i < k && at < n; i++)
            at += (size_t)snprintf(out + at, n - at, "%s%s", i ? " " : "",
                                   words[rng_next(r) % CL_ARRAY_LEN(words)]);
        return;
    }
    unsigned v = (unsigned)(rng_next(r) % 100000), ms = (unsigned)(rng_next(r) % 900);
    unsigned long long id = (unsigned long long)rng_next(r);
    switch (rng_next(r) % 8) {
    case 0:
        snprintf(out, n, "GET /api/v1/items/%u answered 200 in %u ms", v, ms);
        break;
    case 1:
        snprintf(out, n, "job %016llx finished in %u ms", id, ms);
        break;
    case 2:
        snprintf(out, n, "user %u signed in from 10.0.%u.%u", v, ms % 256, v % 256);
        break;
    case 3:
        snprintf(out, n, "cache miss for key user:%u", v);
        break;
    case 4:
        snprintf(out, n, "retrying request %016llx (attempt %u)", id, ms % 5);
        break;
    case 5:
        snprintf(out, n, "payment %u declined: code %u", v, ms);
        break;
    case 6:
        snprintf(out, n, "worker %u picked task %u", ms % 16, v);
        break;
    default:
        snprintf(out, n, "disk usage at %u%% on /dev/sda%u", ms % 100, v % 4);
        break;
    }
}

/* Feeds the same records to every object in as[0..n): 200 minutes, services mixed within
 * each hand-over of 500 lines, an error burst in one service and a new message kind after
 * the warm-up, a service that goes quiet; ticks each simulated second when tick is set. */
static void feed(struct cl_analytics **as, size_t n, int random_words, int tick, struct seen *seen,
                 int with_anomalies)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    uint64_t r = 0x9e3779b97f4a7c15ULL;
    char msg[256], svc[32];
    int64_t ts = BASE_MS;
    for (int chunk = 0; chunk < 240; chunk++) {
        for (int i = 0; i < 500; i++, ts += 100) {
            int s = (int)(rng_next(&r) % SERVICES);
            if (s == 3 && ts > BASE_MS + 150 * MIN_MS)
                s = 4; /* service 3 goes quiet */
            int burst = s == 5 && ts / MIN_MS == BASE_MS / MIN_MS + 170;
            const char *level = burst || rng_next(&r) % 50 == 0 ? "error" : "info";
            snprintf(svc, sizeof svc, "svc-%02d", s);
            message(&r, random_words, msg, sizeof msg);
            if (s == 7 && ts > BASE_MS + 120 * MIN_MS && i % 50 == 0)
                snprintf(msg, sizeof msg, "NullPointerException at Foo.java:%d", i);
            cl_test_line(&b, ts, level, svc, msg);
        }
        int64_t wall = ts; /* the simulated wall clock follows the records */
        for (size_t k = 0; k < n; k++)
            cl_analytics_observe_at(as[k], b.data, b.len, wall);
        cl_buf_reset(&b);
        for (size_t k = 0; tick && k < n; k++)
            cl_analytics_tick(as[k], wall);
        /* a drain every 5,000 records: below the caps on pending rows and events, which
         * are per shard (a flood of new patterns would otherwise drop different ones) */
        if (chunk % 10 == 9)
            for (size_t k = 0; k < n; k++)
                take_drain(as[k], &seen[k], with_anomalies);
    }
    for (size_t k = 0; k < n; k++)
        take_drain(as[k], &seen[k], with_anomalies);
    cl_buf_free(&b);
}

static void assert_same(struct seen *a, struct seen *b)
{
    qsort(a->v, a->n, sizeof *a->v, cmp_str);
    qsort(b->v, b->n, sizeof *b->v, cmp_str);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->v[i], b->v[i]);
}

static struct cl_analytics *make(size_t shards, size_t async_bytes, size_t max_patterns)
{
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    o.shards = shards;
    o.async_bytes = async_bytes;
    o.warmup_ms = 60 * MIN_MS;
    if (max_patterns)
        o.max_patterns = max_patterns;
    return cl_analytics_new(&o);
}

/* Synchronous shards with the same ticks: every row, pattern and anomaly is the same. */
static void check_sync(int random_words, size_t max_patterns)
{
    struct cl_analytics *as[3] = {make(1, 0, max_patterns), make(2, 0, max_patterns),
                                  make(3, 0, max_patterns)};
    struct seen seen[3] = {{0}};
    feed(as, 3, random_words, 1, seen, 1);
    assert_true(seen[0].n > 100);
    size_t anomalies = 0;
    for (size_t i = 0; i < seen[0].n; i++)
        anomalies += strncmp(seen[0].v[i], "anomaly", 7) == 0;
    assert_true(anomalies > 0); /* the burst, the new kind or the silence was seen */
    struct cl_analytics_stats one, two;
    cl_analytics_stats(as[0], &one);
    cl_analytics_stats(as[1], &two);
    assert_int_equal(one.records, 120000);
    assert_int_equal(two.records, 120000);
    assert_int_equal(one.services, two.services);
    assert_int_equal(one.patterns, two.patterns);
    assert_int_equal(one.patterns_evicted, two.patterns_evicted);
    assert_same(&seen[0], &seen[1]);
    assert_same(&seen[0], &seen[2]);
    for (size_t k = 0; k < 3; k++) {
        seen_free(&seen[k]);
        cl_analytics_free(as[k]);
    }
}

static void test_shards_templated_as_one_object(void **state)
{
    (void)state;
    check_sync(0, 0);
}

static void test_shards_random_words_as_one_object(void **state)
{
    (void)state;
    check_sync(1, 64); /* every record a new pattern: thousands of evictions */
}

/* With an observer thread per shard (and no tick, whose timing would then matter): the
 * same rows and patterns as one synchronous object. */
static void test_shards_with_observer_threads(void **state)
{
    (void)state;
    for (int random_words = 0; random_words < 2; random_words++) {
        struct cl_analytics *as[2] = {make(1, 0, 64), make(2, 65536 * 2, 64)};
        struct seen seen[2] = {{0}};
        feed(as, 2, random_words, 0, seen, 0);
        assert_same(&seen[0], &seen[1]);
        for (size_t k = 0; k < 2; k++) {
            seen_free(&seen[k]);
            cl_analytics_free(as[k]);
        }
    }
}

/* Lines the layout scan does not take (a level not in its canonical name: the general
 * parse) go to their service's shard too; lines of another layout are skipped by both. */
static void test_shards_route_other_layouts(void **state)
{
    (void)state;
    struct cl_analytics *as[2] = {make(1, 0, 0), make(2, 0, 0)};
    struct seen seen[2] = {{0}};
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    for (int i = 0; i < 2000; i++) {
        char t[25];
        cl_format_timestamp(BASE_MS + i * 1000, t);
        if (i % 3 == 0)
            cl_test_line(&b, BASE_MS + i * 1000, "info", i % 2 ? "svc-01" : "svc-02", "plain");
        else if (i % 3 == 1)
            cl_test_line(&b, BASE_MS + i * 1000, "WARNING", i % 2 ? "svc-03" : "svc-04", "w");
        else
            cl_buf_printf(&b,
                          "{\"service\":\"svc-%02d\",\"message\":\"job %d done\",\"level\":"
                          "\"warn\",\"timestamp\":\"%s\"}\n",
                          i % SERVICES, i, t);
    }
    for (size_t k = 0; k < 2; k++) {
        cl_analytics_observe_at(as[k], b.data, b.len, BASE_MS);
        take_drain(as[k], &seen[k], 1);
    }
    assert_true(seen[0].n > 20);
    assert_same(&seen[0], &seen[1]);
    struct cl_analytics_stats one, two;
    cl_analytics_stats(as[0], &one);
    cl_analytics_stats(as[1], &two);
    assert_int_equal(one.records, 1334);
    assert_int_equal(two.records, 1334);
    assert_int_equal(two.services, 4);
    for (size_t k = 0; k < 2; k++) {
        seen_free(&seen[k]);
        cl_analytics_free(as[k]);
    }
    cl_buf_free(&b);
}

/* The front's readers: the scores of every service once under one header, recent
 * anomalies newest first over the shards. */
static void test_shards_readers(void **state)
{
    (void)state;
    struct cl_analytics *as[1] = {make(2, 0, 0)};
    struct seen seen[1] = {{0}};
    feed(as, 1, 0, 1, seen, 1);
    struct cl_buf out;
    cl_buf_init(&out, SIZE_MAX);
    cl_analytics_render_prom(as[0], &out);
    cl_buf_append_char(&out, '\0');
    for (int s = 0; s < SERVICES; s++) {
        char needle[80];
        snprintf(needle, sizeof needle, "{service=\"svc-%02d\",series=\"rate\"}", s);
        const char *at = strstr(out.data, needle);
        assert_non_null(at);
        assert_null(strstr(at + 1, needle));
    }
    assert_int_equal(strstr(out.data, "# HELP") == out.data, 1);
    assert_null(strstr(out.data + 1, "# HELP"));
    struct cl_anomaly_event ev[8];
    size_t n = cl_analytics_recent(as[0], ev, 8);
    assert_true(n > 0);
    for (size_t i = 1; i < n; i++)
        assert_true(ev[i - 1].ts_ms >= ev[i].ts_ms);
    cl_buf_free(&out);
    seen_free(&seen[0]);
    cl_analytics_free(as[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shards_templated_as_one_object),
        cmocka_unit_test(test_shards_random_words_as_one_object),
        cmocka_unit_test(test_shards_with_observer_threads),
        cmocka_unit_test(test_shards_route_other_layouts),
        cmocka_unit_test(test_shards_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
