/* test_queue_reliability.c - the SQLite queue's guarantees beyond SQS: a dead owner's
 * receives are taken back at open, one owner per file, releases that do not count,
 * dead-lettering at once, a DLQ kept by default, and idempotency records. */
#include "common.h"
#include "queue.h"
#include "queue_sqlite.h"
#include "queue_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void opts_for(struct cl_queue_opts *o, int owner, int max_receive_count)
{
    cl_queue_opts_default(o);
    o->durability_full = 0;
    o->owner = owner;
    o->max_receive_count = max_receive_count;
}

/* Opens cl_qt_dir/name (kept between opens) with the fake clock. */
static void open_q(struct cl_queue *q, const char *name, const struct cl_queue_opts *o)
{
    char path[600], err[256];
    cl_qt_db_path(path, sizeof path, name);
    if (cl_queue_open(q, path, o, err, sizeof err) != CL_OK)
        fail_msg("open %s: %s", path, err);
    assert_int_equal(cl_queue_sqlite_set_clock(q, cl_qt_clock, NULL), CL_OK);
    /* The open ran on the real clock: keep the fake one from running behind it. */
    cl_qt_now_ms = CL_MAX(cl_qt_now_ms, cl_now_ms() + 1);
}

static void send_n(struct cl_queue *q, int n)
{
    for (int i = 0; i < n; i++) {
        struct cl_msg_out m = {.body = "body", .len = 4};
        snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "gzip");
        assert_int_equal(cl_queue_send(q, &m, 1), CL_OK);
    }
}

static struct cl_msg *receive_exactly(struct cl_queue *q, size_t want, int visibility_s)
{
    struct cl_msg *m = NULL;
    size_t n = 0;
    assert_int_equal(cl_queue_receive(q, want, visibility_s, 0, &m, &n), CL_OK);
    assert_int_equal(n, want);
    return m;
}

static uint64_t dlq_depth(struct cl_queue *q)
{
    struct cl_queue_stats st;
    assert_int_equal(cl_queue_stats(q, &st), CL_OK);
    return st.dlq_depth;
}

/* An owner that stops holding messages (as a kill -9 leaves them: nothing given back)
 * hands them to the next owner visible at once, with that receive not counted; a
 * message its holder gave back with an error keeps its count and its backoff. */
static void test_owner_takes_back_dead_receives(void **state)
{
    (void)state;
    struct cl_queue q;
    struct cl_queue_opts o;
    opts_for(&o, 1, 5);
    cl_qt_now_ms = cl_now_ms();
    open_q(&q, "owner.db", &o);
    send_n(&q, 3);
    struct cl_msg *m = receive_exactly(&q, 3, 600);
    assert_int_equal(m[0].receive_count, 1);
    assert_int_equal(cl_queue_change_visibility(&q, m[2].receipt, 300, "store failed"), CL_OK);
    cl_msgs_free(m, 3);
    cl_queue_close(&q); /* leaves ids 1 and 2 held, as a dead process would */

    open_q(&q, "owner.db", &o);
    m = receive_exactly(&q, 2, 600); /* at once, not after 600 s */
    assert_string_equal(m[0].id, "1");
    assert_string_equal(m[1].id, "2");
    assert_int_equal(m[0].receive_count, 1); /* the dead owner's receive was taken back */
    assert_int_equal(m[1].receive_count, 1);
    cl_msgs_free(m, 2);
    cl_qt_now_ms += 301 * 1000;
    m = receive_exactly(&q, 1, 600);
    assert_string_equal(m[0].id, "3");
    assert_int_equal(m[0].receive_count, 2); /* a failed delivery counts */
    cl_msgs_free(m, 1);
    cl_queue_close(&q);
}

