/* test_queue_sqlite_concurrency.c - the SQLite queue under concurrency: senders and
 * receivers on threads (nothing lost, nothing twice), a receive that waits for a send, and
 * a full disk failing a whole commit group. */
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

struct sender_arg {
    struct cl_queue *q;
    int thread;
    int count;
};

static void *sender_main(void *p)
{
    struct sender_arg *a = p;
    for (int i = 0; i < a->count; i++) {
        char body[32];
        struct cl_msg_out m = cl_qt_make_msg(body, a->thread * 10000 + i);
        if (cl_queue_send(a->q, &m, 1) != CL_OK)
            return (void *)1;
    }
    return NULL;
}

/* The sequence number in a "body-NNNNNN" message (bodies are not NUL-terminated). */
static int body_seq(const struct cl_msg *m)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.*s", (int)CL_MIN(m->len, sizeof buf - 1), (const char *)m->body);
    return atoi(buf + 5);
}

/* Receives everything (hidden for an hour), returning the count; marks seen[seq]. */
static size_t drain(struct cl_queue *q, unsigned char *seen, size_t seen_len)
{
    size_t total = 0, n;
    struct cl_msg *m;
    do {
        assert_int_equal(cl_queue_receive(q, 100, 3600, 0, &m, &n), CL_OK);
        for (size_t i = 0; i < n; i++) {
            int seq = body_seq(&m[i]);
            assert_true(seq >= 0 && (size_t)seq < seen_len);
            assert_int_equal(seen[seq], 0);
            seen[seq] = 1;
        }
        total += n;
        cl_msgs_free(m, n);
    } while (n > 0);
    return total;
}

static void test_concurrent_senders(void **state)
{
    enum { THREADS = 8, PER = 200 };
    struct cl_queue q;
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 1;
    cl_qt_open_fresh(&q, "senders.db", &o);
    cl_queue_sqlite_set_clock(&q, NULL, NULL);
    pthread_t th[THREADS];
    struct sender_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (struct sender_arg){&q, t, PER};
        assert_int_equal(pthread_create(&th[t], NULL, sender_main, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        void *ret;
        pthread_join(th[t], &ret);
        assert_null(ret);
    }
    struct cl_queue_sqlite_counters c;
    assert_int_equal(cl_queue_sqlite_counters(&q, &c), CL_OK);
    assert_int_equal(c.send_calls, THREADS * PER);
    assert_int_equal(c.send_msgs, THREADS * PER);
    print_message("group commit: %llu sends in %llu commits\n", (unsigned long long)c.send_calls,
                  (unsigned long long)c.send_commits);
    assert_true(c.send_commits < c.send_calls);
    assert_int_equal(cl_qt_stats_of(&q).visible, THREADS * PER);
    static unsigned char seen[THREADS * 10000];
    memset(seen, 0, sizeof seen);
    assert_int_equal(drain(&q, seen, sizeof seen), THREADS * PER);
    cl_queue_close(&q);
}

struct big_sender {
    struct cl_queue *q;
    size_t len;
    int rc;
};

static void *big_sender_main(void *p)
{
    struct big_sender *a = p;
    void *body = calloc(1, a->len);
    struct cl_msg_out m = {.body = body, .len = a->len};
    snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "gzip");
    a->rc = cl_queue_send(a->q, &m, 1);
    free(body);
    return NULL;
}

/* A full disk (simulated with max_page_count) fails the whole group with
 * CL_ERR_FULL and commits nothing; the queue works again once there is room. */
