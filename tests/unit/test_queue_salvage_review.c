/* test_queue_salvage_review.c - salvage of damaged queue files where the walk's
 * de-duplication must not lose intact messages (review of the salvage branch):
 *   - a garbage cell carrying a larger id, before a damaged leaf, must not make the probe
 *     past that leaf skip the rows between the real last id and the garbage id;
 *   - a DLQ message whose id a garbage cell of the messages table carries is copied from
 *     the DLQ (the messages row of that id does not read back);
 *   - a damaged (too small) sqlite_sequence.seq does not drop the newer messages. */
#include "common.h"
#include "queue.h"
#include "queue_repair.h"
#include "queue_test_util.h"
#include "salvage_test_util.h"

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

/* A queue file of 4 KiB pages holding N_MSGS messages "ok <i> <padding>" (ids 1..N_MSGS),
 * checkpointed, in rollback-journal mode so that the tests' own SQL writes land in it. */
static void make_source(const char *path)
{
    cl_sv_make_source(path, PAGE_SIZE, N_MSGS);
    cl_qt_exec_sql(path, "PRAGMA journal_mode=DELETE;");
    assert_int_equal(cl_qt_query_int(path, "SELECT max(id) FROM messages"), N_MSGS);
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
        cl_sv_page_io(path, *pageno, page, PAGE_SIZE, 0);
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
 * torn write can leave a cell: its page reads without an error. Returns its leaf's cells. */
static int forge_rowid(const char *path, int64_t from, int64_t to)
{
    assert_true(from >= 128 && to >= 128 && from < 16384 && to < 16384);
    int64_t pageno;
    int off;
    int ncell = find_cell(path, from, &pageno, &off);
    unsigned char page[PAGE_SIZE];
    cl_sv_page_io(path, pageno, page, PAGE_SIZE, 0);
    page[off] = (unsigned char)(0x80 | to >> 7);
    page[off + 1] = (unsigned char)(to & 0x7f);
    cl_sv_page_io(path, pageno, page, PAGE_SIZE, 1);
    return ncell;
}

static void paths(const char *name, char *src, char *dst, size_t len)
{
    snprintf(src, len, "%s/%s.db", cl_qt_dir, name);
    snprintf(dst, len, "%s/%s-live.db", cl_qt_dir, name);
}

/* The cell of id 140 now carries id 280 (a few leaves on), and the leaf holding id 200 has
 * a destroyed header (the walk fails there). Only the rows of those two leaves may be
 * lost: the probe past the damaged leaf starts after the last id the walk read (~190),
 * not after the garbage id 280. */
static void test_garbage_larger_id_before_damaged_leaf(void **state)
{
    (void)state;
    char src[600], dst[600];
    paths("larger", src, dst, sizeof src);
    make_source(src);
    int64_t pg140, pg200, pg280;
    int off;
    find_cell(src, 140, &pg140, &off);
    int n200 = find_cell(src, 200, &pg200, &off);
    find_cell(src, 280, &pg280, &off);
    assert_true(pg140 != pg200 && pg200 != pg280);
    int n140 = forge_rowid(src, 140, 280);
    unsigned char page[PAGE_SIZE];
    cl_sv_page_io(src, pg200, page, PAGE_SIZE, 0);
    page[0] = 0x55; /* not a page type: reading the leaf fails (SQLITE_CORRUPT) */
    cl_sv_page_io(src, pg200, page, PAGE_SIZE, 1);
    struct cl_salvage_result r;
    cl_sv_salvage(src, dst, &r);
    assert_true((int64_t)r.messages >= N_MSGS - n140 - n200);
    assert_true(r.messages < N_MSGS);
    assert_true(r.unreadable > 0);
}

/* The id of the first cell of leaf pageno (its smallest). */
static int64_t first_id_on_page(const char *path, int64_t pageno)
{
    unsigned char page[PAGE_SIZE];
    cl_sv_page_io(path, pageno, page, PAGE_SIZE, 0);
    int off = page[8] << 8 | page[9], n1, n2;
    get_varint(page + off, &n1);
    return (int64_t)get_varint(page + off + n1, &n2);
}

/* As above, but the garbage cell is the last one the walk reads before the damaged leaf
 * (the last cell of the leaf before it), carrying id `to`. A larger id: the probe starts
 * after the id read before it. A smaller one: the probe passes over the ids read already
 * instead of walking them again (each would count as a damaged cell). */
static void garbage_id_last_before_damaged_leaf(const char *name, int64_t to)
{
    char src[600], dst[600];
    paths(name, src, dst, sizeof src);
    make_source(src);
    int64_t pg200, pg_before;
    int off;
    int n200 = find_cell(src, 200, &pg200, &off);
    int64_t before = first_id_on_page(src, pg200) - 1;
    int n_before = find_cell(src, before, &pg_before, &off);
    assert_true(before >= 128 && pg_before != pg200);
    forge_rowid(src, before, to);
    unsigned char page[PAGE_SIZE];
    cl_sv_page_io(src, pg200, page, PAGE_SIZE, 0);
    page[0] = 0x55;
    cl_sv_page_io(src, pg200, page, PAGE_SIZE, 1);
    struct cl_salvage_result r;
    cl_sv_salvage(src, dst, &r);
    assert_true((int64_t)r.messages >= N_MSGS - n_before - n200);
    assert_true(r.messages < N_MSGS);
    assert_true(r.unreadable <= (uint64_t)(n_before + n200));
}

static void test_garbage_larger_id_last_before_damaged_leaf(void **state)
{
    (void)state;
    garbage_id_last_before_damaged_leaf("larger-last", 280);
}

static void test_garbage_smaller_id_last_before_damaged_leaf(void **state)
{
    (void)state;
    garbage_id_last_before_damaged_leaf("smaller-last", 130);
}

/* Message 150 was moved to the DLQ; a garbage cell of the messages table (message 250's,
 * its rowid rewritten) now carries id 150. The messages row 150 does not read back, so the
 * DLQ's copy is the only one and is salvaged. */
static void test_dlq_id_on_garbage_cell(void **state)
{
    (void)state;
    char src[600], dst[600];
    paths("dlqgarbage", src, dst, sizeof src);
    make_source(src);
    cl_qt_exec_sql(src,
                   "BEGIN; INSERT INTO dlq (id, body, record_count, raw_bytes, min_ts, max_ts,"
                   " encoding, sent_at, receive_count, moved_at) SELECT id, body, record_count,"
                   " raw_bytes, min_ts, max_ts, encoding, sent_at, 1, 0 FROM messages WHERE"
                   " id = 150; DELETE FROM messages WHERE id = 150; COMMIT;");
    forge_rowid(src, 250, 150);
    struct cl_salvage_result r;
    cl_sv_salvage(src, dst, &r);
    assert_int_equal(r.dlq, 1);
    assert_int_equal(
        cl_qt_query_int(dst, "SELECT count(*) FROM dlq WHERE CAST(body AS TEXT) LIKE 'ok 149 %'"),
        1);
    assert_true(r.messages >= N_MSGS - 2); /* 150 (moved) and 250 (its cell is garbage) */
}

/* sqlite_sequence says 100 while the messages go up to N_MSGS (its page damaged): the
 * messages past 100 read whole and are all salvaged. */
static void test_sequence_too_small(void **state)
{
    (void)state;
    char src[600], dst[600];
    paths("seq", src, dst, sizeof src);
    make_source(src);
    cl_qt_exec_sql(src, "UPDATE sqlite_sequence SET seq = 100 WHERE name = 'messages'");
    struct cl_salvage_result r;
    cl_sv_salvage(src, dst, &r);
    assert_int_equal(r.messages, N_MSGS);
    assert_int_equal(r.unreadable, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_larger_id_before_damaged_leaf),
        cmocka_unit_test(test_garbage_larger_id_last_before_damaged_leaf),
        cmocka_unit_test(test_garbage_smaller_id_last_before_damaged_leaf),
        cmocka_unit_test(test_dlq_id_on_garbage_cell),
        cmocka_unit_test(test_sequence_too_small),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
