/* test_queue_catalog_deferred_delete.c - the SQLite queue's processor paths that stay off
 * ingest's group commit (issue 14): a flush's deletes follow its catalog commit in
 * transactions of their own (every receipt answered, a stale one alone), a delete that
 * never happened is done by the message's next holder from the committed progress rows,
 * and a receive reads the bodies after its lease commit, dropping the lease of a message
 * that is gone while the others of the receive are delivered whole. */
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

#define N_MSGS 70 /* more than two delete transactions (SQ_DELETE_MAX 32), the last one short */

static void test_deletes_follow_commit_in_chunks(void **state)
{
    (void)state;
    struct cl_queue q;
    open_fresh(&q, "chunks.db", 5);
    send_n(&q, N_MSGS);
    struct cl_msg *m = receive_exactly(&q, N_MSGS);
    char idb[N_MSGS][24];
    const char *ids[N_MSGS], *receipts[N_MSGS];
    copy_ids(m, N_MSGS, idb, ids);
    for (int i = 0; i < N_MSGS; i++)
        receipts[i] = m[i].receipt;
    receipts[9] = "999999:1"; /* stale: names no lease; the other twenty are deleted */
    struct cl_catalog_object obj = make_obj(PART "/c.ndjson.gz", "_staging/c");
    int results[N_MSGS];
    for (int i = 0; i < N_MSGS; i++)
        results[i] = -1;
    struct cl_catalog_flush f = {&obj, ids, N_MSGS, receipts, N_MSGS, NULL};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, results), CL_OK);
    for (int i = 0; i < N_MSGS; i++)
        assert_int_equal(results[i], i == 9 ? CL_ERR_STALE : CL_OK);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects"), 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM leases"), 1);
    /* the kept message's progress row stays with it; no deleted message left one */
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM progress"), 1);
    assert_int_equal(done_of(&q, ids[9], PART), 1);
    struct cl_queue_stats st;
    assert_int_equal(cl_queue_stats(&q, &st), CL_OK);
    assert_int_equal(st.visible + st.inflight, 1);
    cl_msgs_free(m, N_MSGS);
    cl_queue_close(&q);
}

/* The state a delete lost after the catalog commit leaves (a power loss, a failed delete
 * transaction): the message queued with every partition's progress row. Its next receive sees it
 * stored, and its holder's delete removes it and its progress. */
static void test_lost_delete_done_by_next_holder(void **state)
{
    (void)state;
    struct cl_queue q;
    open_fresh(&q, "lost.db", 5);
    send_n(&q, 1);
    struct cl_msg *m = receive_exactly(&q, 1);
    char idb[1][24];
    const char *ids[1];
    copy_ids(m, 1, idb, ids);
    struct cl_catalog_object obj = make_obj(PART "/l.ndjson.gz", "_staging/l");
    assert_true(commit_progress(&q, &obj, ids, 1) > 0);
    cl_msgs_free(m, 1);

    cl_qt_now_ms += 31000; /* past the 30 s visibility: received again */
    m = receive_exactly(&q, 1);
    assert_string_equal(m[0].id, ids[0]);
    int has = 0;
    assert_int_equal(cl_catalog_message_has_progress(cl_queue_catalog(&q), m[0].id, &has), CL_OK);
    assert_int_equal(has, 1);
    assert_int_equal(done_of(&q, m[0].id, PART), 1);
    const char *receipt = m[0].receipt;
    int result = -1;
    assert_int_equal(cl_queue_delete(&q, &receipt, 1, &result), CL_OK);
    assert_int_equal(result, CL_OK);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM progress"), 0);
    cl_msgs_free(m, 1);
    cl_queue_close(&q);
}

/* A lease whose message row is gone (here deleted by hand between sends): the receive
 * delivers the other messages with their own bodies and drops that lease, so it is not
 * picked again. */
static void test_receive_drops_orphan_lease(void **state)
{
    (void)state;
    struct cl_queue q;
    open_fresh(&q, "orphan.db", 5);
    cl_qt_send_n(&q, 1, 4);
    int64_t gone = count_rows(&q, "SELECT min(id) + 1 FROM messages");
    char sql[96];
    snprintf(sql, sizeof sql, "DELETE FROM messages WHERE id = %lld", (long long)gone);
    assert_int_equal(sqlite3_exec(cl_queue_sqlite_db(&q), sql, NULL, NULL, NULL), SQLITE_OK);

    struct cl_msg *m = NULL;
    size_t n = 0;
    assert_int_equal(cl_queue_receive(&q, 10, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        int64_t id = strtoll(m[i].id, NULL, 10);
        assert_true(id != gone);
        char body[32];
        struct cl_msg_out want = cl_qt_make_msg(body, (int)(id - gone + 2));
        assert_int_equal(m[i].len, want.len);
        assert_memory_equal(m[i].body, want.body, want.len);
        assert_non_null(m[i].receipt);
    }
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM leases"), 3);
    cl_msgs_free(m, n);
    cl_qt_now_ms += 31000; /* every lease runs out: only the three come back */
    m = NULL;
    assert_int_equal(cl_queue_receive(&q, 10, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 3);
    cl_msgs_free(m, n);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deletes_follow_commit_in_chunks),
        cmocka_unit_test(test_lost_delete_done_by_next_holder),
        cmocka_unit_test(test_receive_drops_orphan_lease),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
