/* test_pipeline_process_delete_fail.c - the processor over a real SQLite queue and
 * directory store when the delete after the catalog commit fails (a TEMP trigger on the
 * leases): the message, stored, is not counted as deleted, does not reach the DLQ on its
 * last allowed receive, and its next receive stores nothing and deletes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "catalog.h"
#include "common.h"
#include "ingest.h"
#include "process.h"
#include "queue_sqlite.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t fake_now_ms = 1800000000000LL;
static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now_ms;
}

struct env {
    char dir[256];
    struct cl_queue q;
    struct cl_store st;
    struct cl_process_opts o;
};

static void env_open(struct env *e, int max_receive_count)
{
    const char *tmp = getenv("CL_TMPDIR") ? getenv("CL_TMPDIR") : "/tmp";
    snprintf(e->dir, sizeof e->dir, "%s/cl-procdel-XXXXXX", tmp);
    assert_non_null(mkdtemp(e->dir));
    char path[400], logs[300], err[256];
    snprintf(path, sizeof path, "sqlite:%s/queue.db", e->dir);
    snprintf(logs, sizeof logs, "%s/logs", e->dir);
    struct cl_queue_opts qo;
    cl_queue_opts_default(&qo);
    qo.max_receive_count = max_receive_count;
    qo.durability_full = 0;
    assert_int_equal(cl_queue_open(&e->q, path, &qo, err, sizeof err), CL_OK);
    cl_queue_sqlite_set_clock(&e->q, fake_clock, NULL);
    assert_int_equal(cl_store_open(&e->st, logs, err, sizeof err), CL_OK);
    cl_process_opts_default(&e->o);
    e->o.flush_age_ms = 0;  /* flush at every step */
    e->o.flush_idle_ms = 0; /* no flush by real time */
}

static void env_close(struct env *e)
{
    cl_store_close(&e->st);
    cl_queue_close(&e->q);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
    assert_int_equal(system(cmd), 0);
}

/* Ingests an NDJSON body the way the daemon does and sends its messages. */
static void post(struct env *e, const char *ndjson)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    lim.max_record_age_ms = lim.max_record_future_ms = 0; /* fixed timestamps, any age */
    struct cl_ingest_batch b;
    struct cl_ingest_parse_result r;
    cl_ingest_batch_init(&b);
    cl_ingest_parse_result_init(&r);
    assert_int_equal(cl_ingest_parse(ndjson, strlen(ndjson), NULL, fake_now_ms, &lim, &b, &r),
                     CL_OK);
    assert_int_equal(cl_queue_send(&e->q, b.msgs, b.n_msgs), CL_OK);
    cl_ingest_batch_free(&b);
    cl_ingest_parse_result_free(&r);
}

static int64_t one_int(struct env *e, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(cl_queue_sqlite_db(&e->q), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void exec_sql(struct env *e, const char *sql)
{
    assert_int_equal(sqlite3_exec(cl_queue_sqlite_db(&e->q), sql, NULL, NULL, NULL), SQLITE_OK);
}

static void test_failed_delete_not_counted_not_dead_lettered(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 1); /* the first receive is the last allowed one */
    post(&e, "{\"msg\":\"a1\",\"service\":\"api\",\"ts\":1800000000000}\n");
    struct cl_processor *p = cl_processor_new(&e.q, &e.st, &e.o, NULL);
    exec_sql(&e, "CREATE TEMP TRIGGER fail_del BEFORE DELETE ON main.leases BEGIN"
                 " SELECT RAISE(FAIL, 'injected'); END");
    assert_int_equal(cl_processor_step(p, 0), 1);
    exec_sql(&e, "DROP TRIGGER temp.fail_del");
    struct cl_process_counters c;
    cl_processor_counters(p, &c);
    assert_int_equal(c.objects_written, 1);
    assert_int_equal(c.messages_deleted, 0);
    assert_int_equal(one_int(&e, "SELECT count(*) FROM messages"), 1);
    assert_int_equal(one_int(&e, "SELECT receive_count FROM leases"), 0);
    /* Received again at once (no clock move), found stored, deleted; not to the DLQ. */
    for (int i = 0; i < 5 && one_int(&e, "SELECT count(*) FROM messages") > 0; i++)
        cl_processor_step(p, 0);
    cl_processor_counters(p, &c);
    assert_int_equal(c.objects_written, 1);
    assert_int_equal(c.messages_deleted, 1);
    assert_int_equal(one_int(&e, "SELECT count(*) FROM messages"), 0);
    assert_int_equal(one_int(&e, "SELECT count(*) FROM dlq"), 0);
    cl_processor_free(p);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_delete_not_counted_not_dead_lettered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
