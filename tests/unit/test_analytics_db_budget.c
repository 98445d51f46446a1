/* test_analytics_db_budget.c - the budget of new clusters per service and minute
 * (cl_analytics_opts.max_new_per_minute, default max_patterns; docs/analytics.md "Cost
 * inline, seventh round"). Checked: the miner's cl_miner_add_or_skip leaves the miner as it
 * was when it creates nothing; beyond the budget a record that matches no cluster creates
 * none (no eviction) and counts under "<rare>" with its level, while records that match
 * a cluster keep their pattern; the budget refills at the service's next minute; a drain
 * hands over the "<rare>" row with the first and last record times; hold_singletons never
 * holds it; every record is counted once, in the batches and in the catalog. */
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
#include "mask.h"
#include "miner.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE_MS 1767268800000LL /* 2026-01-01T12:00:00Z */
#define MIN_MS 60000LL
#define CAP 16

static uint64_t fnv(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* every pattern id: FNV-1a of the template */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* A message of plain words that is its own pattern (no two share a word at a position). */
static void word_msg(char *out, size_t cap, int i)
{
    static const char *const w[] = {"alpha",   "bravo", "charlie", "delta", "echo",
                                    "foxtrot", "golf",  "hotel",   "india", "juliet"};
    snprintf(out, cap, "%s %s %s job finished", w[i % 10], w[i / 10 % 10], w[i / 100 % 10]);
}

static void feed(struct cl_analytics *a, int64_t ts, const char *level, const char *msg)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    cl_test_line(&b, ts, level, "busy", msg);
    cl_analytics_observe_at(a, b.data, b.len, ts);
    cl_buf_free(&b);
}

static uint64_t count_id(const struct cl_analytics_batch *d, uint64_t id, int64_t minute, int level)
{
    uint64_t n = 0;
    for (size_t i = 0; i < d->n_counts; i++)
        if (d->counts[i].id == id && (minute < 0 || d->counts[i].minute == minute) &&
            (level < 0 || d->counts[i].level == level))
            n += d->counts[i].count;
    return n;
}

static uint64_t total(const struct cl_analytics_batch *d)
{
    uint64_t n = 0;
    for (size_t i = 0; i < d->n_counts; i++)
        n += d->counts[i].count;
    return n;
}

static const struct cl_pattern_info *info_of(const struct cl_analytics_batch *d, uint64_t id)
{
    for (size_t i = 0; i < d->n_patterns; i++)
        if (d->patterns[i].tmpl && d->patterns[i].id == id)
            return &d->patterns[i];
    return NULL;
}

static void test_miner_skip_learns_nothing(void **state)
{
    (void)state;
    struct cl_miner_config mc = {.max_clusters = 4};
    struct cl_miner *m = cl_miner_new(&mc), *ref = cl_miner_new(&mc);
    struct cl_pattern_match x, y;
    char msg[96];
    for (int i = 0; i < 4; i++) { /* full: a fifth cluster would evict the oldest */
        word_msg(msg, sizeof msg, i);
        cl_miner_add(m, msg, strlen(msg), &x);
        cl_miner_add(ref, msg, strlen(msg), &y);
    }
    for (int i = 4; i < 40; i++) { /* new messages, twice each: nothing learned, no eviction */
        word_msg(msg, sizeof msg, i);
        for (int k = 0; k < 2; k++)
            assert_int_equal(cl_miner_add_or_skip(m, msg, strlen(msg), 0, &x), -1);
    }
    assert_int_equal(cl_miner_count(m), 4);
    assert_int_equal(cl_miner_evictions(m), 0);
    /* a message that matches a cluster still joins it (here: generalizes it) */
    const char *longer = "alpha alpha alpha job finished now"; /* one token more: new */
    assert_int_equal(cl_miner_add_or_skip(m, longer, strlen(longer), 0, &x), -1);
    const char *near = "alpha alpha alpha job 42"; /* 4 of 5 agree with cluster 0 */
    assert_int_equal(cl_miner_add_or_skip(m, near, strlen(near), 0, &x), 0);
    cl_miner_add(ref, near, strlen(near), &y);
    assert_true(x.id == y.id && x.cluster == y.cluster && !x.is_new && x.prev_id != 0);
    assert_true(x.prev_id == y.prev_id);
    /* from here on both miners learn the same: the skipped messages left no trace */
    for (int i = 100; i < 140; i++) {
        word_msg(msg, sizeof msg, i % 7 == 0 ? 1 : i);
        cl_miner_add(m, msg, strlen(msg), &x);
        cl_miner_add(ref, msg, strlen(msg), &y);
        assert_true(x.id == y.id && x.cluster == y.cluster && x.is_new == y.is_new);
    }
    assert_int_equal(cl_miner_evictions(m), cl_miner_evictions(ref));
    cl_miner_free(m);
    cl_miner_free(ref);
}

