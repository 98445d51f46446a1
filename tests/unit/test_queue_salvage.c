/* test_queue_salvage.c - quarantine of a damaged queue file and salvage of its readable
 * messages into a live queue (queue_repair.h). */
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
#include <sys/stat.h>
#include <unistd.h>

static void open_queue(struct cl_queue *q, const char *path, int max_receive)
{
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 0;
    o.max_receive_count = max_receive;
    char err[256];
    if (cl_queue_open(q, path, &o, err, sizeof err) != CL_OK)
        fail_msg("open %s: %s", path, err);
}

/* n messages whose bodies read "ok <i> <padding>" (the test's notion of valid). */
static void send_n(struct cl_queue *q, int n, size_t pad)
{
    for (int i = 0; i < n; i++) {
        char body[4200];
        int len = snprintf(body, sizeof body, "ok %d %*s", i, (int)pad, "p");
        struct cl_msg_out m = {body, (size_t)len, {.record_count = 1, .encoding = "gzip"}};
        assert_int_equal(cl_queue_send(q, &m, 1), CL_OK);
    }
}

static int check_ok(void *arg, const struct cl_msg *m, char *why, size_t why_len)
{
    (void)arg;
    if (m->len >= 2 && memcmp(m->body, "ok", 2) == 0)
        return 0;
    snprintf(why, why_len, "not ok");
    return -1;
}

