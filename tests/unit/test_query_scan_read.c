/* test_query_scan_read.c - how the scan reads an object and counts its segments:
 * with map_objects, objects under cq_map_min bytes are read (copied) and larger ones
 * mapped, with the same answers, failures and reasons either way; a count over segments
 * wholly inside the range and levels matches lines by their content alone and gives
 * what matching every line gives; an object without an index is filtered member by
 * member, lines cut across members included. */
#include "codec.h"
#include "common.h"
#include "object_index.h"
#include "query.h"
#include "query_int.h" /* cq_map_min */
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
#define N_MEMBERS 10
#define PER_MEMBER 40
#define N_RECS (N_MEMBERS * PER_MEMBER)
#define N_OBJS 4
#define MAX_WARN 8

/* Object 0 indexed and sound, 1 indexed with a damaged data member, 2 indexed and cut
 * inside a member, 3 without an index. All in one partition. */
static const char *const keys[N_OBJS] = {
    "service=api/dt=2026-11-25/hour=10/20261125T100000Z-00000000000000a0.ndjson.gz",
    "service=api/dt=2026-11-25/hour=10/20261125T100000Z-00000000000000a1.ndjson.gz",
    "service=api/dt=2026-11-25/hour=10/20261125T100000Z-00000000000000a2.ndjson.gz",
    "service=api/dt=2026-11-25/hour=10/20261125T100000Z-00000000000000a3.ndjson.gz"};
static const char *const words[] = {"timeout", "hello", "TimeOut", "time"};

struct rec {
    int64_t ts;
    int level;
    char line[200];
};

static char test_dir[512];
static struct rec recs[N_RECS];
static int64_t t0; /* 2026-11-25T10:00:00Z */
static struct cl_store fs;
static size_t obj_size[N_OBJS];
static size_t bad_at[N_OBJS]; /* where objects 1 and 2 go wrong: their failing member */

/* What the wrapped store was asked: maps and copies. */
static struct cl_store_ops counting_ops;
static struct cl_store counting;
static int n_map, n_get;

static int counting_map(void *impl, const char *key, const void **data, size_t *len)
{
    n_map++;
    return fs.ops->map(impl, key, data, len);
}

static int counting_get(void *impl, const char *key, struct cl_buf *out)
{
    n_get++;
    return fs.ops->get(impl, key, out);
}

/* Member m spans [t0 + 6m min, t0 + 6m + 4 min); levels: info, warn in even members,
 * error in member 7; a message word per record. */
static void make_records(void)
{
    assert_int_equal(cl_parse_timestamp_text("2026-11-25T10:00:00Z", 20, &t0), 0);
    for (int i = 0; i < N_RECS; i++) {
        struct rec *r = &recs[i];
        int m = i / PER_MEMBER;
        char ts[25];
        r->ts = t0 + m * 6 * MIN_MS + (i % PER_MEMBER) * 6000;
        r->level = m == 7 && i % 5 == 0       ? CL_LEVEL_ERROR
                   : m % 2 == 0 && i % 3 == 0 ? CL_LEVEL_WARN
                                              : CL_LEVEL_INFO;
        cl_format_timestamp(r->ts, ts);
        snprintf(r->line, sizeof r->line,
                 "{\"timestamp\":\"%.24s\",\"level\":\"%s\",\"service\":\"api\",\"message\":"
                 "\"record %d %s\"}",
                 ts, cl_level_name((enum cl_level)r->level), i, words[i % 4]);
    }
}

/* The records as one gzip member each PER_MEMBER, with their index in front when
 * indexed. Caller frees gz. */
static void build_object(struct cl_buf *gz, int indexed)
{
    struct cl_obj_index x;
    cl_buf_init(gz, SIZE_MAX);
    cl_obj_index_init(&x);
    for (int i = 0; i < N_RECS; i += PER_MEMBER) {
        struct cl_buf raw;
        cl_buf_init(&raw, SIZE_MAX);
        for (int j = i; j < i + PER_MEMBER; j++) {
            cl_buf_append_str(&raw, recs[j].line);
            cl_buf_append_char(&raw, '\n');
        }
        size_t before = gz->len;
        assert_int_equal(cl_gzip_compress(raw.data, raw.len, 1, gz), CL_OK);
        struct cl_obj_seg *s = cl_obj_index_member(&x, gz->len - before);
        for (int j = i; j < i + PER_MEMBER; j++)
            cl_obj_seg_line(s, strlen(recs[j].line) + 1, recs[j].ts, (enum cl_level)recs[j].level);
        cl_buf_free(&raw);
    }
    if (indexed)
        assert_int_equal(cl_obj_index_prepend(&x, gz), CL_OK);
    cl_obj_index_free(&x);
}

