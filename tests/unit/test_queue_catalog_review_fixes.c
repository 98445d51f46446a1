/* test_queue_catalog_review_fixes.c - the SQLite queue's receives and deferred deletes
 * when the queue itself fails: a body read refused after the leases committed (an
 * SQLITE_AUTH authorizer), a deferred delete that fails (a TEMP trigger on leases), an
 * orphan lease, and the deletes of several flushes in one call. A failure of the queue
 * must not count as a receive of the messages it touched. */
#include "catalog.h"
#include "catalog_test_util.h"
#include "common.h"
#include "queue.h"
#include "queue_sqlite.h"
#include "queue_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Refuses every read of messages.body (the receive's body read after its lease commit). */
static int deny_body(void *arg, int op, const char *table, const char *column, const char *db,
                     const char *trigger)
{
    (void)arg, (void)db, (void)trigger;
    int body = op == SQLITE_READ && table && column && strcmp(table, "messages") == 0 &&
               strcmp(column, "body") == 0;
    return body ? SQLITE_DENY : SQLITE_OK;
}

/* Makes every delete of a lease fail, as a failing deferred delete does. */
static void fail_lease_deletes(struct cl_queue *q, int on)
{
    const char *sql = on ? "CREATE TEMP TRIGGER fail_del BEFORE DELETE ON main.leases BEGIN"
                           " SELECT RAISE(FAIL, 'injected'); END"
                         : "DROP TRIGGER temp.fail_del";
    assert_int_equal(sqlite3_exec(cl_queue_sqlite_db(q), sql, NULL, NULL, NULL), SQLITE_OK);
}

static size_t receive_now(struct cl_queue *q)
{
    struct cl_msg *m = NULL;
    size_t n = 0;
    assert_int_equal(cl_queue_receive(q, 10, 30, 0, &m, &n), CL_OK);
    cl_msgs_free(m, n);
    return n;
}

/* Body reads refused more often than the receive limit: the messages are never counted,
 * never held, visible at once, and delivered whole once the reads work again. */
static void test_failed_body_read_gives_back_uncounted(void **state)
{
    (void)state;
    struct cl_queue q;
    open_fresh(&q, "bodyfail.db", 2);
    send_n(&q, 3);
    sqlite3 *db = cl_queue_sqlite_db(&q);
    for (int round = 0; round < 3; round++) {
        sqlite3_set_authorizer(db, deny_body, NULL);
        char sql[64];
        snprintf(sql, sizeof sql, "CREATE TABLE bump%d(x)", round); /* re-prepares SQ_BODY */
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        struct cl_msg *m = NULL;
        size_t n = 0;
        assert_int_not_equal(cl_queue_receive(&q, 10, 30, 0, &m, &n), CL_OK);
        sqlite3_set_authorizer(db, NULL, NULL);
        assert_int_equal(n, 0);
        assert_int_equal(count_rows(&q, "SELECT total(receive_count) FROM leases"), 0);
        assert_int_equal(count_rows(&q, "SELECT count(*) FROM leases WHERE holder IS NOT NULL"), 0);
    }
    struct cl_msg *m = receive_exactly(&q, 3); /* no clock move: visible at once */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(m[i].receive_count, 1);
        assert_non_null(m[i].body);
    }
    cl_msgs_free(m, 3);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM dlq"), 0);
    cl_queue_close(&q);
}

/* Interrupts the body read whose SQL, expanded, ends with arg[1] (progress handler): a read that
 * fails for one message of a receive. */
static int interrupt_body_of(void *arg)
{
    sqlite3 *db = ((void **)arg)[0];
    const char *want = ((void **)arg)[1];
    for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st)) {
        if (!sqlite3_stmt_busy(st) || !strstr(sqlite3_sql(st), "SELECT body,"))
            continue;
        char *sql = sqlite3_expanded_sql(st);
        size_t len = sql ? strlen(sql) : 0, wl = strlen(want);
        int hit = len >= wl && strcmp(sql + len - wl, want) == 0;
        sqlite3_free(sql);
        return hit;
    }
    return 0;
}

/* The second body of three fails to read: the first is delivered, the second and third
 * given back uncounted and visible at once. */
