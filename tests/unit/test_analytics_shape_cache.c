/* test_analytics_shape_cache.c - the miner's shape cache (miner.c) and its key
 * (cl_mask_shape_key, mask.c): messages with one key mask to the same tokens (checked on
 * every pair of a corpus built to share keys: Loghub-2k lines with their digits changed,
 * and tokens made of digits, hex letters, punctuation, quotes and '='); values do not
 * change a key where the mask does not see them; and the cache never changes a result:
 * the same stream through a miner with the cache and one without gives the same match
 * (id, previous id, cluster, generation, new) for every message, also with evictions and
 * the second pass in between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "mask.h"
#include "miner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MSGS 120000
#define MSG_MAX 512

struct corpus {
    char (*msg)[MSG_MAX];
    size_t n;
};

static uint64_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void add(struct corpus *c, const char *m)
{
    if (c->n < MAX_MSGS)
        snprintf(c->msg[c->n++], MSG_MAX, "%s", m);
}

/* m with its digits changed: each digit a random one, sometimes a run longer or shorter. */
static void mutate(uint64_t *seed, const char *m, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = m; *p && o + 3 < cap; p++) {
        if (*p < '0' || *p > '9') {
            out[o++] = *p;
            continue;
        }
        unsigned r = (unsigned)rnd(seed) % 10;
        if (r == 0 && p[1] >= '0' && p[1] <= '9')
            continue; /* one digit fewer */
        out[o++] = (char)('0' + rnd(seed) % 10);
        if (r == 1)
            out[o++] = (char)('0' + rnd(seed) % 10); /* one more */
    }
    out[o] = '\0';
}

/* Lines of the Loghub-2k tuning sets (whole CSV lines: every kind of token) and three
 * mutations of each; 0 lines when the test data is not there. */
static void add_loghub(struct corpus *c, uint64_t *seed)
{
    static const char *const sets[] = {"BGL", "HDFS",    "HealthApp", "Linux",
                                       "Mac", "OpenSSH", "Spark",     "Windows"};
    const char *dir = getenv("CL_TESTDATA_DIR");
    for (size_t i = 0; dir && i < sizeof sets / sizeof *sets; i++) {
        char path[1024], line[MSG_MAX], mut[MSG_MAX];
        snprintf(path, sizeof path, "%s/loghub-2k/%s_2k.log_structured.csv", dir, sets[i]);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = '\0';
            add(c, line);
            for (int k = 0; k < 3; k++) {
                mutate(seed, line, mut, sizeof mut);
                add(c, mut);
            }
        }
        if (f)
            fclose(f);
    }
}

/* Tokens from a small alphabet of the bytes the mask's rules look at, so that many
 * messages share a key and every rule (hex length, key=value, quotes, paths, URLs,
 * host:port, units, signs) meets values of several lengths. */
static void add_tricky(struct corpus *c, uint64_t *seed, size_t count)
{
    static const char alphabet[] = "0123456789abcdefxyzAF:.-=/\"' ([)],;_@#B";
    static const char *const words[] = {"ms", "KB", "Jun", "user", "http://h", "to", "s"};
    char m[MSG_MAX];
    for (size_t i = 0; i < count; i++) {
        size_t o = 0, tokens = 1 + rnd(seed) % 6;
        for (size_t t = 0; t < tokens; t++) {
            if (t)
                m[o++] = rnd(seed) % 8 ? ' ' : '\t';
            if (rnd(seed) % 4 == 0) {
                const char *w = words[rnd(seed) % (sizeof words / sizeof *words)];
                o += (size_t)snprintf(m + o, sizeof m - o, "%s", w);
                continue;
            }
            size_t len = 1 + rnd(seed) % 10;
            for (size_t k = 0; k < len; k++)
                m[o++] = alphabet[rnd(seed) % (sizeof alphabet - 1)];
        }
        m[o] = '\0';
        add(c, m);
    }
}