static void test_disk_full(void **state)
{
    enum { THREADS = 4 };
    struct cl_queue q;
    cl_qt_open_fresh(&q, "full.db", NULL);
    cl_qt_send_n(&q, 0, 1);
    sqlite3 *db = cl_queue_sqlite_db(&q);
    assert_non_null(db);
    /* 256 KiB of pages, whatever the page size: less than one 400 KB send */
    sqlite3_stmt *ps;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &ps, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(ps), SQLITE_ROW);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%d", 256 * 1024 / sqlite3_column_int(ps, 0));
    sqlite3_finalize(ps);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    pthread_t th[THREADS];
    struct big_sender args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (struct big_sender){&q, 400000, -1};
        assert_int_equal(pthread_create(&th[t], NULL, big_sender_main, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].rc, CL_ERR_FULL);
    }
    /* Nothing partial: the small message of a failing call is not committed either. */
    char small[32];
    void *big = calloc(1, 400000);
    struct cl_msg_out two[2] = {cl_qt_make_msg(small, 1), {.body = big, .len = 400000}};
    assert_int_equal(cl_queue_send(&q, two, 2), CL_ERR_FULL);
    free(big);
    struct cl_queue_stats st = cl_qt_stats_of(&q);
    assert_int_equal(st.visible, 1);
    assert_int_equal(st.bytes, 11);
    sqlite3_stmt *count;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &count, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(count), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(count, 0), 1);
    sqlite3_finalize(count);
    assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count=1000000", NULL, NULL, NULL),
                     SQLITE_OK);
    cl_qt_send_n(&q, 1, 1);
    assert_int_equal(cl_qt_stats_of(&q).visible, 2);
    assert_int_equal(cl_queue_ping(&q), CL_OK);
    cl_queue_close(&q);
}

struct receiver_arg {
    struct cl_queue *q;
    unsigned char *seen;
    pthread_mutex_t *mu;
    size_t got;
    int dup;
};

static void *receiver_main(void *p)
{
    struct receiver_arg *a = p;
    for (;;) {
        struct cl_msg *m;
        size_t n;
        if (cl_queue_receive(a->q, 7, 3600, 0, &m, &n) != CL_OK || n == 0)
            return NULL;
        pthread_mutex_lock(a->mu);
        for (size_t i = 0; i < n; i++) {
            int seq = body_seq(&m[i]);
            a->dup |= a->seen[seq]++ != 0;
        }
        pthread_mutex_unlock(a->mu);
        a->got += n;
        cl_msgs_free(m, n);
    }
}

static void test_concurrent_receivers(void **state)
{
    enum { MSGS = 600, THREADS = 4 };
    struct cl_queue q;
    cl_qt_open_fresh(&q, "receivers.db", NULL);
    cl_queue_sqlite_set_clock(&q, NULL, NULL);
    cl_qt_send_n(&q, 0, MSGS);
    static unsigned char seen[MSGS];
    memset(seen, 0, sizeof seen);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_t th[THREADS];
    struct receiver_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (struct receiver_arg){&q, seen, &mu, 0, 0};
        assert_int_equal(pthread_create(&th[t], NULL, receiver_main, &args[t]), 0);
    }
    size_t total = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].dup, 0);
        total += args[t].got;
    }
    assert_int_equal(total, MSGS);
    cl_qt_assert_stats(&q, 0, MSGS, 0);
    cl_queue_close(&q);
}

static void test_receive_wait(void **state)
{
    struct cl_queue q;
    cl_qt_open_fresh(&q, "wait.db", NULL);
    cl_queue_sqlite_set_clock(&q, NULL, NULL);
    struct cl_msg *m;
    size_t n;
    int64_t t0 = cl_mono_ms();
    assert_int_equal(cl_queue_receive(&q, 1, 30, 150, &m, &n), CL_OK);
    assert_int_equal(n, 0);
    assert_true(cl_mono_ms() - t0 >= 150);
    /* A send from another thread wakes a waiting receiver. */
    pthread_t th;
    struct sender_arg a = {&q, 0, 1};
    t0 = cl_mono_ms();
    assert_int_equal(pthread_create(&th, NULL, sender_main, &a), 0);
    assert_int_equal(cl_queue_receive(&q, 1, 30, 5000, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_true(cl_mono_ms() - t0 < 4000);
    pthread_join(th, NULL);
    cl_msgs_free(m, n);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_senders),
        cmocka_unit_test(test_concurrent_receivers),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_receive_wait),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
