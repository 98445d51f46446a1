/* test_pipeline_process.c - the processor over a real SQLite queue and directory store:
 * objects and catalog, size hints, poisoned messages, store failures with retry and
 * DLQ, and exactly-once when a message is received again after a partial flush. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "catalog.h"
#include "codec.h"
#include "common.h"
#include "ingest.h"
#include "process.h"
#include "queue_sqlite.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t fake_now_ms = 1800000000000LL;
static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now_ms;
}

struct env {
    char dir[256];
    char logs[300];
    struct cl_queue q;
    struct cl_store st;
    struct cl_process_opts o;
};

static void env_open_durable(struct env *e, int max_receive_count, int durable)
{
    const char *tmp = getenv("CL_TMPDIR") ? getenv("CL_TMPDIR") : "/tmp";
    snprintf(e->dir, sizeof e->dir, "%s/cl-process-XXXXXX", tmp);
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->logs, sizeof e->logs, "%s/logs", e->dir);
    char path[400], err[256];
    snprintf(path, sizeof path, "sqlite:%s/queue.db", e->dir);
    struct cl_queue_opts qo;
    cl_queue_opts_default(&qo);
    qo.max_receive_count = max_receive_count;
    qo.durability_full = durable;
    assert_int_equal(cl_queue_open(&e->q, path, &qo, err, sizeof err), CL_OK);
    cl_queue_sqlite_set_clock(&e->q, fake_clock, NULL);
    assert_int_equal(cl_store_open(&e->st, e->logs, err, sizeof err), CL_OK);
    cl_process_opts_default(&e->o);
    e->o.flush_age_ms = 0;  /* flush at every step unless a test says otherwise */
    e->o.flush_idle_ms = 0; /* no flush by real time unless a test says so */
    e->o.retry_base_ms = 1000;
}

static void env_open(struct env *e, int max_receive_count)
{
    env_open_durable(e, max_receive_count, 0);
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
    assert_int_equal(r.rejected, 0);
    assert_int_equal(cl_queue_send(&e->q, b.msgs, b.n_msgs), CL_OK);
    cl_ingest_batch_free(&b);
    cl_ingest_parse_result_free(&r);
}

struct listing {
    struct cl_store *st;
    size_t objects;
    struct cl_buf all; /* every stored line, in key order */
};

static int collect(void *arg, const char *key, uint64_t size)
{
    struct listing *l = arg;
    struct cl_buf gz;
    cl_buf_init(&gz, 1u << 30);
    assert_int_equal(cl_store_get(l->st, key, &gz), CL_OK);
    assert_int_equal(cl_gzip_decompress(gz.data, gz.len, &l->all), CL_OK);
    cl_buf_free(&gz);
    l->objects++;
    return 0;
}

/* Returns the number of stored objects under prefix; *lines counts stored records. */
static size_t stored(struct env *e, const char *prefix, size_t *lines)
{
    struct listing l = {&e->st, 0, {0}};
    cl_buf_init(&l.all, 1u << 30);
    assert_int_equal(cl_store_list(&e->st, prefix, collect, &l), CL_OK);
    *lines = 0;
    for (size_t i = 0; i < l.all.len; i++)
        *lines += l.all.data[i] == '\n';
    cl_buf_free(&l.all);
    return l.objects;
}

