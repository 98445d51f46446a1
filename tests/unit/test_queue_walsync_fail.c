/* test_queue_walsync_fail.c - a failed WAL sync after the lock (queue_sqlite_walsync.c)
 * fails every durable commit from then on, not only the one it was to cover: Linux
 * reports a write-back error once, so the next fdatasync would return 0 over the lost
 * pages and later sends would be acknowledged behind a hole in the WAL (review). Also
 * the WAL synced is SQLite's own, beside a symlinked database's target. */
#include "common.h"
#include "queue.h"
#include "queue_sqlite.h"
#include "queue_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static dev_t synced_dev;
static ino_t synced_ino;

/* cl_qt_failing_sync, noting the file synced. */
static int fail_some(int fd)
{
    struct stat st;
    if (fstat(fd, &st) == 0) {
        synced_dev = st.st_dev;
        synced_ino = st.st_ino;
    }
    return cl_qt_failing_sync(fd);
}

/* One failed sync: that send fails, and so does every later one, though the syncs
 * after it would succeed; reopening (a restart) accepts sends again. */
static void test_failed_sync_is_sticky(void **state)
{
    (void)state;
    char path[600];
    cl_qt_db_path(path, sizeof path, "sticky.db");
    cl_qt_remove_db(path);
    cl_queue_sqlite_set_wal_sync_fn(fail_some);
    struct cl_queue q;
    cl_qt_open_durable(&q, path);
    cl_qt_syncs_to_fail = 0;
    cl_qt_syncs_seen = 0;
    assert_int_equal(cl_qt_send_one(&q, 1), CL_OK);
    assert_true(cl_qt_syncs_seen > 0); /* the sync after the lock is in use */
    cl_qt_syncs_to_fail = 1;
    assert_int_not_equal(cl_qt_send_one(&q, 2), CL_OK);
    assert_int_equal(cl_qt_syncs_to_fail, 0);
    for (int i = 3; i < 6; i++)
        assert_int_not_equal(cl_qt_send_one(&q, i), CL_OK);
    cl_queue_close(&q);
    cl_qt_open_durable(&q, path);
    assert_int_equal(cl_qt_send_one(&q, 6), CL_OK);
    cl_queue_close(&q);
    cl_queue_sqlite_set_wal_sync_fn(NULL);
}

/* The database is a symlink to a file in another directory: the WAL synced after the
 * lock is the target's (where SQLite writes it), not "<link>-wal". */
static void test_symlinked_database_syncs_its_wal(void **state)
{
    (void)state;
    char dir[600], target[700], link[600], stray[700], wal[720];
    cl_qt_db_path(dir, sizeof dir, "real");
    mkdir(dir, 0700);
    snprintf(target, sizeof target, "%s/q.db", dir);
    cl_qt_db_path(link, sizeof link, "link.db");
    cl_qt_remove_db(target);
    unlink(link);
    assert_int_equal(symlink(target, link), 0);
    snprintf(stray, sizeof stray, "%s-wal", link); /* a stray file where no WAL is */
    FILE *f = fopen(stray, "w");
    assert_non_null(f);
    fclose(f);
    cl_queue_sqlite_set_wal_sync_fn(fail_some);
    struct cl_queue q;
    cl_qt_open_durable(&q, link);
    cl_qt_syncs_to_fail = 0;
    cl_qt_syncs_seen = 0;
    assert_int_equal(cl_qt_send_one(&q, 1), CL_OK);
    assert_true(cl_qt_syncs_seen > 0);
    snprintf(wal, sizeof wal, "%s-wal", target);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    assert_true(st.st_dev == synced_dev && st.st_ino == synced_ino);
    cl_queue_close(&q);
    cl_queue_sqlite_set_wal_sync_fn(NULL);
    unlink(stray);
    unlink(link);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_sync_is_sticky),
        cmocka_unit_test(test_symlinked_database_syncs_its_wal),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
