/* queue_test_util.c - helpers of the SQLite queue's unit tests (queue_test_util.h). */
#include "queue_test_util.h"

#include "common.h"
#include "queue_sqlite.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char cl_qt_dir[512];
int64_t cl_qt_now_ms;

int64_t cl_qt_clock(void *arg)
{
    (void)arg;
    return cl_qt_now_ms;
}

void cl_qt_db_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", cl_qt_dir, name);
}

void cl_qt_remove_db(const char *path)
{
    char p[600];
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < CL_ARRAY_LEN(suffixes); i++) {
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

int cl_qt_setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("CL_TMPDIR");
    snprintf(cl_qt_dir, sizeof cl_qt_dir, "%s/%s_XXXXXX", base && *base ? base : "/tmp",
             program_invocation_short_name);
    return mkdtemp(cl_qt_dir) ? 0 : -1;
}

void cl_qt_open_fresh(struct cl_queue *q, const char *name, struct cl_queue_opts *opts)
{
    char path[600], err[256];
    cl_qt_db_path(path, sizeof path, name);
    cl_qt_remove_db(path);
    struct cl_queue_opts defaults;
    if (!opts) {
        cl_queue_opts_default(&defaults);
        defaults.durability_full = 0;
        opts = &defaults;
    }
    int rc = cl_queue_open(q, path, opts, err, sizeof err);
    if (rc != CL_OK)
        fail_msg("open %s: %s", path, err);
    /* Near the real time: another handle opened without the fake clock must not see
     * these messages as expired. */
    cl_qt_now_ms = cl_now_ms();
    assert_int_equal(cl_queue_sqlite_set_clock(q, cl_qt_clock, NULL), CL_OK);
}

struct cl_msg_out cl_qt_make_msg(char *body, int seq)
{
    struct cl_msg_out m;
    memset(&m, 0, sizeof m);
    snprintf(body, 32, "body-%06d", seq);
    m.body = body;
    m.len = strlen(body);
    m.attrs.record_count = (uint32_t)seq + 1;
    m.attrs.raw_bytes = 1000u + (uint64_t)seq;
    m.attrs.min_ts_ms = 100 + seq;
    m.attrs.max_ts_ms = 200 + seq;
    snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "gzip");
    return m;
}

void cl_qt_send_n(struct cl_queue *q, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char body[32];
        struct cl_msg_out m = cl_qt_make_msg(body, i);
        assert_int_equal(cl_queue_send(q, &m, 1), CL_OK);
    }
}

struct cl_queue_stats cl_qt_stats_of(struct cl_queue *q)
{
    struct cl_queue_stats st;
    assert_int_equal(cl_queue_stats(q, &st), CL_OK);
    return st;
}

void cl_qt_assert_stats(struct cl_queue *q, uint64_t visible, uint64_t inflight, uint64_t dlq)
{
    struct cl_queue_stats st = cl_qt_stats_of(q);
    assert_int_equal(st.visible, visible);
    assert_int_equal(st.inflight, inflight);
    assert_int_equal(st.dlq_depth, dlq);
}

void cl_qt_exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

int64_t cl_qt_query_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

void cl_qt_open_durable(struct cl_queue *q, const char *path)
{
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 1;
    o.owner = 1; /* as the daemon: a reopen is its restart */
    char err[256];
    if (cl_queue_open(q, path, &o, err, sizeof err) != CL_OK)
        fail_msg("open %s: %s", path, err);
}

int cl_qt_send_one(struct cl_queue *q, int seq)
{
    char body[32];
    struct cl_msg_out m = cl_qt_make_msg(body, seq);
    return cl_queue_send(q, &m, 1);
}

int cl_qt_syncs_to_fail, cl_qt_syncs_seen;

int cl_qt_failing_sync(int fd)
{
    cl_qt_syncs_seen++;
    if (cl_qt_syncs_to_fail > 0) {
        cl_qt_syncs_to_fail--;
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}
