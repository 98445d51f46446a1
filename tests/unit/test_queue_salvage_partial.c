/* test_queue_salvage_partial.c - salvage of a queue file whose leaf page is only partly
 * damaged (a torn or partly overwritten page: its header and cell pointers intact, some
 * cells garbage). A damaged cell can carry the id of a row on another page; the salvage
 * must then lose messages (counted unreadable), never copy one twice. */
#include "common.h"
#include "queue.h"
#include "queue_repair.h"
#include "queue_test_util.h"
#include "salvage_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_MSGS 300

/* The page number of a leaf of the messages table in the middle of it (not the first). */
static int64_t middle_leaf(const char *path)
{
    return cl_qt_query_int(path, "SELECT pageno FROM dbstat WHERE name = 'messages' AND"
                                 " pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET"
                                 " (SELECT count(*) / 2 FROM dbstat WHERE name = 'messages'"
                                 " AND pagetype = 'leaf')");
}

/* What a torn write can leave: the cell in the middle of the leaf now starts with bytes
 * that read as a 5-byte cell of rowid 1, a row another page holds (garbage that happens
 * to start with two bytes below 0x80 does that). The page header and cell pointers are
 * intact, so SQLite reads the page without an error. Returns the page's cell count. */
static int forge_cell_with_id_1(const char *path, int page_size)
{
    int64_t pageno = middle_leaf(path);
    assert_true(pageno > 2);
    unsigned char *page = malloc((size_t)page_size);
    assert_non_null(page);
    cl_sv_page_io(path, pageno, page, (size_t)page_size, 0);
    assert_int_equal(page[0], 0x0d); /* a table leaf */
    int ncell = page[3] << 8 | page[4];
    assert_true(ncell > 4);
    int k = ncell / 2, off = page[8 + 2 * k] << 8 | page[9 + 2 * k];
    page[off] = 0x05;     /* payload size 5 */
    page[off + 1] = 0x01; /* rowid 1 */
    cl_sv_page_io(path, pageno, page, (size_t)page_size, 1);
    free(page);
    return ncell;
}

/* Salvages src into a fresh live queue (no body copied twice): the forged cell's own row
 * is gone, and counted. */
static void salvage_once_each(const char *src, const char *dst, struct cl_salvage_result *r)
{
    cl_sv_salvage(src, dst, r);
    assert_true(r->messages < N_MSGS);
    assert_true(r->unreadable > 0);
}

static void forged_id_in_page(int page_size, const char *name)
{
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/%s.db", cl_qt_dir, name);
    snprintf(dst, sizeof dst, "%s/%s-live.db", cl_qt_dir, name);
    cl_sv_make_source(src, page_size, N_MSGS);
    int ncell = forge_cell_with_id_1(src, page_size);
    struct cl_salvage_result r;
    salvage_once_each(src, dst, &r);
    /* At most that page's rows are lost (its keys are out of order: point reads in it can
     * miss); every other page reads whole. */
    assert_true((int64_t)r.messages >= N_MSGS - ncell);
    assert_int_equal(r.dlq, 0);
}

static void test_forged_id_16k_pages(void **state)
{
    (void)state;
    forged_id_in_page(16384, "forged16k");
}

static void test_forged_id_4k_pages(void **state)
{
    (void)state;
    forged_id_in_page(4096, "forged4k");
}

/* A quarter page of pseudo-random garbage in the second quarter of a middle leaf (past its
 * header and cell pointers), as a partly written page leaves, for several fills. */
static void test_garbage_quarter_page(void **state)
{
    (void)state;
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/garbage.db", cl_qt_dir);
    snprintf(dst, sizeof dst, "%s/garbage-live.db", cl_qt_dir);
    const int page_size = 16384;
    unsigned char *page = malloc(page_size);
    assert_non_null(page);
    for (uint32_t seed = 1; seed <= 8; seed++) {
        cl_sv_make_source(src, page_size, N_MSGS);
        int64_t pageno = middle_leaf(src);
        cl_sv_page_io(src, pageno, page, page_size, 0);
        uint32_t x = seed * 2654435761u;
        for (int i = page_size / 4; i < page_size / 2; i++) {
            x = x * 1103515245u + 12345u;
            page[i] = (unsigned char)(x >> 16);
        }
        cl_sv_page_io(src, pageno, page, page_size, 1);
        struct cl_salvage_result r;
        cl_sv_salvage(src, dst, &r);
        assert_true(r.messages <= N_MSGS);
    }
    free(page);
}

/* The same id in the messages table and in the DLQ, as a stale cell of a message moved
 * between them (in one transaction, so never both) can leave: copied once, not twice. */
static void test_dlq_id_also_in_messages(void **state)
{
    (void)state;
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/both.db", cl_qt_dir);
    snprintf(dst, sizeof dst, "%s/both-live.db", cl_qt_dir);
    cl_sv_make_source(src, 4096, N_MSGS);
    char sql[400];
    snprintf(sql, sizeof sql,
             "INSERT INTO dlq (id, body, record_count, raw_bytes, min_ts, max_ts, encoding,"
             " sent_at, receive_count, moved_at) SELECT id, body, record_count, raw_bytes,"
             " min_ts, max_ts, encoding, sent_at, 1, 0 FROM messages WHERE id = 7");
    cl_qt_exec_sql(src, sql);
    struct cl_salvage_result r;
    cl_sv_salvage(src, dst, &r);
    assert_int_equal(r.messages, N_MSGS);
    assert_int_equal(r.dlq, 0);
    assert_int_equal(r.invalid, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forged_id_16k_pages),
        cmocka_unit_test(test_forged_id_4k_pages),
        cmocka_unit_test(test_garbage_quarter_page),
        cmocka_unit_test(test_dlq_id_also_in_messages),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