static void test_messages_become_partitioned_objects(void **state)
{
    struct env e;
    env_open(&e, 5);
    post(&e, "{\"msg\":\"a1\",\"service\":\"api\",\"ts\":1800000000000}\n"
             "{\"msg\":\"w1\",\"service\":\"web\",\"ts\":1800003600000}\n"
             "{\"msg\":\"a2\",\"service\":\"api\",\"ts\":1800000000001,\"level\":\"error\"}\n");
    struct cl_processor *p = cl_processor_new(&e.q, &e.st, &e.o, NULL);
    assert_int_equal(cl_processor_step(p, 0), 1);
    size_t lines;
    assert_int_equal(stored(&e, "service=api/dt=2027-01-15/hour=08/", &lines), 1);
    assert_int_equal(lines, 2);
    assert_int_equal(stored(&e, "service=web/dt=2027-01-15/hour=09/", &lines), 1);
    assert_int_equal(lines, 1);
    assert_int_equal(stored(&e, CL_STAGING_PREFIX, &lines), 0);
    struct cl_queue_stats qs;
    assert_int_equal(cl_queue_stats(&e.q, &qs), CL_OK);
    assert_int_equal(qs.visible + qs.inflight, 0);
    struct cl_catalog_stats cs;
    assert_int_equal(cl_catalog_stats(cl_queue_catalog(&e.q), &cs), CL_OK);
    assert_int_equal(cs.objects, 2);
    assert_int_equal(cs.records, 3);
    struct cl_process_counters c;
    cl_processor_counters(p, &c);
    assert_int_equal(c.objects_written, 2);
    assert_int_equal(c.records_stored, 3);
    assert_int_equal(c.messages_deleted, 1);
    cl_processor_free(p);
    env_close(&e);
}

static void test_size_hint_and_age(void **state)
{
    struct env e;
    env_open(&e, 5);
    e.o.flush_age_ms = 3600 * 1000;
    e.o.flush_size = 2500;
    struct cl_processor *p = cl_processor_new(&e.q, &e.st, &e.o, NULL);
    char body[512];
    for (int i = 0; i < 30; i++) {
        snprintf(body, sizeof body,
                 "{\"msg\":\"record %02d with some padding to make it longer\","
                 "\"service\":\"api\",\"ts\":1800000000000,\"pad\":\"%080d\"}\n",
                 i, i);
        post(&e, body);
        cl_processor_step(p, 0);
    }
    size_t lines;
    size_t objects = stored(&e, "service=api/", &lines);
    assert_true(objects >= 2); /* the size hint cut objects... */
    assert_true(lines < 30);   /* ...and the rest waits for its age */
    cl_processor_flush_all(p);
    stored(&e, "service=api/", &lines);
    assert_int_equal(lines, 30);
    cl_processor_free(p);
    env_close(&e);
}

/* A processor on a new env whose buffers wait an hour, or flush_idle_ms with nothing
 * received. Caller frees with cl_processor_free (then env_close). */
static struct cl_processor *idle_processor(struct env *e, int64_t flush_idle_ms)
{
    env_open(e, 5);
    e->o.flush_age_ms = 3600 * 1000;
    e->o.flush_idle_ms = flush_idle_ms;
    return cl_processor_new(&e->q, &e->st, &e->o, NULL);
}

/* A backlog drained: with nothing left to receive, the buffers are stored without waiting
 * their age (before: held for the whole flush age, here an hour). */
static void test_idle_queue_flushes_before_the_age(void **state)
{
    (void)state;
    struct env e;
    struct cl_processor *p = idle_processor(&e, 1);
    post(&e, "{\"msg\":\"a\",\"service\":\"api\",\"ts\":1800000000000}\n"
             "{\"msg\":\"b\",\"service\":\"web\",\"ts\":1800000000000}\n");
    assert_int_equal(cl_processor_step(p, 0), 1);
    struct cl_process_counters c;
    cl_processor_counters(p, &c);
    assert_int_equal(c.objects_written, 0); /* the age is far off: still buffered */
    for (int i = 0; i < 200 && c.objects_written == 0; i++) { /* bounded: 200 steps of 5 ms */
        assert_int_equal(cl_processor_step(p, 5), 0);
        cl_processor_counters(p, &c);
    }
    assert_int_equal(c.objects_written, 2);
    assert_int_equal(c.messages_deleted, 1);
    size_t lines;
    assert_int_equal(stored(&e, "service=api/", &lines), 1);
    assert_int_equal(lines, 1);
    cl_processor_free(p);
    env_close(&e);
}

/* The end of a backlog (the last receive was full) flushes after a tenth of the idle
 * time: here within 1 s of a 2 s flush_idle_ms (before: only after the whole 2 s). */
