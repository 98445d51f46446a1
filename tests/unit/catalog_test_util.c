/* catalog_test_util.c - what the catalog tests share (see catalog_test_util.h). */
#include "catalog_test_util.h"

#include "common.h"
#include "queue_sqlite.h"
#include "queue_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>

void open_path(struct cl_queue *q, const char *path, int max_receive_count)
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

void open_fresh(struct cl_queue *q, const char *name, int max_receive_count)
{
    char path[600];
    cl_qt_db_path(path, sizeof path, name);
    cl_qt_remove_db(path);
    cl_qt_now_ms = cl_now_ms();
    open_path(q, path, max_receive_count);
}

void send_n(struct cl_queue *q, int n)
{
    for (int i = 0; i < n; i++) {
        struct cl_msg_out m = {.body = "body", .len = 4};
        m.attrs.record_count = 10;
        snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "gzip");
        assert_int_equal(cl_queue_send(q, &m, 1), CL_OK);
    }
}

struct cl_msg *receive_exactly(struct cl_queue *q, size_t want)
{
    struct cl_msg *m = NULL;
    size_t n;
    assert_int_equal(cl_queue_receive(q, want, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, want);
    return m;
}

struct cl_catalog_object make_obj(const char *key, const char *staging)
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

int64_t count_rows(struct cl_queue *q, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(cl_queue_sqlite_db(q), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int done_of(struct cl_queue *q, const char *msg_id, const char *partition)
{
    int done = -1;
    assert_int_equal(cl_catalog_partition_done(cl_queue_catalog(q), msg_id, partition, &done),
                     CL_OK);
    return done;
}

int referenced(struct cl_queue *q, const char *staging_key)
{
    int ref = -1;
    assert_int_equal(cl_catalog_staging_referenced(cl_queue_catalog(q), staging_key, &ref), CL_OK);
    return ref;
}

int64_t commit_progress(struct cl_queue *q, const struct cl_catalog_object *obj,
                        const char *const *ids, size_t n)
{
    int64_t object_id = 0;
    struct cl_catalog_flush f = {
        .obj = obj, .msg_ids = ids, .n_msg_ids = n, .object_id = &object_id};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(q), &f, NULL), CL_OK);
    assert_true(object_id > 0);
    return object_id;
}

void copy_ids(const struct cl_msg *m, size_t n, char (*idb)[24], const char **ids)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(idb[i], sizeof idb[i], "%s", m[i].id);
        ids[i] = idb[i];
    }
}
