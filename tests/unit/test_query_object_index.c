/* test_query_object_index.c - the object member index (object_index.h): written, read back,
 * still plain gzip, and used by the query to inflate only the segments it needs; a
 * missing, damaged, truncated or lying index falls back to reading the object whole and
 * gives the same answer. */
#include "codec.h"
#include "common.h"
#include "object_index.h"
#include "query.h"
#include "record.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS (60LL * 1000)
#define N_MEMBERS 12
#define RECS_PER_MEMBER 30
#define N_RECS (N_MEMBERS * RECS_PER_MEMBER)
#define KEY "service=api/dt=2026-11-25/hour=10/20261125T100000Z-00000000000000aa.ndjson.gz"

struct rec {
    int64_t ts;
    int level;
    char line[200];
};

static char test_dir[512];
static struct rec recs[N_RECS];
static int64_t t0; /* 2026-11-25T10:00:00Z */
static uint32_t noise_state = 2026;

static uint32_t next_noise(void)
{
    noise_state = noise_state * 1103515245u + 12345u;
    return noise_state >> 8;
}

/* Member i holds records in [t0 + 5i min, t0 + 5(i+1) min), levels by record. */
static void make_records(void)
{
    assert_int_equal(cl_parse_timestamp_text("2026-11-25T10:00:00Z", 20, &t0), 0);
    for (int i = 0; i < N_RECS; i++) {
        struct rec *r = &recs[i];
        char ts[25];
        r->ts = t0 + (i / RECS_PER_MEMBER) * 5 * MIN_MS + (i % RECS_PER_MEMBER) * 9000;
        /* errors only in members 3 and 9 */
        int m = i / RECS_PER_MEMBER;
        r->level = (m == 3 || m == 9) && i % 7 == 0 ? CL_LEVEL_ERROR : CL_LEVEL_INFO;
        cl_format_timestamp(r->ts, ts);
        snprintf(r->line, sizeof r->line,
                 "{\"timestamp\":\"%.24s\",\"level\":\"%s\",\"service\":\"api\",\"message\":"
                 "\"record %d %s\"}",
                 ts, cl_level_name((enum cl_level)r->level), i, i % 3 ? "hello" : "timeout");
    }
}

/* The object: each member's records as one gzip member; x gets their index. */
static void build_members(struct cl_buf *gz, struct cl_obj_index *x, size_t per_member)
{
    cl_buf_init(gz, SIZE_MAX);
    cl_obj_index_init(x);
    for (size_t i = 0; i < N_RECS; i += per_member) {
        struct cl_buf raw;
        cl_buf_init(&raw, SIZE_MAX);
        for (size_t j = i; j < i + per_member && j < N_RECS; j++) {
            cl_buf_append_str(&raw, recs[j].line);
            cl_buf_append_char(&raw, '\n');
        }
        size_t before = gz->len;
        assert_int_equal(cl_gzip_compress(raw.data, raw.len, 1, gz), CL_OK);
        struct cl_obj_seg *s = cl_obj_index_member(x, gz->len - before);
        for (size_t j = i; j < i + per_member && j < N_RECS; j++)
            cl_obj_seg_line(s, strlen(recs[j].line) + 1, recs[j].ts, (enum cl_level)recs[j].level);
        cl_buf_free(&raw);
    }
}

static void indexed_object(struct cl_buf *gz)
{
    struct cl_obj_index x;
    build_members(gz, &x, RECS_PER_MEMBER);
    assert_int_equal(cl_obj_index_prepend(&x, gz), CL_OK);
    cl_obj_index_free(&x);
}

/* A fresh store holding obj[0..len) under KEY. */
static void store_with(struct cl_store *st, const char *name, const void *obj, size_t len)
{
    char url[700], err[256];
    snprintf(url, sizeof url, "%s/%s", test_dir, name);
    assert_int_equal(cl_store_open(st, url, err, sizeof err), CL_OK);
    assert_int_equal(cl_store_put(st, KEY, obj, len), CL_OK);
}

