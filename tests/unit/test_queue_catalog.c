/* test_queue_catalog.c - unit tests of the object catalog / exactly-once ledger (SQLite). */
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
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PART "service=api/dt=2026-11-25/hour=07"

static void open_path(struct cl_queue *q, const char *path, int max_receive_count)
{
    char err[256];
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 0;
    o.dlq_retention_s = 14 * 86400; /* opt-in (default: never), as these tests expect */
    o.max_receive_count = max_receive_count;
    if (cl_queue_open(q, path, &o, err, sizeof err) != CL_OK)
        fail_msg("open %s: %s", path, err);
    assert_int_equal(cl_queue_sqlite_set_clock(q, cl_qt_clock, NULL), CL_OK);
}

static void open_fresh(struct cl_queue *q, const char *name, int max_receive_count)
{
    char path[600];
    cl_qt_db_path(path, sizeof path, name);
    cl_qt_remove_db(path);
    cl_qt_now_ms = cl_now_ms();
    open_path(q, path, max_receive_count);
}

static void send_n(struct cl_queue *q, int n)
{
    for (int i = 0; i < n; i++) {
        struct cl_msg_out m = {.body = "body", .len = 4};
        m.attrs.record_count = 10;
        snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "gzip");
        assert_int_equal(cl_queue_send(q, &m, 1), CL_OK);
    }
}

static struct cl_msg *receive_exactly(struct cl_queue *q, size_t want)
{
    struct cl_msg *m = NULL;
    size_t n;
    assert_int_equal(cl_queue_receive(q, want, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, want);
    return m;
}

static struct cl_catalog_object make_obj(const char *key, const char *staging)
{
    struct cl_catalog_object o = {
        .key = key,
        .staging_key = staging,
        .service = "api",
        .dt = "2026-11-25",
        .hour = 7,
        .records = 30,
        .bytes = 500,
        .raw_bytes = 4000,
        .min_ts_ms = 1000,
        .max_ts_ms = 2000,
        .level_counts = {1, 2, 20, 4, 2, 1},
    };
    return o;
}

static int64_t count_rows(struct cl_queue *q, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(cl_queue_sqlite_db(q), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int done_of(struct cl_queue *q, const char *msg_id, const char *partition)
{
    int done = -1;
    assert_int_equal(cl_catalog_partition_done(cl_queue_catalog(q), msg_id, partition, &done),
                     CL_OK);
    return done;
}

static int referenced(struct cl_queue *q, const char *staging_key)
{
    int ref = -1;
    assert_int_equal(cl_catalog_staging_referenced(cl_queue_catalog(q), staging_key, &ref), CL_OK);
    return ref;
}

/* Commits obj with progress for msg_ids and no deletes. */
static int64_t commit_progress(struct cl_queue *q, const struct cl_catalog_object *obj,
                               const char *const *ids, size_t n)
{
    int64_t object_id = 0;
    struct cl_catalog_flush f = {
        .obj = obj, .msg_ids = ids, .n_msg_ids = n, .object_id = &object_id};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(q), &f, NULL), CL_OK);
    assert_true(object_id > 0);
    return object_id;
}

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
    char idb[3][24]; /* the ids outlive the received messages */
    for (int i = 0; i < 3; i++)
        snprintf(idb[i], sizeof idb[i], "%s", m[i].id);
    const char *ids[3] = {idb[0], idb[1], idb[2]};
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
    char idb[2][24]; /* the ids outlive the received messages */
    for (int i = 0; i < 2; i++)
        snprintf(idb[i], sizeof idb[i], "%s", m[i].id);
    const char *ids[2] = {idb[0], idb[1]};
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
    assert_int_equal(count_rows(&q, "SELECT value FROM meta WHERE key = 'schema_version'"), 3);
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
    cl_qt_db_path(path, sizeof path, "v4.db");
    snprintf(sql, sizeof sql, "%sUPDATE meta SET value = 4;", v1_sql);
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

/* ---- catalog reads (catalog_read.c) ---- */

/* A write made while a catalog read is in progress: a send (group commit) and a ping
 * (what /readyz runs) from another thread, which the reader waits for. */
struct side_write {
    struct cl_queue *q;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, send_rc, ping_rc, rows, finished_inside;
};

static void *write_while_reading(void *arg)
{
    struct side_write *w = arg;
    struct cl_msg_out m = {.body = "body", .len = 4};
    snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "gzip");
    int send_rc = cl_queue_send(w->q, &m, 1);
    int ping_rc = cl_queue_ping(w->q);
    pthread_mutex_lock(&w->mu);
    w->send_rc = send_rc;
    w->ping_rc = ping_rc;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* On the first row, waits (bounded: 30 s, far beyond any commit; a reader holding the
 * queue's lock would wait forever) for a send and a ping made from another thread. */
static int on_row_write(void *arg, const struct cl_catalog_object *o)
{
    struct side_write *w = arg;
    (void)o;
    if (w->rows++ > 0)
        return 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_while_reading, w), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&w->mu);
    while (!w->done && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
        ;
    w->finished_inside = w->done;
    pthread_mutex_unlock(&w->mu);
    if (w->finished_inside)
        pthread_join(t, NULL);
    else
        pthread_detach(t); /* it finishes once the read releases what it holds */
    return 0;
}

static void commit_published(struct cl_queue *q, const char *service, const char *dt, int hour,
                             int i, int64_t min_ts, int64_t max_ts, int level)
{
    char key[160];
    snprintf(key, sizeof key, "service=%s/dt=%s/hour=%02d/o%d.ndjson.gz", service, dt, hour, i);
    struct cl_catalog_object o = make_obj(key, NULL);
    o.service = service;
    o.dt = dt;
    o.hour = hour;
    o.min_ts_ms = min_ts;
    o.max_ts_ms = max_ts;
    memset(o.level_counts, 0, sizeof o.level_counts);
    o.level_counts[level] = o.records;
    assert_int_equal(
        cl_catalog_mark_published(cl_queue_catalog(q), commit_progress(q, &o, NULL, 0)), CL_OK);
}

/* A catalog read (the query planner's) does not hold the queue's connection: group
 * commit and the readiness probe complete while it is in progress. */
static void test_read_does_not_block_writes(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "read_vs_write.db", 5);
    for (int i = 0; i < 3; i++)
        commit_published(&q, "api", "2026-11-25", 7, i, 1000, 2000, 2);
    struct side_write w = {.q = &q};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    assert_int_equal(
        cl_catalog_objects(cl_queue_catalog(&q), "2026-11-25", "2026-11-25", on_row_write, &w),
        CL_OK);
    assert_int_equal(w.rows, 3);
    assert_true(w.finished_inside);
    assert_int_equal(w.send_rc, CL_OK);
    assert_int_equal(w.ping_rc, CL_OK);
    struct cl_catalog_filter f = {.dt_from = "2026-11-25", .dt_to = "2026-11-25", .hour_to = 23};
    w.rows = w.done = w.finished_inside = 0;
    assert_int_equal(cl_catalog_select(cl_queue_catalog(&q), &f, on_row_write, &w, NULL), CL_OK);
    assert_true(w.finished_inside);
    assert_int_equal(w.send_rc, CL_OK);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    cl_queue_close(&q);
}