static void test_backlog_end_flushes_sooner(void **state)
{
    (void)state;
    struct env e;
    struct cl_processor *p = idle_processor(&e, 2000);
    for (size_t i = 0; i < e.o.receive_batch; i++)
        post(&e, "{\"msg\":\"a\",\"service\":\"api\",\"ts\":1800000000000}\n");
    assert_int_equal(cl_processor_step(p, 0), e.o.receive_batch); /* a full receive */
    struct cl_process_counters c;
    cl_processor_counters(p, &c);
    assert_int_equal(c.objects_written, 0);
    int64_t start = cl_now_ms();
    for (int i = 0; i < 400 && c.objects_written == 0 && cl_now_ms() - start < 1000; i++) {
        assert_int_equal(cl_processor_step(p, 5), 0);
        cl_processor_counters(p, &c);
    }
    assert_int_equal(c.objects_written, 1);
    assert_int_equal(c.messages_deleted, e.o.receive_batch);
    cl_processor_free(p);
    env_close(&e);
}

static void send_raw(struct env *e, const char *body, const char *encoding)
{
    struct cl_msg_out m = {body, strlen(body), {1, strlen(body), 0, 0, ""}};
    snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "%s", encoding);
    assert_int_equal(cl_queue_send(&e->q, &m, 1), CL_OK);
}

static void test_poisoned_message_goes_alone_to_dlq(void **state)
{
    struct env e;
    env_open(&e, 2);
    send_raw(&e, "this is not gzip", "gzip");
    post(&e, "{\"msg\":\"good\",\"service\":\"api\",\"ts\":1800000000000}\n");
    struct cl_processor *p = cl_processor_new(&e.q, &e.st, &e.o, NULL);
    assert_int_equal(cl_processor_step(p, 0), 2);
    size_t lines;
    stored(&e, "service=api/", &lines);
    assert_int_equal(lines, 1); /* the good message did not wait for the bad one */
    struct cl_msg *dlq;
    size_t n;
    assert_int_equal(cl_queue_dlq_list(&e.q, NULL, 10, 0, &dlq, &n), CL_OK);
    assert_int_equal(n, 1);
    assert_non_null(dlq[0].last_error);
    assert_non_null(strstr(dlq[0].last_error, "cannot decode"));
    assert_int_equal(dlq[0].receive_count, 1); /* at once: poison, not a retry candidate */
    cl_msgs_free(dlq, n);
    cl_processor_free(p);
    env_close(&e);
}

/* Replaces the store's root directory by a regular file: every write fails. */
static void break_store(struct env *e, int broken)
{
    char moved[400];
    snprintf(moved, sizeof moved, "%s.away", e->logs);
    if (broken) {
        assert_int_equal(rename(e->logs, moved), 0);
        FILE *f = fopen(e->logs, "w");
        assert_non_null(f);
        fclose(f);
    } else {
        assert_int_equal(unlink(e->logs), 0);
        assert_int_equal(rename(moved, e->logs), 0);
    }
}

/* A failing store opens the breaker: the message goes back uncounted, nothing is
 * received until a probe succeeds, and a store down longer than any number of retries
 * sends nothing to the DLQ (max_receive_count 2 here). */
static void test_store_failure_opens_breaker_then_recovers(void **state)
{
    struct env e;
    env_open(&e, 2);
    e.o.retry_base_ms = 1; /* probe at once: the breaker runs on the real clock */
    struct cl_processor *p = cl_processor_new(&e.q, &e.st, &e.o, NULL);
    post(&e, "{\"msg\":\"kept\",\"service\":\"api\",\"ts\":1800000000000}\n");
    break_store(&e, 1);
    assert_int_equal(cl_processor_step(p, 0), 1);
    struct cl_queue_stats qs;
    for (int i = 0; i < 20; i++) { /* many probes, all failing: nothing received */
        struct timespec ms = {0, 2 * 1000 * 1000};
        nanosleep(&ms, NULL);
        assert_int_equal(cl_processor_step(p, 1), 0);
    }
    assert_int_equal(cl_queue_stats(&e.q, &qs), CL_OK);
    assert_int_equal(qs.visible, 1); /* given back, visible: nothing hides it */
    assert_int_equal(qs.dlq_depth, 0);
    struct cl_msg *m;
    size_t n;
    break_store(&e, 0);
    size_t got = 0;
    for (int i = 0; i < 200 && got == 0; i++) /* bounded: the next probe closes it */
        got = cl_processor_step(p, 10);
    assert_int_equal(got, 1);
    size_t lines;
    stored(&e, "service=api/", &lines);
    assert_int_equal(lines, 1);
    assert_int_equal(cl_queue_stats(&e.q, &qs), CL_OK);
    assert_int_equal(qs.visible + qs.inflight + qs.dlq_depth, 0);
    assert_int_equal(cl_queue_dlq_list(&e.q, NULL, 10, 0, &m, &n), CL_OK);
    assert_int_equal(n, 0);
    cl_processor_free(p);
    env_close(&e);
}