struct got {
    char **lines;
    size_t n;
    int warned;
};

static int on_emit(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    (void)h;
    struct got *g = arg;
    g->lines = cl_realloc(g->lines, (g->n + 1) * sizeof *g->lines);
    g->lines[g->n] = cl_malloc(len + 1);
    memcpy(g->lines[g->n], line, len);
    g->lines[g->n++][len] = '\0';
    return 0;
}

static void on_warn(void *arg, const char *key, const char *reason)
{
    (void)key;
    (void)reason;
    ((struct got *)arg)->warned++;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->lines[i]);
    free(g->lines);
}

/* A query over [from, to) (ms from t0), levels mask, grep text (or NULL). */
struct tq {
    int64_t from, to;
    unsigned mask;
    const char *grep;
};

static int ref_match(const struct tq *t, const struct rec *r)
{
    return r->ts >= t0 + t->from && r->ts < t0 + t->to &&
           (!t->mask || (t->mask & (1u << r->level))) && (!t->grep || strstr(r->line, t->grep));
}

/* Runs t over st (oldest first) and checks it returns exactly the matching records, in
 * order; *st_out gets the stats. */
static void check(struct cl_store *st, const struct tq *t, int count_only, int expect_warn,
                  size_t n_recs, struct cl_query_stats *st_out)
{
    struct cl_query q = {.from_ms = t0 + t->from,
                         .to_ms = t0 + t->to,
                         .level_mask = t->mask,
                         .grep = t->grep,
                         .order = CL_ORDER_OLDEST,
                         .count_only = count_only,
                         .threads = 1};
    struct cl_query_source src = {st, NULL};
    struct got g = {0};
    char err[256];
    assert_int_equal(cl_query_run(&src, &q, on_emit, on_warn, &g, st_out, err, sizeof err), CL_OK);
    assert_int_equal(g.warned, expect_warn);
    size_t k = 0;
    for (size_t i = 0; i < n_recs; i++) {
        if (!ref_match(t, &recs[i]))
            continue;
        if (!count_only) {
            assert_true(k < g.n);
            assert_string_equal(g.lines[k], recs[i].line);
        }
        k++;
    }
    if (!count_only)
        assert_int_equal(g.n, k);
    assert_int_equal(st_out->records_matched, k);
    got_free(&g);
}

static size_t raw_total(size_t n_recs)
{
    size_t raw = 0;
    for (size_t i = 0; i < n_recs; i++)
        raw += strlen(recs[i].line) + 1;
    return raw;
}

static const struct tq fifteen = {20 * MIN_MS, 35 * MIN_MS, 0, NULL};
static const struct tq whole_hour = {0, 60 * MIN_MS, 0, NULL};
static const struct tq grep_all = {-60 * MIN_MS, 120 * MIN_MS, 0, "timeout"};
static const struct tq errors = {0, 60 * MIN_MS, 1u << CL_LEVEL_ERROR, NULL};

static void test_written_and_read(void **state)
{
    (void)state;
    struct cl_buf gz;
    indexed_object(&gz);
    struct cl_obj_seg *g;
    size_t n, off;
    assert_int_equal(cl_obj_index_read(gz.data, gz.len, 1, &g, &n, &off), CL_OBJ_INDEX_OK);
    assert_int_equal(n, N_MEMBERS);
    uint64_t at = off;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(g[i].gz_off, at);
        at += g[i].gz_len;
        assert_true(g[i].known);
        assert_int_equal(g[i].records, RECS_PER_MEMBER);
        assert_int_equal(g[i].min_ts_ms, recs[i * RECS_PER_MEMBER].ts);
        assert_int_equal(g[i].max_ts_ms, recs[(i + 1) * RECS_PER_MEMBER - 1].ts);
    }
    assert_int_equal(at, gz.len);
    /* 10:20-10:35 wants members 4, 5 and 6 only; errors want members 3 and 9 */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cl_obj_seg_wanted(&g[i], t0 + fifteen.from, t0 + fifteen.to, 0),
                         i >= 4 && i <= 6);
        assert_int_equal(cl_obj_seg_wanted(&g[i], t0, t0 + 60 * MIN_MS, errors.mask),
                         i == 3 || i == 9);
    }
    free(g);
    /* still plain gzip: the whole object decompresses to the records */
    struct cl_buf raw;
    cl_buf_init(&raw, SIZE_MAX);
    assert_int_equal(cl_gzip_decompress(gz.data, gz.len, &raw), CL_OK);
    assert_int_equal(raw.len, raw_total(N_RECS));
    assert_memory_equal(raw.data, recs[0].line, strlen(recs[0].line));
    cl_buf_free(&raw);
    cl_buf_free(&gz);
}

