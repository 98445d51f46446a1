/* test_analytics_cache.c - the inline analytics' shortcuts (analytics_line.c, the miner's
 * shape cache): the line-head fast path gives what cl_line_head_parse gives; records mined
 * through the shape cache (its key: test_miner_shape_cache.c) get the uncached miner's pattern on a
 * corpus (also with evictions), and on a corpus where the miner's choice can move, a template that
 * covers the record; ids are the hash of the template, the same in a new object (a restart). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analytics_int.h"
#include "analytics_test_line.h"
#include "buf.h"
#include "common.h"
#include "mask.h"
#include "miner.h"
#include "partition.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_MS 1767268800000LL /* 2026-01-01T12:00:00Z */
#define MIN_MS 60000LL
#define MAX_RECORDS 4000

static uint64_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* ---- the line head ---- */

static void expect_same_head(struct cl_analytics *a, const char *l)
{
    struct cl_line_head want;
    struct cl_an_line got;
    size_t n = strlen(l);
    int rc = cl_line_head_parse(l, n, &want);
    int rc2 = cl_an_line_head(a, l, n, &got);
    if (rc != 0) { /* the fast path may take a line with an invalid service: svc_get checks */
        assert_true(rc2 != 0 ||
                    (!got.service_checked && !cl_service_valid(got.service, got.service_len)));
        return;
    }
    assert_int_equal(rc2, 0);
    assert_int_equal(got.ts_ms, want.ts_ms);
    assert_int_equal(got.level, want.level);
    assert_int_equal(got.service_len, strlen(want.service));
    assert_memory_equal(got.service, want.service, got.service_len);
}

static void test_line_fast_path_matches_head_parse(void **state)
{
    (void)state;
    struct cl_analytics *a = cl_analytics_new(NULL);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    static const char *const levels[] = {"trace", "debug", "info", "warn", "error", "fatal"};
    uint64_t seed = 7;
    /* times over 3 years, in and out of order (the remembered day changes back and forth),
     * around midnights and month ends */
    for (int i = 0; i < 3000; i++) {
        int64_t ts = BASE_MS + (int64_t)(rnd(&seed) % (3ULL * 365 * 86400000ULL)) -
                     (int64_t)(i % 7 == 0 ? 86400000LL * 400 : 0);
        if (i % 5 == 0)
            ts = ts / 86400000 * 86400000 + (i % 2 ? 0 : 86400000 - 1);
        cl_buf_reset(&b);
        cl_test_line(&b, ts, levels[i % 6], i % 3 ? "api" : "svc.Other-1", "m 1");
        b.data[b.len - 1] = '\0';
        expect_same_head(a, b.data);
        if (i % 4 == 0) /* the same day again: the fast path */
            expect_same_head(a, b.data);
    }
    static const char *const odd[] = {
        "{\"timestamp\":\"2026-01-01T12:00:00.000Z\",\"level\":\"WARN\",\"service\":\"a\","
        "\"message\":\"x\"}",
        "{\"timestamp\":\"2026-01-01T24:00:00.000Z\",\"level\":\"info\",\"service\":\"a\","
        "\"message\":\"x\"}",
        "{\"timestamp\":\"2026-01-01T12:61:00.000Z\",\"level\":\"info\",\"service\":\"a\","
        "\"message\":\"x\"}",
        "{\"timestamp\":\"2026-01-01T12:00:60.000Z\",\"level\":\"info\",\"service\":\"a\","
        "\"message\":\"x\"}",
        "{\"timestamp\":\"2026-01-01T12:00:00.0x0Z\",\"level\":\"info\",\"service\":\"a\","
        "\"message\":\"x\"}",
        "{\"timestamp\":\"2026-01-01 12:00:00.000Z\",\"level\":\"info\",\"service\":\"a\","
        "\"message\":\"x\"}",
        "{\"timestamp\":\"2026-02-30T12:00:00.000Z\",\"level\":\"info\",\"service\":\"a\","
        "\"message\":\"x\"}",
        "{\"timestamp\":\"2026-01-01T12:00:00.000Z\",\"level\":\"info\",\"service\":\"b c\","
        "\"message\":\"x\"}",
        "{\"timestamp\":\"2026-01-01T12:00:00.000Z\",\"level\":\"info\",\"service\":\"\","
        "\"message\":\"x\"}",
        "{\"timestamp\":\"2026-01-01T12:00:00.000Z\",\"level\":\"info\",\"service\":"
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"message\":\"x\"}",
        "{\"timestamp\":\"2026-01-01T12:00:00.000Z\",\"level\":\"info\"",
        "{\"timestamp\":\"2026-01-01T12:00:00.000Z\"",
    };
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
        expect_same_head(a, odd[i]);
    /* a line of an invalid service is not counted, as before the fast path */
    cl_buf_reset(&b);
    cl_test_line(&b, BASE_MS, "info", "b c", "dropped");
    cl_test_line(&b, BASE_MS, "info", "ok", "kept");
    cl_analytics_observe(a, b.data, b.len);
    struct cl_analytics_stats st;
    cl_analytics_stats(a, &st);
    assert_int_equal(st.records, 1);
    assert_int_equal(st.services, 1);
    cl_buf_free(&b);
    cl_analytics_free(a);
}

