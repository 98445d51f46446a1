/* test_queue_sqlite.c - unit tests of the SQLite queue: semantics, counters, concurrency, crashes.
 */
#include "common.h"
#include "queue.h"
#include "queue_sqlite.h"

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
#include <time.h>
#include <unistd.h>

static char test_dir[512];
static int64_t fake_now_ms;

static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now_ms;
}

static void db_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", test_dir, name);
}

static void remove_db(const char *path)
{
    char p[600];
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < CL_ARRAY_LEN(suffixes); i++) {
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

/* Opens a fresh queue at test_dir/name with the fake clock at a fixed start. */
static void open_fresh(struct cl_queue *q, const char *name, struct cl_queue_opts *opts)
{
    char path[600], err[256];
    db_path(path, sizeof path, name);
    remove_db(path);
    struct cl_queue_opts defaults;
    if (!opts) {
        cl_queue_opts_default(&defaults);
        defaults.durability_full = 0;
        opts = &defaults;
    }
    int rc = cl_queue_open(q, path, opts, err, sizeof err);
    if (rc != CL_OK)
        fail_msg("open %s: %s", path, err);
    /* Near the real time: another handle opened without the fake clock must not see
     * these messages as expired. */
    fake_now_ms = cl_now_ms();
    assert_int_equal(cl_queue_sqlite_set_clock(q, fake_clock, NULL), CL_OK);
}

static struct cl_msg_out make_msg(char *body, int seq)
{
    struct cl_msg_out m;
    memset(&m, 0, sizeof m);
    snprintf(body, 32, "body-%06d", seq);
    m.body = body;
    m.len = strlen(body);
    m.attrs.record_count = (uint32_t)seq + 1;
    m.attrs.raw_bytes = 1000u + (uint64_t)seq;
    m.attrs.min_ts_ms = 100 + seq;
    m.attrs.max_ts_ms = 200 + seq;
    snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "gzip");
    return m;
}

static void send_n(struct cl_queue *q, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char body[32];
        struct cl_msg_out m = make_msg(body, i);
        assert_int_equal(cl_queue_send(q, &m, 1), CL_OK);
    }
}

static struct cl_queue_stats stats_of(struct cl_queue *q)
{
    struct cl_queue_stats st;
    assert_int_equal(cl_queue_stats(q, &st), CL_OK);
    return st;
}

static void assert_stats(struct cl_queue *q, uint64_t visible, uint64_t inflight, uint64_t dlq)
{
    struct cl_queue_stats st = stats_of(q);
    assert_int_equal(st.visible, visible);
    assert_int_equal(st.inflight, inflight);
    assert_int_equal(st.dlq_depth, dlq);
}

static void test_open_urls(void **state)
{
    struct cl_queue q;
    char err[256], path[600], url[700];
    assert_int_equal(cl_queue_open(&q, "nosuch://x", NULL, err, sizeof err), CL_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "nosuch"));
    assert_int_equal(cl_queue_open(&q, "", NULL, err, sizeof err), CL_ERR_INVAL);
    db_path(path, sizeof path, "url.db");
    remove_db(path);
    snprintf(url, sizeof url, "sqlite:%s", path);
    assert_int_equal(cl_queue_open(&q, url, NULL, err, sizeof err), CL_OK);
    assert_string_equal(q.ops->name, "sqlite");
    assert_int_equal(cl_queue_ping(&q), CL_OK);
    cl_queue_close(&q);
}

