/* test_analytics_db_hold.c - hold_singletons (analytics.h): a drain holds back the row and
 * count of a pattern with one record, never handed over, for one drain. Checked: a held
 * pattern still alive at the next drain comes then, with its count; one evicted meanwhile
 * comes as a count without a row (the catalog's "<rare>"); a pattern with two records is
 * not held; the final drain holds nothing; and over a random-word stream with evictions
 * every (pattern, minute, level) count adds up to what the same drains give without
 * holding, in the analytics batches and in the catalog (every record counted once). */
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

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE_MS 1767268800000LL /* 2026-01-01T12:00:00Z */
#define CAP 8                   /* patterns per service: evictions come soon */

static struct cl_analytics *new_object(int hold, size_t shards)
{
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    o.max_patterns = CAP;
    o.max_new_per_minute = 1u << 20; /* evictions: no budget of new clusters per minute */
    o.hold_singletons = hold;
    o.shards = shards;
    return cl_analytics_new(&o);
}

static void feed(struct cl_analytics *a, int64_t ts, const char *service, const char *msg)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    cl_test_line(&b, ts, "info", service, msg);
    cl_analytics_observe_at(a, b.data, b.len, ts);
    cl_buf_free(&b);
}

/* The count b holds for id (every minute and level), and whether it upserts id's row. */
static uint64_t count_of(const struct cl_analytics_batch *b, uint64_t id)
{
    uint64_t n = 0;
    for (size_t i = 0; i < b->n_counts; i++)
        n += b->counts[i].id == id ? b->counts[i].count : 0;
    return n;
}

static int upserts(const struct cl_analytics_batch *b, uint64_t id)
{
    for (size_t i = 0; i < b->n_patterns; i++)
        if (b->patterns[i].tmpl && b->patterns[i].id == id)
            return 1;
    return 0;
}

static uint64_t id_of(const char *tmpl)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* cl_mask_hash: FNV-1a */
    for (const char *p = tmpl; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    return h;
}

static void test_held_then_handed(void **state)
{
    (void)state;
    struct cl_analytics *a = new_object(1, 0);
    struct cl_analytics_batch b;
    feed(a, BASE_MS, "web", "alpha beta gamma");
    feed(a, BASE_MS + 1, "web", "delta epsilon");
    feed(a, BASE_MS + 2, "web", "delta epsilon");
    cl_analytics_drain(a, &b);
    uint64_t one = id_of("alpha beta gamma"), two = id_of("delta epsilon");
    assert_int_equal(count_of(&b, one), 0); /* held back */
    assert_false(upserts(&b, one));
    assert_int_equal(count_of(&b, two), 2); /* two records: not held */
    assert_true(upserts(&b, two));
    cl_analytics_batch_free(&b);
    cl_analytics_drain(a, &b); /* no record since: the held one comes now */
    assert_int_equal(count_of(&b, one), 1);
    assert_true(upserts(&b, one));
    assert_int_equal(count_of(&b, two), 0);
    assert_false(upserts(&b, two));
    cl_analytics_batch_free(&b);
    cl_analytics_drain(a, &b); /* and only once */
    assert_int_equal(b.n_counts + b.n_patterns, 0);
    cl_analytics_batch_free(&b);
    cl_analytics_free(a);
}

static void test_evicted_comes_without_row(void **state)
{
    (void)state;
    struct cl_analytics *a = new_object(1, 0);
    struct cl_analytics_batch b;
    feed(a, BASE_MS, "web", "alpha beta gamma");
    cl_analytics_drain(a, &b);
    assert_int_equal(b.n_counts + b.n_patterns, 0);
    cl_analytics_batch_free(&b);
    char msg[64];
    for (int i = 0; i < 2 * CAP; i++) { /* new clusters evict it (LRU) */
        snprintf(msg, sizeof msg, "word%c other%c thing", 'a' + i, 'a' + i);
        feed(a, BASE_MS + 10 + i, "web", msg);
    }
    cl_analytics_drain(a, &b);
    uint64_t one = id_of("alpha beta gamma");
    assert_int_equal(count_of(&b, one), 1);
    assert_false(upserts(&b, one));
    cl_analytics_batch_free(&b);
    cl_analytics_drain_final(a, &b); /* what this drain held comes now, all of it */
    uint64_t total = 0;
    for (size_t i = 0; i < b.n_counts; i++)
        total += b.counts[i].count;
    assert_int_equal(total, CAP); /* the live ones, held by the drain before */
    cl_analytics_batch_free(&b);
    cl_analytics_free(a);
}

static void test_off_and_final_hold_nothing(void **state)
{
    (void)state;
    for (int hold = 0; hold < 2; hold++) {
        struct cl_analytics *a = new_object(hold, 0);
        struct cl_analytics_batch b;
        feed(a, BASE_MS, "web", "alpha beta gamma");
        if (hold)
            cl_analytics_drain_final(a, &b);
        else
            cl_analytics_drain(a, &b);
        assert_int_equal(count_of(&b, id_of("alpha beta gamma")), 1);
        assert_true(upserts(&b, id_of("alpha beta gamma")));
        cl_analytics_batch_free(&b);
        cl_analytics_free(a);
    }
}

/* ---- a random-word stream: the same counts with and without holding ---- */