/* ---- the shape cache against the uncached miner ---- */

/* Templated messages: numbers, hex ids and sizes of several lengths, and a token that
 * takes a few non-word values (so templates generalize while cached shapes point at them). */
static void corpus_message(uint64_t *seed, char *out, size_t n)
{
    static const char *const hosts[] = {"db-main", "db-replica", "cache-a", "cache-b"};
    uint64_t r = rnd(seed);
    unsigned v = (unsigned)(rnd(seed) % 100000) >> (r % 13);
    switch (r % 9) {
    case 0:
        snprintf(out, n, "GET /items/%u took %u ms", v, v % 977);
        break;
    case 1:
        snprintf(out, n, "user u%u logged in from 10.0.%u.%u", v % 50, v % 256, v % 7);
        break;
    case 2:
        snprintf(out, n, "connection to %s timed out after %u ms", hosts[v % 4], v);
        break;
    case 3:
        snprintf(out, n, "block blk_%u replicated to %u nodes", v, v % 5);
        break;
    case 4:
        snprintf(out, n, "trace %llx span %x done", (unsigned long long)r * 7919, v);
        break;
    case 5:
        snprintf(out, n, "wrote %u.%u KB to shard-%u in %us", v % 900, v % 10, v % 4, v % 60);
        break;
    case 6:
        snprintf(out, n, "job job-%u finished state ok retries %u", v % 30, v % 3);
        break;
    case 7:
        snprintf(out, n, "cache hit ratio %u%% for %s", v % 101, hosts[(v >> 3) % 4]);
        break;
    default:
        snprintf(out, n, "checkpoint %u of %u flushed", v % 9, v % 9 + 1);
        break;
    }
}

/* Feeds msgs to an analytics object, one record a minute (so each count row is one
 * record), drains it into d (the caller frees it) and puts each record's id in ids. */
static void observe_minutes(const struct cl_analytics_opts *o, char (*msgs)[128], size_t n,
                            uint64_t *ids, struct cl_analytics_batch *d)
{
    struct cl_analytics *a = cl_analytics_new(o);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    for (size_t i = 0; i < n; i++)
        cl_test_line(&b, BASE_MS + (int64_t)i * MIN_MS, "info", "svc", msgs[i]);
    cl_analytics_observe(a, b.data, b.len);
    cl_analytics_drain(a, d);
    assert_int_equal(d->n_counts, n);
    for (size_t i = 0; i < d->n_counts; i++) {
        size_t k = (size_t)(d->counts[i].minute - BASE_MS / MIN_MS);
        assert_true(k < n);
        ids[k] = d->counts[i].id;
    }
    cl_buf_free(&b);
    cl_analytics_free(a);
}

static void analytics_ids(const struct cl_analytics_opts *o, char (*msgs)[128], size_t n,
                          uint64_t *ids)
{
    struct cl_analytics_batch d;
    observe_minutes(o, msgs, n, ids, &d);
    cl_analytics_batch_free(&d);
}

static void check_equivalent(size_t max_patterns, size_t n)
{
    static char msgs[MAX_RECORDS][128];
    static uint64_t cached[MAX_RECORDS];
    uint64_t seed = 42 + max_patterns;
    for (size_t i = 0; i < n; i++)
        corpus_message(&seed, msgs[i], sizeof msgs[i]);
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    o.max_patterns = max_patterns;
    analytics_ids(&o, msgs, n, cached);
    struct cl_miner_config mc = {.max_clusters = max_patterns};
    struct cl_miner *m = cl_miner_new(&mc);
    cl_miner_set_shape_cache(m, 0);
    for (size_t i = 0; i < n; i++) {
        struct cl_pattern_match pm;
        cl_miner_add(m, msgs[i], strlen(msgs[i]), &pm);
        if (pm.id != cached[i])
            fail_msg("record %zu \"%s\": cached %016llx, miner %016llx", i, msgs[i],
                     (unsigned long long)cached[i], (unsigned long long)pm.id);
    }
    if (max_patterns < 16)
        assert_true(cl_miner_evictions(m) > 100); /* the cache met evicted clusters */
    cl_miner_free(m);
}