/* Templated application messages: few keys, values of every length. */
static void add_templated(struct corpus *c, uint64_t *seed, size_t count)
{
    static const char *const users[] = {"alice", "bob", "carol", "dave"};
    char m[MSG_MAX];
    for (size_t i = 0; i < count; i++) {
        unsigned v = (unsigned)rnd(seed) >> (rnd(seed) % 28);
        switch (rnd(seed) % 8) {
        case 0:
            snprintf(m, sizeof m, "Connection to 10.%u.%u.%u:%u timed out after %u.%03u ms",
                     v % 256, v % 7, v % 100, v % 65536, v % 2000, v % 1000);
            break;
        case 1:
            snprintf(m, sizeof m, "User %s logged in from 10.0.%u.%u", users[v % 4], v % 256,
                     v % 9);
            break;
        case 2:
            snprintf(m, sizeof m, "GET /api/v%u/items/%u returned %u in %u ms", v % 3, v,
                     200 + v % 300, v % 977);
            break;
        case 3:
            snprintf(m, sizeof m, "Cache miss for key session:%08x", v);
            break;
        case 4:
            snprintf(m, sizeof m, "Payment %x authorized for order %u", v, v % 100000);
            break;
        case 5:
            snprintf(m, sizeof m, "Query on table orders took %u ms rows=%u", v % 500, v);
            break;
        case 6:
            snprintf(m, sizeof m, "wrote \"part %u\" to shard-%u (%u KB)", v % 50, v % 4, v);
            break;
        default:
            snprintf(m, sizeof m, "worker w%u retry=%u of %u", v % 20, v % 5, 5);
            break;
        }
        add(c, m);
    }
}

static struct corpus *corpus_new(void)
{
    struct corpus *c = calloc(1, sizeof *c);
    c->msg = calloc(MAX_MSGS, sizeof *c->msg);
    uint64_t seed = 11;
    add_loghub(c, &seed);
    add_tricky(c, &seed, 30000);
    add_templated(c, &seed, 20000);
    return c;
}

static void corpus_free(struct corpus *c)
{
    free(c->msg);
    free(c);
}

/* ---- the key ---- */

static int same_mask(const struct cl_masked *a, const struct cl_masked *b)
{
    if (a->n != b->n || a->text_len != b->text_len || memcmp(a->text, b->text, a->text_len))
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->tok[i].off != b->tok[i].off || a->tok[i].len != b->tok[i].len ||
            a->tok[i].hash != b->tok[i].hash || a->tok[i].masked != b->tok[i].masked ||
            a->tok[i].word != b->tok[i].word)
            return 0;
    return 1;
}

struct keyed {
    uint64_t key, check;
    size_t i;
};

