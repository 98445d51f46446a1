/* test_pipeline_process_idle.c - the idle flush of workers sharing a clock of receives
 * (cl_process_opts.any_received_ms): a worker whose own receives find nothing keeps its
 * buffers while another worker still receives, and flushes them once none has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "ingest.h"
#include "process.h"
#include "queue.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_no_idle_flush_while_another_worker_receives(void **state)
{
    (void)state;
    const char *tmp = getenv("CL_TMPDIR") ? getenv("CL_TMPDIR") : "/tmp";
    char dir[256], url[320], logs[320], err[256];
    snprintf(dir, sizeof dir, "%s/cl-idle-XXXXXX", tmp);
    assert_non_null(mkdtemp(dir));
    snprintf(url, sizeof url, "sqlite:%s/queue.db", dir);
    snprintf(logs, sizeof logs, "%s/logs", dir);
    struct cl_queue q;
    struct cl_store st;
    struct cl_queue_opts qo;
    cl_queue_opts_default(&qo);
    qo.durability_full = 0;
    assert_int_equal(cl_queue_open(&q, url, &qo, err, sizeof err), CL_OK);
    assert_int_equal(cl_store_open(&st, logs, err, sizeof err), CL_OK);

    /* one message of one record, queued as ingest queues it */
    const char *body = "{\"msg\":\"a\",\"service\":\"api\",\"ts\":1800000000000}\n";
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    lim.max_record_age_ms = lim.max_record_future_ms = 0;
    struct cl_ingest_batch b;
    struct cl_ingest_parse_result r;
    cl_ingest_batch_init(&b);
    cl_ingest_parse_result_init(&r);
    assert_int_equal(cl_ingest_parse(body, strlen(body), NULL, cl_now_ms(), &lim, &b, &r), CL_OK);
    assert_int_equal(cl_queue_send(&q, b.msgs, b.n_msgs), CL_OK);
    cl_ingest_batch_free(&b);
    cl_ingest_parse_result_free(&r);

    atomic_int_fast64_t any_received;
    atomic_init(&any_received, 0);
    struct cl_process_opts o;
    cl_process_opts_default(&o);
    o.flush_age_ms = 3600 * 1000; /* only the idle flush can store it */
    o.flush_idle_ms = 1;
    o.any_received_ms = &any_received;
    struct cl_processor *p = cl_processor_new(&q, &st, &o, NULL);
    assert_int_equal(cl_processor_step(p, 0), 1);
    assert_true(atomic_load(&any_received) > 0); /* its receive set the shared clock */

    /* another worker received "now" (as far as this one can tell, for the next hour) */
    atomic_store(&any_received, cl_now_ms() + 3600 * 1000);
    struct cl_process_counters c;
    for (int i = 0; i < 20; i++)
        assert_int_equal(cl_processor_step(p, 2), 0);
    cl_processor_counters(p, &c);
    assert_int_equal(c.objects_written, 0);

    /* no worker has received since: the buffers are stored */
    atomic_store(&any_received, 0);
    for (int i = 0; i < 200 && c.objects_written == 0; i++) { /* bounded: 200 steps of 5 ms */
        assert_int_equal(cl_processor_step(p, 5), 0);
        cl_processor_counters(p, &c);
    }
    assert_int_equal(c.objects_written, 1);
    assert_int_equal(c.messages_deleted, 1);

    cl_processor_free(p);
    cl_store_close(&st);
    cl_queue_close(&q);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_idle_flush_while_another_worker_receives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
