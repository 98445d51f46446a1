/* test_queue_salvage_probe.c - how the salvage gets past a damaged leaf of a queue file
 * (the probe after a failed walk; review of the salvage's probe):
 *   - two garbage ids (either order) as the last cells before a damaged leaf must not make
 *     the probe skip the intact rows after that leaf;
 *   - the probe's cost depends on the damage, not on the id values: a first live id of
 *     2,000,001 with the first leaf damaged costs one damaged range, not two million
 *     unreadable ids (and seconds of CPU);
 *   - a hostile sqlite_sequence (INT64_MAX, 10^12) with the last leaf damaged ends at once,
 *     and so does a real row of id INT64_MAX after a damaged leaf (no id overflows);
 *   - a too small sqlite_sequence with a damaged leaf loses only that leaf's rows.
 * The helpers are a copy of test_queue_salvage_review.c's (a file of its own, so the
 * other salvage tests' refactoring does not touch it). */
#include "common.h"
#include "queue.h"
#include "queue_repair.h"
#include "queue_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_MSGS 300
#define PAGE_SIZE 4096

static char test_dir[512];

static void open_queue(struct cl_queue *q, const char *path)
{
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 0;
    char err[256];
    if (cl_queue_open(q, path, &o, err, sizeof err) != CL_OK)
        fail_msg("open %s: %s", path, err);
}

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A queue file of 4 KiB pages holding N_MSGS messages "ok <i> <padding>", ids first_id + i
 * (the sequence set before the first send), checkpointed, in rollback-journal mode so
 * that the tests' own SQL writes land in it. */
static void make_source_from(const char *path, int64_t first_id)
{
    unlink(path);
    char sql[160];
    snprintf(sql, sizeof sql, "PRAGMA page_size=%d; PRAGMA journal_mode=WAL;", PAGE_SIZE);
    exec_sql(path, sql);
    struct cl_queue q;
    open_queue(&q, path);
    cl_queue_close(&q);
    snprintf(sql, sizeof sql,
             "DELETE FROM sqlite_sequence WHERE name = 'messages';"
             " INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', %lld)",
             (long long)first_id - 1);
    exec_sql(path, sql);
    open_queue(&q, path);
    for (int i = 0; i < N_MSGS; i++) {
        char body[400];
        int len = snprintf(body, sizeof body, "ok %d %*s", i, 200, "p");
        struct cl_msg_out m = {body, (size_t)len, {.record_count = 1, .encoding = "gzip"}};
        assert_int_equal(cl_queue_send(&q, &m, 1), CL_OK);
    }
    cl_queue_close(&q);
    exec_sql(path, "PRAGMA journal_mode=DELETE;");
    assert_int_equal(cl_qt_query_int(path, "SELECT min(id) FROM messages"), first_id);
}

static void make_source(const char *path)
{
    make_source_from(path, 1);
}

static void page_io(const char *path, int64_t pageno, unsigned char *buf, int write)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)((pageno - 1) * PAGE_SIZE), SEEK_SET), 0);
    size_t n = write ? fwrite(buf, 1, PAGE_SIZE, f) : fread(buf, 1, PAGE_SIZE, f);
    assert_int_equal(n, PAGE_SIZE);
    fclose(f);
}

/* SQLite's varint at p: its value, and its length in *len. */
static uint64_t get_varint(const unsigned char *p, int *len)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 7 | (p[i] & 0x7f);
        if (!(p[i] & 0x80)) {
            *len = i + 1;
            return v;
        }
    }
    *len = 9;
    return v << 8 | p[8];
}

/* Where the cell of row id of the messages table is: its leaf page, and the offset of the
 * cell's rowid varint in that page (*rowid_off). Returns the leaf's cell count. */