static int keyed_cmp(const void *x, const void *y)
{
    const struct keyed *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    if (a->check != b->check)
        return a->check < b->check ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

static void test_one_key_one_mask(void **state)
{
    (void)state;
    struct corpus *c = corpus_new();
    struct keyed *k = calloc(c->n, sizeof *k);
    for (size_t i = 0; i < c->n; i++) {
        k[i].i = i;
        k[i].key = cl_mask_shape_key(c->msg[i], strlen(c->msg[i]), &k[i].check);
    }
    qsort(k, c->n, sizeof *k, keyed_cmp);
    static struct cl_masked first, other;
    size_t groups = 0, shared = 0;
    for (size_t a = 0, b; a < c->n; a = b) {
        assert_true(k[a].key != 0);
        const char *m0 = c->msg[k[a].i];
        cl_mask_message(m0, strlen(m0), &first);
        for (b = a + 1; b < c->n && k[b].key == k[a].key && k[b].check == k[a].check; b++) {
            const char *m = c->msg[k[b].i];
            cl_mask_message(m, strlen(m), &other);
            if (!same_mask(&first, &other))
                fail_msg("one key, two masks: \"%s\" -> \"%.*s\", \"%s\" -> \"%.*s\"", m0,
                         (int)first.text_len, first.text, m, (int)other.text_len, other.text);
            shared++;
        }
        groups++;
    }
    /* the corpus does share keys (else the check above says nothing) */
    assert_true(shared > c->n / 4);
    assert_true(groups > 1000);
    free(k);
    corpus_free(c);
}

/* Both lanes of s's shape key in one value (0: not keyed). */
static uint64_t full_key(const char *s)
{
    uint64_t check, key = cl_mask_shape_key(s, strlen(s), &check);
    return key ? key ^ (check * 0x9e3779b97f4a7c15ULL) : 0;
}
#define KEY(s) full_key(s)

static void test_key_ignores_values_only(void **state)
{
    (void)state;
    /* values the mask does not see */
    assert_int_equal(KEY("took 1 ms"), KEY("took 12345 ms"));
    assert_int_equal(KEY("to 10.0.0.1:80 after 1.5 ms"),
                     KEY("to 192.168.100.200:8080 after 12.345 ms"));
    assert_int_equal(KEY("GET /a/1 rows=5"), KEY("GET /a/22/b rows=123456"));
    assert_int_equal(KEY("id 3fa2b1c0 done"), KEY("id a1b2c3d4 done"));
    assert_int_equal(KEY("blk_-42 ok"), KEY("blk_-1234567 ok"));
    assert_int_equal(KEY("say \"a 1\" now"), KEY("say \"bb 22 c\" now"));
    /* what it does see */
    assert_int_not_equal(KEY("took 1 ms"), KEY("took 1 s"));
    assert_int_not_equal(KEY("x1=foo"), KEY("x2=foo"));                /* key=value keeps its key */
    assert_int_not_equal(KEY("id a1b2c3d ok"), KEY("id a1b2c3d4 ok")); /* 8 hex or not */
    assert_int_not_equal(KEY("en0 up"), KEY("en0a up"));
    assert_int_not_equal(KEY("a1b"), KEY("a11"));
    assert_int_not_equal(KEY("say \"a b\" now"), KEY("say \"ab\" now"));
    assert_int_not_equal(KEY("x"), KEY("x 1"));
    char big[CL_MASK_MAX_BYTES + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(KEY(big), 0); /* longer than the mask reads: not keyed */
}

/* The reviewer's pair: with the former unkeyed, fixed-seed key (invertible mix) B was
 * computed to share A's key though they mask differently, so with the cache on, A joined
 * B's cluster. Keyed by a per-process secret and checked by a second lane, it does not. */
static void test_crafted_collision(void **state)
{
    (void)state;
    const char *a = "CRITICAL disk failure on sda, data lost";
    const char *b = "GQEbMikGImkAVFjfilure on sda, data lost";
    static struct cl_masked ma, mb;
    cl_mask_message(a, strlen(a), &ma);
    cl_mask_message(b, strlen(b), &mb);
    assert_false(same_mask(&ma, &mb));
    assert_int_not_equal(KEY(a), KEY(b));
    struct cl_pattern_match ra[2], rb[2];
    for (int on = 0; on < 2; on++) {
        struct cl_miner_config cfg = {.max_clusters = 64};
        struct cl_miner *m = cl_miner_new(&cfg);
        cl_miner_set_shape_cache(m, on);
        cl_miner_add(m, b, strlen(b), &rb[on]);
        cl_miner_add(m, a, strlen(a), &ra[on]);
        assert_int_equal(cl_miner_shape_hits(m), 0);
        cl_miner_free(m);
    }
    assert_int_equal(ra[0].cluster, ra[1].cluster);
    assert_int_equal(ra[0].id, ra[1].id);
    assert_int_equal(ra[0].is_new, ra[1].is_new);
    assert_int_not_equal(ra[1].cluster, rb[1].cluster); /* A is not hidden in B's cluster */
}

/* ---- the cache against no cache ---- */

static void compare_streams(const struct corpus *c, size_t max_clusters, size_t second_pass)
{
    struct cl_miner_config cfg = {.max_clusters = max_clusters};
    struct cl_miner *on = cl_miner_new(&cfg), *off = cl_miner_new(&cfg);
    cl_miner_set_shape_cache(off, 0);
    /* twice through, so that the second round meets cached shapes of every kind */
    for (size_t r = 0; r < 2 * c->n; r++) {
        const char *m = c->msg[r % c->n];
        struct cl_pattern_match a, b;
        cl_miner_add(on, m, strlen(m), &a);
        cl_miner_add(off, m, strlen(m), &b);
        if (a.id != b.id || a.prev_id != b.prev_id || a.cluster != b.cluster ||
            a.generation != b.generation || a.is_new != b.is_new)
            fail_msg("message %zu \"%s\": cache %016llx/%016llx slot %u, none %016llx/%016llx "
                     "slot %u",
                     r, m, (unsigned long long)a.id, (unsigned long long)a.prev_id, a.cluster,
                     (unsigned long long)b.id, (unsigned long long)b.prev_id, b.cluster);
        if (second_pass && r % second_pass == second_pass - 1)
            assert_int_equal(cl_miner_consolidate(on), cl_miner_consolidate(off));
    }
    assert_int_equal(cl_miner_count(on), cl_miner_count(off));
    assert_int_equal(cl_miner_evictions(on), cl_miner_evictions(off));
    assert_int_equal(cl_miner_shape_hits(off), 0);
    assert_true(cl_miner_shape_hits(on) > c->n / 2); /* the cache was used */
    if (max_clusters < 100)
        assert_true(cl_miner_evictions(on) > 1000);
    cl_miner_free(on);
    cl_miner_free(off);
}

static void test_cache_same_result(void **state)
{
    (void)state;
    struct corpus *c = corpus_new();
    compare_streams(c, CL_MINER_DEFAULT_MAX_CLUSTERS, 5000);
    corpus_free(c);
}

static void test_cache_same_result_with_evictions(void **state)
{
    (void)state;
    struct corpus *c = corpus_new();
    compare_streams(c, 48, 997);
    corpus_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_key_one_mask),
        cmocka_unit_test(test_key_ignores_values_only),
        cmocka_unit_test(test_crafted_collision),
        cmocka_unit_test(test_cache_same_result),
        cmocka_unit_test(test_cache_same_result_with_evictions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
