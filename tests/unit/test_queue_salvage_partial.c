/* test_queue_salvage_partial.c - salvage of a queue file whose leaf page is only partly
 * damaged (a torn or partly overwritten page: its header and cell pointers intact, some
 * cells garbage). A damaged cell can carry the id of a row on another page; the salvage
 * must then lose messages (counted unreadable), never copy one twice. */
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

/* A queue file of page_size-byte pages holding N_MSGS messages "ok <i> <padding>" (the
 * file is made before the queue opens it, so the queue keeps its page size). */
static void make_source(const char *path, int page_size)
{
    unlink(path);
    sqlite3 *db;
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA page_size=%d; PRAGMA journal_mode=WAL;", page_size);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct cl_queue q;
    open_queue(&q, path);
    for (int i = 0; i < N_MSGS; i++) {
        char body[400];
        int len = snprintf(body, sizeof body, "ok %d %*s", i, 200, "p");
        struct cl_msg_out m = {body, (size_t)len, {.record_count = 1, .encoding = "gzip"}};
        assert_int_equal(cl_queue_send(&q, &m, 1), CL_OK);
    }
    cl_queue_close(&q); /* checkpoints: every page is in the main file */
    assert_int_equal(cl_qt_query_int(path, "PRAGMA page_size"), page_size);
}

/* The page number of a leaf of the messages table in the middle of it (not the first). */
static int64_t middle_leaf(const char *path)
{
    return cl_qt_query_int(path, "SELECT pageno FROM dbstat WHERE name = 'messages' AND"
                                 " pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET"
                                 " (SELECT count(*) / 2 FROM dbstat WHERE name = 'messages'"
                                 " AND pagetype = 'leaf')");
}

/* Reads or writes page pageno (1-based) of path. */
static void page_io(const char *path, int64_t pageno, unsigned char *buf, size_t size, int write)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)((pageno - 1) * (int64_t)size), SEEK_SET), 0);
    size_t n = write ? fwrite(buf, 1, size, f) : fread(buf, 1, size, f);
    assert_int_equal(n, size);
    fclose(f);
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
    page_io(path, pageno, page, (size_t)page_size, 0);
    assert_int_equal(page[0], 0x0d); /* a table leaf */
    int ncell = page[3] << 8 | page[4];
    assert_true(ncell > 4);
    int k = ncell / 2, off = page[8 + 2 * k] << 8 | page[9 + 2 * k];
    page[off] = 0x05;     /* payload size 5 */
    page[off + 1] = 0x01; /* rowid 1 */
    page_io(path, pageno, page, (size_t)page_size, 1);
    free(page);
    return ncell;
}

static int check_ok(void *arg, const struct cl_msg *m, char *why, size_t why_len)
{
    (void)arg;
    if (m->len >= 3 && memcmp(m->body, "ok ", 3) == 0)
        return 0;
    snprintf(why, why_len, "not ok");
    return -1;
}

/* Salvages src into a fresh live queue; asserts that no body was copied twice. */
static void salvage_once_each(const char *src, const char *dst_path, struct cl_salvage_result *r)
{
    unlink(dst_path);
    struct cl_queue dst;
    open_queue(&dst, dst_path);
    char err[256];
    assert_int_equal(cl_queue_salvage(&dst, src, check_ok, NULL, r, err, sizeof err), CL_OK);
    cl_queue_close(&dst);
    assert_int_equal(cl_qt_query_int(dst_path, "SELECT count(*) FROM messages"),
                     (int64_t)r->messages);
    assert_int_equal(cl_qt_query_int(dst_path, "SELECT count(DISTINCT body) FROM messages"),
                     (int64_t)r->messages);
    assert_true(r->messages < N_MSGS); /* the forged cell's own row is gone */
    assert_true(r->unreadable > 0);    /* and counted */
}

static void forged_id_in_page(int page_size, const char *name)
{
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/%s.db", test_dir, name);
    snprintf(dst, sizeof dst, "%s/%s-live.db", test_dir, name);
    make_source(src, page_size);
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
    snprintf(src, sizeof src, "%s/garbage.db", test_dir);
    snprintf(dst, sizeof dst, "%s/garbage-live.db", test_dir);
    const int page_size = 16384;
    unsigned char *page = malloc(page_size);
    assert_non_null(page);
    for (uint32_t seed = 1; seed <= 8; seed++) {
        make_source(src, page_size);
        int64_t pageno = middle_leaf(src);
        page_io(src, pageno, page, page_size, 0);
        uint32_t x = seed * 2654435761u;
        for (int i = page_size / 4; i < page_size / 2; i++) {
            x = x * 1103515245u + 12345u;
            page[i] = (unsigned char)(x >> 16);
        }
        page_io(src, pageno, page, page_size, 1);
        struct cl_salvage_result r;
        unlink(dst);
        struct cl_queue q;
        open_queue(&q, dst);
        char err[256];
        assert_int_equal(cl_queue_salvage(&q, src, check_ok, NULL, &r, err, sizeof err), CL_OK);
        cl_queue_close(&q);
        assert_int_equal(cl_qt_query_int(dst, "SELECT count(DISTINCT body) FROM messages"),
                         (int64_t)r.messages);
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
    snprintf(src, sizeof src, "%s/both.db", test_dir);
    snprintf(dst, sizeof dst, "%s/both-live.db", test_dir);
    make_source(src, 4096);
    char sql[400];
    snprintf(sql, sizeof sql,
             "INSERT INTO dlq (id, body, record_count, raw_bytes, min_ts, max_ts, encoding,"
             " sent_at, receive_count, moved_at) SELECT id, body, record_count, raw_bytes,"
             " min_ts, max_ts, encoding, sent_at, 1, 0 FROM messages WHERE id = 7");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(src, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    unlink(dst);
    struct cl_queue q;
    open_queue(&q, dst);
    struct cl_salvage_result r;
    char err[256];
    assert_int_equal(cl_queue_salvage(&q, src, check_ok, NULL, &r, err, sizeof err), CL_OK);
    cl_queue_close(&q);
    assert_int_equal(r.messages, N_MSGS);
    assert_int_equal(r.dlq, 0);
    assert_int_equal(r.invalid, 1);
    assert_int_equal(cl_qt_query_int(dst, "SELECT count(*) FROM dlq"), 0);
}

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("CL_TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/salvage-partial-XXXXXX", base ? base : "/tmp");
    return mkdtemp(test_dir) ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forged_id_16k_pages),
        cmocka_unit_test(test_forged_id_4k_pages),
        cmocka_unit_test(test_garbage_quarter_page),
        cmocka_unit_test(test_dlq_id_also_in_messages),
    };
    return cmocka_run_group_tests(tests, setup_dir, NULL);
}
