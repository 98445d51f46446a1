/* test_query_filter_content.c - the content-only matches of the scan (filter.c,
 * filter_find.c): cq_find_icase against a byte-at-a-time reference (ASCII folding only:
 * a byte >= 0x80 matches only itself), cq_is_ascii, cq_match_content against
 * cq_match_line for lines inside the range; and, over an indexed object, that a count
 * (segments wholly inside matched by content, the regex's literal searched first) gives
 * what listing the records gives and what PCRE2 or a plain search say record by record,
 * for -i, regexes with and without a literal, --where and their mixes; a line that is not
 * valid UTF-8 fails a regex query when the regex looks at it, as before. */
#include "codec.h"
#include "common.h"
#include "object_index.h"
#include "query.h"
#include "query_int.h"
#include "record.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS (60LL * 1000)
#define N_MEMBERS 10
#define PER_MEMBER 40
#define N_RECS (N_MEMBERS * PER_MEMBER)

static uint32_t rng = 77;

static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* The reference: the first i where hay[i..i + m) folds to lower, or NULL. */
static const char *ref_find_icase(const char *hay, size_t n, const char *lower, size_t m)
{
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && fold((unsigned char)hay[i + j]) == (unsigned char)lower[j])
            j++;
        if (j == m)
            return hay + i;
    }
    return NULL;
}

/* Random text over letters in both cases, the bytes around the folded range ('@', '[',
 * '`', '{'), '\n' and the bytes of "é" and "É" (C3 A9, C3 89): every start, every
 * needle length up to 24, each haystack in a buffer of exactly its size. */
static void test_find_icase(void **state)
{
    (void)state;
    static const unsigned char alphabet[] = "aAbBzZ@[`{\n\xc3\xa9\x89";
    const size_t na = sizeof alphabet - 1;
    for (int round = 0; round < 400; round++) {
        size_t n = next_rand() % 160, m = 1 + next_rand() % 24;
        char *hay = malloc(n ? n : 1), needle[25];
        for (size_t i = 0; i < n; i++)
            hay[i] = (char)alphabet[next_rand() % (round % 2 ? 4 : na)];
        for (size_t i = 0; i < m; i++)
            needle[i] = (char)fold(alphabet[next_rand() % (m < 4 ? na : 4)]);
        if (n >= m && round % 3 == 0) /* plant it, in random case */
            for (size_t i = 0, at = next_rand() % (n - m + 1); i < m; i++)
                hay[at + i] = next_rand() % 2 && needle[i] >= 'a' && needle[i] <= 'z'
                                  ? (char)(needle[i] - 32)
                                  : needle[i];
        for (size_t off = 0; off <= n; off++) {
            const char *want = ref_find_icase(hay + off, n - off, needle, m);
            const char *got = cq_find_icase(hay + off, n - off, needle, m);
            if (got != want)
                fail_msg("round %d n %zu off %zu m %zu: got %td, want %td", round, n, off, m,
                         got ? got - hay : (ptrdiff_t)-1, want ? want - hay : (ptrdiff_t)-1);
        }
        free(hay);
    }
    /* non-ASCII bytes are not folded: "é" (C3 A9) is not "É" (C3 89) */
    static const char text[] = "..........................................CAF\xc3\x89......";
    assert_null(cq_find_icase(text, sizeof text - 1, "caf\xc3\xa9", 5));
    assert_non_null(cq_find_icase(text, sizeof text - 1, "caf\xc3\x89", 5));
    assert_true(cq_find_icase(text, sizeof text - 1, "", 0) == text);
}

static void test_is_ascii(void **state)
{
    (void)state;
    for (size_t n = 0; n < 100; n++) {
        char *p = malloc(n ? n : 1);
        memset(p, 'x', n);
        assert_true(cq_is_ascii(p, n));
        for (size_t i = 0; i < n; i++) {
            p[i] = (char)(0x80 | (i % 128));
            assert_false(cq_is_ascii(p, n));
            p[i] = 0x7f;
            assert_true(cq_is_ascii(p, n));
        }
        free(p);
    }
}

/* A stored record's line at t0 + ms with message msg. */
static void record_line(char *out, size_t cap, int64_t ts, const char *level, const char *msg)
{
    char t[25];
    cl_format_timestamp(ts, t);
    snprintf(out, cap,
             "{\"timestamp\":\"%.24s\",\"level\":\"%s\",\"service\":\"api\",\"message\":\"%s\"}", t,
             level, msg);
}

static const char *const messages[] = {
    "lock acquired",        "Lock Contention on db", "LOCK",           "lockacquired",
    "caf\xc3\xa9 lock",     "CAF\xc3\x89 closed",    "timeout",        "block contention",
    "a\\\"lock\\\" quoted", "contention lock",       "lock  acquired", "",
    "x lock (acquired) y",  "unlock acquired"};