/* Where member m of an indexed object starts. */
static size_t member_off(const struct cl_buf *gz, size_t m)
{
    struct cl_obj_seg *g;
    size_t n, off;
    assert_int_equal(cl_obj_index_read(gz->data, gz->len, 0, &g, &n, &off), CL_OBJ_INDEX_OK);
    size_t at = (size_t)g[m].gz_off;
    free(g);
    return at;
}

static void put(int i, const struct cl_buf *gz, size_t len)
{
    assert_int_equal(cl_store_put(&fs, keys[i], gz->data, len), CL_OK);
    obj_size[i] = len;
}

struct got {
    char reasons[MAX_WARN][200];
    int warned;
    size_t emitted;
    uint64_t sum; /* of the emitted lines' hashes: the lines, in any order */
};

static uint64_t line_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static int on_emit(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    (void)h;
    struct got *g = arg;
    g->emitted++;
    g->sum += line_hash(line, len);
    return 0;
}

static void on_warn(void *arg, const char *key, const char *reason)
{
    struct got *g = arg;
    if (g->warned < MAX_WARN)
        snprintf(g->reasons[g->warned], sizeof g->reasons[0], "%s: %s", key, reason);
    g->warned++;
}

/* Runs q over st (no catalog: the plan lists the store, sizes included). */
static void run(struct cl_store *st, struct cl_query *q, struct got *g, struct cl_query_stats *s)
{
    struct cl_query_source src = {st, NULL};
    char err[256];
    memset(g, 0, sizeof *g);
    assert_int_equal(cl_query_run(&src, q, on_emit, on_warn, g, s, err, sizeof err), CL_OK);
}

static void assert_same(const struct got *a, const struct cl_query_stats *sa, const struct got *b,
                        const struct cl_query_stats *sb)
{
    assert_int_equal(b->warned, a->warned);
    for (int i = 0; i < a->warned && i < MAX_WARN; i++)
        assert_string_equal(b->reasons[i], a->reasons[i]);
    assert_int_equal(b->emitted, a->emitted);
    assert_true(b->sum == a->sum);
    assert_int_equal(sb->records_matched, sa->records_matched);
    assert_int_equal(sb->records_scanned, sa->records_scanned);
    assert_int_equal(sb->bytes_scanned, sa->bytes_scanned);
    assert_int_equal(sb->objects_opened, sa->objects_opened);
    assert_int_equal(sb->objects_failed, sa->objects_failed);
}

static struct cl_query whole_range(int count_only)
{
    return (struct cl_query){.from_ms = t0 - 60 * MIN_MS,
                             .to_ms = t0 + 120 * MIN_MS,
                             .grep = "timeout",
                             .order = CL_ORDER_OLDEST,
                             .count_only = count_only,
                             .threads = 1};
}

/* Small objects are copied even with map_objects, larger ones mapped; either way the
 * same records, counts, failures and reasons as a run that never maps. The damaged and
 * cut objects fail as they did (the two sound ones count). */
static void test_small_read_large_mapped(void **state)
{
    (void)state;
    size_t largest = 0;
    for (int i = 0; i < N_OBJS; i++)
        largest = CL_MAX(largest, obj_size[i]);
    int n_large = 0;
    for (int i = 0; i < N_OBJS; i++)
        n_large += obj_size[i] >= largest;
    for (int count = 0; count < 2; count++) {
        struct got a, b;
        struct cl_query_stats sa, sb;
        struct cl_query q = whole_range(count);
        run(&fs, &q, &a, &sa); /* never mapped */
        assert_int_equal(a.warned, 2);
        for (int i = 1; i <= 2; i++) { /* read whole: the failing member's offset */
            char want[300];
            snprintf(want, sizeof want, "%s: corrupt or truncated gzip at byte %zu", keys[i],
                     bad_at[i]);
            assert_string_equal(a.reasons[i - 1], want);
        }
        assert_int_equal(sa.records_matched, 2 * (N_RECS / 4)); /* objects 0 and 3 */
        q.map_objects = 1;
        size_t thresholds[] = {CQ_MAP_MIN, largest, 0};
        int maps[] = {0, n_large, N_OBJS};
        for (size_t k = 0; k < CL_ARRAY_LEN(thresholds); k++) {
            cq_map_min = thresholds[k];
            n_map = n_get = 0;
            run(&counting, &q, &b, &sb);
            assert_int_equal(n_map, maps[k]);
            assert_int_equal(n_get, N_OBJS - maps[k]);
            assert_same(&a, &sa, &b, &sb);
        }
        cq_map_min = CQ_MAP_MIN;
    }
}

