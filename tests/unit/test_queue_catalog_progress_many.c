/* test_queue_catalog_progress_many.c - the progress of a whole receive asked at once
 * (cl_catalog_messages_have_progress, SQLite): the same answers as one message at a time,
 * an id this backend cannot read refused, and a queue without a catalog unsupported. */
#include "catalog.h"
#include "catalog_test_util.h"
#include "common.h"
#include "queue.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>

static void test_same_as_one_at_a_time(void **state)
{
    (void)state;
    struct cl_queue q;
    open_fresh(&q, "progress_many.db", 5);
    send_n(&q, 4);
    struct cl_msg *m = receive_exactly(&q, 4);
    char idb[4][24];
    const char *ids[4];
    copy_ids(m, 4, idb, ids);
    /* messages 1 and 3 have a partition stored by an earlier flush */
    const char *stored[2] = {ids[1], ids[3]};
    struct cl_catalog_object obj = make_obj(PART "/p.ndjson.gz", "_staging/p");
    assert_true(commit_progress(&q, &obj, stored, 2) > 0);

    int has[4] = {-1, -1, -1, -1};
    assert_int_equal(cl_catalog_messages_have_progress(cl_queue_catalog(&q), ids, 4, has), CL_OK);
    for (int i = 0; i < 4; i++) {
        int one = -1;
        assert_int_equal(cl_catalog_message_has_progress(cl_queue_catalog(&q), ids[i], &one),
                         CL_OK);
        assert_int_equal(has[i], one);
        assert_int_equal(has[i], i == 1 || i == 3);
    }
    assert_int_equal(cl_catalog_messages_have_progress(cl_queue_catalog(&q), ids, 0, has), CL_OK);

    /* only this backend reads its ids as numbers: another format is refused */
    const char *bad[2] = {ids[0], "7c2f-b"};
    assert_int_equal(cl_catalog_messages_have_progress(cl_queue_catalog(&q), bad, 2, has),
                     CL_ERR_INVAL);
    cl_msgs_free(m, 4);
    cl_queue_close(&q);
}

static void test_unsupported(void **state)
{
    (void)state;
    static const struct cl_queue_ops other = {.name = "other"};
    struct cl_queue q = {.ops = &other};
    const char *ids[1] = {"1"};
    int has[1];
    assert_int_equal(cl_catalog_messages_have_progress(cl_queue_catalog(&q), ids, 1, has),
                     CL_ERR_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_one_at_a_time),
        cmocka_unit_test(test_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