static void test_round_trip(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "rt.db", NULL);
    assert_stats(&q, 0, 0, 0);
    char b0[32], b1[32], b2[32];
    struct cl_msg_out out[3] = {make_msg(b0, 0), make_msg(b1, 1), make_msg(b2, 2)};
    assert_int_equal(cl_queue_send(&q, out, 3), CL_OK);
    struct cl_queue_stats st = stats_of(&q);
    assert_int_equal(st.visible, 3);
    assert_int_equal(st.bytes, 3 * strlen(b0));
    assert_int_equal(st.records, 1 + 2 + 3);
    assert_int_equal(st.oldest_ms, fake_now_ms);

    struct cl_msg *msgs;
    size_t n;
    fake_now_ms += 10;
    assert_int_equal(cl_queue_receive(&q, 10, 30, 0, &msgs, &n), CL_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(msgs[i].len, out[i].len);
        assert_memory_equal(msgs[i].body, out[i].body, out[i].len);
        assert_int_equal(msgs[i].attrs.record_count, out[i].attrs.record_count);
        assert_int_equal(msgs[i].attrs.raw_bytes, out[i].attrs.raw_bytes);
        assert_int_equal(msgs[i].attrs.min_ts_ms, out[i].attrs.min_ts_ms);
        assert_int_equal(msgs[i].attrs.max_ts_ms, out[i].attrs.max_ts_ms);
        assert_string_equal(msgs[i].attrs.encoding, "gzip");
        assert_int_equal(msgs[i].receive_count, 1);
        assert_int_equal(msgs[i].sent_ms, fake_now_ms - 10);
        assert_int_equal(msgs[i].first_receive_ms, fake_now_ms);
        assert_null(msgs[i].last_error);
        char want[64];
        snprintf(want, sizeof want, "%s:1", msgs[i].id);
        assert_string_equal(msgs[i].receipt, want);
    }
    assert_true(atoll(msgs[0].id) < atoll(msgs[1].id));
    assert_stats(&q, 0, 3, 0);

    const char *receipts[3] = {msgs[0].receipt, msgs[1].receipt, msgs[2].receipt};
    int results[3] = {-1, -1, -1};
    assert_int_equal(cl_queue_delete(&q, receipts, 3, results), CL_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(results[i], CL_OK);
    assert_int_equal(cl_queue_delete(&q, receipts, 1, results), CL_OK);
    assert_int_equal(results[0], CL_ERR_STALE);
    cl_msgs_free(msgs, n);
    st = stats_of(&q);
    assert_int_equal(st.visible + st.inflight + st.bytes + st.records, 0);
    assert_int_equal(st.oldest_ms, 0);
    assert_int_equal(cl_queue_receive(&q, 10, 30, 0, &msgs, &n), CL_OK);
    assert_int_equal(n, 0);
    assert_null(msgs);
    cl_queue_close(&q);
}

static void test_visibility_timeout(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "vis.db", NULL);
    send_n(&q, 0, 1);
    struct cl_msg *m1, *m2, *m3;
    size_t n;
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m1, &n), CL_OK);
    assert_int_equal(n, 1);
    fake_now_ms += 29999;
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m2, &n), CL_OK);
    assert_int_equal(n, 0);
    assert_stats(&q, 0, 1, 0);

    fake_now_ms += 1;
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m2, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(m2[0].receive_count, 2);
    assert_int_equal(m2[0].first_receive_ms, fake_now_ms - 30000);
    assert_stats(&q, 0, 1, 0);
    /* stats notices an expired timeout within STATS_REFRESH_MS (200 ms). */
    fake_now_ms += 30000;
    assert_stats(&q, 1, 0, 0);
    assert_string_equal(m1[0].id, m2[0].id);

    /* The first receipt is stale now. */
    int res = -1;
    const char *old = m1[0].receipt;
    assert_int_equal(cl_queue_change_visibility(&q, old, 0, NULL), CL_ERR_STALE);
    assert_int_equal(cl_queue_delete(&q, &old, 1, &res), CL_OK);
    assert_int_equal(res, CL_ERR_STALE);
    assert_int_equal(cl_queue_change_visibility(&q, "garbage", 0, NULL), CL_ERR_STALE);

    /* change_visibility(0) makes it receivable at once. */
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m3, &n), CL_OK);
    assert_int_equal(n, 1);
    cl_msgs_free(m2, 1);
    m2 = m3;
    assert_int_equal(cl_queue_change_visibility(&q, m2[0].receipt, 0, "retry"), CL_OK);
    assert_stats(&q, 1, 0, 0);
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m3, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(m3[0].receive_count, 4);
    assert_string_equal(m3[0].last_error, "retry");
    /* Extending visibility keeps it hidden. */
    assert_int_equal(cl_queue_change_visibility(&q, m3[0].receipt, 100, NULL), CL_OK);
    fake_now_ms += 99000;
    cl_msgs_free(m1, 1);
    assert_int_equal(cl_queue_receive(&q, 5, 30, 0, &m1, &n), CL_OK);
    assert_int_equal(n, 0);
    const char *cur = m3[0].receipt;
    assert_int_equal(cl_queue_delete(&q, &cur, 1, &res), CL_OK);
    assert_int_equal(res, CL_OK);
    assert_stats(&q, 0, 0, 0);
    cl_msgs_free(m2, 1);
    cl_msgs_free(m3, 1);
    cl_queue_close(&q);
}

