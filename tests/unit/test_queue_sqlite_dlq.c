/* test_queue_sqlite_dlq.c - the SQLite queue's dead-letter queue (failing into it, listing,
 * redriving by id and all) and retention of the queue and of the DLQ. */
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

/* Receives the single message and fails it with error text; returns its id. */
static long long fail_once(struct cl_queue *q, const char *error)
{
    struct cl_msg *m;
    size_t n;
    assert_int_equal(cl_queue_receive(q, 1, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    long long id = atoll(m[0].id);
    assert_int_equal(cl_queue_change_visibility(q, m[0].receipt, 0, error), CL_OK);
    cl_msgs_free(m, n);
    return id;
}

/* Fails the queue's only message until it moves to the DLQ; checks how it is listed. */
static long long fail_into_dlq(struct cl_queue *q)
{
    long long id = 0;
    for (int i = 1; i <= 3; i++) {
        char e[32];
        snprintf(e, sizeof e, "boom %d", i);
        id = fail_once(q, e);
    }
    struct cl_msg *m;
    size_t n;
    assert_int_equal(cl_queue_receive(q, 10, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 0);
    struct cl_queue_stats st = cl_qt_stats_of(q);
    assert_int_equal(st.visible + st.inflight + st.bytes + st.records, 0);
    assert_int_equal(st.dlq_depth, 1);
    assert_int_equal(st.dlq_bytes, strlen("body-000000"));

    assert_int_equal(cl_queue_dlq_list(q, NULL, 10, 1, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(atoll(m[0].id), id);
    assert_null(m[0].receipt);
    assert_string_equal(m[0].last_error, "boom 3");
    assert_int_equal(m[0].receive_count, 3);
    assert_memory_equal(m[0].body, "body-000000", 11);
    assert_int_equal(m[0].attrs.record_count, 1);
    cl_msgs_free(m, n);
    assert_int_equal(cl_queue_dlq_list(q, NULL, 10, 0, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_null(m[0].body);
    assert_int_equal(m[0].len, 11);
    cl_msgs_free(m, n);
    return id;
}

/* Redrive by id, then fail the message into the DLQ again. */
static void redrive_by_id(struct cl_queue *q, long long id)
{
    struct cl_msg *m;
    size_t n;
    /* Back with receive count 0 and no error, same id. */
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", id);
    const char *idp = ids;
    size_t moved = 9;
    assert_int_equal(cl_queue_dlq_redrive(q, &idp, 1, &moved), CL_OK);
    assert_int_equal(moved, 1);
    cl_qt_assert_stats(q, 1, 0, 0);
    assert_int_equal(cl_queue_dlq_redrive(q, &idp, 1, &moved), CL_OK);
    assert_int_equal(moved, 0);
    assert_int_equal(cl_queue_receive(q, 10, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(atoll(m[0].id), id);
    assert_int_equal(m[0].receive_count, 1);
    assert_null(m[0].last_error);
    assert_int_equal(cl_queue_change_visibility(q, m[0].receipt, 0, "again"), CL_OK);
    cl_msgs_free(m, n);
    fail_once(q, "x");
    fail_once(q, "y");
}

/* Three messages in the DLQ; list pages by id; redrive all. */
static void list_pages_and_redrive_all(struct cl_queue *q)
{
    struct cl_msg *m;
    size_t n, moved;
    struct cl_queue_stats st;
    cl_qt_send_n(q, 1, 2);
    for (int r = 0; r < 3; r++) {
        assert_int_equal(cl_queue_receive(q, 10, 30, 0, &m, &n), CL_OK);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(cl_queue_change_visibility(q, m[i].receipt, 0, "z"), CL_OK);
        cl_msgs_free(m, n);
    }
    assert_int_equal(cl_queue_receive(q, 10, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 0);
    cl_qt_assert_stats(q, 0, 0, 3);
    assert_int_equal(cl_queue_dlq_list(q, NULL, 2, 0, &m, &n), CL_OK);
    assert_int_equal(n, 2);
    char after[32];
    snprintf(after, sizeof after, "%s", m[1].id);
    assert_true(atoll(m[0].id) < atoll(m[1].id));
    cl_msgs_free(m, n);
    assert_int_equal(cl_queue_dlq_list(q, after, 2, 0, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_true(atoll(m[0].id) > atoll(after));
    cl_msgs_free(m, n);
    assert_int_equal(cl_queue_dlq_list(q, "x1", 2, 0, &m, &n), CL_ERR_INVAL);
    assert_int_equal(cl_queue_dlq_redrive(q, NULL, 0, &moved), CL_OK);
    assert_int_equal(moved, 3);
    st = cl_qt_stats_of(q);
    assert_int_equal(st.visible, 3);
    assert_int_equal(st.dlq_depth + st.dlq_bytes, 0);
    assert_int_equal(st.records, 1 + 2 + 3);
    assert_int_equal(st.redriven, 3 + 1); /* this call and the one by id above */
}

static void test_dlq_and_redrive(void **state)
{
    struct cl_queue q;
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.max_receive_count = 3;
    o.durability_full = 0;
    cl_qt_open_fresh(&q, "dlq.db", &o);
    cl_qt_send_n(&q, 0, 1);
    redrive_by_id(&q, fail_into_dlq(&q));
    list_pages_and_redrive_all(&q);
    cl_queue_close(&q);
}

static void test_retention(void **state)
{
    struct cl_queue q;
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.max_receive_count = 1;
    o.durability_full = 0;
    o.dlq_retention_s = 14 * 86400; /* opt-in; test_dlq_kept_by_default checks the default */
    cl_qt_open_fresh(&q, "ret.db", &o);
    cl_qt_send_n(&q, 0, 2);
    cl_qt_now_ms += 3LL * 86400 * 1000;
    cl_qt_send_n(&q, 2, 1);
    /* Id 1, received once, goes to the DLQ (max_receive_count 1) when a receive
     * reaches it: after id 2 (visible earlier), before id 3 (same time, larger id). */
    struct cl_msg *m;
    size_t n;
    assert_int_equal(cl_queue_receive(&q, 1, 0, 0, &m, &n), CL_OK);
    assert_string_equal(m[0].id, "1");
    cl_msgs_free(m, n);
    assert_int_equal(cl_queue_receive(&q, 3, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].id, "2");
    assert_string_equal(m[1].id, "3");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cl_queue_change_visibility(&q, m[i].receipt, 0, NULL), CL_OK);
    cl_msgs_free(m, n);
    cl_qt_assert_stats(&q, 2, 0, 1);
    /* Four days after the first sends: id 2 expires unstored, so it moves to the DLQ with
     * the reason (never dropped: it holds acknowledged records); the DLQ keeps id 1 (14
     * days). Id 3 was received once: the same receive moves it to the DLQ. */
    cl_qt_now_ms += 1LL * 86400 * 1000 + 1;
    assert_int_equal(cl_queue_receive(&q, 1, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 0);
    struct cl_queue_stats st = cl_qt_stats_of(&q);
    assert_int_equal(st.visible + st.inflight + st.bytes + st.records, 0);
    assert_int_equal(st.dlq_depth, 3);
    assert_int_equal(st.dlq_bytes, 33);
    assert_int_equal(cl_queue_dlq_list(&q, NULL, 10, 0, &m, &n), CL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(m[1].id, "2");
    assert_non_null(strstr(m[1].last_error, "retention expired"));
    cl_msgs_free(m, n);
    /* DLQ entries are dropped 14 days after they moved there: id 1 first. */
    cl_qt_now_ms += 14LL * 86400 * 1000 - 86400 * 1000;
    assert_int_equal(cl_queue_receive(&q, 1, 30, 0, &m, &n), CL_OK);
    assert_int_equal(cl_queue_dlq_list(&q, NULL, 10, 0, &m, &n), CL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].id, "2");
    assert_string_equal(m[1].id, "3");
    cl_msgs_free(m, n);
    cl_qt_assert_stats(&q, 0, 0, 2);
    cl_qt_now_ms += 86400 * 1000 + 1;
    assert_int_equal(cl_queue_receive(&q, 1, 30, 0, &m, &n), CL_OK);
    st = cl_qt_stats_of(&q);
    assert_int_equal(st.dlq_depth + st.dlq_bytes, 0);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dlq_and_redrive),
        cmocka_unit_test(test_retention),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
