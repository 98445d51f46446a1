/* test_queue_checkpoint.c - WAL checkpoints of the SQLite queue run on the checkpointer
 * thread's connection, not inside the queue connection's commits
 * (queue_sqlite_checkpoint.c). */
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
#include <string.h>
#include <time.h>

#define BODY_LEN (16 * 1024)
#define SENDS 200 /* 200 commits of 16 KiB: ~900 WAL pages past the threshold of 1000 */

static struct cl_queue_sqlite_counters counters_of(struct cl_queue *q)
{
    struct cl_queue_sqlite_counters c;
    assert_int_equal(cl_queue_sqlite_counters(q, &c), CL_OK);
    return c;
}

static void test_checkpoints_run_off_the_commit(void **state)
{
    (void)state;
    struct cl_queue q;
    cl_qt_open_fresh(&q, "ckpt.db", NULL);
    static char body[BODY_LEN];
    memset(body, 'x', sizeof body);
    for (int i = 0; i < SENDS; i++) {
        snprintf(body, 16, "%06d", i); /* distinct pages */
        struct cl_msg_out m = {body, sizeof body, {.record_count = 1, .encoding = "gzip"}};
        assert_int_equal(cl_queue_send(&q, &m, 1), CL_OK);
    }
    /* The checkpointer runs asynchronously: wait for it, bounded (10 s of 10 ms). */
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 1000 && counters_of(&q).checkpoints == 0; i++)
        nanosleep(&tick, NULL);
    struct cl_queue_sqlite_counters c = counters_of(&q);
    assert_true(c.checkpoints >= 1);
    assert_int_equal(c.inline_checkpoints, 0);
    /* Nothing got lost on the way: the messages are all there. */
    cl_qt_assert_stats(&q, SENDS, 0, 0);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoints_run_off_the_commit),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
