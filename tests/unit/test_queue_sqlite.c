/* test_queue_sqlite.c - the SQLite queue's basic semantics: queue URLs, send/receive/delete
 * round trips with their counters, visibility timeouts, reopening and a second connection.
 * (Dead letters and retention: test_queue_sqlite_dlq.c; concurrency and a full disk:
 * test_queue_sqlite_concurrency.c; kill -9: test_queue_sqlite_crash.c.) */
#include "common.h"
#include "queue.h"
#include "queue_sqlite.h"
#include "queue_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void test_open_urls(void **state)
{
    struct cl_queue q;
    char err[256], path[600], url[700];
    assert_int_equal(cl_queue_open(&q, "nosuch://x", NULL, err, sizeof err), CL_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "nosuch"));
    assert_int_equal(cl_queue_open(&q, "", NULL, err, sizeof err), CL_ERR_INVAL);
    cl_qt_db_path(path, sizeof path, "url.db");
    cl_qt_remove_db(path);
    snprintf(url, sizeof url, "sqlite:%s", path);
    assert_int_equal(cl_queue_open(&q, url, NULL, err, sizeof err), CL_OK);
    assert_string_equal(q.ops->name, "sqlite");
    assert_int_equal(cl_queue_ping(&q), CL_OK);
    cl_queue_close(&q);
}

static void test_round_trip(void **state)
{
    struct cl_queue q;
    cl_qt_open_fresh(&q, "rt.db", NULL);
    cl_qt_assert_stats(&q, 0, 0, 0);
    char b0[32], b1[32], b2[32];
    struct cl_msg_out out[3] = {cl_qt_make_msg(b0, 0), cl_qt_make_msg(b1, 1),
                                cl_qt_make_msg(b2, 2)};
    assert_int_equal(cl_queue_send(&q, out, 3), CL_OK);
    struct cl_queue_stats st = cl_qt_stats_of(&q);
    assert_int_equal(st.visible, 3);
    assert_int_equal(st.bytes, 3 * strlen(b0));
    assert_int_equal(st.records, 1 + 2 + 3);
    assert_int_equal(st.oldest_ms, cl_qt_now_ms);

    struct cl_msg *msgs;
    size_t n;
    cl_qt_now_ms += 10;
    assert_int_equal(cl_queue_receive(&q, 10, 30, 0, &msgs, &n), CL_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(msgs[i].len, out[i].len);
        assert_memory_equal(msgs[i].body, out[i].body, out[i].len);
        assert_int_equal(msgs[i].attrs.record_count, out[i].attrs.record_count);
        assert_int_equal(msgs[i].attrs.raw_bytes, out[i].attrs.raw_bytes);
        assert_int_equal(msgs[i].attrs.min_ts_ms, out[i].attrs.min_ts_ms);
        assert_int_equal(msgs[i].attrs.max_ts_ms, out[i].attrs.max_ts_ms);
        assert_string_equal(msgs[i].attrs.encoding, "gzip");
        assert_int_equal(msgs[i].receive_count, 1);
        assert_int_equal(msgs[i].sent_ms, cl_qt_now_ms - 10);
        assert_int_equal(msgs[i].first_receive_ms, cl_qt_now_ms);
        assert_null(msgs[i].last_error);
        char want[64];
        snprintf(want, sizeof want, "%s:1", msgs[i].id);
        assert_string_equal(msgs[i].receipt, want);
    }
    assert_true(atoll(msgs[0].id) < atoll(msgs[1].id));
    cl_qt_assert_stats(&q, 0, 3, 0);

    const char *receipts[3] = {msgs[0].receipt, msgs[1].receipt, msgs[2].receipt};
    int results[3] = {-1, -1, -1};
    assert_int_equal(cl_queue_delete(&q, receipts, 3, results), CL_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(results[i], CL_OK);
    assert_int_equal(cl_queue_delete(&q, receipts, 1, results), CL_OK);
    assert_int_equal(results[0], CL_ERR_STALE);
    cl_msgs_free(msgs, n);
    st = cl_qt_stats_of(&q);
    assert_int_equal(st.visible + st.inflight + st.bytes + st.records, 0);
    assert_int_equal(st.oldest_ms, 0);
    assert_int_equal(cl_queue_receive(&q, 10, 30, 0, &msgs, &n), CL_OK);
    assert_int_equal(n, 0);
    assert_null(msgs);
    cl_queue_close(&q);
}

static void test_visibility_timeout(void **state)
{
    struct cl_queue q;
    cl_qt_open_fresh(&q, "vis.db", NULL);
    cl_qt_send_n(&q, 0, 1);
    struct cl_msg *m1, *m2, *m3;
    size_t n;
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m1, &n), CL_OK);
    assert_int_equal(n, 1);
    cl_qt_now_ms += 29999;
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m2, &n), CL_OK);
    assert_int_equal(n, 0);
    cl_qt_assert_stats(&q, 0, 1, 0);

    cl_qt_now_ms += 1;
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m2, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(m2[0].receive_count, 2);
    assert_int_equal(m2[0].first_receive_ms, cl_qt_now_ms - 30000);
    cl_qt_assert_stats(&q, 0, 1, 0);
    /* stats notices an expired timeout within STATS_REFRESH_MS (200 ms). */
    cl_qt_now_ms += 30000;
    cl_qt_assert_stats(&q, 1, 0, 0);
    assert_string_equal(m1[0].id, m2[0].id);

    /* The first receipt is stale now. */
    int res = -1;
    const char *old = m1[0].receipt;
    assert_int_equal(cl_queue_change_visibility(&q, old, 0, NULL), CL_ERR_STALE);
    assert_int_equal(cl_queue_delete(&q, &old, 1, &res), CL_OK);
    assert_int_equal(res, CL_ERR_STALE);
    assert_int_equal(cl_queue_change_visibility(&q, "garbage", 0, NULL), CL_ERR_STALE);

    /* change_visibility(0) makes it receivable at once. */
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m3, &n), CL_OK);
    assert_int_equal(n, 1);
    cl_msgs_free(m2, 1);
    m2 = m3;
    assert_int_equal(cl_queue_change_visibility(&q, m2[0].receipt, 0, "retry"), CL_OK);
    cl_qt_assert_stats(&q, 1, 0, 0);
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m3, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(m3[0].receive_count, 4);
    assert_string_equal(m3[0].last_error, "retry");
    /* Extending visibility keeps it hidden. */
    assert_int_equal(cl_queue_change_visibility(&q, m3[0].receipt, 100, NULL), CL_OK);
    cl_qt_now_ms += 99000;
    cl_msgs_free(m1, 1);
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m1, &n), CL_OK);
    assert_int_equal(n, 0);
    const char *cur = m3[0].receipt;
    assert_int_equal(cl_queue_delete(&q, &cur, 1, &res), CL_OK);
    assert_int_equal(res, CL_OK);
    cl_qt_assert_stats(&q, 0, 0, 0);
    cl_msgs_free(m2, 1);
    cl_msgs_free(m3, 1);
    cl_queue_close(&q);
}