struct query_case {
    const char *grep;
    int icase;
    const char *regex;
    const char *where_field, *where_value;
};

static const struct query_case cases[] = {
    {"LOCK", 1, NULL, NULL, NULL},
    {"caf\xc3\x89", 1, NULL, NULL, NULL}, /* only the É record: no non-ASCII folding */
    {"Contention", 1, NULL, NULL, NULL},
    {NULL, 0, "lock (acquired|contention)", NULL, NULL},
    {NULL, 0, "[Ll]ock|LOCK", NULL, NULL}, /* no literal: every line */
    {NULL, 0, "^\\{\"timestamp\":\"2026-11-25T10:1", NULL, NULL},
    {NULL, 0, "(?i)lock contention", NULL, NULL},
    {NULL, 0, "ed\"}$", NULL, NULL},
    {NULL, 0, "caf\xc3\xa9", NULL, NULL}, /* a non-ASCII line, checked by PCRE2 */
    {NULL, 0, "lock\\b", NULL, NULL},
    {"lock", 1, "contention", NULL, NULL}, /* the regex's literal is the longer */
    {"acquired", 0, "lo+ck", NULL, NULL},
    {NULL, 0, NULL, "message", "lock acquired"},
    {NULL, 0, NULL, "message", "a\"lock\" quoted"},
    {NULL, 0, "lock", "level", "warn"},
    {"LOCK", 1, NULL, "level", "error"},
};

struct fixture {
    char dir[512];
    struct cl_store st;
    int64_t t0;
    char lines[N_RECS][256];
    int64_t ts[N_RECS];
    int level[N_RECS];
    size_t msg[N_RECS]; /* index in messages */
};

static struct fixture fx;

/* Member k spans [t0 + 6k min, t0 + 6k + 4 min); every third record warn, member 7 has
 * errors. One gzip member per segment, the index in front. */