static void test_cache_matches_miner_on_corpus(void **state)
{
    (void)state;
    check_equivalent(512, MAX_RECORDS);
}

/* With a cap far below the shapes in use, cached shapes often name evicted clusters: the
 * generation check sends them to the miner, and the LRU order (a hit touches its cluster,
 * as a match does) stays the miner's, so the ids stay the miner's. */
static void test_cache_with_evictions_matches_miner(void **state)
{
    (void)state;
    check_equivalent(6, MAX_RECORDS);
}

/* Whether template t covers message msg: the same tokens as msg masked, or "<*>". */
static int covers(const char *t, const char *msg)
{
    static struct cl_masked k;
    cl_mask_message(msg, strlen(msg), &k);
    const char *p = t;
    for (size_t i = 0; i < k.n; i++) {
        size_t n = strcspn(p, " ");
        if (!(n == 3 && memcmp(p, "<*>", 3) == 0) &&
            (n != k.tok[i].len || memcmp(p, k.text + k.tok[i].off, n) != 0))
            return 0;
        p += n;
        if (*p == ' ')
            p++;
        else if (i + 1 < k.n)
            return 0;
    }
    return *p == '\0';
}

/* The cache's contract where the miner's choice can move: a shape goes to the cluster its
 * first message went to while that cluster lives. Templates only generalize, so that
 * cluster's template still covers every message of the shape, but later clusters (or a
 * lower similarity after other positions generalized) can make the uncached miner choose
 * another. Here non-word tokens take many values beside numbers, so templates generalize
 * under cached shapes; every record's final template must cover the record, and ids stay
 * the hash of the template. */
static void test_cache_result_covers_record(void **state)
{
    (void)state;
    static char msgs[MAX_RECORDS][128];
    static uint64_t ids[MAX_RECORDS];
    static const char *const words[] = {"a-b", "c-d", "e-f", "g-h", "x_y", "p.q"};
    uint64_t seed = 9;
    size_t n = 3000;
    for (size_t i = 0; i < n; i++) {
        unsigned r = (unsigned)rnd(&seed);
        snprintf(msgs[i], sizeof msgs[i], "op %s %s %s %u %s end %u", words[r % 6],
                 words[(r >> 3) % 6], r % 5 ? words[(r >> 6) % 6] : "7", r % 1000,
                 words[(r >> 9) % 6], r % 10);
    }
    struct cl_analytics_batch d;
    observe_minutes(NULL, msgs, n, ids, &d);
    /* follow the renames (in order) to the final id, then find its template */
    for (size_t i = 0; i < n; i++) {
        uint64_t id = ids[i];
        for (size_t j = 0; j < d.n_patterns; j++)
            if (!d.patterns[j].tmpl && d.patterns[j].prev_id == id)
                id = d.patterns[j].id;
        const char *t = NULL;
        for (size_t j = 0; j < d.n_patterns && !t; j++)
            if (d.patterns[j].tmpl && d.patterns[j].id == id)
                t = d.patterns[j].tmpl;
        assert_non_null(t);
        assert_int_equal(cl_mask_hash(t, strlen(t)), id);
        if (!covers(t, msgs[i]))
            fail_msg("record %zu \"%s\" not covered by \"%s\"", i, msgs[i], t);
    }
    cl_analytics_batch_free(&d);
}

/* Ids are the hash of the template: a new object (a restart) fed the same records reports
 * the same ids, cached or not. */
static void test_cache_ids_stable_across_objects(void **state)
{
    (void)state;
    static char msgs[MAX_RECORDS][128];
    static uint64_t first[MAX_RECORDS], second[MAX_RECORDS];
    uint64_t seed = 5;
    for (size_t i = 0; i < 1000; i++)
        corpus_message(&seed, msgs[i], sizeof msgs[i]);
    analytics_ids(NULL, msgs, 1000, first);
    analytics_ids(NULL, msgs, 1000, second);
    assert_memory_equal(first, second, 1000 * sizeof *first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_fast_path_matches_head_parse),
        cmocka_unit_test(test_cache_matches_miner_on_corpus),
        cmocka_unit_test(test_cache_with_evictions_matches_miner),
        cmocka_unit_test(test_cache_result_covers_record),
        cmocka_unit_test(test_cache_ids_stable_across_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