static void test_failed_body_read_delivers_those_read(void **state)
{
    (void)state;
    struct cl_queue q;
    open_fresh(&q, "bodyone.db", 2);
    send_n(&q, 3);
    sqlite3 *db = cl_queue_sqlite_db(&q);
    char want[40];
    snprintf(want, sizeof want, "WHERE id = %lld",
             (long long)count_rows(&q, "SELECT min(id) + 1 FROM messages"));
    void *arg[2] = {db, want};
    sqlite3_progress_handler(db, 1, interrupt_body_of, arg);
    struct cl_msg *m = NULL;
    size_t n = 0;
    assert_int_equal(cl_queue_receive(&q, 10, 30, 0, &m, &n), CL_OK);
    sqlite3_progress_handler(db, 0, NULL, NULL);
    assert_int_equal(n, 1);
    assert_non_null(m[0].body);
    assert_int_equal(count_rows(&q, "SELECT total(receive_count) FROM leases"), 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM leases WHERE receive_count = 0"), 2);
    cl_msgs_free(m, n);
    struct cl_msg *again = receive_exactly(&q, 2); /* no clock move: visible at once */
    assert_int_equal(again[0].receive_count, 1);
    assert_int_equal(again[1].receive_count, 1);
    cl_msgs_free(again, 2);
    cl_queue_close(&q);
}

/* A stored message on its last allowed receive whose deferred delete fails: given back
 * uncounted, so it is received (and can be deleted) instead of going to the DLQ. */
static void test_failed_deferred_delete_gives_back_uncounted(void **state)
{
    (void)state;
    struct cl_queue q;
    open_fresh(&q, "delfail.db", 2);
    send_n(&q, 1);
    struct cl_msg *m = receive_exactly(&q, 1);
    cl_msgs_free(m, 1);
    cl_qt_now_ms += 31000; /* the first receive's holder died: the last allowed receive */
    m = receive_exactly(&q, 1);
    char idb[1][24];
    const char *ids[1], *receipts[1] = {m[0].receipt};
    copy_ids(m, 1, idb, ids);
    fail_lease_deletes(&q, 1);
    struct cl_catalog_object obj = make_obj(PART "/f.ndjson.gz", "_staging/f");
    int res = -1;
    struct cl_catalog_flush f = {&obj, ids, 1, receipts, 1, NULL};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, &res), CL_OK);
    fail_lease_deletes(&q, 0);
    assert_int_not_equal(res, CL_OK);
    assert_int_not_equal(res, CL_ERR_STALE);
    cl_msgs_free(m, 1);
    assert_int_equal(count_rows(&q, "SELECT receive_count FROM leases"), 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM leases WHERE holder IS NOT NULL"), 0);
    m = receive_exactly(&q, 1); /* no clock move: visible at once, not to the DLQ */
    assert_string_equal(m[0].id, idb[0]);
    assert_int_equal(done_of(&q, idb[0], PART), 1);
    assert_int_equal(cl_queue_delete(&q, (const char *const *)&m[0].receipt, 1, NULL), CL_OK);
    cl_msgs_free(m, 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM dlq"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 0);
    cl_queue_close(&q);
}

/* The deletes of two flushes committed together: each flush's results in its own array,
 * and a failure gives every message of both back. */
static void test_two_flushes_delete_results(void **state)
{
    (void)state;
    struct cl_queue q;
    open_fresh(&q, "twoflush.db", 5);
    send_n(&q, 4);
    struct cl_msg *m = receive_exactly(&q, 4);
    char idb[4][24];
    const char *ids[4], *receipts[4];
    copy_ids(m, 4, idb, ids);
    for (size_t i = 0; i < 4; i++)
        receipts[i] = m[i].receipt;
    struct cl_catalog_object o1 = make_obj(PART "/a.ndjson.gz", "_staging/a");
    struct cl_catalog_object o2 = make_obj(PART "/b.ndjson.gz", "_staging/b");
    struct cl_catalog_flush f[2] = {{&o1, ids, 1, receipts, 1, NULL},
                                    {&o2, ids + 1, 1, receipts + 1, 1, NULL}};
    int r1 = -1, r2 = -1;
    int *results[2] = {&r1, &r2};
    assert_int_equal(cl_catalog_commit_flushes(cl_queue_catalog(&q), f, 2, results), CL_OK);
    assert_int_equal(r1, CL_OK);
    assert_int_equal(r2, CL_OK);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 2);
    struct cl_catalog_object o3 = make_obj(PART "/c.ndjson.gz", "_staging/c");
    struct cl_catalog_object o4 = make_obj(PART "/d.ndjson.gz", "_staging/d");
    struct cl_catalog_flush g[2] = {{&o3, ids + 2, 1, receipts + 2, 1, NULL},
                                    {&o4, ids + 3, 1, receipts + 3, 1, NULL}};
    r1 = r2 = -1;
    fail_lease_deletes(&q, 1);
    assert_int_equal(cl_catalog_commit_flushes(cl_queue_catalog(&q), g, 2, results), CL_OK);
    fail_lease_deletes(&q, 0);
    assert_true(r1 != CL_OK && r1 != CL_ERR_STALE);
    assert_true(r2 != CL_OK && r2 != CL_ERR_STALE);
    cl_msgs_free(m, 4);
    assert_int_equal(count_rows(&q, "SELECT total(receive_count) FROM leases"), 0);
    assert_int_equal(receive_now(&q), 2);
    cl_queue_close(&q);
}

/* A lease whose message row is gone is dropped by the receive that finds it, and only
 * it: the other messages are delivered. */
static void test_orphan_lease_dropped(void **state)
{
    (void)state;
    struct cl_queue q;
    open_fresh(&q, "orphan.db", 3);
    send_n(&q, 2);
    assert_int_equal(sqlite3_exec(cl_queue_sqlite_db(&q),
                                  "DELETE FROM messages WHERE id = (SELECT min(id) FROM messages)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(receive_now(&q), 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM leases"), 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM leases l WHERE NOT EXISTS"
                                    " (SELECT 1 FROM messages m WHERE m.id = l.msg_id)"),
                     0);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_body_read_gives_back_uncounted),
        cmocka_unit_test(test_failed_body_read_delivers_those_read),
        cmocka_unit_test(test_failed_deferred_delete_gives_back_uncounted),
        cmocka_unit_test(test_two_flushes_delete_results),
        cmocka_unit_test(test_orphan_lease_dropped),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