/* Receives the single message and fails it with error text; returns its id. */
static long long fail_once(struct cl_queue *q, const char *error)
{
    struct cl_msg *m;
    size_t n;
    assert_int_equal(cl_queue_receive(q, 1, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    long long id = atoll(m[0].id);
    assert_int_equal(cl_queue_change_visibility(q, m[0].receipt, 0, error), CL_OK);
    cl_msgs_free(m, n);
    return id;
}

/* Fails the queue's only message until it moves to the DLQ; checks how it is listed. */
static long long fail_into_dlq(struct cl_queue *q)
{
    long long id = 0;
    for (int i = 1; i <= 3; i++) {
        char e[32];
        snprintf(e, sizeof e, "boom %d", i);
        id = fail_once(q, e);
    }
    struct cl_msg *m;
    size_t n;
    assert_int_equal(cl_queue_receive(q, 10, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 0);
    struct cl_queue_stats st = stats_of(q);
    assert_int_equal(st.visible + st.inflight + st.bytes + st.records, 0);
    assert_int_equal(st.dlq_depth, 1);
    assert_int_equal(st.dlq_bytes, strlen("body-000000"));

    assert_int_equal(cl_queue_dlq_list(q, NULL, 10, 1, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(atoll(m[0].id), id);
    assert_null(m[0].receipt);
    assert_string_equal(m[0].last_error, "boom 3");
    assert_int_equal(m[0].receive_count, 3);
    assert_memory_equal(m[0].body, "body-000000", 11);
    assert_int_equal(m[0].attrs.record_count, 1);
    cl_msgs_free(m, n);
    assert_int_equal(cl_queue_dlq_list(q, NULL, 10, 0, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_null(m[0].body);
    assert_int_equal(m[0].len, 11);
    cl_msgs_free(m, n);
    return id;
}

/* Redrive by id, then fail the message into the DLQ again. */
static void redrive_by_id(struct cl_queue *q, long long id)
{
    struct cl_msg *m;
    size_t n;
    /* Back with receive count 0 and no error, same id. */
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", id);
    const char *idp = ids;
    size_t moved = 9;
    assert_int_equal(cl_queue_dlq_redrive(q, &idp, 1, &moved), CL_OK);
    assert_int_equal(moved, 1);
    assert_stats(q, 1, 0, 0);
    assert_int_equal(cl_queue_dlq_redrive(q, &idp, 1, &moved), CL_OK);
    assert_int_equal(moved, 0);
    assert_int_equal(cl_queue_receive(q, 10, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(atoll(m[0].id), id);
    assert_int_equal(m[0].receive_count, 1);
    assert_null(m[0].last_error);
    assert_int_equal(cl_queue_change_visibility(q, m[0].receipt, 0, "again"), CL_OK);
    cl_msgs_free(m, n);
    fail_once(q, "x");
    fail_once(q, "y");
}

/* Three messages in the DLQ; list pages by id; redrive all. */
static void list_pages_and_redrive_all(struct cl_queue *q)
{
    struct cl_msg *m;
    size_t n, moved;
    struct cl_queue_stats st;
    send_n(q, 1, 2);
    for (int r = 0; r < 3; r++) {
        assert_int_equal(cl_queue_receive(q, 10, 30, 0, &m, &n), CL_OK);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(cl_queue_change_visibility(q, m[i].receipt, 0, "z"), CL_OK);
        cl_msgs_free(m, n);
    }
    assert_int_equal(cl_queue_receive(q, 10, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 0);
    assert_stats(q, 0, 0, 3);
    assert_int_equal(cl_queue_dlq_list(q, NULL, 2, 0, &m, &n), CL_OK);
    assert_int_equal(n, 2);
    char after[32];
    snprintf(after, sizeof after, "%s", m[1].id);
    assert_true(atoll(m[0].id) < atoll(m[1].id));
    cl_msgs_free(m, n);
    assert_int_equal(cl_queue_dlq_list(q, after, 2, 0, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_true(atoll(m[0].id) > atoll(after));
    cl_msgs_free(m, n);
    assert_int_equal(cl_queue_dlq_list(q, "x1", 2, 0, &m, &n), CL_ERR_INVAL);
    assert_int_equal(cl_queue_dlq_redrive(q, NULL, 0, &moved), CL_OK);
    assert_int_equal(moved, 3);
    st = stats_of(q);
    assert_int_equal(st.visible, 3);
    assert_int_equal(st.dlq_depth + st.dlq_bytes, 0);
    assert_int_equal(st.records, 1 + 2 + 3);
    assert_int_equal(st.redriven, 3 + 1); /* this call and the one by id above */
}

static void test_dlq_and_redrive(void **state)
{
    struct cl_queue q;
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.max_receive_count = 3;
    o.durability_full = 0;
    open_fresh(&q, "dlq.db", &o);
    send_n(&q, 0, 1);
    redrive_by_id(&q, fail_into_dlq(&q));
    list_pages_and_redrive_all(&q);
    cl_queue_close(&q);
}

static void test_retention(void **state)
{
    struct cl_queue q;
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.max_receive_count = 1;
    o.durability_full = 0;
    o.dlq_retention_s = 14 * 86400; /* opt-in; test_dlq_kept_by_default checks the default */
    open_fresh(&q, "ret.db", &o);
    send_n(&q, 0, 2);
    fake_now_ms += 3LL * 86400 * 1000;
    send_n(&q, 2, 1);
    /* Id 1, received once, goes to the DLQ (max_receive_count 1) when a receive
     * reaches it: after id 2 (visible earlier), before id 3 (same time, larger id). */
    struct cl_msg *m;
    size_t n;
    assert_int_equal(cl_queue_receive(&q, 1, 0, 0, &m, &n), CL_OK);
    assert_string_equal(m[0].id, "1");
    cl_msgs_free(m, n);
    assert_int_equal(cl_queue_receive(&q, 3, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].id, "2");
    assert_string_equal(m[1].id, "3");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cl_queue_change_visibility(&q, m[i].receipt, 0, NULL), CL_OK);
    cl_msgs_free(m, n);
    assert_stats(&q, 2, 0, 1);
    /* Four days after the first sends: id 2 expires unstored, so it moves to the DLQ with
     * the reason (never dropped: it holds acknowledged records); the DLQ keeps id 1 (14
     * days). Id 3 was received once: the same receive moves it to the DLQ. */
    fake_now_ms += 1LL * 86400 * 1000 + 1;
    assert_int_equal(cl_queue_receive(&q, 1, 30, 0, &m, &n), CL_OK);
    assert_int_equal(n, 0);
    struct cl_queue_stats st = stats_of(&q);
    assert_int_equal(st.visible + st.inflight + st.bytes + st.records, 0);
    assert_int_equal(st.dlq_depth, 3);
    assert_int_equal(st.dlq_bytes, 33);
    assert_int_equal(cl_queue_dlq_list(&q, NULL, 10, 0, &m, &n), CL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(m[1].id, "2");
    assert_non_null(strstr(m[1].last_error, "retention expired"));
    cl_msgs_free(m, n);
    /* DLQ entries are dropped 14 days after they moved there: id 1 first. */
    fake_now_ms += 14LL * 86400 * 1000 - 86400 * 1000;
    assert_int_equal(cl_queue_receive(&q, 1, 30, 0, &m, &n), CL_OK);
    assert_int_equal(cl_queue_dlq_list(&q, NULL, 10, 0, &m, &n), CL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].id, "2");
    assert_string_equal(m[1].id, "3");
    cl_msgs_free(m, n);
    assert_stats(&q, 0, 0, 2);
    fake_now_ms += 86400 * 1000 + 1;
    assert_int_equal(cl_queue_receive(&q, 1, 30, 0, &m, &n), CL_OK);
    st = stats_of(&q);
    assert_int_equal(st.dlq_depth + st.dlq_bytes, 0);
    cl_queue_close(&q);
}

struct sender_arg {
    struct cl_queue *q;
    int thread;
    int count;
};

static void *sender_main(void *p)
{
    struct sender_arg *a = p;
    for (int i = 0; i < a->count; i++) {
        char body[32];
        struct cl_msg_out m = make_msg(body, a->thread * 10000 + i);
        if (cl_queue_send(a->q, &m, 1) != CL_OK)
            return (void *)1;
    }
    return NULL;
}

/* The sequence number in a "body-NNNNNN" message (bodies are not NUL-terminated). */
static int body_seq(const struct cl_msg *m)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.*s", (int)CL_MIN(m->len, sizeof buf - 1), (const char *)m->body);
    return atoi(buf + 5);
}

/* Receives everything (hidden for an hour), returning the count; marks seen[seq]. */
static size_t drain(struct cl_queue *q, unsigned char *seen, size_t seen_len)
{
    size_t total = 0, n;
    struct cl_msg *m;
    do {
        assert_int_equal(cl_queue_receive(q, 100, 3600, 0, &m, &n), CL_OK);
        for (size_t i = 0; i < n; i++) {
            int seq = body_seq(&m[i]);
            assert_true(seq >= 0 && (size_t)seq < seen_len);
            assert_int_equal(seen[seq], 0);
            seen[seq] = 1;
        }
        total += n;
        cl_msgs_free(m, n);
    } while (n > 0);
    return total;
}

static void test_concurrent_senders(void **state)
{
    enum { THREADS = 8, PER = 200 };
    struct cl_queue q;
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 1;
    open_fresh(&q, "senders.db", &o);
    cl_queue_sqlite_set_clock(&q, NULL, NULL);
    pthread_t th[THREADS];
    struct sender_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (struct sender_arg){&q, t, PER};
        assert_int_equal(pthread_create(&th[t], NULL, sender_main, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        void *ret;
        pthread_join(th[t], &ret);
        assert_null(ret);
    }
    struct cl_queue_sqlite_counters c;
    assert_int_equal(cl_queue_sqlite_counters(&q, &c), CL_OK);
    assert_int_equal(c.send_calls, THREADS * PER);
    assert_int_equal(c.send_msgs, THREADS * PER);
    print_message("group commit: %llu sends in %llu commits\n", (unsigned long long)c.send_calls,
                  (unsigned long long)c.send_commits);
    assert_true(c.send_commits < c.send_calls);
    assert_int_equal(stats_of(&q).visible, THREADS * PER);
    static unsigned char seen[THREADS * 10000];
    memset(seen, 0, sizeof seen);
    assert_int_equal(drain(&q, seen, sizeof seen), THREADS * PER);
    cl_queue_close(&q);
}

struct big_sender {
    struct cl_queue *q;
    size_t len;
    int rc;
};

static void *big_sender_main(void *p)
{
    struct big_sender *a = p;
    void *body = calloc(1, a->len);
    struct cl_msg_out m = {.body = body, .len = a->len};
    snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "gzip");
    a->rc = cl_queue_send(a->q, &m, 1);
    free(body);
    return NULL;
}

/* A full disk (simulated with max_page_count) fails the whole group with
 * CL_ERR_FULL and commits nothing; the queue works again once there is room. */
static void test_disk_full(void **state)
{
    enum { THREADS = 4 };
    struct cl_queue q;
    open_fresh(&q, "full.db", NULL);
    send_n(&q, 0, 1);
    sqlite3 *db = cl_queue_sqlite_db(&q);
    assert_non_null(db);
    assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count=64", NULL, NULL, NULL), SQLITE_OK);
    pthread_t th[THREADS];
    struct big_sender args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (struct big_sender){&q, 400000, -1};
        assert_int_equal(pthread_create(&th[t], NULL, big_sender_main, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].rc, CL_ERR_FULL);
    }
    /* Nothing partial: the small message of a failing call is not committed either. */
    char small[32];
    void *big = calloc(1, 400000);
    struct cl_msg_out two[2] = {make_msg(small, 1), {.body = big, .len = 400000}};
    assert_int_equal(cl_queue_send(&q, two, 2), CL_ERR_FULL);
    free(big);
    struct cl_queue_stats st = stats_of(&q);
    assert_int_equal(st.visible, 1);
    assert_int_equal(st.bytes, 11);
    sqlite3_stmt *count;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &count, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(count), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(count, 0), 1);
    sqlite3_finalize(count);
    assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count=1000000", NULL, NULL, NULL),
                     SQLITE_OK);
    send_n(&q, 1, 1);
    assert_int_equal(stats_of(&q).visible, 2);
    assert_int_equal(cl_queue_ping(&q), CL_OK);
    cl_queue_close(&q);
}

struct receiver_arg {
    struct cl_queue *q;
    unsigned char *seen;
    pthread_mutex_t *mu;
    size_t got;
    int dup;
};

static void *receiver_main(void *p)
{
    struct receiver_arg *a = p;
    for (;;) {
        struct cl_msg *m;
        size_t n;
        if (cl_queue_receive(a->q, 7, 3600, 0, &m, &n) != CL_OK || n == 0)
            return NULL;
        pthread_mutex_lock(a->mu);
        for (size_t i = 0; i < n; i++) {
            int seq = body_seq(&m[i]);
            a->dup |= a->seen[seq]++ != 0;
        }
        pthread_mutex_unlock(a->mu);
        a->got += n;
        cl_msgs_free(m, n);
    }
}

static void test_concurrent_receivers(void **state)
{
    enum { MSGS = 600, THREADS = 4 };
    struct cl_queue q;
    open_fresh(&q, "receivers.db", NULL);
    cl_queue_sqlite_set_clock(&q, NULL, NULL);
    send_n(&q, 0, MSGS);
    static unsigned char seen[MSGS];
    memset(seen, 0, sizeof seen);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_t th[THREADS];
    struct receiver_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (struct receiver_arg){&q, seen, &mu, 0, 0};
        assert_int_equal(pthread_create(&th[t], NULL, receiver_main, &args[t]), 0);
    }
    size_t total = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].dup, 0);
        total += args[t].got;
    }
    assert_int_equal(total, MSGS);
    assert_stats(&q, 0, MSGS, 0);
    cl_queue_close(&q);
}

static void test_receive_wait(void **state)
{
    struct cl_queue q;
    open_fresh(&q, "wait.db", NULL);
    cl_queue_sqlite_set_clock(&q, NULL, NULL);
    struct cl_msg *m;
    size_t n;
    int64_t t0 = cl_mono_ms();
    assert_int_equal(cl_queue_receive(&q, 1, 30, 150, &m, &n), CL_OK);
    assert_int_equal(n, 0);
    assert_true(cl_mono_ms() - t0 >= 150);
    /* A send from another thread wakes a waiting receiver. */
    pthread_t th;
    struct sender_arg a = {&q, 0, 1};
    t0 = cl_mono_ms();
    assert_int_equal(pthread_create(&th, NULL, sender_main, &a), 0);
    assert_int_equal(cl_queue_receive(&q, 1, 30, 5000, &m, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_true(cl_mono_ms() - t0 < 4000);
    pthread_join(th, NULL);
    cl_msgs_free(m, n);
    cl_queue_close(&q);
}

static void test_reopen_and_second_connection(void **state)
{
    struct cl_queue q, q2;
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.max_receive_count = 1;
    o.durability_full = 0;
    o.dlq_retention_s = 14 * 86400; /* opt-in; test_dlq_kept_by_default checks the default */
    open_fresh(&q, "reopen.db", &o);
    send_n(&q, 0, 5);
    struct cl_msg *m;
    size_t n;
    assert_int_equal(cl_queue_receive(&q, 2, 60, 0, &m, &n), CL_OK); /* 2 in flight */
    cl_msgs_free(m, n);
    fake_now_ms += 60000;
    /* Ids 1 and 2 are visible again with receive count 1; receive reaches them after
     * ids 3..5 (visible earlier) and moves them to the DLQ. */
    assert_int_equal(cl_queue_receive(&q, 5, 60, 0, &m, &n), CL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(m[0].id, "3");
    cl_msgs_free(m, n);
    assert_stats(&q, 0, 3, 2);

    /* A second handle (as the CLI would open) sees the same totals. */
    char path[600], err[256];
    db_path(path, sizeof path, "reopen.db");
    assert_int_equal(cl_queue_open(&q2, path, &o, err, sizeof err), CL_OK);
    cl_queue_sqlite_set_clock(&q2, fake_clock, NULL);
    assert_stats(&q2, 0, 3, 2);
    /* It redrives; the first handle notices the other connection's commit. */
    size_t moved;
    assert_int_equal(cl_queue_dlq_redrive(&q2, NULL, 0, &moved), CL_OK);
    assert_int_equal(moved, 2);
    cl_queue_close(&q2);
    fake_now_ms += 1000; /* let the cached figures expire */
    assert_stats(&q, 2, 3, 0);
    cl_queue_close(&q);

    assert_int_equal(cl_queue_open(&q, path, &o, err, sizeof err), CL_OK);
    cl_queue_sqlite_set_clock(&q, fake_clock, NULL);
    struct cl_queue_stats st = stats_of(&q);
    assert_int_equal(st.visible, 2);
    assert_int_equal(st.inflight, 3);
    assert_int_equal(st.records, 1 + 2 + 3 + 4 + 5);
    assert_int_equal(st.bytes, 5 * strlen("body-000000"));
    cl_queue_close(&q);
}

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
        struct cl_msg_out m = make_msg(body, seq);
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
    db_path(path, sizeof path, "crash.db");
    remove_db(path);
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
        usleep((useconds_t)(100000 + rand() % 400000));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));
        size_t before = total;
        ssize_t r;
        int32_t seq;
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
    assert_true(stats_of(&q).visible >= total);
    assert_int_equal(cl_queue_ping(&q), CL_OK);
    send_n(&q, 0, 1);
    cl_queue_close(&q);
}

static int setup_dir(void **state)
{
    const char *base = getenv("CL_TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/queue_sqlite_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(test_dir) ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_urls),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_visibility_timeout),
        cmocka_unit_test(test_dlq_and_redrive),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_concurrent_senders),
        cmocka_unit_test(test_concurrent_receivers),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_receive_wait),
        cmocka_unit_test(test_reopen_and_second_connection),
        cmocka_unit_test(test_kill9),
    };
    return cmocka_run_group_tests(tests, setup_dir, NULL);
}
