/* test_analytics_member.c - records handed over as gzip members (cl_analytics_observe_member,
 * the daemon's processors since "Cost inline, sixth round") are learned as their text would
 * be: the same count rows and patterns, synchronously and with an observer thread per
 * shard (which inflates them), also when a member is larger than the thread's buffer; a
 * member that does not inflate to its length is skipped and counted (gz_failed), the
 * others still learned, and one that inflates beyond its length stops there. And the known set,
 * which now starts small and doubles, remembers every key it took (cl_an_known_add) up to the same
 * bound as the fixed table did. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analytics_int.h"
#include "analytics_test_line.h"
#include "buf.h"
#include "codec.h"
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_MS 1767268800000LL /* 2026-01-01T12:00:00Z */
#define SERVICES 7
#define CHUNKS 40
#define PER_CHUNK 500

/* Canonical lines of everything drained, sorted before comparing. */
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
    memset(s, 0, sizeof *s);
}

static void take_drain(struct cl_analytics *a, struct seen *s)
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
    cl_analytics_batch_free(&b);
}

static void assert_same(struct seen *a, struct seen *b)
{
    qsort(a->v, a->n, sizeof *a->v, cmp_str);
    qsort(b->v, b->n, sizeof *b->v, cmp_str);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->v[i], b->v[i]);
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A templated message (numbers, hex ids), or now and then a one-off of random numbers. */
static void message(uint64_t *r, char *out, size_t n)
{
    unsigned v = (unsigned)(rng_next(r) % 100000), ms = (unsigned)(rng_next(r) % 900);
    unsigned long long id = (unsigned long long)rng_next(r);
    switch (rng_next(r) % 6) {
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
        snprintf(out, n, "worker w%u picked task kind k%u", ms % 16, v % 40);
        break;
    case 4:
        snprintf(out, n, "retrying request %016llx (attempt %u)", id, ms % 5);
        break;
    default:
        snprintf(out, n, "payment %u declined: code %u", v, ms);
        break;
    }
}

static struct cl_analytics *make(size_t shards, size_t async_bytes)
{
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    o.shards = shards;
    o.async_bytes = async_bytes;
    o.max_patterns = 64; /* evictions too */
    return cl_analytics_new(&o);
}

/* One chunk's lines, by service: text[s] the lines of service s in order. */
static void make_chunk(uint64_t *r, int64_t *ts, struct cl_buf *all, struct cl_buf *text)
{
    char msg[256], svc[32];
    for (int i = 0; i < PER_CHUNK; i++, *ts += 100) {
        int s = (int)(rng_next(r) % SERVICES);
        const char *level = rng_next(r) % 20 == 0 ? "error" : "info";
        snprintf(svc, sizeof svc, "svc-%d", s);
        message(r, msg, sizeof msg);
        cl_test_line(all, *ts, level, svc, msg);
        cl_test_line(&text[s], *ts, level, svc, msg);
    }
}

/* Feeds the same records as text to ref and as members to each of as[0..n) (a member per
 * service and chunk, every 7th chunk's members split in two); drains all at the end. */
static void feed(struct cl_analytics *ref, struct cl_analytics **as, size_t n, struct seen *rs,
                 struct seen *ss)
{
    struct cl_buf all, gz, text[SERVICES];
    cl_buf_init(&all, SIZE_MAX);
    cl_buf_init(&gz, SIZE_MAX);
    for (int s = 0; s < SERVICES; s++)
        cl_buf_init(&text[s], SIZE_MAX);
    uint64_t r = 0x9e3779b97f4a7c15ULL;
    int64_t ts = BASE_MS;
    char svc[32];
    for (int c = 0; c < CHUNKS; c++) {
        make_chunk(&r, &ts, &all, text);
        cl_analytics_observe_at(ref, all.data, all.len, ts);
        for (int s = 0; s < SERVICES; s++) {
            snprintf(svc, sizeof svc, "svc-%d", s);
            size_t cut = text[s].len, at = 0;
            if (c % 7 == 3 && cut) { /* two members: the cut after a whole line */
                const char *mid = memchr(text[s].data + cut / 2, '\n', cut - cut / 2);
                cut = (size_t)(mid - text[s].data) + 1;
            }
            while (at < text[s].len) {
                size_t len = at == 0 ? cut : text[s].len - at;
                cl_buf_reset(&gz);
                assert_int_equal(cl_gzip_compress(text[s].data + at, len, 1, &gz), CL_OK);
                for (size_t k = 0; k < n; k++)
                    cl_analytics_observe_member_at(as[k], svc, gz.data, gz.len, len, ts);
                at += len;
            }
            cl_buf_reset(&text[s]);
        }
        cl_buf_reset(&all);
    }
    take_drain(ref, rs);
    for (size_t k = 0; k < n; k++)
        take_drain(as[k], &ss[k]);
    cl_buf_free(&all);
    cl_buf_free(&gz);
    for (int s = 0; s < SERVICES; s++)
        cl_buf_free(&text[s]);
}