struct tally { /* (service, id, minute, level) -> count, a small linear table */
    char svc[65];
    uint64_t id;
    int64_t minute;
    int level;
    uint64_t count;
};

struct tallies {
    struct tally *v;
    size_t n, cap;
    size_t upserts; /* pattern rows handed over */
};

static void tally_add(struct tallies *t, const struct cl_pattern_count *c)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].id == c->id && t->v[i].minute == c->minute && t->v[i].level == c->level &&
            strcmp(t->v[i].svc, c->service) == 0) {
            t->v[i].count += c->count;
            return;
        }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->v = realloc(t->v, t->cap * sizeof *t->v);
        assert_non_null(t->v);
    }
    struct tally *x = &t->v[t->n++];
    snprintf(x->svc, sizeof x->svc, "%s", c->service);
    x->id = c->id;
    x->minute = c->minute;
    x->level = c->level;
    x->count = c->count;
}

static int cmp_tally(const void *pa, const void *pb)
{
    const struct tally *a = pa, *b = pb;
    int s = strcmp(a->svc, b->svc);
    if (s)
        return s;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    if (a->minute != b->minute)
        return a->minute < b->minute ? -1 : 1;
    return a->level - b->level;
}

static const char *const words[] = {"request", "failed", "user",   "cache",  "miss",
                                    "timeout", "retry",  "queue",  "worker", "shard",
                                    "lock",    "read",   "client", "server", "batch"};

/* n records of 2 services, 2 to 4 random words each (repeats happen: some patterns get two
 * records or more), 1 s apart; a drain every `every` records, the last one final. */
static void run_stream(struct cl_analytics *a, unsigned seed, int n, int every,
                       struct cl_analytics_db *db, struct tallies *t, uint64_t *records)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    char err[256];
    for (int i = 0; i < n; i++) {
        char msg[128] = "";
        int k = 2 + (int)(seed % 3);
        for (int w = 0; w < k; w++) {
            seed = seed * 1103515245u + 12345u;
            strcat(msg, w ? " " : "");
            strcat(msg, words[(seed >> 16) % (sizeof words / sizeof *words)]);
        }
        int64_t ts = BASE_MS + (int64_t)i * 1000;
        cl_buf_reset(&b);
        cl_test_line(&b, ts, (seed >> 8) % 5 ? "info" : "error", (seed >> 12) % 2 ? "web" : "db",
                     msg);
        cl_analytics_observe_at(a, b.data, b.len, ts);
        if ((i + 1) % every == 0 || i + 1 == n) {
            struct cl_analytics_batch d;
            if (i + 1 == n)
                cl_analytics_drain_final(a, &d);
            else
                cl_analytics_drain(a, &d);
            for (size_t p = 0; p < d.n_patterns; p++)
                t->upserts += d.patterns[p].tmpl != NULL;
            for (size_t c = 0; c < d.n_counts; c++) {
                tally_add(t, &d.counts[c]);
                *records += d.counts[c].count;
            }
            if (db)
                assert_int_equal(cl_analytics_db_apply(db, &d, ts, err, sizeof err), 0);
            cl_analytics_batch_free(&d);
        }
    }
    cl_buf_free(&b);
    qsort(t->v, t->n, sizeof *t->v, cmp_tally);
}

static char path[512];

static void remove_db(void)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* Records counted in the catalog at path (closed) as readers see them: counts joined to
 * their pattern rows, "<rare>" included (a count row without a pattern row is not seen). */
static int64_t catalog_records(void)
{
    static const char sql[] = "SELECT coalesce(sum(c.count), 0) FROM pattern_counts c"
                              " JOIN patterns p ON p.service = c.service AND p.id = c.id";
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_stream_counts_add_up(void **state)
{
    (void)state;
    const int n = 3000;
    for (size_t shards = 0; shards <= 2; shards += 2) {
        struct tallies plain = {0}, held = {0};
        uint64_t r0 = 0, r1 = 0;
        struct cl_analytics *a = new_object(0, shards), *h = new_object(1, shards);
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/andb-hold-%d.db", dir ? dir : "/tmp", (int)getpid());
        remove_db();
        struct cl_analytics_db *db;
        char err[256];
        assert_int_equal(cl_analytics_db_open(path, 0, &db, err, sizeof err), 0);
        run_stream(a, 7, n, 37, NULL, &plain, &r0);
        run_stream(h, 7, n, 37, db, &held, &r1);
        assert_int_equal(r0, n);
        assert_int_equal(r1, n);
        assert_int_equal(plain.n, held.n);
        /* holding took effect: one-off patterns evicted before the next drain had no row */
        assert_true(held.upserts < plain.upserts);
        assert_true(held.upserts > 0);
        for (size_t i = 0; i < plain.n; i++)
            assert_int_equal(
                cmp_tally(&plain.v[i], &held.v[i]) == 0 && plain.v[i].count == held.v[i].count, 1);
        cl_analytics_db_close(db);
        assert_int_equal(catalog_records(), n); /* every record once, rows or <rare> */
        remove_db();
        cl_analytics_free(a);
        cl_analytics_free(h);
        free(plain.v);
        free(held.v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_then_handed),
        cmocka_unit_test(test_evicted_comes_without_row),
        cmocka_unit_test(test_off_and_final_hold_nothing),
        cmocka_unit_test(test_stream_counts_add_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
