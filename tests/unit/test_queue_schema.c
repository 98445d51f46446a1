/* test_queue_schema.c - the SQLite queue file's schema 4: migration of a version 3 file
 * (made here with the SQL the previous release ran) and the receive that writes the
 * lease, never the message body (queue_sqlite_schema.c). */
#include "catalog.h"
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
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The version 3 schema exactly as the previous release created it: version 1, then the
 * 1 -> 2 and 2 -> 3 migrations. */
static const char v3_sql[] =
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
    "INSERT INTO meta (key, value) VALUES ('schema_version', 1);"
    "CREATE TABLE objects (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE NOT NULL,"
    " staging_key TEXT, service TEXT NOT NULL, dt TEXT NOT NULL, hour INTEGER NOT NULL,"
    " records INTEGER NOT NULL, bytes INTEGER NOT NULL, raw_bytes INTEGER NOT NULL,"
    " min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, n_trace INTEGER, n_debug INTEGER,"
    " n_info INTEGER, n_warn INTEGER, n_error INTEGER, n_fatal INTEGER,"
    " created_at INTEGER NOT NULL, published INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX objects_partition ON objects(service, dt, hour);"
    "CREATE INDEX objects_unpublished ON objects(staging_key) WHERE published = 0;"
    "CREATE TABLE progress (msg_id INTEGER NOT NULL, partition TEXT NOT NULL,"
    " PRIMARY KEY (msg_id, partition)) WITHOUT ROWID;"
    "UPDATE meta SET value = 2 WHERE key = 'schema_version';"
    "ALTER TABLE messages ADD COLUMN holder INTEGER;"
    "CREATE INDEX messages_held ON messages(holder) WHERE holder IS NOT NULL;"
    "CREATE TABLE idempotency (key TEXT PRIMARY KEY, fingerprint BLOB NOT NULL,"
    " status INTEGER NOT NULL, answer BLOB NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX idempotency_created ON idempotency(created_at);"
    "UPDATE meta SET value = 3 WHERE key = 'schema_version';"
    "CREATE INDEX objects_published ON objects(dt, hour, service) WHERE published = 1;";