/* A message spanning two partitions; the first processor stores one partition and then
 * "crashes" (freed without flushing). Received again, only the other is stored. */
static void test_partial_flush_then_redelivery_is_exactly_once(void **state)
{
    struct env e;
    env_open(&e, 5);
    e.o.flush_age_ms = 3600 * 1000;
    e.o.flush_size = 100; /* api's buffer (2 records) crosses it, web's (1 short) not */
    e.o.visibility_s = 30;
    post(&e,
         "{\"msg\":\"a1 with a longer message text\",\"service\":\"api\",\"ts\":1800000000000}\n"
         "{\"msg\":\"w\",\"service\":\"web\",\"ts\":1800000000000}\n"
         "{\"msg\":\"a2 with a longer message text\",\"service\":\"api\",\"ts\":1800000000000}\n");
    struct cl_processor *p1 = cl_processor_new(&e.q, &e.st, &e.o, NULL);
    assert_int_equal(cl_processor_step(p1, 0), 1);
    size_t lines;
    assert_int_equal(stored(&e, "service=api/", &lines), 1);
    assert_int_equal(stored(&e, "service=web/", &lines), 0);
    cl_processor_free(p1); /* crash: web's buffer is lost, the message is not deleted */

    fake_now_ms += 31 * 1000; /* visibility timeout expires */
    e.o.flush_size = 1;
    struct cl_processor *p2 = cl_processor_new(&e.q, &e.st, &e.o, NULL);
    assert_int_equal(cl_processor_step(p2, 0), 1);
    assert_int_equal(stored(&e, "service=api/", &lines), 1);
    assert_int_equal(lines, 2); /* not 4 */
    assert_int_equal(stored(&e, "service=web/", &lines), 1);
    assert_int_equal(lines, 1);
    struct cl_queue_stats qs;
    assert_int_equal(cl_queue_stats(&e.q, &qs), CL_OK);
    assert_int_equal(qs.visible + qs.inflight, 0);
    cl_processor_free(p2);
    env_close(&e);
}

static int count_row(void *arg, int64_t id, const char *staging, const char *key)
{
    (void)id, (void)staging, (void)key;
    (*(int *)arg)++;
    return 0;
}

static int count_unpublished(struct env *e)
{
    int n = 0;
    assert_int_equal(cl_catalog_unpublished(cl_queue_catalog(&e->q), count_row, &n), CL_OK);
    return n;
}

/* Committed but unpublished objects are moved into place at start-up; staging objects
 * no catalog row names are removed. */