struct picked {
    char keys[32][160];
    size_t n;
};

static int on_pick(void *arg, const struct cl_catalog_object *o)
{
    struct picked *p = arg;
    assert_true(p->n < 32);
    snprintf(p->keys[p->n++], sizeof p->keys[0], "%s", o->key);
    return 0;
}

static int has_key(const struct picked *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->keys[i], key) == 0)
            return 1;
    return 0;
}

/* cl_catalog_select: hour edges of the first and last day, names and globs, time range
 * and level pruning, and the count before pruning. */
static void test_select_filters(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "select.db", 5);
    commit_published(&q, "api", "2026-11-24", 22, 0, 100, 200, 2);  /* before hour_from */
    commit_published(&q, "api", "2026-11-24", 23, 1, 300, 400, 2);  /* in */
    commit_published(&q, "web-1", "2026-11-25", 5, 2, 500, 600, 4); /* in, error */
    commit_published(&q, "web-2", "2026-11-26", 1, 3, 700, 800, 3); /* in, warn */
    commit_published(&q, "api", "2026-11-26", 2, 4, 900, 999, 2);   /* after hour_to */
    struct cl_catalog_object unpublished = make_obj("service=api/dt=2026-11-25/hour=07/u", "s");
    commit_progress(&q, &unpublished, NULL, 0);

    struct cl_catalog_filter f = {
        .dt_from = "2026-11-24", .dt_to = "2026-11-26", .hour_from = 23, .hour_to = 1};
    struct picked p = {0};
    uint64_t considered = 0;
    assert_int_equal(cl_catalog_select(cl_queue_catalog(&q), &f, on_pick, &p, &considered), CL_OK);
    assert_int_equal(p.n, 3);
    assert_int_equal(considered, 3);
    assert_true(has_key(&p, "service=api/dt=2026-11-24/hour=23/o1.ndjson.gz"));

    const char *const svc[] = {"web-*", "api"};
    f.services = svc;
    f.n_services = 1;
    p.n = 0;
    assert_int_equal(cl_catalog_select(cl_queue_catalog(&q), &f, on_pick, &p, &considered), CL_OK);
    assert_int_equal(p.n, 2);
    f.services = svc + 1;
    p.n = 0;
    assert_int_equal(cl_catalog_select(cl_queue_catalog(&q), &f, on_pick, &p, &considered), CL_OK);
    assert_int_equal(p.n, 1);
    f.n_services = 0;

    f.prune = 1; /* [550, 750): objects 2 and 3; errors only: object 2 */
    f.from_ms = 550;
    f.to_ms = 750;
    p.n = 0;
    assert_int_equal(cl_catalog_select(cl_queue_catalog(&q), &f, on_pick, &p, &considered), CL_OK);
    assert_int_equal(p.n, 2);
    assert_int_equal(considered, 3);
    f.level_mask = 1u << 4;
    p.n = 0;
    assert_int_equal(cl_catalog_select(cl_queue_catalog(&q), &f, on_pick, &p, &considered), CL_OK);
    assert_int_equal(p.n, 1);
    assert_true(has_key(&p, "service=web-1/dt=2026-11-25/hour=05/o2.ndjson.gz"));
    cl_queue_close(&q);
}