static int ref_match(const struct cl_query *q, const struct rec *r)
{
    if (r->ts < q->from_ms || r->ts >= q->to_ms)
        return 0;
    if (q->level_mask && !(q->level_mask & (1u << r->level)))
        return 0;
    return !q->grep || strstr(r->line, q->grep) != NULL;
}

/* A count by the object's segments gives what matching every line gives: ranges that
 * hold whole segments, cut them, or miss them; level sets that take a segment whole or
 * in part; a grep, none, and the filters that still look at each line (-i, a regex). */
static void test_count_by_content(void **state)
{
    (void)state;
    struct cl_store st;
    char url[700], err[256];
    snprintf(url, sizeof url, "%s/sound", test_dir);
    assert_int_equal(cl_store_open(&st, url, err, sizeof err), CL_OK);
    struct cl_buf gz;
    build_object(&gz, 1);
    assert_int_equal(cl_store_put(&st, keys[0], gz.data, gz.len), CL_OK);
    cl_buf_free(&gz);
    const int64_t ranges[][2] = {{-60, 120}, {0, 60}, {6, 30}, {7, 29}, {13, 14}, {0, 4}};
    const unsigned masks[] = {0, 1u << CL_LEVEL_INFO, 1u << CL_LEVEL_INFO | 1u << CL_LEVEL_WARN,
                              1u << CL_LEVEL_INFO | 1u << CL_LEVEL_WARN | 1u << CL_LEVEL_ERROR,
                              1u << CL_LEVEL_ERROR};
    /* the last three hold a '\n': no single line matches them, however the count runs */
    const char *greps[] = {"timeout",  NULL,   "time",
                           "record 1", "\"}",  "absent",
                           "\n",       "}\n{", "timeout\"}\n{\"timestamp"};
    for (size_t r = 0; r < CL_ARRAY_LEN(ranges); r++)
        for (size_t m = 0; m < CL_ARRAY_LEN(masks); m++)
            for (size_t k = 0; k < CL_ARRAY_LEN(greps) + 2; k++) {
                struct cl_query q = {.from_ms = t0 + ranges[r][0] * MIN_MS,
                                     .to_ms = t0 + ranges[r][1] * MIN_MS,
                                     .level_mask = masks[m],
                                     .order = CL_ORDER_OLDEST,
                                     .count_only = 1,
                                     .threads = 1};
                uint64_t want = 0;
                if (k < CL_ARRAY_LEN(greps)) {
                    q.grep = greps[k];
                    for (int i = 0; i < N_RECS; i++)
                        want += (uint64_t)ref_match(&q, &recs[i]);
                } else { /* -i and a regex: the same records as "timeout" in any case */
                    q.grep = k == CL_ARRAY_LEN(greps) ? "TIMEOUT" : NULL;
                    q.grep_icase = q.grep != NULL;
                    q.regex = q.grep ? NULL : "[Tt]ime[Oo]ut";
                    struct cl_query ref = q;
                    ref.regex = NULL;
                    for (int i = 0; i < N_RECS; i++) {
                        ref.grep = "timeout";
                        uint64_t lower = (uint64_t)ref_match(&ref, &recs[i]);
                        ref.grep = "TimeOut";
                        want += lower | (uint64_t)ref_match(&ref, &recs[i]);
                    }
                }
                struct got g;
                struct cl_query_stats s;
                run(&st, &q, &g, &s);
                assert_int_equal(g.warned, 0);
                assert_int_equal(s.records_matched, want);
            }
    cl_store_close(&st);
}

/* An object without an index is filtered member by member: lines cut across members at
 * any byte, members with no line end, empty members and a last line without '\n' give
 * the same lines, numbers and counts as the text read at once; a damaged member after
 * matches were found fails the object with none of them kept. */
