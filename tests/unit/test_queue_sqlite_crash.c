/* test_queue_sqlite_crash.c - the SQLite queue under kill -9: every acknowledged send is
 * stored and the file passes integrity_check after each crash. */
#include "common.h"
#include "queue.h"
#include "queue_sqlite.h"
#include "queue_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

/* Child of the crash test: sends from 4 threads forever, reporting each acked seq. */
struct crash_arg {
    struct cl_queue *q;
    int fd;
    int32_t base;
};

static void *crash_sender(void *p)
{
    struct crash_arg *a = p;
    for (int i = 0;; i++) {
        char body[32];
        int32_t seq = a->base + i;
        struct cl_msg_out m = cl_qt_make_msg(body, seq);
        if (cl_queue_send(a->q, &m, 1) != CL_OK)
            _exit(3);
        if (write(a->fd, &seq, sizeof seq) != sizeof seq) /* atomic: < PIPE_BUF */
            _exit(4);
    }
    return NULL;
}

static void crash_child(const char *path, int fd, int32_t base)
{
    struct cl_queue q;
    struct cl_queue_opts o;
    char err[256];
    cl_queue_opts_default(&o);
    o.durability_full = 0; /* kill -9 needs no fsync; WAL + NORMAL must survive it */
    if (cl_queue_open(&q, path, &o, err, sizeof err) != CL_OK)
        _exit(2);
    struct crash_arg args[4];
    pthread_t th[4];
    for (int t = 0; t < 4; t++) {
        args[t] = (struct crash_arg){&q, fd, base + t * 1000000};
        pthread_create(&th[t], NULL, crash_sender, &args[t]);
    }
    pthread_join(th[0], NULL);
    _exit(0);
}

/* Checks every acked seq is stored and the file passes integrity_check. */
static void verify_crash_db(const char *path, const int32_t *acked, size_t nacked)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM messages WHERE body = ?1", -1, &st, NULL),
        SQLITE_OK);
    for (size_t i = 0; i < nacked; i++) {
        char body[32];
        snprintf(body, sizeof body, "body-%06d", (int)acked[i]);
        sqlite3_bind_blob(st, 1, body, (int)strlen(body), SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        if (sqlite3_column_int(st, 0) != 1)
            fail_msg("acknowledged message %s lost", body);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_kill9(void **state)
{
    char path[600];
    cl_qt_db_path(path, sizeof path, "crash.db");
    cl_qt_remove_db(path);
    srand((unsigned)time(NULL));
    size_t cap = 1 << 20, total = 0;
    int32_t *acked = malloc(cap * sizeof *acked);
    for (int round = 0; round < 5; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(path, fds[1], round * 10000000);
        }
        close(fds[1]);
        /* The kill lands while sends are under way: after the child's first acknowledged
         * send (its open can take longer than the delay on a loaded machine under ASan),
         * waited for up to 30 s, then 100-500 ms later. */
        size_t before = total;
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int32_t seq;
        if (poll(&pfd, 1, 30000) == 1 && read(fds[0], &seq, sizeof seq) == sizeof seq)
            acked[total++] = seq;
        usleep((useconds_t)(100000 + rand() % 400000));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));
        ssize_t r;
        while ((r = read(fds[0], &seq, sizeof seq)) == sizeof seq && total < cap)
            acked[total++] = seq;
        close(fds[0]);
        print_message("crash round %d: %zu acknowledged sends\n", round, total - before);
        assert_true(total > before);
        verify_crash_db(path, acked + before, total - before);
    }
    free(acked);
    /* The queue opens and works after the crashes. */
    struct cl_queue q;
    char err[256];
    assert_int_equal(cl_queue_open(&q, path, NULL, err, sizeof err), CL_OK);
    assert_true(cl_qt_stats_of(&q).visible >= total);
    assert_int_equal(cl_queue_ping(&q), CL_OK);
    cl_qt_send_n(&q, 0, 1);
    cl_queue_close(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9),
    };
    return cmocka_run_group_tests(tests, cl_qt_setup_dir, NULL);
}