static void test_recovery(void **state)
{
    struct env e;
    env_open(&e, 5);
    assert_int_equal(cl_store_put(&e.st, CL_STAGING_PREFIX "orphan.ndjson.gz", "x", 1), CL_OK);
    assert_int_equal(cl_store_put(&e.st, CL_STAGING_PREFIX "c.ndjson.gz", "y", 1), CL_OK);
    struct cl_catalog_object o = {.key = "service=api/dt=2027-01-15/hour=08/c.ndjson.gz",
                                  .staging_key = CL_STAGING_PREFIX "c.ndjson.gz",
                                  .service = "api",
                                  .dt = "2027-01-15",
                                  .hour = 8,
                                  .records = 1,
                                  .bytes = 1,
                                  .raw_bytes = 1};
    struct cl_catalog_flush f = {.obj = &o};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&e.q), &f, NULL), CL_OK);
    /* A row whose object is gone (staged nor final): logged and counted, start-up goes on. */
    struct cl_catalog_object gone = o;
    gone.key = "service=api/dt=2027-01-15/hour=08/gone.ndjson.gz";
    gone.staging_key = CL_STAGING_PREFIX "gone.ndjson.gz";
    struct cl_catalog_flush g = {.obj = &gone};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(&e.q), &g, NULL), CL_OK);
    char err[256];
    struct cl_recover_report rep;
    assert_int_equal(cl_process_recover(&e.q, &e.st, &rep, err, sizeof err), CL_OK);
    assert_int_equal(rep.published, 1);
    assert_int_equal(rep.missing, 1);
    assert_int_equal(rep.discarded, 1);
    size_t lines;
    assert_int_equal(stored(&e, CL_STAGING_PREFIX, &lines), 0);
    struct cl_buf b;
    cl_buf_init(&b, 1024);
    assert_int_equal(cl_store_get(&e.st, o.key, &b), CL_OK);
    assert_string_equal(b.data, "y");
    cl_buf_free(&b);
    env_close(&e);
}

static int syncs_to_fail; /* failing_sync: how many more WAL syncs fail */

