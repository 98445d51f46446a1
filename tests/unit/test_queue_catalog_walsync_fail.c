/* test_queue_catalog_walsync_fail.c - after a failed WAL sync nothing durable is
 * committed any more (queue_sqlite_walsync.c, review of session 10): a send answers an
 * error and queues nothing (so its client's retry adds no copy), a flush answers an error
 * and commits nothing, and the flush whose own sync failed deletes no message and says
 * it is not durable (its objects stay staged: catalog.h). A restart takes writes again. */
#include "catalog_retention.h"
#include "catalog_test_util.h"
#include "common.h"
#include "queue.h"
#include "queue_sqlite.h"
#include "queue_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

/* A send whose sync failed may be queued (its commit was made); the sends after it are
 * not: they fail before committing. */
static void test_sends_after_a_failed_sync_queue_nothing(void **state)
{
    (void)state;
    char path[600];
    cl_qt_db_path(path, sizeof path, "sends.db");
    cl_qt_remove_db(path);
    cl_queue_sqlite_set_wal_sync_fn(cl_qt_failing_sync);
    struct cl_queue q;
    cl_qt_open_durable(&q, path);
    cl_qt_syncs_to_fail = 0;
    assert_int_equal(cl_qt_send_one(&q, 1), CL_OK);
    cl_qt_syncs_to_fail = 1;
    assert_int_equal(cl_qt_send_one(&q, 2), CL_ERR_IO);
    int64_t queued = count_rows(&q, "SELECT count(*) FROM messages");
    assert_true(queued == 1 || queued == 2);
    for (int i = 3; i < 6; i++)
        assert_int_equal(cl_qt_send_one(&q, i), CL_ERR_IO);
    assert_int_equal(cl_queue_ping(&q), CL_ERR_IO); /* /readyz answers 503 */
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), queued);
    /* A command opening the file meanwhile (not its owner) learns of the failure from
     * the marker: it commits and checkpoints nothing either. */
    char marker[700];
    snprintf(marker, sizeof marker, "%s-walfailed", path);
    assert_int_equal(access(marker, F_OK), 0);
    struct cl_queue cli;
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    char err[256];
    assert_int_equal(cl_queue_open(&cli, path, &o, err, sizeof err), CL_OK);
    assert_int_equal(cl_queue_ping(&cli), CL_ERR_IO);
    assert_int_equal(cl_qt_send_one(&cli, 7), CL_ERR_IO);
    cl_queue_close(&cli);
    cl_queue_close(&q);
    cl_qt_open_durable(&q, path); /* a restart: its owner's open removes the marker */
    assert_int_equal(access(marker, F_OK), -1);
    assert_int_equal(cl_queue_ping(&q), CL_OK);
    assert_int_equal(cl_qt_send_one(&q, 6), CL_OK);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), queued + 1);
    cl_queue_close(&q);
    cl_queue_sqlite_set_wal_sync_fn(NULL);
}

/* The flush whose sync fails: CL_ERR_NOT_DURABLE, its row committed (unpublished), its
 * message not deleted. The next flush: CL_ERR_IO, no row, no delete. */
static void test_flushes_after_a_failed_sync(void **state)
{
    (void)state;
    char path[600];
    cl_qt_db_path(path, sizeof path, "flushes.db");
    cl_qt_remove_db(path);
    cl_queue_sqlite_set_wal_sync_fn(cl_qt_failing_sync);
    struct cl_queue q;
    cl_qt_open_durable(&q, path);
    cl_qt_syncs_to_fail = 0;
    send_n(&q, 2);
    struct cl_msg *m = receive_exactly(&q, 2);
    char idb[2][24];
    const char *ids[2];
    copy_ids(m, 2, idb, ids);

    cl_qt_syncs_to_fail = 1;
    struct cl_catalog_object obj = make_obj("k1", "_staging/k1");
    const char *r0 = m[0].receipt;
    int res[1] = {-99};
    int64_t object_id = 0;
    struct cl_catalog_flush f = {&obj, ids, 1, &r0, 1, &object_id};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, res), CL_ERR_NOT_DURABLE);
    assert_int_equal(res[0], CL_ERR_NOT_DURABLE); /* not deleted */
    assert_true(object_id > 0);                   /* its row, for start-up recovery */
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 2);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects WHERE published = 0"), 1);

    struct cl_catalog_object obj2 = make_obj("k2", "_staging/k2");
    const char *r1 = m[1].receipt;
    res[0] = -99;
    struct cl_catalog_flush f2 = {&obj2, ids + 1, 1, &r1, 1, NULL};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f2, res), CL_ERR_IO);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects"), 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 2);

    /* Retention deletes objects after its commit: it refuses too (rows would come back
     * naming deleted objects), even for a long-expired partition. */
    struct cl_catalog_partition part = {.service = obj.service, .dt = obj.dt, .hour = obj.hour};
    char **keys = NULL;
    size_t nkeys = 0;
    uint64_t bytes = 0;
    assert_int_equal(cl_catalog_delete_partition(&q, &part, cl_now_ms(), 0, &keys, &nkeys, &bytes),
                     CL_ERR_IO);
    assert_int_equal(nkeys, 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects"), 1);
    cl_msgs_free(m, 2);
    cl_queue_close(&q);
    cl_queue_sqlite_set_wal_sync_fn(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sends_after_a_failed_sync_queue_nothing),
        cmocka_unit_test(test_flushes_after_a_failed_sync),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
