/* test_queue_catalog_commit.c - the object catalog / exactly-once ledger (SQLite): flushes
 * committed with their progress in one transaction, stale receipts, publishing, a full
 * disk, and the answers of a backend without a catalog. */
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

static int null_fn(void *arg, int64_t id, const char *staging, const char *key)
{
    (void)arg, (void)id, (void)staging, (void)key;
    return CL_OK;
}

static void test_unsupported(void **state)
{
    static const struct cl_queue_ops other = {.name = "other"};
    struct cl_queue q = {.ops = &other};
    struct cl_catalog_object obj = make_obj("k", "s");
    struct cl_catalog_flush f = {.obj = &obj};
    struct cl_catalog_stats st;
    int v;
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, NULL), CL_ERR_UNSUPPORTED);
    assert_int_equal(cl_catalog_partition_done(cl_queue_catalog(&q), "1", PART, &v),
                     CL_ERR_UNSUPPORTED);
    assert_int_equal(cl_catalog_unpublished(cl_queue_catalog(&q), null_fn, NULL),
                     CL_ERR_UNSUPPORTED);
    assert_int_equal(cl_catalog_mark_published(cl_queue_catalog(&q), 1), CL_ERR_UNSUPPORTED);
    assert_int_equal(cl_catalog_staging_referenced(cl_queue_catalog(&q), "s", &v),
                     CL_ERR_UNSUPPORTED);
    assert_int_equal(cl_catalog_stats(cl_queue_catalog(&q), &st), CL_ERR_UNSUPPORTED);
}

/* Several flushes in one transaction: all or nothing (a duplicate key in the second
 * rolls back the first); then one unsynced transaction marks them published, and an
 * unknown id among them is reported while the others are marked. */
static void test_commit_flushes_and_mark_many(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "flushes.db", 5);
    send_n(&q, 2);
    struct cl_msg *m = receive_exactly(&q, 2);
    const char *ids[2] = {m[0].id, m[1].id};
    const char *receipts[2] = {m[0].receipt, m[1].receipt};
    struct cl_catalog_object a = make_obj(PART "/a.ndjson.gz", "_staging/a");
    struct cl_catalog_object dup = make_obj(PART "/a.ndjson.gz", "_staging/dup");
    int64_t id_a = 0, id_b = 0;
    struct cl_catalog_flush bad[2] = {{&a, ids, 1, receipts, 1, &id_a},
                                      {&dup, ids + 1, 1, receipts + 1, 1, &id_b}};
    int res_a[1] = {-1}, res_b[1] = {-1};
    int *const results[2] = {res_a, res_b};
    assert_int_not_equal(cl_catalog_commit_flushes(cl_queue_catalog(&q), bad, 2, results), CL_OK);
    assert_int_not_equal(res_a[0], CL_OK);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 2);

    struct cl_catalog_object b = make_obj(PART "/b.ndjson.gz", "_staging/b");
    struct cl_catalog_flush good[2] = {{&a, ids, 2, receipts, 1, &id_a},
                                       {&b, ids + 1, 1, receipts + 1, 1, &id_b}};
    assert_int_equal(cl_catalog_commit_flushes(cl_queue_catalog(&q), good, 2, results), CL_OK);
    assert_int_equal(res_a[0], CL_OK);
    assert_int_equal(res_b[0], CL_OK);
    assert_true(id_a > 0 && id_b > id_a);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM progress"), 0); /* none orphaned */
    cl_msgs_free(m, 2);

    int64_t marks[3] = {id_a, id_b + 100, id_b};
    assert_int_equal(cl_catalog_mark_published_many(cl_queue_catalog(&q), marks, 3),
                     CL_ERR_NOT_FOUND);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects WHERE published = 1"), 2);
    cl_queue_close(&q);
}

