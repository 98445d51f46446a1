/* test_queue_catalog_read.c - catalog reads (catalog_read.c), the query planner's: they
 * do not block the queue's writes, cl_catalog_select's filters and pruning, and the
 * read-only catalog opened alone (cl_catalog_open_reader). */
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

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
        cmocka_unit_test(test_read_does_not_block_writes),
        cmocka_unit_test(test_select_filters),
        cmocka_unit_test(test_reader_alone),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