/* The raw bytes of members [a, b). */
static size_t members_raw(int a, int b)
{
    return raw_total((size_t)b * RECS_PER_MEMBER) - raw_total((size_t)a * RECS_PER_MEMBER);
}

static void test_query_skips_segments(void **state)
{
    (void)state;
    struct cl_buf gz;
    indexed_object(&gz);
    struct cl_store st;
    store_with(&st, "skips", gz.data, gz.len);
    struct cl_query_stats s;
    check(&st, &fifteen, 0, 0, N_RECS, &s);
    assert_int_equal(s.bytes_scanned, members_raw(4, 7));
    check(&st, &fifteen, 1, 0, N_RECS, &s);
    assert_int_equal(s.bytes_scanned, members_raw(4, 7));
    assert_int_equal(s.records_scanned, 3 * RECS_PER_MEMBER);
    check(&st, &errors, 0, 0, N_RECS, &s);
    assert_int_equal(s.bytes_scanned, members_raw(3, 4) + members_raw(9, 10));
    check(&st, &whole_hour, 0, 0, N_RECS, &s);
    assert_int_equal(s.bytes_scanned, raw_total(N_RECS));
    check(&st, &grep_all, 1, 0, N_RECS, &s); /* a count: records from the index */
    assert_int_equal(s.records_scanned, N_RECS);
    check(&st, &grep_all, 0, 0, N_RECS, &s);
    assert_int_equal(s.records_scanned, N_RECS);
    cl_store_close(&st);
    cl_buf_free(&gz);
}

/* obj read whole (no index, or one that does not hold up) gives the same answers. */
static void check_read_whole(const char *name, const void *obj, size_t len)
{
    struct cl_store st;
    store_with(&st, name, obj, len);
    struct cl_query_stats s;
    check(&st, &fifteen, 0, 0, N_RECS, &s);
    assert_int_equal(s.bytes_scanned, raw_total(N_RECS));
    check(&st, &errors, 1, 0, N_RECS, &s);
    check(&st, &grep_all, 1, 0, N_RECS, &s);
    assert_int_equal(s.records_scanned, N_RECS);
    check(&st, &whole_hour, 0, 0, N_RECS, &s);
    cl_store_close(&st);
}

static void test_missing_index(void **state)
{
    (void)state;
    struct cl_buf gz;
    struct cl_obj_index x;
    build_members(&gz, &x, RECS_PER_MEMBER);
    cl_obj_index_free(&x);
    struct cl_obj_seg *g;
    size_t n, off;
    assert_int_equal(cl_obj_index_read(gz.data, gz.len, 1, &g, &n, &off), CL_OBJ_INDEX_NONE);
    assert_null(g);
    check_read_whole("missing", gz.data, gz.len);
    cl_buf_free(&gz);
}