static void test_commit_flush(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "flush.db", 5);
    send_n(&q, 3);
    struct cl_msg *m = receive_exactly(&q, 3);
    char idb[3][24];
    const char *ids[3];
    copy_ids(m, 3, idb, ids);
    const char *receipts[2] = {m[0].receipt, m[1].receipt};
    struct cl_catalog_object obj = make_obj(PART "/a.ndjson.gz", "_staging/a");
    int64_t object_id = 0;
    struct cl_catalog_flush f = {&obj, ids, 3, receipts, 2, &object_id};
    int results[2] = {-1, -1};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, results), CL_OK);
    assert_int_equal(results[0], CL_OK);
    assert_int_equal(results[1], CL_OK);
    assert_true(object_id > 0);
    cl_msgs_free(m, 3);

    struct cl_queue_stats qs;
    assert_int_equal(cl_queue_stats(&q, &qs), CL_OK);
    assert_int_equal(qs.visible + qs.inflight, 1);
    assert_int_equal(qs.records, 10);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 1);
    /* The deleted messages' progress went with them; the third keeps its row. */
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM progress"), 1);
    assert_int_equal(done_of(&q, ids[2], PART), 1);
    assert_int_equal(done_of(&q, ids[2], "service=api/dt=2026-11-25/hour=08"), 0);
    assert_int_equal(done_of(&q, ids[0], PART), 0);
    /* Only this backend reads its ids as numbers: another format is refused. */
    int v = -1;
    assert_int_equal(cl_catalog_partition_done(cl_queue_catalog(&q), "7c2f-b", PART, &v),
                     CL_ERR_INVAL);
    assert_int_equal(cl_catalog_message_has_progress(cl_queue_catalog(&q), "12x", &v),
                     CL_ERR_INVAL);

    struct cl_catalog_stats st;
    assert_int_equal(cl_catalog_stats(cl_queue_catalog(&q), &st), CL_OK);
    assert_int_equal(st.objects, 1);
    assert_int_equal(st.records, 30);
    assert_int_equal(st.bytes, 500);
    assert_int_equal(st.raw_bytes, 4000);
    assert_int_equal(st.min_ts_ms, 1000);
    assert_int_equal(st.max_ts_ms, 2000);
    assert_int_equal(count_rows(&q, "SELECT published + n_info + n_fatal FROM objects"), 21);
    assert_int_equal(count_rows(&q, "SELECT hour FROM objects WHERE service = 'api' AND "
                                    "dt = '2026-11-25' AND staging_key = '_staging/a'"),
                     7);
    /* Same key twice is refused and changes nothing. */
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, NULL), CL_ERR_IO);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects"), 1);
    obj.hour = 24;
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, NULL), CL_ERR_INVAL);
    cl_queue_close(&q);
}

static void test_stale_receipt(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "stale.db", 5);
    send_n(&q, 1);
    struct cl_msg *old = receive_exactly(&q, 1);
    assert_int_equal(cl_queue_change_visibility(&q, old[0].receipt, 0, NULL), CL_OK);
    struct cl_msg *cur = receive_exactly(&q, 1); /* another holder: old receipt is stale */
    char idb[24];                                /* the id outlives the received message */
    snprintf(idb, sizeof idb, "%s", old[0].id);
    const char *id = idb;
    const char *receipt = old[0].receipt;
    struct cl_catalog_object obj = make_obj(PART "/b.ndjson.gz", "_staging/b");
    struct cl_catalog_flush f = {&obj, &id, 1, &receipt, 1, NULL};
    int result = -1;
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, &result), CL_OK);
    assert_int_equal(result, CL_ERR_STALE);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects"), 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 1);
    /* The current holder sees the partition stored and deletes the message. */
    assert_int_equal(done_of(&q, id, PART), 1);
    assert_int_equal(cl_queue_delete(&q, (const char *const *)&cur[0].receipt, 1, &result), CL_OK);
    assert_int_equal(result, CL_OK);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM progress"), 0);
    /* Progress for a message that is gone is not recorded (nothing would delete it). */
    obj.key = PART "/c.ndjson.gz";
    f.n_delete = 0;
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, NULL), CL_OK);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM progress"), 0);
    cl_msgs_free(old, 1);
    cl_msgs_free(cur, 1);
    cl_queue_close(&q);
}

struct walk {
    struct cl_queue *q;
    int calls;
    int64_t ids[4];
    int stop_after;
};