static int failing_sync(int fd)
{
    if (syncs_to_fail > 0) {
        syncs_to_fail--;
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}

/* The flush whose WAL sync fails (--durability full): its object stays staged, nothing
 * is published or deleted, and no later flush commits; after a restart, recovery
 * publishes the object (its row is in the file) and the message's next receive finds
 * its records stored: each record once. */
static void test_failed_sync_keeps_the_flush_staged(void **state)
{
    (void)state;
    struct env e;
    env_open_durable(&e, 5, 1);
    cl_queue_sqlite_set_wal_sync_fn(failing_sync);
    post(&e, "{\"msg\":\"a1\",\"service\":\"api\",\"ts\":1800000000000}\n"
             "{\"msg\":\"a2\",\"service\":\"api\",\"ts\":1800000000001}\n");
    struct cl_processor *p = cl_processor_new(&e.q, &e.st, &e.o, NULL);
    syncs_to_fail = 1;
    cl_processor_step(p, 0);
    assert_int_equal(syncs_to_fail, 0);
    size_t lines;
    assert_int_equal(stored(&e, CL_STAGING_PREFIX, &lines), 1);
    assert_int_equal(lines, 2);
    assert_int_equal(stored(&e, "service=api/", &lines), 0); /* not moved into place */
    struct cl_process_counters c;
    cl_processor_counters(p, &c);
    assert_int_equal(c.objects_written, 0);
    assert_int_equal(c.messages_deleted, 0);
    cl_processor_step(p, 0); /* later steps commit nothing */
    cl_processor_flush_all(p);
    assert_int_equal(stored(&e, CL_STAGING_PREFIX, &lines), 1);
    assert_int_equal(stored(&e, "service=api/", &lines), 0);
    cl_processor_free(p);
    cl_queue_close(&e.q); /* a restart: the failure is the process's */
    cl_queue_sqlite_set_wal_sync_fn(NULL);
    char path[400], err[256];
    snprintf(path, sizeof path, "sqlite:%s/queue.db", e.dir);
    struct cl_queue_opts qo;
    cl_queue_opts_default(&qo);
    qo.durability_full = 1;
    qo.owner = 1; /* the daemon's restart: it clears the failure's marker */
    assert_int_equal(cl_queue_open(&e.q, path, &qo, err, sizeof err), CL_OK);
    cl_queue_sqlite_set_clock(&e.q, fake_clock, NULL);
    struct cl_recover_report rep;
    assert_int_equal(cl_process_recover(&e.q, &e.st, &rep, err, sizeof err), CL_OK);
    assert_int_equal(rep.published, 1);
    assert_int_equal(stored(&e, CL_STAGING_PREFIX, &lines), 0);
    assert_int_equal(stored(&e, "service=api/", &lines), 1);
    assert_int_equal(lines, 2);
    fake_now_ms += 600 * 1000; /* past the visibility timeout of the receive before */
    p = cl_processor_new(&e.q, &e.st, &e.o, NULL);
    for (int i = 0; i < 5; i++)
        cl_processor_step(p, 0);
    cl_processor_flush_all(p);
    assert_int_equal(stored(&e, "service=api/", &lines), 1); /* not stored twice */
    assert_int_equal(lines, 2);
    struct cl_queue_stats qs;
    assert_int_equal(cl_queue_stats(&e.q, &qs), CL_OK);
    assert_int_equal(qs.visible + qs.inflight, 0);
    cl_processor_free(p);
    env_close(&e);
}

/* Makes the directory of service's partitions impossible to create (a file in its place)
 * and retries publications at once; blocker gets the file's path. */
static void block_service(struct env *e, const char *service, char *blocker, size_t len)
{
    e->o.retry_base_ms = 1;
    e->o.retry_max_ms = 1;
    snprintf(blocker, len, "%s/service=%s", e->logs, service);
    mkdir(e->logs, 0755);          /* the store may have made it already */
    FILE *f = fopen(blocker, "w"); /* the partition's directory cannot be made */
    assert_non_null(f);
    fclose(f);
}

/* Removes the blocker and steps p until every committed object is published (bounded). */
static void unblock_and_publish(struct env *e, struct cl_processor *p, const char *blocker)
{
    assert_int_equal(unlink(blocker), 0);
    for (int i = 0; i < 200 && count_unpublished(e) > 0; i++) {
        struct timespec ms = {0, 2 * 1000 * 1000};
        nanosleep(&ms, NULL);
        cl_processor_step(p, 0);
    }
    assert_int_equal(count_unpublished(e), 0);
}

/* A move into place that fails after the commit is retried while the daemon runs: the
 * committed records become visible without a restart. */
static void test_publish_failure_retried_at_run_time(void **state)
{
    struct env e;
    env_open(&e, 5);
    char blocker[400];
    block_service(&e, "api", blocker, sizeof blocker);
    struct cl_processor *p = cl_processor_new(&e.q, &e.st, &e.o, NULL);
    post(&e, "{\"msg\":\"late\",\"service\":\"api\",\"ts\":1800000000000}\n");
    assert_int_equal(cl_processor_step(p, 0), 1);
    assert_int_equal(count_unpublished(&e), 1);
    unblock_and_publish(&e, p, blocker);
    size_t lines;
    assert_int_equal(stored(&e, "service=api/", &lines), 1);
    assert_int_equal(lines, 1);
    cl_processor_free(p);
    env_close(&e);
}

/* A store that counts the calls it gets and passes them to the directory store. */
struct counting {
    struct cl_store *inner;
    int puts, moves, put_manys, move_manys;
    size_t put_many_n;
};

static int counting_put(void *impl, const char *key, const void *data, size_t len)
{
    struct counting *c = impl;
    c->puts++;
    return cl_store_put(c->inner, key, data, len);
}

static int counting_get(void *impl, const char *key, struct cl_buf *out)
{
    return cl_store_get(((struct counting *)impl)->inner, key, out);
}

static int counting_del(void *impl, const char *key)
{
    return cl_store_delete(((struct counting *)impl)->inner, key);
}

static int counting_move(void *impl, const char *from, const char *to)
{
    struct counting *c = impl;
    c->moves++;
    return cl_store_move(c->inner, from, to);
}

static int counting_put_many(void *impl, const char *const *keys, const void *const *data,
                             const size_t *lens, size_t n)
{
    struct counting *c = impl;
    c->put_manys++;
    c->put_many_n += n;
    return cl_store_put_many(c->inner, keys, data, lens, n);
}

static int counting_move_many(void *impl, const char *const *from, const char *const *to, size_t n,
                              int *results)
{
    struct counting *c = impl;
    c->move_manys++;
    return cl_store_move_many(c->inner, from, to, n, results);
}

static const struct cl_store_ops counting_ops = {.name = "counting",
                                                 .put = counting_put,
                                                 .get = counting_get,
                                                 .del = counting_del,
                                                 .move = counting_move,
                                                 .put_many = counting_put_many,
                                                 .move_many = counting_move_many};

/* The partitions due in one step are committed together: one batched put of their staging
 * objects, one catalog transaction, one batched move; the message spanning them is
 * deleted once, by that transaction. */
static void test_due_partitions_commit_as_one_batch(void **state)
{
    struct env e;
    env_open(&e, 5);
    struct counting c = {.inner = &e.st};
    struct cl_store counted = {&counting_ops, &c};
    post(&e, "{\"msg\":\"a1\",\"service\":\"api\",\"ts\":1800000000000}\n"
             "{\"msg\":\"w1\",\"service\":\"web\",\"ts\":1800003600000}\n"
             "{\"msg\":\"d1\",\"service\":\"db\",\"ts\":1800000000000}\n");
    post(&e, "{\"msg\":\"a2\",\"service\":\"api\",\"ts\":1800000000001}\n");
    struct cl_processor *p = cl_processor_new(&e.q, &counted, &e.o, NULL);
    assert_int_equal(cl_processor_step(p, 0), 2);
    assert_int_equal(c.put_manys, 1);
    assert_int_equal(c.put_many_n, 3);
    assert_int_equal(c.move_manys, 1);
    assert_int_equal(c.puts + c.moves, 0);
    size_t lines;
    assert_int_equal(stored(&e, "service=api/", &lines), 1);
    assert_int_equal(lines, 2);
    assert_int_equal(stored(&e, "service=db/", &lines), 1);
    assert_int_equal(stored(&e, "service=web/", &lines), 1);
    assert_int_equal(stored(&e, CL_STAGING_PREFIX, &lines), 0);
    assert_int_equal(count_unpublished(&e), 0);
    struct cl_queue_stats qs;
    assert_int_equal(cl_queue_stats(&e.q, &qs), CL_OK);
    assert_int_equal(qs.visible + qs.inflight, 0);
    struct cl_process_counters pc;
    cl_processor_counters(p, &pc);
    assert_int_equal(pc.objects_written, 3);
    assert_int_equal(pc.messages_deleted, 2);
    cl_processor_free(p);
    env_close(&e);
}

/* A batch whose one partition cannot be moved into place publishes the others at once;
 * the committed one is retried at run time (its messages are stored, not redelivered). */
static void test_batch_publishes_the_movable_ones(void **state)
{
    struct env e;
    env_open(&e, 5);
    char blocker[400];
    block_service(&e, "web", blocker, sizeof blocker);
    post(&e, "{\"msg\":\"a1\",\"service\":\"api\",\"ts\":1800000000000}\n"
             "{\"msg\":\"w1\",\"service\":\"web\",\"ts\":1800003600000}\n");
    struct cl_processor *p = cl_processor_new(&e.q, &e.st, &e.o, NULL);
    assert_int_equal(cl_processor_step(p, 0), 1);
    size_t lines;
    assert_int_equal(stored(&e, "service=api/", &lines), 1);
    assert_int_equal(count_unpublished(&e), 1);
    struct cl_queue_stats qs;
    assert_int_equal(cl_queue_stats(&e.q, &qs), CL_OK);
    assert_int_equal(qs.visible + qs.inflight, 0); /* committed: deleted */
    unblock_and_publish(&e, p, blocker);
    assert_int_equal(stored(&e, "service=web/", &lines), 1);
    assert_int_equal(lines, 1);
    cl_processor_free(p);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_become_partitioned_objects),
        cmocka_unit_test(test_size_hint_and_age),
        cmocka_unit_test(test_idle_queue_flushes_before_the_age),
        cmocka_unit_test(test_backlog_end_flushes_sooner),
        cmocka_unit_test(test_poisoned_message_goes_alone_to_dlq),
        cmocka_unit_test(test_store_failure_opens_breaker_then_recovers),
        cmocka_unit_test(test_partial_flush_then_redelivery_is_exactly_once),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_publish_failure_retried_at_run_time),
        cmocka_unit_test(test_due_partitions_commit_as_one_batch),
        cmocka_unit_test(test_batch_publishes_the_movable_ones),
        cmocka_unit_test(test_failed_sync_keeps_the_flush_staged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