static void test_whole_members_cut_lines(void **state)
{
    (void)state;
    struct cl_buf raw, gz;
    cl_buf_init(&raw, SIZE_MAX);
    cl_buf_init(&gz, SIZE_MAX);
    for (int i = 0; i < N_RECS; i++) {
        cl_buf_append_str(&raw, recs[i].line);
        if (i + 1 < N_RECS)
            cl_buf_append_char(&raw, '\n');
    }
    static const size_t cuts[] = {1, 0, 777, 90, 0, 5000, 13, 2048, 150};
    size_t at = 0, damage_at = 0;
    for (size_t k = 0; at < raw.len; k++) {
        size_t n = CL_MIN(cuts[k % CL_ARRAY_LEN(cuts)], raw.len - at);
        if (k == 40)
            damage_at = gz.len; /* a member well after the first matches */
        assert_int_equal(cl_gzip_compress(raw.data + at, n, 1, &gz), CL_OK);
        at += n;
    }
    assert_true(damage_at > 0);
    uint64_t want_sum = 0;
    for (int i = 0; i < N_RECS; i++)
        want_sum +=
            strstr(recs[i].line, "timeout") ? line_hash(recs[i].line, strlen(recs[i].line)) : 0;
    struct cl_store st;
    char url[700], err[256];
    snprintf(url, sizeof url, "%s/cut_lines", test_dir);
    assert_int_equal(cl_store_open(&st, url, err, sizeof err), CL_OK);
    assert_int_equal(cl_store_put(&st, keys[3], gz.data, gz.len), CL_OK);
    for (int count = 0; count < 2; count++) {
        struct got g;
        struct cl_query_stats s;
        struct cl_query q = whole_range(count);
        run(&st, &q, &g, &s);
        assert_int_equal(g.warned, 0);
        assert_int_equal(s.records_matched, N_RECS / 4);
        assert_int_equal(s.records_scanned, N_RECS);
        assert_int_equal(s.bytes_scanned, raw.len);
        assert_int_equal(g.emitted, count ? 0 : N_RECS / 4);
        assert_true(g.sum == (count ? 0 : want_sum));
    }
    gz.data[damage_at + 12] ^= 0x04;
    assert_int_equal(cl_store_put(&st, keys[3], gz.data, gz.len), CL_OK);
    for (int count = 0; count < 2; count++) {
        struct got g;
        struct cl_query_stats s;
        struct cl_query q = whole_range(count);
        run(&st, &q, &g, &s);
        assert_int_equal(g.warned, 1);
        assert_non_null(strstr(g.reasons[0], "corrupt or truncated gzip at byte"));
        assert_int_equal(s.records_matched, 0);
        assert_int_equal(s.records_scanned, 0);
        assert_int_equal(g.emitted, 0);
    }
    cl_store_close(&st);
    cl_buf_free(&raw);
    cl_buf_free(&gz);
}

static int cancel_calls;

static int cancel_after_8(void *arg)
{
    (void)arg;
    return ++cancel_calls > 8;
}

/* A line running across many members of an object without an index: the scan still
 * asks for cancellation (and the deadline) after every member, not only when a line
 * ends (64 members, one line). */
static void test_whole_long_line_cancelled(void **state)
{
    (void)state;
    struct cl_buf gz;
    cl_buf_init(&gz, SIZE_MAX);
    char part[4096];
    memset(part, 'a', sizeof part);
    for (int k = 0; k < 64; k++)
        assert_int_equal(cl_gzip_compress(part, sizeof part, 1, &gz), CL_OK);
    assert_int_equal(cl_gzip_compress("\"}\n", 3, 1, &gz), CL_OK);
    struct cl_store st;
    char url[700], err[256];
    snprintf(url, sizeof url, "%s/long_line", test_dir);
    assert_int_equal(cl_store_open(&st, url, err, sizeof err), CL_OK);
    assert_int_equal(cl_store_put(&st, keys[3], gz.data, gz.len), CL_OK);
    struct cl_query q = whole_range(1);
    q.cancelled = cancel_after_8;
    cancel_calls = 0;
    struct got g;
    struct cl_query_stats s;
    struct cl_query_source src = {&st, NULL};
    memset(&g, 0, sizeof g);
    assert_int_equal(cl_query_run(&src, &q, on_emit, on_warn, &g, &s, err, sizeof err),
                     CL_ERR_CLOSED);
    assert_true(cancel_calls > 8);
    cl_store_close(&st);
    cl_buf_free(&gz);
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("CL_TMPDIR");
    char url[700], err[256];
    snprintf(test_dir, sizeof test_dir, "%s/query_scan_read_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(test_dir))
        return -1;
    make_records();
    snprintf(url, sizeof url, "%s/logs", test_dir);
    if (cl_store_open(&fs, url, err, sizeof err) != CL_OK)
        return -1;
    counting_ops = *fs.ops;
    counting_ops.map = counting_map;
    counting_ops.get = counting_get;
    counting = (struct cl_store){&counting_ops, fs.impl};
    struct cl_buf gz;
    build_object(&gz, 1);
    put(0, &gz, gz.len);
    bad_at[1] = member_off(&gz, 4);
    bad_at[2] = member_off(&gz, 6);
    gz.data[bad_at[1] + 40] ^= 0x10; /* a data byte of member 4 */
    put(1, &gz, gz.len);
    gz.data[bad_at[1] + 40] ^= 0x10;
    put(2, &gz, bad_at[2] + 25); /* cut inside member 6 */
    cl_buf_free(&gz);
    build_object(&gz, 0);
    put(3, &gz, gz.len);
    cl_buf_free(&gz);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_store_close(&fs);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_read_large_mapped),
        cmocka_unit_test(test_count_by_content),
        cmocka_unit_test(test_whole_members_cut_lines),
        cmocka_unit_test(test_whole_long_line_cancelled),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
