/* test_pipeline_process_delete_fail.c - the processor over a real SQLite queue and
 * directory store when the delete after the catalog commit fails (a TEMP trigger on the
 * leases): the message, stored, is not counted as deleted, does not reach the DLQ on its
 * last allowed receive, and its next receive stores nothing and deletes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "catalog_test_util.h"
#include "common.h"
#include "msg_fixture.h"
#include "process.h"
#include "queue_sqlite.h"
#include "queue_test_util.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A store under the test's directory, and one message of one record sent. */
static void open_store_and_send(struct cl_queue *q, struct cl_store *st)
{
    char logs[600], err[256];
    snprintf(logs, sizeof logs, "%s/logs", cl_qt_dir);
    assert_int_equal(cl_store_open(st, logs, err, sizeof err), CL_OK);
    struct cl_ingest_batch b;
    const struct cl_msg_out *m =
        cl_test_message(&b, "{\"msg\":\"a1\",\"service\":\"api\",\"ts\":1800000000000}\n");
    assert_int_equal(cl_queue_send(q, m, 1), CL_OK);
    cl_ingest_batch_free(&b);
}

static void exec_sql(struct cl_queue *q, const char *sql)
{
    assert_int_equal(sqlite3_exec(cl_queue_sqlite_db(q), sql, NULL, NULL, NULL), SQLITE_OK);
}

static void test_failed_delete_not_counted_not_dead_lettered(void **state)
{
    (void)state;
    struct cl_queue q;
    struct cl_store st;
    open_fresh(&q, "queue.db", 1); /* the first receive is the last allowed one */
    open_store_and_send(&q, &st);
    struct cl_process_opts o;
    cl_process_opts_default(&o);
    o.flush_age_ms = 0;  /* flush at every step */
    o.flush_idle_ms = 0; /* no flush by real time */
    struct cl_processor *p = cl_processor_new(&q, &st, &o, NULL);
    exec_sql(&q, "CREATE TEMP TRIGGER fail_del BEFORE DELETE ON main.leases BEGIN"
                 " SELECT RAISE(FAIL, 'injected'); END");
    assert_int_equal(cl_processor_step(p, 0), 1);
    exec_sql(&q, "DROP TRIGGER temp.fail_del");
    struct cl_process_counters c;
    cl_processor_counters(p, &c);
    assert_int_equal(c.objects_written, 1);
    assert_int_equal(c.messages_deleted, 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 1);
    assert_int_equal(count_rows(&q, "SELECT receive_count FROM leases"), 0);
    /* Received again at once (no clock move), found stored, deleted; not to the DLQ. */
    for (int i = 0; i < 5 && count_rows(&q, "SELECT count(*) FROM messages") > 0; i++)
        cl_processor_step(p, 0);
    cl_processor_counters(p, &c);
    assert_int_equal(c.objects_written, 1);
    assert_int_equal(c.messages_deleted, 1);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM messages"), 0);
    assert_int_equal(count_rows(&q, "SELECT count(*) FROM dlq"), 0);
    cl_processor_free(p);
    cl_store_close(&st);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_delete_not_counted_not_dead_lettered),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