/* A message of 1 to 6 tokens drawn from words, day names, hex words, numbers, quotes,
 * punctuation and key=value, with blanks of several kinds. */
static void odd_msg(char *out, size_t cap, uint64_t *seed)
{
    static const char *const tok[] = {
        "alpha", "bravo", "Fri",      "Jun",     "deadbeef", "abcdef", "ABCDEFAB", "cafe", "x",
        "42",    "3.5ms", "'Active'", "\"a b\"", "(0x0)",    "uid=0",  "/var/log", "en0",  "done,",
        "KB",    "<*>",   "alpha:",   "[x]",     "Mon",      "Monday", "abcdefgh", "bravo"};
    static const char *const gap[] = {" ", "  ", "\t", " \t "};
    size_t n = 1 + (*seed >> 33) % 6, p = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        const char *g = i || (*seed >> 20) % 5 == 0 ? gap[(*seed >> 40) % 4] : "";
        p += (size_t)snprintf(out + p, cap - p, "%s%s", g,
                              tok[(*seed >> 33) % (sizeof tok / sizeof *tok)]);
    }
}

/* cl_mask_plain_head says what cl_mask_message makes of the first two tokens, or nothing. */
static void test_plain_head_agrees_with_mask(void **state)
{
    (void)state;
    static struct cl_masked k;
    char msg[256];
    uint64_t seed = 7, said = 0;
    for (int i = 0; i < 200000; i++) {
        odd_msg(msg, sizeof msg, &seed);
        uint64_t h[2];
        if (!cl_mask_plain_head(msg, strlen(msg), h))
            continue;
        said++;
        cl_mask_message(msg, strlen(msg), &k);
        assert_true(k.n >= 2);
        assert_false(k.tok[0].masked || k.tok[1].masked);
        assert_true(k.tok[0].hash == h[0] && k.tok[1].hash == h[1]);
    }
    assert_true(said > 1000);
}

/* With create 0 the miner answers as a search without learning would (cl_miner_match),
 * skipping the mask for messages whose first two tokens route to no cluster. */
static void test_skip_without_mask_agrees(void **state)
{
    (void)state;
    struct cl_miner_config mc = {.max_clusters = 64};
    struct cl_miner *m = cl_miner_new(&mc);
    struct cl_pattern_match x, y;
    char msg[256];
    uint64_t seed = 11;
    for (int i = 0; i < 20000; i++) {
        odd_msg(msg, sizeof msg, &seed);
        size_t len = strlen(msg);
        if (i % 3 == 0) { /* learn some, with evictions */
            cl_miner_add(m, msg, len, &x);
            continue;
        }
        int found = cl_miner_match(m, msg, len, &y) == 0;
        int placed = cl_miner_add_or_skip(m, msg, len, 0, &x) == 0;
        assert_int_equal(placed, found);
        if (placed)
            assert_true(x.cluster == y.cluster);
    }
    assert_true(cl_miner_evictions(m) > 0);
    assert_true(cl_miner_head_skips(m) > 100);
    cl_miner_free(m);
}

static struct cl_analytics *new_object(size_t budget, int hold)
{
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    o.max_patterns = CAP;
    o.max_new_per_minute = budget; /* 0: the default, CAP */
    o.hold_singletons = hold;
    return cl_analytics_new(&o);
}