static void check(size_t shards, size_t async_bytes)
{
    struct cl_analytics *ref = make(1, 0), *a = make(shards, async_bytes);
    struct seen rs = {0}, ss = {0};
    feed(ref, &a, 1, &rs, &ss);
    assert_true(rs.n > 0);
    assert_same(&rs, &ss);
    struct cl_analytics_stats st;
    cl_analytics_stats(a, &st);
    assert_int_equal(st.records, CHUNKS * PER_CHUNK);
    assert_int_equal(st.gz_failed, 0);
    seen_free(&rs);
    seen_free(&ss);
    cl_analytics_free(ref);
    cl_analytics_free(a);
}

static void test_member_sync(void **state)
{
    (void)state;
    check(1, 0);
}

static void test_member_sync_shards(void **state)
{
    (void)state;
    check(3, 0);
}

/* An observer thread per shard: the members are inflated there. */
static void test_member_async_shards(void **state)
{
    (void)state;
    check(3, 1 << 20);
}

/* A buffer of 64 KiB per shard (the least it takes), members of about 8 KiB compressed:
 * producers wait for room; and one object with a thread. */
static void test_member_async_small(void **state)
{
    (void)state;
    check(2, 65536);
    check(1, 65536);
}

/* A member larger than the buffer is learned by the caller, still the same records. */
static void test_member_larger_than_buffer(void **state)
{
    (void)state;
    struct cl_analytics *ref = make(1, 0), *a = make(1, 65536);
    struct cl_buf text, gz;
    cl_buf_init(&text, SIZE_MAX);
    cl_buf_init(&gz, SIZE_MAX);
    uint64_t r = 7;
    char msg[256];
    for (int i = 0; i < 4000; i++) { /* random hex: compresses badly, > 64 KiB */
        snprintf(msg, sizeof msg, "blob %016llx %016llx", (unsigned long long)rng_next(&r),
                 (unsigned long long)rng_next(&r));
        cl_test_line(&text, BASE_MS + i, "info", "big", msg);
    }
    assert_int_equal(cl_gzip_compress(text.data, text.len, 1, &gz), CL_OK);
    assert_true(gz.len > 65536);
    cl_analytics_observe_at(ref, text.data, text.len, BASE_MS);
    cl_analytics_observe_member_at(a, "big", gz.data, gz.len, text.len, BASE_MS);
    struct seen rs = {0}, ss = {0};
    take_drain(ref, &rs);
    take_drain(a, &ss);
    assert_same(&rs, &ss);
    seen_free(&rs);
    seen_free(&ss);
    cl_buf_free(&text);
    cl_buf_free(&gz);
    cl_analytics_free(ref);
    cl_analytics_free(a);
}

/* A damaged member, or one whose length is not the one given, is skipped and counted;
 * the members around it are learned. */
