/* test_queue_no_stmt_journal.c - a receive and a delete of messages with large bodies
 * write no temporary file. SQLite codes RETURNING as a trigger, and a statement with a
 * trigger inside a transaction keeps a statement journal of every page it changes; past
 * 64 KiB that journal spills to a file in SQLite's temporary directory (~130 KB written
 * per message a drain deleted, docs/performance.md "Statement journals"). The queue's
 * per-message statements therefore have no RETURNING; this test points SQLite's
 * temporary directory (SQLITE_TMPDIR, read when SQLite initializes) at a directory of its
 * own and counts the files created there with inotify. */
#include "common.h"
#include "queue.h"
#include "queue_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSGS 8
#define BODY_LEN (100 * 1024)

static char tmp_dir[600];

/* Files created in tmp_dir since the watch was added (events read without waiting). */
static int created_files(int fd)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int n = 0;
    for (int round = 0; round < 1000; round++) {
        ssize_t len = read(fd, buf, sizeof buf);
        if (len <= 0)
            break;
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            n += (ev->mask & IN_CREATE) != 0;
            p += sizeof *ev + ev->len;
        }
    }
    return n;
}

/* Incompressible bytes, so the body spans several overflow pages whatever the codec. */
static void fill_random(unsigned char *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (unsigned char)(seed >> 24);
    }
}

static void send_large(struct cl_queue *q, unsigned char *body)
{
    for (int i = 0; i < MSGS; i++) {
        fill_random(body, BODY_LEN, (uint32_t)i + 1);
        struct cl_msg_out m;
        memset(&m, 0, sizeof m);
        m.body = body;
        m.len = BODY_LEN;
        m.attrs.record_count = 1000;
        m.attrs.raw_bytes = 4 * BODY_LEN;
        m.attrs.min_ts_ms = cl_qt_now_ms;
        m.attrs.max_ts_ms = cl_qt_now_ms;
        snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "gzip");
        assert_int_equal(cl_queue_send(q, &m, 1), CL_OK);
    }
}

static void test_receive_and_delete_write_no_temp_file(void **state)
{
    (void)state;
    struct cl_queue q;
    cl_qt_open_fresh(&q, "large.db", NULL);
    unsigned char *body = cl_malloc(BODY_LEN);
    send_large(&q, body);
    free(body);

    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    assert_true(fd >= 0);
    assert_true(inotify_add_watch(fd, tmp_dir, IN_CREATE) >= 0);

    struct cl_msg *msgs = NULL;
    size_t n = 0;
    assert_int_equal(cl_queue_receive(&q, MSGS, 60, 0, &msgs, &n), CL_OK);
    assert_int_equal(n, MSGS);
    const char *receipts[MSGS];
    int results[MSGS];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(msgs[i].len, BODY_LEN);
        assert_int_equal(msgs[i].receive_count, 1);
        receipts[i] = msgs[i].receipt;
    }
    assert_int_equal(cl_queue_delete(&q, receipts, n, results), CL_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(results[i], CL_OK);
    cl_msgs_free(msgs, n);
    cl_qt_assert_stats(&q, 0, 0, 0);

    assert_int_equal(created_files(fd), 0);
    close(fd);
    cl_queue_close(&q);
}

/* The check can fail: SQLite's temporary files do appear in tmp_dir (the SQLITE_TMPDIR
 * setting is read) and the watch sees them: a sort larger than its cache spills there. */
static void test_watch_sees_a_temporary_file(void **state)
{
    (void)state;
    char path[600];
    cl_qt_db_path(path, sizeof path, "spill.db");
    cl_qt_remove_db(path);
    cl_qt_exec_sql(path, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB); WITH RECURSIVE"
                         " c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 256)"
                         " INSERT INTO t SELECT i, randomblob(20000) FROM c;");
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    assert_true(fd >= 0);
    assert_true(inotify_add_watch(fd, tmp_dir, IN_CREATE) >= 0);
    cl_qt_exec_sql(path, "PRAGMA cache_size=-64; CREATE TABLE s AS SELECT * FROM t ORDER BY b;");
    assert_true(created_files(fd) > 0);
    close(fd);
}

int main(void)
{
    /* Before SQLite initializes: its unix VFS reads SQLITE_TMPDIR once, at init. */
    const char *base = getenv("CL_TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/test_queue_no_stmt_journal.sqlite-tmp",
             base && *base ? base : "/tmp");
    if (mkdir(tmp_dir, 0700) != 0 && errno != EEXIST) {
        perror(tmp_dir);
        return 1;
    }
    setenv("SQLITE_TMPDIR", tmp_dir, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receive_and_delete_write_no_temp_file),
        cmocka_unit_test(test_watch_sees_a_temporary_file),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