static int64_t query_int(struct cl_queue *q, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(cl_queue_sqlite_db(q), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void open_at(struct cl_queue *q, const char *path, int owner)
{
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 0;
    o.max_receive_count = 3;
    o.owner = owner;
    char err[256];
    if (cl_queue_open(q, path, &o, err, sizeof err) != CL_OK)
        fail_msg("open %s: %s", path, err);
}

/* A version 3 file: message 1 visible, 2 in flight held by a dead owner (epoch 7), 3
 * visible after two failed receives, 9 in the DLQ, and ids up to 40 given out before
 * (sqlite_sequence 40). Message 2 has stored one partition (progress). */
static void make_v3_file(const char *path, int64_t now)
{
    cl_qt_remove_db(path);
    char sql[4096];
    long long t = (long long)now;
    snprintf(sql, sizeof sql,
             "%s"
             "INSERT INTO messages (id, body, record_count, raw_bytes, min_ts, max_ts, encoding,"
             " sent_at, visible_at, receive_count, first_receive_at, last_error, holder) VALUES"
             " (1, x'6f6e65', 1, 10, 1, 2, 'gzip', %lld, %lld, 0, NULL, NULL, NULL),"
             " (2, x'74776f', 2, 20, 3, 4, 'gzip', %lld, %lld, 1, %lld, NULL, 7),"
             " (3, x'7468726565', 3, 30, 5, 6, 'gzip', %lld, %lld, 2, %lld, 'boom', NULL);"
             "INSERT INTO dlq (id, body, record_count, raw_bytes, min_ts, max_ts, encoding,"
             " sent_at, receive_count, first_receive_at, last_error, moved_at) VALUES"
             " (9, x'6e696e65', 9, 90, 1, 2, 'gzip', %lld, 3, %lld, 'poison', %lld);"
             "INSERT INTO progress VALUES (2, 'service=a/dt=2026-01-01/hour=00');"
             "UPDATE sqlite_sequence SET seq = 40 WHERE name = 'messages';",
             v3_sql, t - 5000, t - 5000, t - 4000, t + 600000, t - 3000, t - 3000, t - 2000,
             t - 2000, t - 9000, t - 9000, t - 1000);
    cl_qt_exec_sql(path, sql);
}

static struct cl_msg *receive_n(struct cl_queue *q, size_t want)
{
    struct cl_msg *m = NULL;
    size_t n = 0;
    assert_int_equal(cl_queue_receive(q, 10, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, want);
    return m;
}

static void test_v3_file_migrates_and_drains(void **state)
{
    (void)state;
    char path[600];
    cl_qt_db_path(path, sizeof path, "v3.db");
    make_v3_file(path, cl_now_ms());
    struct cl_queue q;
    open_at(&q, path, 1);
    assert_int_equal(query_int(&q, "SELECT value FROM meta WHERE key = 'schema_version'"), 4);
    assert_int_equal(query_int(&q, "SELECT count(*) FROM pragma_table_info('messages')"
                                   " WHERE name IN ('visible_at', 'receive_count', 'holder')"),
                     0);
    assert_int_equal(query_int(&q, "SELECT count(*) FROM leases"), 3);
    assert_int_equal(query_int(&q, "SELECT seq FROM sqlite_sequence WHERE name = 'messages'"), 40);
    /* The dead owner's message is visible again, that receive uncounted. */
    cl_qt_assert_stats(&q, 3, 0, 1);
    struct cl_queue_stats st = cl_qt_stats_of(&q);
    assert_int_equal(st.records, 6);
    assert_int_equal(st.bytes, 11);

    /* Oldest visible_at first; the released message became visible at the open. */
    struct cl_msg *m = receive_n(&q, 3);
    assert_string_equal(m[0].id, "1");
    assert_int_equal(m[0].receive_count, 1);
    assert_null(m[0].last_error);
    assert_string_equal(m[1].id, "3");
    assert_int_equal(m[1].receive_count, 3);
    assert_string_equal(m[1].last_error, "boom");
    assert_memory_equal(m[1].body, "three", 5);
    assert_int_equal(m[1].attrs.raw_bytes, 30);
    assert_int_equal(m[1].attrs.min_ts_ms, 5);
    assert_string_equal(m[2].id, "2");
    assert_int_equal(m[2].receive_count, 1);
    assert_memory_equal(m[2].body, "two", 3);
    const char *receipts[3] = {m[0].receipt, m[1].receipt, m[2].receipt};
    int results[3];
    assert_int_equal(cl_queue_delete(&q, receipts, 3, results), CL_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(results[i], CL_OK);
    cl_msgs_free(m, 3);
    cl_qt_assert_stats(&q, 0, 0, 1);
    assert_int_equal(query_int(&q, "SELECT count(*) FROM leases"), 0);
    assert_int_equal(query_int(&q, "SELECT count(*) FROM progress"), 0);

    /* The DLQ entry keeps its history and redrives into a lease. */
    size_t moved = 0;
    assert_int_equal(cl_queue_dlq_redrive(&q, NULL, 0, &moved), CL_OK);
    assert_int_equal(moved, 1);
    m = receive_n(&q, 1);
    assert_string_equal(m[0].id, "9");
    assert_int_equal(m[0].receive_count, 1);
    cl_msgs_free(m, 1);

    /* No id is reused: the sequence went on from 40. */
    char body[32];
    struct cl_msg_out out = cl_qt_make_msg(body, 1);
    assert_int_equal(cl_queue_send(&q, &out, 1), CL_OK);
    assert_int_equal(query_int(&q, "SELECT max(id) FROM messages"), 41);
    cl_queue_close(&q);

    /* Reopening a version 4 file migrates nothing and keeps everything. */
    open_at(&q, path, 1);
    assert_int_equal(query_int(&q, "SELECT value FROM meta WHERE key = 'schema_version'"), 4);
    assert_int_equal(query_int(&q, "SELECT count(*) FROM leases"), 2);
    cl_queue_close(&q);
}

static void test_catalog_reader_opens_v3_file(void **state)
{
    (void)state;
    char path[600], err[256];
    cl_qt_db_path(path, sizeof path, "v3-reader.db");
    make_v3_file(path, cl_now_ms());
    struct cl_catalog *c = NULL;
    assert_int_equal(cl_catalog_open_reader(path, &c, err, sizeof err), CL_OK);
    cl_catalog_close(c);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    char path[600], err[256];
    cl_qt_db_path(path, sizeof path, "v5.db");
    cl_qt_remove_db(path);
    char sql[4096];
    snprintf(sql, sizeof sql, "%sUPDATE meta SET value = 5;", v3_sql);
    cl_qt_exec_sql(path, sql);
    struct cl_queue q;
    assert_int_equal(cl_queue_open(&q, path, NULL, err, sizeof err), CL_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "version 5"));
}

/* The schema version of the file at path, read beside the queue (sqlite3 directly). */
static int64_t file_version(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* An older daemon still holding <file>-owner: neither a new serve nor the CLI migrates
 * the file under it (its statements would fail); once it is gone the CLI may. */
static void test_no_migration_under_a_running_owner(void **state)
{
    (void)state;
    char path[600], lock[640], err[512];
    cl_qt_db_path(path, sizeof path, "v3-owned.db");
    make_v3_file(path, cl_now_ms());
    snprintf(lock, sizeof lock, "%s-owner", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0); /* the "older daemon" */

    struct cl_queue q;
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.owner = 1;
    assert_int_equal(cl_queue_open(&q, path, &o, err, sizeof err), CL_ERR_FULL);
    assert_int_equal(file_version(path), 3);
    o.owner = 0;
    assert_int_equal(cl_queue_open(&q, path, &o, err, sizeof err), CL_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "stop that daemon"));
    assert_int_equal(file_version(path), 3);

    close(fd); /* the older daemon stopped */
    assert_int_equal(cl_queue_open(&q, path, &o, err, sizeof err), CL_OK);
    cl_queue_close(&q);
    assert_int_equal(file_version(path), 4);
}

/* A damaged meta page is a damaged file (CL_ERR_CORRUPT: the daemon quarantines it), not
 * a new file to create the schema in. */
static void test_damaged_meta_is_corrupt(void **state)
{
    (void)state;
    char path[600], err[512];
    cl_qt_db_path(path, sizeof path, "meta-damaged.db");
    cl_qt_remove_db(path);
    struct cl_queue q;
    open_at(&q, path, 1);
    int64_t root = query_int(&q, "SELECT rootpage FROM sqlite_master WHERE name = 'meta'");
    int64_t page = query_int(&q, "PRAGMA page_size");
    cl_queue_close(&q); /* checkpointed: the page is in the file */

    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    char *junk = malloc((size_t)page);
    memset(junk, 0xff, (size_t)page);
    assert_int_equal(fseeko(f, (off_t)((root - 1) * page), SEEK_SET), 0);
    assert_int_equal(fwrite(junk, 1, (size_t)page, f), (size_t)page);
    fclose(f);
    free(junk);

    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.owner = 1;
    assert_int_equal(cl_queue_open(&q, path, &o, err, sizeof err), CL_ERR_CORRUPT);
}

static off_t wal_size(const char *path)
{
    char wal[640];
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct stat sb;
    return stat(wal, &sb) == 0 ? sb.st_size : 0;
}

/* What a receive writes: the lease, a few small pages, never the 256 KiB body (version
 * 3 rewrote the row, body and all, into the WAL). */
static void test_receive_writes_lease_not_body(void **state)
{
    (void)state;
    char path[600];
    cl_qt_db_path(path, sizeof path, "lease.db");
    struct cl_queue q;
    cl_qt_open_fresh(&q, "lease.db", NULL);
    size_t len = 256 * 1024;
    unsigned char *body = cl_malloc(len);
    for (size_t i = 0; i < len; i++)
        body[i] = (unsigned char)(i * 2654435761u >> 13);
    struct cl_msg_out out = {body, len, {.record_count = 1, .encoding = "gzip"}};
    assert_int_equal(cl_queue_send(&q, &out, 1), CL_OK);
    sqlite3 *db = cl_queue_sqlite_db(&q);
    assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(wal_size(path), 0);

    struct cl_msg *m = receive_n(&q, 1);
    assert_int_equal(m[0].len, len);
    assert_memory_equal(m[0].body, body, len);
    off_t after_receive = wal_size(path);
    assert_true(after_receive > 0);
    assert_true(after_receive < 64 * 1024);

    /* A stale receipt still matches nothing once the lease moved on. */
    assert_int_equal(cl_queue_change_visibility(&q, m[0].receipt, 0, NULL), CL_OK);
    struct cl_msg *again = receive_n(&q, 1);
    const char *stale = m[0].receipt;
    int result = 0;
    assert_int_equal(cl_queue_delete(&q, &stale, 1, &result), CL_OK);
    assert_int_equal(result, CL_ERR_STALE);
    const char *cur = again[0].receipt;
    assert_int_equal(cl_queue_delete(&q, &cur, 1, &result), CL_OK);
    assert_int_equal(result, CL_OK);
    cl_msgs_free(m, 1);
    cl_msgs_free(again, 1);
    free(body);
    cl_qt_assert_stats(&q, 0, 0, 0);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v3_file_migrates_and_drains),
        cmocka_unit_test(test_catalog_reader_opens_v3_file),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_no_migration_under_a_running_owner),
        cmocka_unit_test(test_damaged_meta_is_corrupt),
        cmocka_unit_test(test_receive_writes_lease_not_body),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