static void test_member_damaged(void **state)
{
    (void)state;
    for (size_t async = 0; async <= 1; async++) {
        struct cl_analytics *a = make(2, async ? 1 << 20 : 0);
        struct cl_buf text, gz;
        cl_buf_init(&text, SIZE_MAX);
        cl_buf_init(&gz, SIZE_MAX);
        cl_test_line(&text, BASE_MS, "info", "svc-1", "user 17 signed in");
        cl_test_line(&text, BASE_MS + 1, "info", "svc-1", "user 18 signed in");
        assert_int_equal(cl_gzip_compress(text.data, text.len, 1, &gz), CL_OK);
        cl_analytics_observe_member_at(a, "svc-1", gz.data, gz.len, text.len, BASE_MS);
        cl_analytics_observe_member_at(a, "svc-1", gz.data, gz.len, text.len + 1, BASE_MS);
        cl_analytics_observe_member_at(a, "svc-1", gz.data, gz.len - 9, text.len, BASE_MS);
        char *bad = malloc(gz.len);
        assert_non_null(bad);
        memcpy(bad, gz.data, gz.len);
        bad[gz.len / 2] ^= 0x55; /* the deflate data or its CRC no longer agree */
        cl_analytics_observe_member_at(a, "svc-1", bad, gz.len, text.len, BASE_MS);
        cl_analytics_observe_member_at(a, "svc-1", gz.data, gz.len, text.len, BASE_MS);
        struct seen ss = {0};
        take_drain(a, &ss);
        struct cl_analytics_stats st;
        cl_analytics_stats(a, &st);
        assert_int_equal(st.records, 4);
        assert_int_equal(st.gz_failed, 3);
        seen_free(&ss);
        free(bad);
        cl_buf_free(&text);
        cl_buf_free(&gz);
        cl_analytics_free(a);
    }
}

/* Resets the process's peak resident set to its current one (/proc/self/clear_refs). */
static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    assert_non_null(f);
    assert_true(fputs("5", f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* The process's peak resident set since the last reset_peak_rss (VmHWM), in bytes. */
static size_t peak_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %zu kB", &kb) == 1)
            break;
    fclose(f);
    assert_true(kb > 0);
    return kb << 10;
}

/* A member that inflates far beyond the length its index gives (a forged message's
 * "bomb": 256 MiB of zeros, ~250 KiB compressed) stops at that length plus one byte and is
 * counted: the process's peak does not grow by the bomb's size. (The zeros are calloc'd
 * and only read, so they are the kernel's zero page, not resident.) */
static void test_member_bomb_bounded(void **state)
{
    (void)state;
    const size_t big = (size_t)256 << 20;
    char *zeros = calloc(1, big);
    assert_non_null(zeros);
    struct cl_buf gz, text;
    cl_buf_init(&gz, SIZE_MAX);
    assert_int_equal(cl_gzip_compress(zeros, big, 1, &gz), CL_OK);
    free(zeros);
    struct cl_analytics *a = make(1, 0);
    cl_buf_init(&text, SIZE_MAX);
    reset_peak_rss(); /* the compression above had its own peak */
    size_t before = peak_rss();
    cl_an_observe_gz_now(a, gz.data, gz.len, 84, BASE_MS, &text);
    assert_true(peak_rss() - before < (size_t)64 << 20);
    struct cl_analytics_stats st;
    cl_analytics_stats(a, &st);
    assert_int_equal(st.gz_failed, 1);
    assert_int_equal(st.records, 0);
    cl_buf_free(&text);
    cl_buf_free(&gz);
    cl_analytics_free(a);
}

/* The known set doubles from its small start and keeps every key, up to half its largest
 * capacity (as the fixed table), then takes no more. */
static void test_known_set_grows(void **state)
{
    (void)state;
    struct cl_analytics *a = make(1, 0);
    size_t start = a->known_cap, max = a->known_max, n = max / 2;
    assert_true(start < max);
    uint64_t r = 99;
    uint64_t *keys = malloc((n + 10) * sizeof *keys);
    assert_non_null(keys);
    for (size_t i = 0; i < n + 10; i++) {
        keys[i] = rng_next(&r) | 1;
        assert_int_equal(cl_an_known_add(a, keys[i]), 0);
    }
    assert_int_equal(a->known_cap, max);
    assert_int_equal(a->known_n, n);
    for (size_t i = 0; i < n; i++) /* every key taken is there */
        assert_int_equal(cl_an_known_add(a, keys[i]), 1);
    for (size_t i = n; i < n + 10; i++) /* the ones past the bound were not taken */
        assert_int_equal(cl_an_known_add(a, keys[i]), 0);
    assert_int_equal(a->known_n, n);
    free(keys);
    cl_analytics_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_sync),
        cmocka_unit_test(test_member_sync_shards),
        cmocka_unit_test(test_member_async_shards),
        cmocka_unit_test(test_member_async_small),
        cmocka_unit_test(test_member_larger_than_buffer),
        cmocka_unit_test(test_member_damaged),
        cmocka_unit_test(test_member_bomb_bounded),
        cmocka_unit_test(test_known_set_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