/* cl_catalog_open_reader: the catalog alone, for reads, while another connection holds
 * the queue's write lock (a daemon mid-commit: opening the queue would wait for it); it
 * writes nothing (not even a checkpoint of the WAL at close), refuses writes, never
 * creates a file and refuses a catalog of another schema version. */
static void test_reader_alone(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "reader.db", 5);
    commit_published(&q, "api", "2026-11-24", 23, 1, 300, 400, 2);
    commit_published(&q, "web", "2026-11-25", 5, 2, 500, 600, 4);
    char path[600], url[700], err[512] = "";
    cl_qt_db_path(path, sizeof path, "reader.db");
    snprintf(url, sizeof url, "sqlite:%s", path);
    sqlite3 *writer;
    assert_int_equal(sqlite3_open(path, &writer), SQLITE_OK);
    assert_int_equal(sqlite3_exec(writer, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    char wal[620];
    snprintf(wal, sizeof wal, "%s-wal", path);

    struct cl_catalog *c = NULL;
    int rc = cl_catalog_open_reader(url, &c, err, sizeof err);
    if (rc != CL_OK)
        fail_msg("open_reader: %s: %s", cl_strerror(rc), err);
    struct cl_catalog_filter f = {.dt_from = "2026-11-24", .dt_to = "2026-11-25", .hour_to = 23};
    struct picked p = {0};
    uint64_t considered = 0;
    assert_int_equal(cl_catalog_select(c, &f, on_pick, &p, &considered), CL_OK);
    assert_int_equal(p.n, 2);
    assert_int_equal(considered, 2);
    p.n = 0;
    assert_int_equal(cl_catalog_objects(c, "2026-11-25", "2026-11-25", on_pick, &p), CL_OK);
    assert_int_equal(p.n, 1);
    assert_int_equal(cl_catalog_mark_published(c, 1), CL_ERR_UNSUPPORTED);
    struct cl_catalog_stats st;
    assert_int_equal(cl_catalog_stats(c, &st), CL_ERR_UNSUPPORTED);
    assert_int_equal(sqlite3_exec(writer, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    cl_queue_close(&q);
    /* A commit left in the WAL (its writer is not the last connection: no checkpoint). */
    assert_int_equal(sqlite3_exec(writer,
                                  "PRAGMA wal_autocheckpoint=0;"
                                  "INSERT OR REPLACE INTO meta VALUES ('reader-test', 1)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(writer);
    struct stat before, after;
    assert_int_equal(stat(wal, &before), 0);
    assert_true(before.st_size > 0);
    cl_catalog_close(c); /* the last one, but a reader: the WAL stays as it is */
    assert_int_equal(stat(wal, &after), 0);
    assert_int_equal(after.st_size, before.st_size);

    /* Never creates a file; no catalog beside SQS; another schema version. */
    char missing[700];
    snprintf(missing, sizeof missing, "sqlite:%s/none.db", cl_qt_dir);
    assert_int_not_equal(cl_catalog_open_reader(missing, &c, err, sizeof err), CL_OK);
    assert_null(c);
    assert_int_equal(access(missing + 7, F_OK), -1);
    assert_int_equal(cl_catalog_open_reader("sqs://q", &c, err, sizeof err), CL_ERR_UNSUPPORTED);
    assert_int_equal(sqlite3_open(path, &writer), SQLITE_OK);
    assert_int_equal(sqlite3_exec(writer, "UPDATE meta SET value = 2 WHERE key = 'schema_version'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(writer);
    assert_int_equal(cl_catalog_open_reader(url, &c, err, sizeof err), CL_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "schema version 2"));
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
        cmocka_unit_test(test_dlq_keeps_progress),
        cmocka_unit_test(test_retention_purges_progress),
        cmocka_unit_test(test_migration_and_reopen),
        cmocka_unit_test(test_reopen_progress),
        cmocka_unit_test(test_read_does_not_block_writes),
        cmocka_unit_test(test_select_filters),
        cmocka_unit_test(test_reader_alone),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