/* Recovery-style callback: publishes each row from inside the walk. */
static int publish_fn(void *arg, int64_t id, const char *staging, const char *key)
{
    struct walk *w = arg;
    assert_non_null(staging);
    assert_non_null(strstr(key, ".ndjson.gz"));
    w->ids[w->calls++] = id;
    if (w->calls == w->stop_after)
        return CL_ERR_IO;
    return cl_catalog_mark_published(cl_queue_catalog(w->q), id);
}

static void test_publish(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "publish.db", 5);
    struct cl_catalog_object a = make_obj(PART "/a.ndjson.gz", "_staging/a");
    struct cl_catalog_object b = make_obj(PART "/b.ndjson.gz", "_staging/b");
    int64_t ida = commit_progress(&q, &a, NULL, 0);
    int64_t idb = commit_progress(&q, &b, NULL, 0);
    assert_true(idb > ida);
    assert_int_equal(referenced(&q, "_staging/a"), 1);
    assert_int_equal(referenced(&q, "_staging/zzz"), 0);

    struct walk w = {.q = &q, .stop_after = 1};
    assert_int_equal(cl_catalog_unpublished(cl_queue_catalog(&q), publish_fn, &w), CL_ERR_IO);
    assert_int_equal(w.calls, 1);
    w = (struct walk){.q = &q};
    assert_int_equal(cl_catalog_unpublished(cl_queue_catalog(&q), publish_fn, &w), CL_OK);
    assert_int_equal(w.calls, 2);
    assert_int_equal(w.ids[0], ida);
    assert_int_equal(w.ids[1], idb);
    w = (struct walk){.q = &q};
    assert_int_equal(cl_catalog_unpublished(cl_queue_catalog(&q), publish_fn, &w), CL_OK);
    assert_int_equal(w.calls, 0);
    assert_int_equal(referenced(&q, "_staging/a"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects WHERE published = 1 AND "
                                    "staging_key IS NULL"),
                     2);
    assert_int_equal(cl_catalog_mark_published(cl_queue_catalog(&q), ida), CL_OK);
    assert_int_equal(cl_catalog_mark_published(cl_queue_catalog(&q), idb + 100), CL_ERR_NOT_FOUND);
    struct cl_catalog_stats st;
    assert_int_equal(cl_catalog_stats(cl_queue_catalog(&q), &st), CL_OK);
    assert_int_equal(st.objects, 2);
    assert_int_equal(st.records, 60);
    cl_queue_close(&q);
}

/* A full disk (max_page_count) fails the flush with CL_ERR_FULL: no row, no progress,
 * no delete; it succeeds once there is room again. */
static void test_disk_full(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "full.db", 5);
    send_n(&q, 1);
    struct cl_msg *m = receive_exactly(&q, 1);
    char idb[24]; /* the id outlives the received message */
    snprintf(idb, sizeof idb, "%s", m[0].id);
    const char *id = idb;
    const char *receipt = m[0].receipt;
    size_t big = 200000;
    char *key = malloc(big + 1);
    memset(key, 'k', big);
    key[big] = '\0';
    struct cl_catalog_object obj = make_obj(key, "_staging/big");
    struct cl_catalog_flush f = {&obj, &id, 1, &receipt, 1, NULL};
    sqlite3 *db = cl_queue_sqlite_db(&q);
    int64_t pages = count_rows(&q, "PRAGMA page_count");
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)pages);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    int result = -1;
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, &result), CL_ERR_FULL);
    assert_int_not_equal(result, CL_OK);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM progress"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 1);
    struct cl_queue_stats qs;
    assert_int_equal(cl_queue_stats(&q, &qs), CL_OK);
    assert_int_equal(qs.visible + qs.inflight, 1);
    assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count=1000000", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, &result), CL_OK);
    assert_int_equal(result, CL_OK);
    assert_int_equal(cl_queue_stats(&q, &qs), CL_OK);
    assert_int_equal(qs.visible + qs.inflight, 0);
    free(key);
    cl_msgs_free(m, 1);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_commit_flush),
        cmocka_unit_test(test_commit_flushes_and_mark_many),
        cmocka_unit_test(test_stale_receipt),
        cmocka_unit_test(test_publish),
        cmocka_unit_test(test_disk_full),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