static void test_reopen_and_second_connection(void **state)
{
    struct cl_queue q, q2;
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.max_receive_count = 1;
    o.durability_full = 0;
    o.dlq_retention_s = 14 * 86400; /* opt-in; test_dlq_kept_by_default checks the default */
    cl_qt_open_fresh(&q, "reopen.db", &o);
    cl_qt_send_n(&q, 0, 5);
    struct cl_msg *m;
    size_t n;
    assert_int_equal(cl_queue_receive(&q, 2, 60, 0, &m, &n), CL_OK); /* 2 in flight */
    cl_msgs_free(m, n);
    cl_qt_now_ms += 60000;
    /* Ids 1 and 2 are visible again with receive count 1; receive reaches them after
     * ids 3..5 (visible earlier) and moves them to the DLQ. */
    assert_int_equal(cl_queue_receive(&q, 5, 60, 0, &m, &n), CL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(m[0].id, "3");
    cl_msgs_free(m, n);
    cl_qt_assert_stats(&q, 0, 3, 2);

    /* A second handle (as the CLI would open) sees the same totals. */
    char path[600], err[256];
    cl_qt_db_path(path, sizeof path, "reopen.db");
    assert_int_equal(cl_queue_open(&q2, path, &o, err, sizeof err), CL_OK);
    cl_queue_sqlite_set_clock(&q2, cl_qt_clock, NULL);
    cl_qt_assert_stats(&q2, 0, 3, 2);
    /* It redrives; the first handle notices the other connection's commit. */
    size_t moved;
    assert_int_equal(cl_queue_dlq_redrive(&q2, NULL, 0, &moved), CL_OK);
    assert_int_equal(moved, 2);
    cl_queue_close(&q2);
    cl_qt_now_ms += 1000; /* let the cached figures expire */
    cl_qt_assert_stats(&q, 2, 3, 0);
    cl_queue_close(&q);

    assert_int_equal(cl_queue_open(&q, path, &o, err, sizeof err), CL_OK);
    cl_queue_sqlite_set_clock(&q, cl_qt_clock, NULL);
    struct cl_queue_stats st = cl_qt_stats_of(&q);
    assert_int_equal(st.visible, 2);
    assert_int_equal(st.inflight, 3);
    assert_int_equal(st.records, 1 + 2 + 3 + 4 + 5);
    assert_int_equal(st.bytes, 5 * strlen("body-000000"));
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_urls),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_visibility_timeout),
        cmocka_unit_test(test_reopen_and_second_connection),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