static void test_damaged_index(void **state)
{
    (void)state;
    struct cl_buf gz;
    indexed_object(&gz);
    struct cl_obj_seg *g;
    size_t n, off;
    /* every byte of the index's payload, flipped in turn, is noticed */
    size_t plen = (size_t)(unsigned char)gz.data[14] | (size_t)(unsigned char)gz.data[15] << 8;
    for (size_t i = 16; i < 16 + plen; i++) {
        gz.data[i] ^= 0x20;
        assert_int_equal(cl_obj_index_read(gz.data, gz.len, 0, &g, &n, &off), CL_OBJ_INDEX_DAMAGED);
        gz.data[i] ^= 0x20;
    }
    assert_int_equal(cl_obj_index_read(gz.data, gz.len, 0, &g, &n, &off), CL_OBJ_INDEX_OK);
    free(g);
    gz.data[off + 30] ^= 0x01; /* a data member's byte: only the data CRC check sees it */
    assert_int_equal(cl_obj_index_read(gz.data, gz.len, 1, &g, &n, &off), CL_OBJ_INDEX_DAMAGED);
    assert_int_equal(cl_obj_index_read(gz.data, gz.len, 0, &g, &n, &off), CL_OBJ_INDEX_OK);
    free(g);
    gz.data[off + 30] ^= 0x01;
    gz.data[24] ^= 0x40; /* a count in the payload: the CRC of the index fails */
    check_read_whole("damaged", gz.data, gz.len);
    cl_buf_free(&gz);
}

static void test_truncated(void **state)
{
    (void)state;
    struct cl_buf gz;
    indexed_object(&gz);
    struct cl_obj_seg *g;
    size_t n, off;
    assert_int_equal(cl_obj_index_read(gz.data, gz.len, 0, &g, &n, &off), CL_OBJ_INDEX_OK);
    size_t keep = (size_t)(g[5].gz_off); /* cut after member 4: still valid gzip */
    size_t in_index = off - 12;
    free(g);
    assert_int_equal(cl_obj_index_read(gz.data, keep, 0, &g, &n, &off), CL_OBJ_INDEX_DAMAGED);
    assert_int_equal(cl_obj_index_read(gz.data, in_index, 0, &g, &n, &off), CL_OBJ_INDEX_DAMAGED);
    assert_int_equal(cl_obj_index_read(gz.data, 14, 0, &g, &n, &off), CL_OBJ_INDEX_NONE);
    /* Cut at a member boundary: read whole, the records of the members kept (what a store
     * without a catalog says of such an object, as before the index). */
    struct cl_store st;
    store_with(&st, "cut", gz.data, keep);
    struct cl_query_stats s;
    check(&st, &whole_hour, 0, 0, 5 * RECS_PER_MEMBER, &s);
    assert_int_equal(s.bytes_scanned, members_raw(0, 5));
    cl_store_close(&st);
    /* Cut inside the index: not gzip any more, reported and skipped, nothing emitted. */
    store_with(&st, "cut_index", gz.data, in_index);
    check(&st, &whole_hour, 0, 1, 0, &s);
    cl_store_close(&st);
    cl_buf_free(&gz);
}

/* An index whose CRC holds but whose sizes are wrong (a writer's bug): the segment read
 * does not inflate to what it says, and the object is read whole. */
static void test_lying_index(void **state)
{
    (void)state;
    struct cl_buf gz;
    struct cl_obj_index x;
    build_members(&gz, &x, RECS_PER_MEMBER);
    x.v[5].raw_len += 3;
    assert_int_equal(cl_obj_index_prepend(&x, &gz), CL_OK);
    cl_obj_index_free(&x);
    check_read_whole("lying", gz.data, gz.len);
    cl_buf_free(&gz);
    /* Records that lie (the line numbers a limited query orders ties by come from them):
     * the lines read disagree, and the object is read whole for the records it returns. */
    build_members(&gz, &x, RECS_PER_MEMBER);
    x.v[5].records++;
    x.v[5].levels[CL_LEVEL_INFO]++;
    assert_int_equal(cl_obj_index_prepend(&x, &gz), CL_OK);
    cl_obj_index_free(&x);
    struct cl_store st;
    store_with(&st, "lying_records", gz.data, gz.len);
    struct cl_query_stats s;
    check(&st, &whole_hour, 0, 0, N_RECS, &s);
    assert_int_equal(s.records_scanned, N_RECS);
    check(&st, &fifteen, 0, 0, N_RECS, &s);
    assert_int_equal(s.bytes_scanned, raw_total(N_RECS));
    cl_store_close(&st);
    cl_buf_free(&gz);
}