/* Twenty crash cycles with max_receive_count 2: nothing reaches the DLQ. */
static void test_crash_cycles_never_dead_letter(void **state)
{
    (void)state;
    struct cl_queue q;
    struct cl_queue_opts o;
    opts_for(&o, 1, 2);
    cl_qt_now_ms = cl_now_ms();
    open_q(&q, "cycles.db", &o);
    send_n(&q, 4);
    cl_queue_close(&q);
    for (int i = 0; i < 20; i++) {
        open_q(&q, "cycles.db", &o);
        struct cl_msg *m = receive_exactly(&q, 4, 60);
        assert_int_equal(m[3].receive_count, 1);
        cl_msgs_free(m, 4);
        cl_queue_close(&q);
    }
    open_q(&q, "cycles.db", &o);
    assert_int_equal(dlq_depth(&q), 0);
    cl_queue_close(&q);
}

/* A second owner is refused while the first lives; tools (owner 0) may still open. */
static void test_one_owner(void **state)
{
    (void)state;
    struct cl_queue a, b, tool;
    struct cl_queue_opts o, t;
    opts_for(&o, 1, 5);
    opts_for(&t, 0, 5);
    open_q(&a, "one.db", &o);
    send_n(&a, 1);
    struct cl_msg *m = receive_exactly(&a, 1, 600);
    char path[600], err[256] = "";
    cl_qt_db_path(path, sizeof path, "one.db");
    assert_int_not_equal(cl_queue_open(&b, path, &o, err, sizeof err), CL_OK);
    assert_non_null(strstr(err, "in use by another cloudlog serve"));
    open_q(&tool, "one.db", &t);
    struct cl_msg *none = NULL;
    size_t n = 9;
    /* The tool's open released nothing: the owner's message is still hidden. */
    assert_int_equal(cl_queue_receive(&tool, 1, 60, 0, &none, &n), CL_OK);
    assert_int_equal(n, 0);
    cl_queue_close(&tool);
    assert_int_equal(cl_queue_delete(&a, (const char *const *)&m[0].receipt, 1, NULL), CL_OK);
    cl_msgs_free(m, 1);
    cl_queue_close(&a);
    open_q(&b, "one.db", &o); /* free again */
    cl_queue_close(&b);
}

/* release: visible after the delay, that receive not counted, so a pipeline failure
 * repeated any number of times never moves the message to the DLQ. */
static void test_release_does_not_count(void **state)
{
    (void)state;
    struct cl_queue q;
    struct cl_queue_opts o;
    opts_for(&o, 1, 2);
    cl_qt_now_ms = cl_now_ms();
    open_q(&q, "release.db", &o);
    send_n(&q, 1);
    for (int i = 0; i < 10; i++) {
        struct cl_msg *m = receive_exactly(&q, 1, 60);
        assert_int_equal(m[0].receive_count, 1);
        assert_int_equal(cl_queue_release(&q, m[0].receipt, 5, "store unreachable"), CL_OK);
        /* The giver's receipt is spent. */
        assert_int_equal(cl_queue_release(&q, m[0].receipt, 0, NULL), CL_ERR_STALE);
        cl_msgs_free(m, 1);
        struct cl_msg *none = NULL;
        size_t n = 9;
        assert_int_equal(cl_queue_receive(&q, 1, 60, 0, &none, &n), CL_OK);
        assert_int_equal(n, 0); /* hidden for the delay */
        cl_qt_now_ms += 5000;
    }
    assert_int_equal(dlq_depth(&q), 0);
    cl_queue_close(&q);
}

/* dead_letter: to the DLQ at the first receive, with the reason as last_error. */
static void test_dead_letter_at_once(void **state)
{
    (void)state;
    struct cl_queue q;
    struct cl_queue_opts o;
    opts_for(&o, 1, 5);
    cl_qt_now_ms = cl_now_ms();
    open_q(&q, "poison.db", &o);
    send_n(&q, 2);
    struct cl_msg *m = receive_exactly(&q, 2, 60);
    assert_int_equal(cl_queue_dead_letter(&q, m[0].receipt, "not gzip"), CL_OK);
    assert_int_equal(cl_queue_dead_letter(&q, m[0].receipt, "again"), CL_ERR_STALE);
    cl_msgs_free(m, 2);
    struct cl_msg *d = NULL;
    size_t n = 0;
    assert_int_equal(cl_queue_dlq_list(&q, NULL, 10, 0, &d, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].id, "1");
    assert_int_equal(d[0].receive_count, 1);
    assert_string_equal(d[0].last_error, "not gzip");
    cl_msgs_free(d, n);
    struct cl_queue_stats st;
    assert_int_equal(cl_queue_stats(&q, &st), CL_OK);
    assert_int_equal(st.visible + st.inflight, 1);
    cl_queue_close(&q);
}