static void build_store(void)
{
    struct cl_buf gz;
    struct cl_obj_index x;
    cl_buf_init(&gz, SIZE_MAX);
    cl_obj_index_init(&x);
    for (int k = 0; k < N_MEMBERS; k++) {
        struct cl_buf raw;
        cl_buf_init(&raw, SIZE_MAX);
        for (int j = k * PER_MEMBER; j < (k + 1) * PER_MEMBER; j++) {
            fx.ts[j] = fx.t0 + k * 6 * MIN_MS + (j % PER_MEMBER) * 6000;
            fx.level[j] = k == 7 && j % 5 == 0 ? CL_LEVEL_ERROR
                          : j % 3 == 0         ? CL_LEVEL_WARN
                                               : CL_LEVEL_INFO;
            fx.msg[j] = (size_t)(j + k) % CL_ARRAY_LEN(messages);
            record_line(fx.lines[j], sizeof fx.lines[j], fx.ts[j],
                        cl_level_name((enum cl_level)fx.level[j]), messages[fx.msg[j]]);
            cl_buf_append_str(&raw, fx.lines[j]);
            cl_buf_append_char(&raw, '\n');
        }
        size_t before = gz.len;
        assert_int_equal(cl_gzip_compress(raw.data, raw.len, 1, &gz), CL_OK);
        struct cl_obj_seg *s = cl_obj_index_member(&x, gz.len - before);
        for (int j = k * PER_MEMBER; j < (k + 1) * PER_MEMBER; j++)
            cl_obj_seg_line(s, strlen(fx.lines[j]) + 1, fx.ts[j], (enum cl_level)fx.level[j]);
        cl_buf_free(&raw);
    }
    assert_int_equal(cl_obj_index_prepend(&x, &gz), CL_OK);
    cl_obj_index_free(&x);
    assert_int_equal(
        cl_store_put(
            &fx.st, "service=api/dt=2026-11-25/hour=10/20261125T100000Z-00000000000000c0.ndjson.gz",
            gz.data, gz.len),
        CL_OK);
    cl_buf_free(&gz);
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("CL_TMPDIR");
    char url[700], err[256];
    snprintf(fx.dir, sizeof fx.dir, "%s/query_filter_content_XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(fx.dir))
        return -1;
    if (cl_parse_timestamp_text("2026-11-25T10:00:00Z", 20, &fx.t0) != 0)
        return -1;
    snprintf(url, sizeof url, "%s/logs", fx.dir);
    if (cl_store_open(&fx.st, url, err, sizeof err) != CL_OK)
        return -1;
    build_store();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_store_close(&fx.st);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct cl_query make_query(const struct query_case *c, struct cl_query_where *w)
{
    struct cl_query q = {.grep = c->grep,
                         .grep_icase = c->icase,
                         .regex = c->regex,
                         .order = CL_ORDER_OLDEST,
                         .threads = 1};
    if (c->where_field) {
        *w = (struct cl_query_where){c->where_field, c->where_value};
        q.where = w;
        q.n_where = 1;
    }
    return q;
}

/* For every record line, cq_match_content says what cq_match_line says when the line is
 * inside the range and levels. */
static void test_content_matches_line(void **state)
{
    (void)state;
    for (size_t c = 0; c < CL_ARRAY_LEN(cases); c++) {
        struct cl_query_where w;
        struct cl_query q = make_query(&cases[c], &w);
        q.from_ms = INT64_MIN;
        q.to_ms = INT64_MAX;
        struct cq_filter f;
        char err[256];
        assert_int_equal(cq_filter_init(&f, &q, err, sizeof err), CL_OK);
        struct cq_matcher m;
        cq_matcher_init(&m, &f);
        for (int i = 0; i < N_RECS; i++) {
            struct cl_line_head h;
            size_t len = strlen(fx.lines[i]);
            int want = cq_match_line(&m, fx.lines[i], len, &h);
            int got = cq_match_content(&m, fx.lines[i], len);
            if (got != want)
                fail_msg("case %zu line %d: %d, want %d", c, i, got, want);
            /* a line holding it is found by the need search of the whole text */
            if (got == 1 && f.need)
                assert_non_null(cq_filter_find(&f, fx.lines[i], len));
        }
        cq_matcher_free(&m);
        cq_filter_free(&f);
    }
}

struct got {
    size_t emitted;
};

static int on_emit(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    (void)line, (void)len, (void)h;
    ((struct got *)arg)->emitted++;
    return 0;
}

static void on_warn(void *arg, const char *key, const char *reason)
{
    (void)arg;
    fail_msg("%s: %s", key, reason);
}

static int run(struct cl_query *q, struct got *g, struct cl_query_stats *s)
{
    struct cl_query_source src = {&fx.st, NULL};
    char err[256];
    memset(g, 0, sizeof *g);
    return cl_query_run(&src, q, on_emit, on_warn, g, s, err, sizeof err);
}

/* The record's own verdict: PCRE2 on its line, a plain search, the where value. */
static int ref_match(const struct query_case *c, int i, pcre2_code *re, pcre2_match_data *md)
{
    const char *line = fx.lines[i];
    if (c->grep) {
        char lower[64];
        size_t n = strlen(c->grep);
        for (size_t k = 0; k <= n; k++)
            lower[k] = c->icase ? (char)fold((unsigned char)c->grep[k]) : c->grep[k];
        if (c->icase ? !ref_find_icase(line, strlen(line), lower, n) : !strstr(line, c->grep))
            return 0;
    }
    if (c->where_field) {
        char msg[64]; /* the message decoded: its only escapes are \" */
        size_t o = 0;
        for (const char *p = messages[fx.msg[i]]; *p; p++)
            if (*p != '\\')
                msg[o++] = *p;
        msg[o] = '\0';
        const char *v =
            strcmp(c->where_field, "level") == 0 ? cl_level_name((enum cl_level)fx.level[i]) : msg;
        if (strcmp(v, c->where_value) != 0)
            return 0;
    }
    return !re || pcre2_match(re, (PCRE2_SPTR)line, strlen(line), 0, 0, md, NULL) >= 0;
}

/* Counts (by content where a segment is wholly inside) = the records listed = each
 * record's own verdict, over ranges holding, cutting or missing segments and level sets
 * taking segments whole or in part. */
static void test_count_equals_list(void **state)
{
    (void)state;
    const int64_t ranges[][2] = {{-60, 120}, {0, 60}, {6, 30}, {7, 29}, {13, 14}};
    const unsigned masks[] = {0, 1u << CL_LEVEL_INFO | 1u << CL_LEVEL_WARN,
                              1u << CL_LEVEL_INFO | 1u << CL_LEVEL_WARN | 1u << CL_LEVEL_ERROR,
                              1u << CL_LEVEL_ERROR};
    pcre2_match_data *md = pcre2_match_data_create(8, NULL);
    for (size_t c = 0; c < CL_ARRAY_LEN(cases); c++) {
        pcre2_code *re = NULL;
        if (cases[c].regex) {
            int code;
            PCRE2_SIZE off;
            re = pcre2_compile((PCRE2_SPTR)cases[c].regex, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code,
                               &off, NULL);
            assert_non_null(re);
        }
        for (size_t r = 0; r < CL_ARRAY_LEN(ranges); r++)
            for (size_t k = 0; k < CL_ARRAY_LEN(masks); k++) {
                struct cl_query_where w;
                struct cl_query q = make_query(&cases[c], &w);
                q.from_ms = fx.t0 + ranges[r][0] * MIN_MS;
                q.to_ms = fx.t0 + ranges[r][1] * MIN_MS;
                q.level_mask = masks[k];
                uint64_t want = 0;
                for (int i = 0; i < N_RECS; i++)
                    want += fx.ts[i] >= q.from_ms && fx.ts[i] < q.to_ms &&
                            (!q.level_mask || (q.level_mask & (1u << fx.level[i]))) &&
                            ref_match(&cases[c], i, re, md);
                struct got g;
                struct cl_query_stats s;
                q.count_only = 1;
                assert_int_equal(run(&q, &g, &s), CL_OK);
                if (s.records_matched != want)
                    fail_msg("case %zu range %zu mask %zu: count %llu, want %llu", c, r, k,
                             (unsigned long long)s.records_matched, (unsigned long long)want);
                q.count_only = 0;
                assert_int_equal(run(&q, &g, &s), CL_OK);
                assert_int_equal(g.emitted, want);
            }
        pcre2_code_free(re);
    }
    pcre2_match_data_free(md);
}

/* A line that is not valid UTF-8 fails a regex query when the regex is run on it (a
 * count by content too), and not when the regex's literal keeps the regex off it. */
static void test_invalid_utf8_line(void **state)
{
    (void)state;
    struct cl_store st;
    char url[700], err[256], line[256];
    snprintf(url, sizeof url, "%s/bad", fx.dir);
    assert_int_equal(cl_store_open(&st, url, err, sizeof err), CL_OK);
    struct cl_buf raw, gz;
    struct cl_obj_index x;
    cl_buf_init(&raw, SIZE_MAX);
    cl_buf_init(&gz, SIZE_MAX);
    cl_obj_index_init(&x);
    const char *msgs[] = {"lock acquired", "bad \xff lock", "contention"};
    int64_t ts[3];
    for (int i = 0; i < 3; i++) {
        ts[i] = fx.t0 + i * 1000;
        record_line(line, sizeof line, ts[i], "info", msgs[i]);
        cl_buf_append_str(&raw, line);
        cl_buf_append_char(&raw, '\n');
    }
    assert_int_equal(cl_gzip_compress(raw.data, raw.len, 1, &gz), CL_OK);
    struct cl_obj_seg *sg = cl_obj_index_member(&x, gz.len);
    const char *p = raw.data;
    for (int i = 0; i < 3; i++) {
        const char *nl = memchr(p, '\n', raw.len - (size_t)(p - raw.data));
        cl_obj_seg_line(sg, (size_t)(nl - p) + 1, ts[i], CL_LEVEL_INFO);
        p = nl + 1;
    }
    assert_int_equal(cl_obj_index_prepend(&x, &gz), CL_OK);
    cl_obj_index_free(&x);
    assert_int_equal(
        cl_store_put(
            &st, "service=api/dt=2026-11-25/hour=10/20261125T100000Z-00000000000000d0.ndjson.gz",
            gz.data, gz.len),
        CL_OK);
    struct {
        const char *re;
        int ok;
        uint64_t n;
    } runs[] = {
        {"contention", 1, 1}, /* the literal is not on the bad line */
        {"lock", 0, 0},       /* it is: PCRE2 sees the line and fails the query */
        {"l|c", 0, 0},        /* no literal: every line */
    };
    for (size_t i = 0; i < CL_ARRAY_LEN(runs); i++)
        for (int count = 0; count < 2; count++) {
            struct cl_query q = {.from_ms = fx.t0 - MIN_MS,
                                 .to_ms = fx.t0 + MIN_MS,
                                 .regex = runs[i].re,
                                 .order = CL_ORDER_OLDEST,
                                 .count_only = count,
                                 .threads = 1};
            struct cl_query_source src = {&st, NULL};
            struct got g = {0};
            struct cl_query_stats s;
            int rc = cl_query_run(&src, &q, on_emit, on_warn, &g, &s, err, sizeof err);
            assert_int_equal(rc == CL_OK, runs[i].ok);
            if (runs[i].ok)
                assert_int_equal(count ? s.records_matched : g.emitted, runs[i].n);
            else
                assert_int_equal(s.stopped, CL_QUERY_REGEX);
        }
    cl_buf_free(&raw);
    cl_buf_free(&gz);
    cl_store_close(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_icase),           cmocka_unit_test(test_is_ascii),
        cmocka_unit_test(test_content_matches_line), cmocka_unit_test(test_count_equals_list),
        cmocka_unit_test(test_invalid_utf8_line),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