static void test_budget_counts_under_rare(void **state)
{
    (void)state;
    struct cl_analytics *a = new_object(0, 0);
    const uint64_t rare = fnv(CL_ANALYTICS_RARE_TEMPLATE);
    char msg[96];
    /* minute 0: 100 patterns, every fifth record an error; then one more of pattern 3 */
    for (int i = 0; i < 100; i++) {
        word_msg(msg, sizeof msg, i);
        feed(a, BASE_MS + i, i % 5 == 0 ? "error" : "info", msg);
    }
    word_msg(msg, sizeof msg, 3);
    feed(a, BASE_MS + 200, "info", msg); /* a known cluster: its own pattern, over budget */
    struct cl_analytics_stats st;
    cl_analytics_stats(a, &st);
    assert_int_equal(st.patterns, CAP);
    assert_int_equal(st.patterns_evicted, 0); /* without the budget: 100 - CAP */
    assert_int_equal(st.over_budget, 100 - CAP);
    assert_int_equal(st.records, 101);
    struct cl_analytics_batch d;
    cl_analytics_drain(a, &d);
    assert_int_equal(total(&d), 101);
    int64_t m0 = BASE_MS / MIN_MS;
    assert_int_equal(count_id(&d, rare, m0, -1), 100 - CAP);
    /* errors over budget: records 20, 25, ..., 95 */
    assert_int_equal(count_id(&d, rare, m0, CL_LEVEL_ERROR), (100 - 20) / 5);
    assert_int_equal(count_id(&d, fnv("delta alpha alpha job finished"), m0, -1), 2);
    const struct cl_pattern_info *r = info_of(&d, rare);
    assert_non_null(r);
    assert_string_equal(r->tmpl, "<rare>");
    assert_string_equal(r->service, "busy");
    assert_null(r->example);
    assert_true(r->first_ms == BASE_MS + CAP && r->last_ms == BASE_MS + 99);
    cl_analytics_batch_free(&d);
    /* minute 1: the budget refilled, CAP new clusters (evicting minute 0's), then "<rare>" */
    for (int i = 0; i < 40; i++) {
        word_msg(msg, sizeof msg, 200 + i);
        feed(a, BASE_MS + MIN_MS + i, "warn", msg);
    }
    cl_analytics_stats(a, &st);
    assert_int_equal(st.patterns_evicted, CAP);
    assert_int_equal(st.over_budget, 100 - CAP + 40 - CAP);
    cl_analytics_drain(a, &d);
    assert_int_equal(total(&d), 40);
    assert_int_equal(count_id(&d, rare, m0 + 1, CL_LEVEL_WARN), 40 - CAP);
    r = info_of(&d, rare);
    assert_true(r && r->first_ms == BASE_MS + MIN_MS + CAP && r->last_ms == BASE_MS + MIN_MS + 39);
    cl_analytics_batch_free(&d);
    /* no record over budget since: no "<rare>" row */
    word_msg(msg, sizeof msg, 200);
    feed(a, BASE_MS + MIN_MS + 100, "warn", msg);
    cl_analytics_drain(a, &d);
    assert_null(info_of(&d, rare));
    assert_int_equal(count_id(&d, rare, -1, -1), 0);
    cl_analytics_batch_free(&d);
    cl_analytics_free(a);
}

static char db_path[512];

static struct cl_analytics_db *temp_db(void)
{
    const char *dir = getenv("CL_TMPDIR");
    snprintf(db_path, sizeof db_path, "%s/analytics-budget-%d.db", dir ? dir : "/tmp",
             (int)getpid());
    unlink(db_path);
    struct cl_analytics_db *db;
    char err[256];
    assert_int_equal(cl_analytics_db_open(db_path, 0, &db, err, sizeof err), 0);
    return db;
}

static int64_t sql_int(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* In the daemon's mode (hold_singletons, a budget below the cap): "<rare>" is never held,
 * and the catalog counts every record once, joined to a pattern row as readers do. */
static void test_budget_in_catalog(void **state)
{
    (void)state;
    struct cl_analytics *a = new_object(8, 1);
    struct cl_analytics_db *db = temp_db();
    char msg[96], err[256];
    int n = 0;
    for (int minute = 0; minute < 3; minute++)
        for (int i = 0; i < 50; i++, n++) {
            word_msg(msg, sizeof msg, n);
            feed(a, BASE_MS + minute * MIN_MS + i * 10, "info", msg);
            if (i % 20 == 19) {
                struct cl_analytics_batch d;
                cl_analytics_drain(a, &d);
                if (minute == 0 && i == 19)
                    assert_true(count_id(&d, fnv("<rare>"), -1, -1) == 20 - 8);
                assert_int_equal(cl_analytics_db_apply(db, &d, BASE_MS, err, sizeof err), 0);
                cl_analytics_batch_free(&d);
            }
        }
    struct cl_analytics_batch d;
    cl_analytics_drain_final(a, &d);
    assert_int_equal(cl_analytics_db_apply(db, &d, BASE_MS, err, sizeof err), 0);
    cl_analytics_batch_free(&d);
    cl_analytics_db_close(db);
    assert_int_equal(sql_int("SELECT sum(c.count) FROM pattern_counts c JOIN patterns p"
                             " ON p.service = c.service AND p.id = c.id"),
                     150);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT sum(count) FROM pattern_counts WHERE service = 'busy' AND id = %lld",
             (long long)fnv("<rare>"));
    assert_int_equal(sql_int(sql), 3 * (50 - 8));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM patterns WHERE template = '<rare>'");
    assert_int_equal(sql_int(sql), 1);
    unlink(db_path);
    cl_analytics_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_miner_skip_learns_nothing),
        cmocka_unit_test(test_plain_head_agrees_with_mask),
        cmocka_unit_test(test_skip_without_mask_agrees),
        cmocka_unit_test(test_budget_counts_under_rare),
        cmocka_unit_test(test_budget_in_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