/* A source file: 10 messages, one of them invalid, one in the DLQ, one with progress. */
static void make_source(const char *path)
{
    unlink(path);
    struct cl_queue q;
    open_queue(&q, path, 1);
    send_n(&q, 10, 10);
    struct cl_msg_out bad = {"garbage", 7, {.record_count = 1, .encoding = "gzip"}};
    assert_int_equal(cl_queue_send(&q, &bad, 1), CL_OK);
    struct cl_msg *m;
    size_t n;
    assert_int_equal(cl_queue_receive(&q, 1, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(cl_queue_change_visibility(&q, m[0].receipt, 0, "boom"), CL_OK);
    cl_msgs_free(m, n);
    /* Receive count 1 = max: the next receive that reaches message 1 moves it to the DLQ
     * (the others it hides are made visible again below). */
    assert_int_equal(cl_queue_receive(&q, 20, 30, 0, &m, &n), CL_OK);
    cl_msgs_free(m, n);
    cl_queue_close(&q);
    cl_qt_exec_sql(path, "INSERT INTO progress VALUES (3, 'service=a/dt=2026-01-01/hour=00');"
                         "UPDATE leases SET visible_at = 0, receive_count = 0");
}

static void test_salvage_copies_and_never_twice(void **state)
{
    (void)state;
    char src[600], dst_path[600], err[256];
    snprintf(src, sizeof src, "%s/src.db", cl_qt_dir);
    snprintf(dst_path, sizeof dst_path, "%s/live.db", cl_qt_dir);
    make_source(src);
    unlink(dst_path);
    struct cl_queue dst;
    open_queue(&dst, dst_path, 5);
    send_n(&dst, 2, 10); /* the live queue already has its own messages */
    struct cl_salvage_result r;
    assert_int_equal(cl_queue_salvage(&dst, src, check_ok, NULL, &r, err, sizeof err), CL_OK);
    assert_int_equal(r.messages, 9); /* 10 - 1 in the DLQ; the garbage one refused */
    assert_int_equal(r.dlq, 1);
    assert_int_equal(r.invalid, 1);
    assert_int_equal(r.progress, 1);
    assert_int_equal(r.unreadable, 0);
    struct cl_queue_stats st;
    assert_int_equal(cl_queue_stats(&dst, &st), CL_OK);
    assert_int_equal(st.visible, 11);
    assert_int_equal(st.dlq_depth, 1);
    /* Salvaged again: already done, nothing added. */
    assert_int_equal(cl_queue_salvage(&dst, src, check_ok, NULL, &r, err, sizeof err), CL_OK);
    assert_int_equal(r.already_done, 1);
    assert_int_equal(r.messages, 0);
    assert_int_equal(cl_queue_stats(&dst, &st), CL_OK);
    assert_int_equal(st.visible, 11);
    cl_queue_close(&dst);
    assert_int_equal(
        cl_qt_query_int(dst_path, "SELECT count(*) FROM dlq WHERE last_error = 'boom'"), 1);
    assert_int_equal(cl_qt_query_int(dst_path, "SELECT count(*) FROM progress"), 1);
    /* The source was only read: its messages are all still there. */
    assert_int_equal(cl_qt_query_int(src, "SELECT count(*) FROM messages"), 10);
}

/* Overwrites one leaf page of the messages table in the middle with garbage. Returns the
 * number of rows that page held. */
static int64_t damage_middle_leaf(const char *path)
{
    int64_t page = cl_qt_query_int(path, "SELECT pageno FROM dbstat WHERE name = 'messages' AND"
                                         " pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET"
                                         " (SELECT count(*) / 2 FROM dbstat WHERE name = 'messages'"
                                         " AND pagetype = 'leaf')");
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT ncell FROM dbstat WHERE pageno = %lld", (long long)page);
    int64_t rows = cl_qt_query_int(path, sql);
    int64_t size = cl_qt_query_int(path, "PRAGMA page_size"); /* the whole page */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    char *junk = malloc((size_t)size);
    assert_non_null(junk);
    for (int64_t i = 0; i < size; i++)
        junk[i] = (char)(i * 131 + 7);
    fseek(f, (long)((page - 1) * size), SEEK_SET);
    fwrite(junk, 1, (size_t)size, f);
    fclose(f);
    free(junk);
    return rows;
}

static void test_salvage_skips_damaged_pages(void **state)
{
    (void)state;
    char src[600], dst_path[600], err[256];
    snprintf(src, sizeof src, "%s/damaged.db", cl_qt_dir);
    snprintf(dst_path, sizeof dst_path, "%s/live2.db", cl_qt_dir);
    unlink(src);
    struct cl_queue q;
    open_queue(&q, src, 5);
    send_n(&q, 400, 200);
    cl_queue_close(&q); /* checkpoints: every page is in the main file */
    int64_t lost = damage_middle_leaf(src);
    assert_true(lost > 0 && lost < 100);
    unlink(dst_path);
    struct cl_queue dst;
    open_queue(&dst, dst_path, 5);
    struct cl_salvage_result r;
    assert_int_equal(cl_queue_salvage(&dst, src, check_ok, NULL, &r, err, sizeof err), CL_OK);
    /* One page of rows is lost; the rows after it are reached again. */
    assert_true(r.messages < 400);
    assert_true((int64_t)r.messages >= 400 - lost);
    assert_true(r.unreadable > 0);
    assert_int_equal(r.invalid, 0);
    assert_int_equal(cl_qt_query_int(dst_path, "SELECT max(id) FROM messages"),
                     (int64_t)r.messages);
    cl_queue_close(&dst);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int count_path(void *arg, const char *path)
{
    (void)path;
    (*(int *)arg)++;
    return 0;
}

static void test_quarantine_move_and_pending(void **state)
{
    (void)state;
    char db[600], wal[620], qdir[600], moved[700], err[256];
    snprintf(db, sizeof db, "%s/queue.db", cl_qt_dir);
    snprintf(wal, sizeof wal, "%s-wal", db);
    snprintf(qdir, sizeof qdir, "%s/quarantine", cl_qt_dir);
    fclose(fopen(db, "w"));
    fclose(fopen(wal, "w"));
    int64_t t = 1767225600000; /* 2026-01-01T00:00:00Z */
    assert_int_equal(cl_queue_quarantine_move(db, qdir, t, moved, sizeof moved, err, sizeof err),
                     CL_OK);
    assert_true(strstr(moved, "/quarantine/queue-20260101T000000Z.db") != NULL);
    assert_false(exists(db));
    assert_false(exists(wal));
    char moved_wal[720];
    snprintf(moved_wal, sizeof moved_wal, "%s-wal", moved);
    assert_true(exists(moved_wal));
    /* The same second again gets its own name. */
    fclose(fopen(db, "w"));
    char second[700];
    assert_int_equal(cl_queue_quarantine_move(db, qdir, t, second, sizeof second, err, sizeof err),
                     CL_OK);
    assert_string_not_equal(moved, second);
    int seen = 0;
    assert_int_equal(cl_queue_quarantine_list(qdir, 1, count_path, &seen), 2);
    assert_int_equal(seen, 2);
    assert_int_equal(cl_queue_quarantine_mark_salvaged(moved, "{}"), CL_OK);
    assert_int_equal(cl_queue_quarantine_list(qdir, 1, NULL, NULL), 1);
    assert_true(exists(moved)); /* kept */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_salvage_copies_and_never_twice),
        cmocka_unit_test(test_salvage_skips_damaged_pages),
        cmocka_unit_test(test_quarantine_move_and_pending),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