static int find_cell(const char *path, int64_t id, int64_t *pageno, int *rowid_off)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT pageno FROM dbstat WHERE name = 'messages'"
                                        " AND pagetype = 'leaf'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    unsigned char page[PAGE_SIZE];
    int found = 0;
    while (!found && sqlite3_step(st) == SQLITE_ROW) {
        *pageno = sqlite3_column_int64(st, 0);
        page_io(path, *pageno, page, 0);
        assert_int_equal(page[0], 0x0d);
        int ncell = page[3] << 8 | page[4];
        for (int k = 0; k < ncell; k++) {
            int off = page[8 + 2 * k] << 8 | page[9 + 2 * k], n1, n2;
            get_varint(page + off, &n1);
            if ((int64_t)get_varint(page + off + n1, &n2) == id) {
                *rowid_off = off + n1;
                found = ncell;
                break;
            }
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(found > 0);
    return found;
}

/* Rewrites the rowid of the cell of `from` to `to` (both 2-byte varints: 128..16383), as a
 * torn write can leave a cell: its page reads without an error. */
static void forge_rowid(const char *path, int64_t from, int64_t to)
{
    assert_true(from >= 128 && to >= 128 && from < 16384 && to < 16384);
    int64_t pageno;
    int off;
    find_cell(path, from, &pageno, &off);
    unsigned char page[PAGE_SIZE];
    page_io(path, pageno, page, 0);
    page[off] = (unsigned char)(0x80 | to >> 7);
    page[off + 1] = (unsigned char)(to & 0x7f);
    page_io(path, pageno, page, 1);
}

/* Destroys the header of the leaf holding id (not a page type: reading it fails with
 * SQLITE_CORRUPT); returns its cell count, its page in *pageno. */
static int damage_leaf_of(const char *path, int64_t id, int64_t *pageno)
{
    int off;
    int ncell = find_cell(path, id, pageno, &off);
    unsigned char page[PAGE_SIZE];
    page_io(path, *pageno, page, 0);
    page[0] = 0x55;
    page_io(path, *pageno, page, 1);
    return ncell;
}

/* The id of the first cell of leaf pageno (its smallest). */
static int64_t first_id_on_page(const char *path, int64_t pageno)
{
    unsigned char page[PAGE_SIZE];
    page_io(path, pageno, page, 0);
    int off = page[8] << 8 | page[9], n1, n2;
    get_varint(page + off, &n1);
    return (int64_t)get_varint(page + off + n1, &n2);
}

static int check_ok(void *arg, const struct cl_msg *m, char *why, size_t why_len)
{
    (void)arg;
    if (m->len >= 3 && memcmp(m->body, "ok ", 3) == 0)
        return 0;
    snprintf(why, why_len, "not ok");
    return -1;
}

/* Salvages src into a fresh live queue dst; asserts that no body was copied twice. */
static void salvage(const char *src, const char *dst, struct cl_salvage_result *r)
{
    unlink(dst);
    struct cl_queue q;
    open_queue(&q, dst);
    char err[256];
    assert_int_equal(cl_queue_salvage(&q, src, check_ok, NULL, r, err, sizeof err), CL_OK);
    cl_queue_close(&q);
    assert_int_equal(cl_qt_query_int(dst, "SELECT count(*) FROM messages"), (int64_t)r->messages);
    assert_int_equal(cl_qt_query_int(dst, "SELECT count(*) FROM dlq"), (int64_t)r->dlq);
    assert_int_equal(cl_qt_query_int(dst,
                                     "SELECT count(DISTINCT body) FROM"
                                     " (SELECT body FROM messages UNION ALL SELECT body FROM dlq)"),
                     (int64_t)(r->messages + r->dlq));
}

static void paths(const char *name, char *src, char *dst, size_t len)
{
    snprintf(src, len, "%s/%s.db", test_dir, name);
    snprintf(dst, len, "%s/%s-live.db", test_dir, name);
}

/* Whether message i ("ok <i> ...") was salvaged into dst. */
static int salvaged(const char *dst, int i)
{
    char sql[128];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM messages WHERE CAST(body AS TEXT) LIKE 'ok %d %%'", i);
    return cl_qt_query_int(dst, sql) == 1;
}

/* The last TWO cells of the leaf before the damaged leaf (the one holding id 200) carry
 * garbage ids g1 then g2 (both below sqlite_sequence, both ids of intact rows after the
 * damaged leaf). Only the rows of those two leaves may be lost: every other message,
 * among them those between the damaged leaf and the garbage ids, is salvaged. */
static void two_garbage_ids(const char *name, int64_t g1, int64_t g2)
{
    char src[600], dst[600];
    paths(name, src, dst, sizeof src);
    make_source(src);
    int64_t pg200, pg_before, pg2;
    int off;
    int n200 = find_cell(src, 200, &pg200, &off);
    int64_t first_damaged = first_id_on_page(src, pg200), before = first_damaged - 1;
    int n_before = find_cell(src, before, &pg_before, &off);
    find_cell(src, before - 1, &pg2, &off);
    assert_true(pg2 == pg_before && before - 1 >= 128 && first_damaged + n200 < g1);
    forge_rowid(src, before, g2);
    forge_rowid(src, before - 1, g1);
    damage_leaf_of(src, 200, &pg200);
    struct cl_salvage_result r;
    salvage(src, dst, &r);
    int64_t lost_from = before - n_before + 1, lost_to = first_damaged + n200 - 1;
    for (int i = 0; i < N_MSGS; i++)
        if (i + 1 < lost_from || i + 1 > lost_to)
            assert_true(salvaged(dst, i));
    assert_true((int64_t)r.messages >= N_MSGS - n_before - n200);
    assert_true(r.unreadable > 0);
}

static void test_two_garbage_ids_ascending_before_damaged_leaf(void **state)
{
    (void)state;
    two_garbage_ids("two-asc", 250, 260);
}

static void test_two_garbage_ids_descending_before_damaged_leaf(void **state)
{
    (void)state;
    two_garbage_ids("two-desc", 260, 250);
}

/* A long-running queue: ids start at 2,000,001 (AUTOINCREMENT never reuses), and the
 * first leaf (where acks delete) is damaged. The probe past it seeks (a few dozen reads)
 * instead of reading every id from 1 on, and counts one damaged range, not two million
 * unreadable ids. */
static void test_high_ids_first_leaf_damaged(void **state)
{
    (void)state;
    char src[600], dst[600];
    paths("high", src, dst, sizeof src);
    const int64_t first = 2000001;
    make_source_from(src, first);
    int64_t pg;
    int n = damage_leaf_of(src, first, &pg);
    struct cl_salvage_result r;
    salvage(src, dst, &r);
    assert_int_equal(r.messages, N_MSGS - n);
    assert_int_equal(r.unreadable, 1);
    for (int i = n; i < N_MSGS; i++)
        assert_true(salvaged(dst, i));
}

/* sqlite_sequence damaged into a huge value, and the last leaf damaged: the probe past
 * the last leaf must end at once (it probed every id up to the sequence), without an
 * overflow at INT64_MAX. */
static void test_huge_sequence_last_leaf_damaged(void **state)
{
    (void)state;
    static const char *const seqs[2] = {"9223372036854775807", "1000000000000"};
    for (int k = 0; k < 2; k++) {
        char src[600], dst[600], sql[128];
        paths(k ? "seq12" : "seqmax", src, dst, sizeof src);
        make_source(src);
        snprintf(sql, sizeof sql, "UPDATE sqlite_sequence SET seq = %s WHERE name = 'messages'",
                 seqs[k]);
        exec_sql(src, sql);
        int64_t pg;
        int n = damage_leaf_of(src, N_MSGS, &pg);
        struct cl_salvage_result r;
        salvage(src, dst, &r);
        assert_int_equal(r.messages, N_MSGS - n);
        assert_int_equal(r.unreadable, 1);
    }
}

/* A real row of id INT64_MAX after a damaged leaf: the probe's search reaches it without
 * an overflow, and every row but the damaged leaf's is salvaged, that one included. */
static void test_id_int64_max_after_damaged_leaf(void **state)
{
    (void)state;
    char src[600], dst[600];
    paths("idmax", src, dst, sizeof src);
    make_source(src);
    exec_sql(src, "INSERT INTO messages (id, body, record_count, raw_bytes, min_ts, max_ts,"
                  " encoding, sent_at) SELECT 9223372036854775807, CAST('ok max' AS BLOB),"
                  " record_count, raw_bytes, min_ts, max_ts, encoding, sent_at FROM messages"
                  " WHERE id = 1");
    int64_t pg;
    int n = damage_leaf_of(src, 200, &pg);
    struct cl_salvage_result r;
    salvage(src, dst, &r);
    assert_int_equal(r.messages, N_MSGS + 1 - n);
    assert_int_equal(r.unreadable, 1);
    assert_int_equal(
        cl_qt_query_int(dst, "SELECT count(*) FROM messages WHERE CAST(body AS TEXT) = 'ok max'"),
        1);
}

/* sqlite_sequence too small (100: its page damaged) AND a damaged leaf around id 200: the
 * rows after the damaged leaf are intact and salvaged, and the damaged leaf is counted. */
static void test_small_sequence_and_damaged_leaf(void **state)
{
    (void)state;
    char src[600], dst[600];
    paths("seqsmall", src, dst, sizeof src);
    make_source(src);
    exec_sql(src, "UPDATE sqlite_sequence SET seq = 100 WHERE name = 'messages'");
    int64_t pg200;
    int n200 = damage_leaf_of(src, 200, &pg200);
    struct cl_salvage_result r;
    salvage(src, dst, &r);
    assert_int_equal(r.messages, N_MSGS - n200);
    assert_int_equal(r.unreadable, 1);
}

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("CL_TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/salvage-probe-XXXXXX", base ? base : "/tmp");
    return mkdtemp(test_dir) ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_garbage_ids_ascending_before_damaged_leaf),
        cmocka_unit_test(test_two_garbage_ids_descending_before_damaged_leaf),
        cmocka_unit_test(test_high_ids_first_leaf_damaged),
        cmocka_unit_test(test_huge_sequence_last_leaf_damaged),
        cmocka_unit_test(test_id_int64_max_after_damaged_leaf),
        cmocka_unit_test(test_small_sequence_and_damaged_leaf),
    };
    return cmocka_run_group_tests(tests, setup_dir, NULL);
}