/* A segment without a known span is always read; an index of more members than 64 KiB
 * can list merges neighbours and still answers exactly. */
static void test_unknown_and_merged(void **state)
{
    (void)state;
    struct cl_buf gz;
    struct cl_obj_index x;
    build_members(&gz, &x, RECS_PER_MEMBER);
    x.v[0].known = 0;
    assert_int_equal(cl_obj_index_prepend(&x, &gz), CL_OK);
    cl_obj_index_free(&x);
    struct cl_store st;
    store_with(&st, "unknown", gz.data, gz.len);
    struct cl_query_stats s;
    check(&st, &fifteen, 0, 0, N_RECS, &s);
    assert_int_equal(s.bytes_scanned, members_raw(0, 1) + members_raw(4, 7));
    cl_store_close(&st);
    cl_buf_free(&gz);

    build_members(&gz, &x, 1);           /* a member per record */
    for (size_t i = 0; i < 20000; i++) { /* and 20000 empty ones: 4 bytes of index each */
        size_t before = gz.len;
        assert_int_equal(cl_gzip_compress("", 0, 1, &gz), CL_OK);
        cl_obj_index_member(&x, gz.len - before);
    }
    assert_int_equal(cl_obj_index_prepend(&x, &gz), CL_OK);
    cl_obj_index_free(&x);
    struct cl_obj_seg *g;
    size_t n, off;
    assert_int_equal(cl_obj_index_read(gz.data, gz.len, 1, &g, &n, &off), CL_OBJ_INDEX_OK);
    assert_true(n <= (N_RECS + 20000) / 2);
    free(g);
    store_with(&st, "merged", gz.data, gz.len);
    check(&st, &fifteen, 0, 0, N_RECS, &s);
    assert_true(s.bytes_scanned < raw_total(N_RECS));
    check(&st, &grep_all, 1, 0, N_RECS, &s);
    assert_int_equal(s.records_scanned, N_RECS);
    cl_store_close(&st);
    cl_buf_free(&gz);
}

/* Runs t with order and limit over st; checks the records against the reference (ties in
 * line order) and returns the bytes scanned. */
static uint64_t check_limited(struct cl_store *st, const struct tq *t, enum cl_query_order order,
                              size_t limit, const struct rec *v, size_t n)
{
    struct cl_query q = {.from_ms = t0 + t->from,
                         .to_ms = t0 + t->to,
                         .level_mask = t->mask,
                         .order = order,
                         .limit = limit,
                         .threads = 1};
    struct cl_query_source src = {st, NULL};
    struct got g = {0};
    struct cl_query_stats s;
    char err[256];
    assert_int_equal(cl_query_run(&src, &q, on_emit, on_warn, &g, &s, err, sizeof err), CL_OK);
    size_t *idx = cl_malloc(n * sizeof *idx), k = 0;
    for (size_t i = 0; i < n; i++)
        if (ref_match(t, &v[i]))
            idx[k++] = i;
    for (size_t a = 1; a < k; a++) /* stable insertion sort by the order */
        for (size_t b = a; b > 0; b--) {
            int64_t x = v[idx[b - 1]].ts, y = v[idx[b]].ts;
            if (order == CL_ORDER_OLDEST ? x <= y : x >= y)
                break;
            size_t tmp = idx[b];
            idx[b] = idx[b - 1];
            idx[b - 1] = tmp;
        }
    assert_int_equal(g.n, k < limit ? k : limit);
    for (size_t i = 0; i < g.n; i++)
        assert_string_equal(g.lines[i], v[idx[i]].line);
    free(idx);
    got_free(&g);
    return s.bytes_scanned;
}

