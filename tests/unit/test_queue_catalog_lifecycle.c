/* test_queue_catalog_lifecycle.c - the exactly-once ledger over a message's and a
 * database's life: progress kept when a message goes to the DLQ, purged by retention,
 * kept across a reopen, and the schema migrated from version 1. */
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

/* Moves the message with this id to the DLQ (max_receive_count 1). */
static void fail_to_dlq(struct cl_queue *q, struct cl_msg *m)
{
    assert_int_equal(cl_queue_change_visibility(q, m->receipt, 0, "boom"), CL_OK);
    struct cl_msg *none;
    size_t n;
    assert_int_equal(cl_queue_receive(q, 10, 30, 0, &none, &n), CL_OK);
    assert_int_equal(n, 0);
}

static void test_dlq_keeps_progress(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "dlq.db", 1);
    send_n(&q, 1);
    struct cl_msg *m = receive_exactly(&q, 1);
    char idb[24]; /* the id outlives the received message */
    snprintf(idb, sizeof idb, "%s", m[0].id);
    const char *id = idb;
    struct cl_catalog_object obj = make_obj(PART "/a.ndjson.gz", "_staging/a");
    commit_progress(&q, &obj, &id, 1);
    fail_to_dlq(&q, &m[0]);
    cl_msgs_free(m, 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM dlq"), 1);
    assert_int_equal(done_of(&q, id, PART), 1);
    size_t moved;
    assert_int_equal(cl_queue_dlq_redrive(&q, NULL, 0, &moved), CL_OK);
    assert_int_equal(moved, 1);
    assert_int_equal(done_of(&q, id, PART), 1);
    m = receive_exactly(&q, 1);
    assert_string_equal(m[0].id, id);
    int result;
    assert_int_equal(cl_queue_delete(&q, (const char *const *)&m[0].receipt, 1, &result), CL_OK);
    assert_int_equal(done_of(&q, id, PART), 0);
    cl_msgs_free(m, 1);
    cl_queue_close(&q);
}

static void test_retention_purges_progress(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "retention.db", 1);
    send_n(&q, 2);
    struct cl_msg *m = receive_exactly(&q, 2);
    char idb[2][24];
    const char *ids[2];
    copy_ids(m, 2, idb, ids);
    struct cl_catalog_object obj = make_obj(PART "/a.ndjson.gz", "_staging/a");
    commit_progress(&q, &obj, ids, 2);
    fail_to_dlq(&q, &m[0]); /* ids[0] to the DLQ; ids[1] stays in flight */
    cl_msgs_free(m, 2);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM progress"), 2);
    /* Main-queue retention (4 days) moves ids[1], never stored, to the DLQ: it keeps its
     * progress (a redrive stores only what is missing), as ids[0] does. */
    cl_qt_now_ms += 4LL * 86400 * 1000 + 1;
    struct cl_msg *none;
    size_t n;
    assert_int_equal(cl_queue_receive(&q, 1, 30, 0, &none, &n), CL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM dlq"), 2);
    assert_int_equal(done_of(&q, ids[1], PART), 1);
    assert_int_equal(done_of(&q, ids[0], PART), 1);
    /* DLQ retention (opt-in here, 14 days after the move) drops ids[0] and its progress,
     * then ids[1] four days later. */
    cl_qt_now_ms += 10LL * 86400 * 1000;
    assert_int_equal(cl_queue_receive(&q, 1, 30, 0, &none, &n), CL_OK);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM dlq"), 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM progress"), 1);
    cl_qt_now_ms += 4LL * 86400 * 1000 + 1;
    assert_int_equal(cl_queue_receive(&q, 1, 30, 0, &none, &n), CL_OK);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM dlq"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM progress"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects"), 1);
    cl_queue_close(&q);
}

