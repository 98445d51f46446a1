/* test_queue_walsync.c - durable commits synced after the queue's lock is given up
 * (queue_sqlite_walsync.c): ingest's group commit and the catalog commit, with
 * durability_full, commit unsynced under db_mu and fdatasync the WAL afterwards; every
 * acknowledged send and every committed flush is in the file; syncs are shared between
 * concurrent commits; without durability_full nothing is deferred. */
#include "catalog.h"
#include "common.h"
#include "queue.h"
#include "queue_sqlite.h"
#include "queue_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SENDERS 4
#define PER_SENDER 40

static void open_durable(struct cl_queue *q, const char *name, int full)
{
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = full;
    cl_qt_open_fresh(q, name, &o);
}

static struct cl_queue_sqlite_counters counters_of(struct cl_queue *q)
{
    struct cl_queue_sqlite_counters c;
    assert_int_equal(cl_queue_sqlite_counters(q, &c), CL_OK);
    return c;
}

struct sender {
    struct cl_queue *q;
    int first;
    int failures;
};

static void *send_loop(void *arg)
{
    struct sender *s = arg;
    for (int i = 0; i < PER_SENDER; i++) {
        char body[32];
        struct cl_msg_out m = cl_qt_make_msg(body, s->first + i);
        s->failures += cl_queue_send(s->q, &m, 1) != CL_OK;
    }
    return NULL;
}

/* Concurrent senders: each acknowledged send is in the file once the queue is closed
 * (read by another connection), and the syncs were made after the lock, some shared. */
static void test_concurrent_sends_durable(void **state)
{
    (void)state;
    struct cl_queue q;
    open_durable(&q, "sends.db", 1);
    pthread_t th[SENDERS];
    struct sender s[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        s[i] = (struct sender){&q, i * PER_SENDER, 0};
        assert_int_equal(pthread_create(&th[i], NULL, send_loop, &s[i]), 0);
    }
    for (int i = 0; i < SENDERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(s[i].failures, 0);
    }
    struct cl_queue_sqlite_counters c = counters_of(&q);
    assert_true(c.wal_syncs > 0);
    /* every commit was synced by its own sync or one that covered it */
    assert_true(c.wal_syncs + c.wal_syncs_shared >= c.send_commits);
    assert_true(c.wal_syncs <= c.send_commits);
    char path[600];
    cl_qt_db_path(path, sizeof path, "sends.db");
    assert_int_equal(cl_qt_query_int(path, "SELECT count(*) FROM messages"), SENDERS * PER_SENDER);
    cl_queue_close(&q);
    assert_int_equal(cl_qt_query_int(path, "SELECT count(*) FROM messages"), SENDERS * PER_SENDER);
}

/* A catalog commit syncs after the lock too, before its deletes: the object row and the
 * finished messages' deletes are there afterwards. */
static void test_catalog_commit_synced(void **state)
{
    (void)state;
    struct cl_queue q;
    open_durable(&q, "catalog.db", 1);
    cl_qt_send_n(&q, 1, 3);
    struct cl_msg *m = NULL;
    size_t n = 0;
    assert_int_equal(cl_queue_receive(&q, 10, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 3);
    uint64_t before = counters_of(&q).wal_syncs;
    const char *ids[3], *receipts[3];
    for (size_t i = 0; i < n; i++) {
        ids[i] = m[i].id;
        receipts[i] = m[i].receipt;
    }
    struct cl_catalog_object obj = {.key = "service=a/dt=2026-12-07/hour=22/x.ndjson.gz",
                                    .staging_key = "_staging/x.ndjson.gz",
                                    .service = "a",
                                    .dt = "2026-12-07",
                                    .hour = 22,
                                    .records = 3,
                                    .bytes = 10,
                                    .raw_bytes = 30};
    int results[3] = {-1, -1, -1};
    int64_t object_id = 0;
    struct cl_catalog_flush f = {&obj, ids, 3, receipts, 3, &object_id};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, results), CL_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(results[i], CL_OK);
    assert_true(object_id > 0);
    assert_true(counters_of(&q).wal_syncs > before);
    char path[600];
    cl_qt_db_path(path, sizeof path, "catalog.db");
    assert_int_equal(cl_qt_query_int(path, "SELECT count(*) FROM objects"), 1);
    assert_int_equal(cl_qt_query_int(path, "SELECT count(*) FROM messages"), 0);
    cl_msgs_free(m, n);
    cl_queue_close(&q);
}

/* Without durability_full no commit waits for the disk: nothing is deferred. */
static void test_not_full_defers_nothing(void **state)
{
    (void)state;
    struct cl_queue q;
    open_durable(&q, "normal.db", 0);
    cl_qt_send_n(&q, 1, 5);
    struct cl_queue_sqlite_counters c = counters_of(&q);
    assert_int_equal(c.wal_syncs, 0);
    assert_int_equal(c.wal_syncs_shared, 0);
    assert_true(c.send_commits > 0);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_sends_durable),
        cmocka_unit_test(test_catalog_commit_synced),
        cmocka_unit_test(test_not_full_defers_nothing),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