/* A query for the newest (oldest) k reads the segments by their bounds and stops once
 * its k best records beat every unread segment; ties keep the whole object's line order. */
static void test_limit_reads_best_segments(void **state)
{
    (void)state;
    struct cl_buf gz;
    indexed_object(&gz);
    struct cl_store st;
    store_with(&st, "limited", gz.data, gz.len);
    assert_int_equal(check_limited(&st, &fifteen, CL_ORDER_NEWEST, 5, recs, N_RECS),
                     members_raw(6, 7));
    assert_int_equal(check_limited(&st, &fifteen, CL_ORDER_OLDEST, 5, recs, N_RECS),
                     members_raw(4, 5));
    assert_int_equal(check_limited(&st, &whole_hour, CL_ORDER_NEWEST, 45, recs, N_RECS),
                     members_raw(10, 12));
    check_limited(&st, &errors, CL_ORDER_NEWEST, 3, recs, N_RECS);
    check_limited(&st, &fifteen, CL_ORDER_NEWEST, 1000, recs, N_RECS);
    cl_store_close(&st);
    cl_buf_free(&gz);

    /* ties: every record at one of two times, spread over all members */
    static struct rec tied[N_RECS];
    memcpy(tied, recs, sizeof tied);
    for (size_t i = 0; i < N_RECS; i++) {
        char ts[25];
        tied[i].ts = t0 + (i % 2 ? 20 : 21) * MIN_MS;
        cl_format_timestamp(tied[i].ts, ts);
        memcpy(tied[i].line + 14, ts, 24);
    }
    struct rec saved[N_RECS];
    memcpy(saved, recs, sizeof saved);
    memcpy(recs, tied, sizeof recs);
    indexed_object(&gz);
    store_with(&st, "tied", gz.data, gz.len);
    for (size_t k = 1; k < 80; k += 13) {
        check_limited(&st, &fifteen, CL_ORDER_NEWEST, k, recs, N_RECS);
        check_limited(&st, &fifteen, CL_ORDER_OLDEST, k, recs, N_RECS);
    }
    cl_store_close(&st);
    cl_buf_free(&gz);
    memcpy(recs, saved, sizeof recs);
}

/* DuckDB 1.5 stops reading at a member whose trailer starts a multiple of its 32 KiB
 * buffer before the end of the file (object_index.c): prepend appends empty members
 * until no member but the last ends so, and lists them. */
static void test_duckdb_padding(void **state)
{
    (void)state;
    unsigned char *noise = cl_malloc(40000);
    for (size_t i = 0; i < 40000; i++)
        noise[i] = (unsigned char)(next_noise() >> 3);
    struct cl_buf gz;
    struct cl_obj_index x;
    cl_buf_init(&gz, SIZE_MAX);
    cl_obj_index_init(&x);
    assert_int_equal(cl_gzip_compress("a\n", 2, 1, &gz), CL_OK);
    cl_obj_index_member(&x, gz.len)->records = 0;
    /* a second member of exactly 32768 - 8 compressed bytes: the first one's trailer
     * is then 32 KiB from the end */
    size_t want = 32768 - 8, raw = want;
    for (int tries = 0; tries < 400; tries++) {
        struct cl_buf m;
        cl_buf_init(&m, SIZE_MAX);
        assert_int_equal(cl_gzip_compress(noise, raw, 1, &m), CL_OK);
        size_t got = m.len;
        if (got == want) {
            cl_buf_append(&gz, m.data, m.len);
            cl_obj_index_member(&x, m.len);
            cl_buf_free(&m);
            break;
        }
        cl_buf_free(&m);
        raw = got > want ? raw - 1 : raw + 1;
    }
    assert_int_equal(x.n, 2);
    assert_int_equal(cl_obj_index_prepend(&x, &gz), CL_OK);
    struct cl_obj_seg *g;
    size_t n, off;
    assert_int_equal(cl_obj_index_read(gz.data, gz.len, 1, &g, &n, &off), CL_OBJ_INDEX_OK);
    assert_true(n >= 3);
    assert_int_equal(g[2].gz_len, 20);
    assert_int_equal(g[2].raw_len, 0);
    assert_int_equal((gz.len - (g[0].gz_off + g[0].gz_len - 8)) % 32768 != 0, 1);
    assert_int_equal((gz.len - (off - 8)) % 32768 != 0, 1);
    free(g);
    struct cl_buf out;
    cl_buf_init(&out, SIZE_MAX);
    assert_int_equal(cl_gzip_decompress(gz.data, gz.len, &out), CL_OK);
    assert_int_equal(out.len, 2 + raw);
    cl_buf_free(&out);
    cl_buf_free(&gz);
    cl_obj_index_free(&x);
    free(noise);
}