/* The version 1 schema as the previous release created it. */
static const char v1_sql[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " body BLOB NOT NULL, record_count INTEGER NOT NULL, raw_bytes INTEGER NOT NULL,"
    " min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, encoding TEXT NOT NULL,"
    " sent_at INTEGER NOT NULL, visible_at INTEGER NOT NULL,"
    " receive_count INTEGER NOT NULL DEFAULT 0, first_receive_at INTEGER, last_error TEXT);"
    "CREATE INDEX messages_visible ON messages(visible_at, id);"
    "CREATE INDEX messages_sent ON messages(sent_at, record_count);"
    "CREATE TABLE dlq (id INTEGER PRIMARY KEY, body BLOB NOT NULL,"
    " record_count, raw_bytes, min_ts, max_ts, encoding TEXT, sent_at INTEGER,"
    " receive_count INTEGER, first_receive_at INTEGER, last_error TEXT,"
    " moved_at INTEGER NOT NULL);"
    "CREATE INDEX dlq_moved ON dlq(moved_at);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value);"
    "INSERT INTO meta (key, value) VALUES ('schema_version', 1);";

static void make_raw_db(const char *path, const char *sql)
{
    sqlite3 *db;
    cl_qt_remove_db(path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_migration_and_reopen(void **state)
{
    char path[600], sql[1600];
    cl_qt_db_path(path, sizeof path, "v1.db");
    cl_qt_now_ms = cl_now_ms();
    snprintf(sql, sizeof sql,
             "%sINSERT INTO messages (body, record_count, raw_bytes, min_ts, max_ts, encoding,"
             " sent_at, visible_at) VALUES (x'00', 3, 9, 1, 2, 'gzip', %lld, %lld);",
             v1_sql, (long long)cl_qt_now_ms, (long long)cl_qt_now_ms);
    make_raw_db(path, sql);
    struct cl_queue q;
    open_path(&q, path, 5);
    assert_int_equal(count_rows(&q, "SELECT value FROM meta WHERE key = 'schema_version'"), 4);
    struct cl_msg *m = receive_exactly(&q, 1);
    char idb[24]; /* the id outlives the received message */
    snprintf(idb, sizeof idb, "%s", m[0].id);
    const char *id = idb;
    const char *receipt = m[0].receipt;
    struct cl_catalog_object a = make_obj(PART "/a.ndjson.gz", "_staging/a");
    struct cl_catalog_object b = make_obj(PART "/b.ndjson.gz", "_staging/b");
    int64_t ida = commit_progress(&q, &a, &id, 1);
    struct cl_catalog_flush f = {&b, &id, 1, &receipt, 1, NULL};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&q), &f, NULL), CL_OK);
    assert_int_equal(cl_catalog_mark_published(cl_queue_catalog(&q), ida), CL_OK);
    cl_msgs_free(m, 1);
    cl_queue_close(&q);

    /* Reopen: catalog rows, their states and the queue survive. */
    open_path(&q, path, 5);
    struct cl_catalog_stats st;
    assert_int_equal(cl_catalog_stats(cl_queue_catalog(&q), &st), CL_OK);
    assert_int_equal(st.objects, 2);
    assert_int_equal(st.records, 60);
    assert_int_equal(referenced(&q, "_staging/b"), 1);
    assert_int_equal(referenced(&q, "_staging/a"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM objects WHERE published = 0"), 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM progress"), 0);
    cl_queue_close(&q);

    /* A newer schema than this build reads is refused. */
    cl_qt_db_path(path, sizeof path, "v5.db");
    snprintf(sql, sizeof sql, "%sUPDATE meta SET value = 5;", v1_sql);
    make_raw_db(path, sql);
    char err[256];
    assert_int_equal(cl_queue_open(&q, path, NULL, err, sizeof err), CL_ERR_UNSUPPORTED);
}

static void test_reopen_progress(void **state)
{
    char path[600];
    struct cl_queue q;
    open_fresh(&q, "reopen.db", 5);
    cl_qt_db_path(path, sizeof path, "reopen.db");
    send_n(&q, 1);
    struct cl_msg *m = receive_exactly(&q, 1);
    char idb[24]; /* the id outlives the received message */
    snprintf(idb, sizeof idb, "%s", m[0].id);
    const char *id = idb;
    cl_msgs_free(m, 1);
    struct cl_catalog_object a = make_obj(PART "/a.ndjson.gz", "_staging/a");
    commit_progress(&q, &a, &id, 1);
    cl_queue_close(&q);
    open_path(&q, path, 5);
    assert_int_equal(done_of(&q, id, PART), 1);
    assert_int_equal(referenced(&q, "_staging/a"), 1);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dlq_keeps_progress),
        cmocka_unit_test(test_retention_purges_progress),
        cmocka_unit_test(test_migration_and_reopen),
        cmocka_unit_test(test_reopen_progress),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