/* Without a DLQ retention the DLQ keeps its messages, however old. */
static void test_dlq_kept_by_default(void **state)
{
    (void)state;
    struct cl_queue q;
    struct cl_queue_opts o;
    opts_for(&o, 1, 5);
    o.retention_s = 1000LL * 86400; /* the main queue's retention is another matter */
    cl_qt_now_ms = cl_now_ms();
    open_q(&q, "keep.db", &o);
    send_n(&q, 1);
    struct cl_msg *m = receive_exactly(&q, 1, 60);
    assert_int_equal(cl_queue_dead_letter(&q, m[0].receipt, "poison"), CL_OK);
    cl_msgs_free(m, 1);
    cl_qt_now_ms += 365LL * 86400 * 1000;
    struct cl_msg *none = NULL;
    size_t n = 0;
    assert_int_equal(cl_queue_receive(&q, 1, 60, 0, &none, &n), CL_OK); /* runs retention */
    assert_int_equal(dlq_depth(&q), 1);
    cl_queue_close(&q);
}

static struct cl_idem make_idem(const char *key, char fp, const char *answer)
{
    struct cl_idem k = {.key = key, .status = 202, .answer = answer, .answer_len = strlen(answer)};
    memset(k.fingerprint, fp, sizeof k.fingerprint);
    return k;
}

/* A key is stored with its messages; the same key again adds nothing; it is forgotten
 * after the window. */
static void test_idempotency_records(void **state)
{
    (void)state;
    struct cl_queue q;
    struct cl_queue_opts o;
    opts_for(&o, 1, 5);
    o.idempotency_window_s = 3600;
    cl_qt_now_ms = cl_now_ms();
    open_q(&q, "idem.db", &o);
    struct cl_msg_out msg = {.body = "body", .len = 4};
    struct cl_idem k = make_idem("key-1", 'a', "{\"accepted\":1}");
    struct cl_idem_answer a;
    assert_int_equal(cl_queue_idem_get(&q, "key-1", &a), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_queue_send_keyed(&q, &msg, 1, &k), CL_OK);
    struct cl_idem k2 = make_idem("key-1", 'b', "other");
    assert_int_equal(cl_queue_send_keyed(&q, &msg, 1, &k2), CL_ERR_EXISTS);
    struct cl_queue_stats st;
    assert_int_equal(cl_queue_stats(&q, &st), CL_OK);
    assert_int_equal(st.visible, 1); /* the second send added nothing */
    assert_int_equal(cl_queue_idem_get(&q, "key-1", &a), CL_OK);
    assert_int_equal(a.status, 202);
    assert_string_equal(a.answer, "{\"accepted\":1}");
    assert_int_equal(a.fingerprint[0], 'a');
    free(a.answer);
    cl_qt_now_ms += 3601 * 1000;
    assert_int_equal(cl_queue_idem_get(&q, "key-1", &a), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_queue_send_keyed(&q, &msg, 1, &k2), CL_OK); /* purged, then reused */
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_takes_back_dead_receives),
        cmocka_unit_test(test_crash_cycles_never_dead_letter),
        cmocka_unit_test(test_one_owner),
        cmocka_unit_test(test_release_does_not_count),
        cmocka_unit_test(test_dead_letter_at_once),
        cmocka_unit_test(test_dlq_kept_by_default),
        cmocka_unit_test(test_idempotency_records),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