/* cloudlog verify's check: the entries against the members they describe. */
static void test_check_against_members(void **state)
{
    (void)state;
    char err[256];
    struct cl_buf gz;
    struct cl_obj_index x;
    build_members(&gz, &x, RECS_PER_MEMBER);
    assert_int_equal(cl_obj_index_check(gz.data, gz.len, 1 << 20, err, sizeof err), 0); /* none */
    assert_int_equal(cl_obj_index_prepend(&x, &gz), CL_OK);
    assert_int_equal(cl_obj_index_check(gz.data, gz.len, 1 << 20, err, sizeof err), 0);
    cl_obj_index_free(&x);
    cl_buf_free(&gz);
    static const struct {
        int field;
        const char *why;
    } lies[] = {{0, "records"}, {1, "time span"}, {2, "time span"}};
    for (size_t k = 0; k < sizeof lies / sizeof lies[0]; k++) {
        build_members(&gz, &x, RECS_PER_MEMBER);
        if (lies[k].field == 0)
            x.v[2].records++, x.v[2].levels[CL_LEVEL_INFO]++;
        else if (lies[k].field == 1)
            x.v[2].min_ts_ms--;
        else
            x.v[2].levels[CL_LEVEL_INFO]--, x.v[2].levels[CL_LEVEL_WARN]++;
        assert_int_equal(cl_obj_index_prepend(&x, &gz), CL_OK);
        assert_int_equal(cl_obj_index_check(gz.data, gz.len, 1 << 20, err, sizeof err), -1);
        assert_non_null(strstr(err, lies[k].why));
        cl_obj_index_free(&x);
        cl_buf_free(&gz);
    }
    indexed_object(&gz);
    gz.data[gz.len - 20] ^= 1; /* the data CRC */
    assert_int_equal(cl_obj_index_check(gz.data, gz.len, 1 << 20, err, sizeof err), -1);
    assert_non_null(strstr(err, "damaged"));
    cl_buf_free(&gz);
}

/* A builder that counted a record outside any member writes no index. */
static void test_broken_builder(void **state)
{
    (void)state;
    struct cl_obj_index x;
    cl_obj_index_init(&x);
    cl_obj_seg_line(cl_obj_index_last(&x), 10, 0, CL_LEVEL_INFO);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    assert_int_equal(cl_gzip_compress("x\n", 2, 1, &b), CL_OK);
    cl_obj_index_member(&x, b.len);
    assert_int_equal(cl_obj_index_prepend(&x, &b), CL_ERR_INVAL);
    cl_obj_index_free(&x);
    cl_buf_free(&b);
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("CL_TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/query_objidx_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(test_dir))
        return -1;
    make_records();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_written_and_read),
        cmocka_unit_test(test_query_skips_segments),
        cmocka_unit_test(test_missing_index),
        cmocka_unit_test(test_damaged_index),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_lying_index),
        cmocka_unit_test(test_unknown_and_merged),
        cmocka_unit_test(test_broken_builder),
        cmocka_unit_test(test_limit_reads_best_segments),
        cmocka_unit_test(test_duckdb_padding),
        cmocka_unit_test(test_check_against_members),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
