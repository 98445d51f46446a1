/* test_pipeline_engine.c - the one processing engine (engine.h) directly, over a real
 * directory store with the conditional commit strategy: queue-neutral string ids held
 * across takes, the buffer budget, the per-message outcomes, and the held set's string
 * ids. */
#include "analytics.h"
#include "codec.h"
#include "common.h"
#include "engine.h"
#include "held_set.h"
#include "ingest.h"
#include "message.h"
#include "msg_fixture.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct msg {
    struct cl_ingest_batch batch;
    struct cl_engine_in in;
};

/* One queue message (as the ingest stage builds it) from an NDJSON body. */
static void make_msg(struct msg *out, const char *id, const char *ndjson)
{
    out->in = cl_test_engine_in(&out->batch, id, ndjson);
}

/* What the sink saw. */
struct seen {
    char stored[8][64];
    size_t n_stored;
    char failed[8][64];
    enum cl_engine_outcome why[8];
    size_t n_failed;
    char keys[8][200];
    size_t n_keys;
};

static void on_stored(void *arg, struct cl_engine_msg *const *m, size_t n, int acked)
{
    struct seen *s = arg;
    assert_int_equal(acked, 0); /* conditional puts: the runtime acknowledges */
    for (size_t i = 0; i < n; i++)
        snprintf(s->stored[s->n_stored++], 64, "%s", m[i]->id);
}

static void on_failed(void *arg, const struct cl_engine_msg *m, enum cl_engine_outcome why,
                      const char *error)
{
    struct seen *s = arg;
    assert_non_null(error);
    s->why[s->n_failed] = why;
    snprintf(s->failed[s->n_failed++], 64, "%s", m->id);
}

static void on_committed(void *arg, const char *key)
{
    struct seen *s = arg;
    snprintf(s->keys[s->n_keys++], 200, "%s", key);
}

struct fixture {
    char dir[256];
    struct cl_store st;
    struct cl_commit *commit;
    struct seen seen;
    struct cl_engine *e;
};

static void open_fixture_observed(struct fixture *f, size_t buffer_max,
                                  struct cl_analytics *analytics)
{
    const char *tmp = getenv("CL_TMPDIR") ? getenv("CL_TMPDIR") : "/tmp";
    snprintf(f->dir, sizeof f->dir, "%s/cl-engine-XXXXXX", tmp);
    assert_non_null(mkdtemp(f->dir));
    char err[256];
    assert_int_equal(cl_store_open(&f->st, f->dir, err, sizeof err), CL_OK);
    f->commit = cl_commit_conditional_new(&f->st);
    memset(&f->seen, 0, sizeof f->seen);
    struct cl_engine_opts o = {.flush_size = 8u << 20,
                               .flush_age_ms = 3600000,
                               .buffer_max = buffer_max,
                               .compression_level = 1,
                               .max_message_raw = 1u << 20,
                               .analytics = analytics};
    struct cl_engine_sink sink = {
        .arg = &f->seen, .stored = on_stored, .failed = on_failed, .committed = on_committed};
    f->e = cl_engine_new(&o, f->commit, &sink);
}

static void open_fixture(struct fixture *f, size_t buffer_max)
{
    open_fixture_observed(f, buffer_max, NULL);
}

static void close_fixture(struct fixture *f)
{
    cl_engine_free(f->e);
    cl_commit_free(f->commit);
    cl_store_close(&f->st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
}

#define TS "2026-11-25T15:04:05.123Z"
#define API "{\"timestamp\":\"" TS "\",\"service\":\"api\",\"message\":\"a\"}\n"
#define WEB "{\"timestamp\":\"" TS "\",\"service\":\"web\",\"message\":\"w\"}\n"

/* SQS-style ids (not numbers) held across two takes end in one object whose key is the
 * deterministic id of both messages; nothing is committed before the flush. */
static void test_string_ids_across_takes(void **state)
{
    (void)state;
    struct fixture f;
    open_fixture(&f, 32u << 20);
    struct msg a, b;
    make_msg(&b, "7c2f-b", API);
    make_msg(&a, "0d1e-a", API API);
    assert_int_equal(cl_engine_take(f.e, &b.in, 1), CL_OK);
    assert_int_equal(cl_engine_take(f.e, &a.in, 1), CL_OK);
    assert_int_equal(cl_engine_flush_due(f.e, cl_now_ms()), CL_OK);
    assert_int_equal(f.seen.n_keys, 0); /* neither size nor age nor budget reached */
    size_t held;
    cl_engine_held(f.e, &held);
    assert_int_equal(held, 2);
    assert_int_equal(cl_engine_flush_all(f.e), CL_OK);
    assert_int_equal(f.seen.n_keys, 1);
    assert_int_equal(f.seen.n_stored, 2);
    const char *ids[] = {"0d1e-a", "7c2f-b"};
    char id[CL_OBJECT_ID_LEN + 1], want[200];
    cl_commit_object_id("service=api/dt=2026-11-25/hour=15", 1795619045123LL, ids, 2, id);
    snprintf(want, sizeof want, "service=api/dt=2026-11-25/hour=15/%s.ndjson.gz", id);
    assert_string_equal(f.seen.keys[0], want);
    struct cl_engine_counters c;
    cl_engine_counters(f.e, &c);
    assert_int_equal(c.records_stored, 3);
    cl_ingest_batch_free(&a.batch);
    cl_ingest_batch_free(&b.batch);
    close_fixture(&f);
}

/* Above the buffer budget the largest partition is committed first; the message with
 * records in both partitions is stored only when the second one is. */
static void test_budget_commits_largest(void **state)
{
    (void)state;
    struct fixture f;
    open_fixture(&f, 400);
    struct msg m1, m2;
    char body[8192];
    size_t len = 0;
    for (int i = 0; i < 40; i++) /* api: by far the most bytes, compressed or not */
        len += (size_t)snprintf(body + len, sizeof body - len,
                                "{\"timestamp\":\"" TS
                                "\",\"service\":\"api\",\"message\":\"%d %x\"}\n",
                                i, (unsigned)(i * 2654435761u));
    snprintf(body + len, sizeof body - len, "%s", WEB);
    make_msg(&m1, "m1", body);
    make_msg(&m2, "m2", WEB);
    assert_int_equal(cl_engine_take(f.e, &m1.in, 1), CL_OK);
    assert_int_equal(cl_engine_take(f.e, &m2.in, 1), CL_OK);
    assert_int_equal(cl_engine_flush_due(f.e, cl_now_ms()), CL_OK);
    assert_true(f.seen.n_keys >= 1);
    assert_non_null(strstr(f.seen.keys[0], "service=api/"));
    if (f.seen.n_keys == 1) {
        assert_int_equal(f.seen.n_stored, 0); /* m1 still has records waiting in web */
        assert_int_equal(cl_engine_flush_all(f.e), CL_OK);
    }
    assert_int_equal(f.seen.n_stored, 2);
    assert_int_equal(f.seen.n_failed, 0);
    cl_ingest_batch_free(&m1.batch);
    cl_ingest_batch_free(&m2.batch);
    close_fixture(&f);
}

/* One budget for all engines: an engine under the budget by itself still commits when
 * the engines together hold more than it allows. */
static void test_shared_budget(void **state)
{
    (void)state;
    struct fixture f, g;
    open_fixture(&f, SIZE_MAX);
    open_fixture(&g, SIZE_MAX);
    struct cl_buffer_budget budget = {.max = 0};
    atomic_init(&budget.used, 0);
    struct msg a, b;
    make_msg(&a, "a", API);
    make_msg(&b, "b", WEB);
    cl_engine_free(f.e); /* again, on the shared budget */
    cl_engine_free(g.e);
    struct cl_engine_opts o = cl_test_engine_opts(SIZE_MAX, &budget);
    struct cl_engine_sink sf = {
        .arg = &f.seen, .stored = on_stored, .failed = on_failed, .committed = on_committed};
    struct cl_engine_sink sg = {
        .arg = &g.seen, .stored = on_stored, .failed = on_failed, .committed = on_committed};
    struct cl_msg_member *am;
    assert_int_equal(cl_msg_index_read(&a.in.attrs, a.in.body, a.in.len, &am), 1);
    budget.max = am[0].gz_len + 16; /* room for a's member, not for b's as well */
    free(am);
    f.e = cl_engine_new(&o, f.commit, &sf);
    g.e = cl_engine_new(&o, g.commit, &sg);
    assert_int_equal(cl_engine_take(f.e, &a.in, 1), CL_OK);
    assert_int_equal(cl_engine_flush_due(f.e, cl_now_ms()), CL_OK);
    assert_int_equal(f.seen.n_keys, 0); /* within the budget */
    assert_true(atomic_load(&budget.used) > 0);
    assert_int_equal(cl_engine_take(g.e, &b.in, 1), CL_OK);
    assert_int_equal(cl_engine_flush_due(g.e, cl_now_ms()), CL_OK);
    assert_int_equal(g.seen.n_keys, 1); /* g alone holds little, but the total is over */
    assert_int_equal(f.seen.n_keys, 0);
    cl_engine_free(f.e);
    f.e = NULL;
    assert_int_equal(atomic_load(&budget.used), 0); /* what an engine held leaves with it */
    f.e = cl_engine_new(&o, f.commit, &sf);
    cl_ingest_batch_free(&a.batch);
    cl_ingest_batch_free(&b.batch);
    close_fixture(&f);
    close_fixture(&g);
}

/* An engine whose partitions were all committed gives its pool of released mappings
 * back at its next tick, so an idle engine holds no slack while another engine fills
 * the shared budget (review of the pool). */
static void test_idle_engine_gives_pool_back(void **state)
{
    (void)state;
    struct fixture f;
    open_fixture(&f, SIZE_MAX);
    cl_engine_free(f.e);
    struct cl_buffer_budget budget = {.max = 8u << 20};
    atomic_init(&budget.used, 0);
    atomic_init(&budget.flushing, 0);
    atomic_init(&budget.slack, 0);
    struct cl_engine_opts o = cl_test_engine_opts(SIZE_MAX, &budget);
    struct cl_engine_sink sf = {
        .arg = &f.seen, .stored = on_stored, .failed = on_failed, .committed = on_committed};
    f.e = cl_engine_new(&o, f.commit, &sf);
    struct msg a;
    make_msg(&a, "a", API WEB);
    assert_int_equal(cl_engine_take(f.e, &a.in, 1), CL_OK);
    assert_int_equal(cl_engine_flush_all(f.e), CL_OK);
    assert_int_equal(f.seen.n_keys, 2);
    assert_int_equal(atomic_load(&budget.used), 0);
    assert_true(atomic_load(&budget.slack) > 0); /* the released mappings, kept */
    cl_engine_tick(f.e, cl_now_ms());
    assert_int_equal(atomic_load(&budget.slack), 0);
    cl_ingest_batch_free(&a.batch);
    close_fixture(&f);
}

/* A message that cannot be decoded fails alone as poison; the rest is stored. */
static void test_poison_alone(void **state)
{
    (void)state;
    struct fixture f;
    open_fixture(&f, 32u << 20);
    assert_int_equal(cl_engine_flush_all(f.e), CL_OK); /* nothing held: nothing to do */
    assert_int_equal(f.seen.n_keys, 0);
    struct msg good;
    make_msg(&good, "good", API);
    struct cl_engine_in bad = good.in;
    bad.id = "bad";
    bad.body = "not gzip";
    bad.len = 8;
    struct cl_engine_in both[2] = {bad, good.in};
    assert_int_equal(cl_engine_take(f.e, both, 2), CL_OK);
    assert_int_equal(cl_engine_flush_all(f.e), CL_OK);
    assert_int_equal(f.seen.n_failed, 1);
    assert_string_equal(f.seen.failed[0], "bad");
    assert_int_equal(f.seen.why[0], CL_ENGINE_POISON);
    assert_int_equal(f.seen.n_stored, 1);
    assert_string_equal(f.seen.stored[0], "good");
    cl_ingest_batch_free(&good.batch);
    close_fixture(&f);
}

/* Reads object key of the fixture's store: its gzip members and its lines. */
static size_t object_members(struct fixture *f, const char *key, size_t *lines)
{
    struct cl_buf gz, raw;
    cl_buf_init(&gz, 1 << 20);
    cl_buf_init(&raw, 1 << 20);
    assert_int_equal(cl_store_get(&f->st, key, &gz), CL_OK);
    struct cl_gzip_member *m;
    size_t n;
    assert_int_equal(cl_gzip_decompress_members(gz.data, gz.len, &raw, &m, &n), CL_OK);
    *lines = 0;
    for (size_t i = 0; i < raw.len; i++)
        *lines += raw.data[i] == '\n';
    free(m);
    cl_buf_free(&gz);
    cl_buf_free(&raw);
    return n;
}

/* Ingest packs one gzip member per partition; the engine appends such members to the
 * partition's object as they are, and compresses the lines of a message that mixes
 * partitions in one member (as messages written before this packing do) into one more
 * member of the same object. */
static void test_members_pass_through(void **state)
{
    (void)state;
    struct fixture f;
    open_fixture(&f, 32u << 20);
    struct msg packed;
    make_msg(&packed, "m1", API WEB API);
    struct cl_buf raw, mixed;
    struct cl_gzip_member *mb;
    size_t n;
    cl_buf_init(&raw, 1 << 20);
    assert_int_equal(cl_gzip_decompress_members(packed.in.body, packed.in.len, &raw, &mb, &n),
                     CL_OK);
    assert_int_equal(n, 3); /* the member index (empty), api (2 records), web (1) */
    assert_int_equal(mb[0].raw_len, 0);
    assert_int_equal(mb[1].raw_len + mb[2].raw_len, raw.len);
    free(mb);
    cl_buf_init(&mixed, 1 << 20);
    /* the same normalized lines in one member, as messages were packed before */
    assert_int_equal(cl_gzip_compress(raw.data, raw.len, 1, &mixed), CL_OK);
    struct cl_engine_in old = packed.in;
    old.id = "m0";
    old.body = mixed.data;
    old.len = mixed.len;
    struct cl_engine_in both[2] = {packed.in, old};
    assert_int_equal(cl_engine_take(f.e, both, 2), CL_OK);
    assert_int_equal(cl_engine_flush_all(f.e), CL_OK);
    assert_int_equal(f.seen.n_keys, 2);
    assert_int_equal(f.seen.n_stored, 2);
    size_t lines;
    assert_non_null(strstr(f.seen.keys[0], "service=api/"));
    /* the object's member index (empty), then m1's member and m0's lines */
    assert_int_equal(object_members(&f, f.seen.keys[0], &lines), 3);
    assert_int_equal(lines, 4);
    assert_int_equal(object_members(&f, f.seen.keys[1], &lines), 3);
    assert_int_equal(lines, 2);
    cl_buf_free(&raw);
    cl_buf_free(&mixed);
    cl_ingest_batch_free(&packed.batch);
    close_fixture(&f);
}

/* A store that refuses every put under "service=bad/" and forwards the others. */
static int refusing_put(void *impl, const char *key, const void *data, size_t len)
{
    if (strncmp(key, "service=bad/", 12) == 0)
        return CL_ERR_IO;
    return cl_store_put(impl, key, data, len);
}

static const struct cl_store_ops refusing_ops = {.name = "refusing", .put = refusing_put};

/* A message whose first partition fails and whose last one commits still fails, with a
 * reason for the queue (the sink is told why even when the last commit succeeded). */
static void test_failed_then_committed(void **state)
{
    (void)state;
    struct fixture f;
    open_fixture(&f, 32u << 20);
    struct cl_store refusing = {.ops = &refusing_ops, .impl = &f.st};
    struct cl_commit *commit = cl_commit_conditional_new(&refusing);
    cl_engine_free(f.e);
    struct cl_engine_opts o = {.flush_size = 8u << 20,
                               .flush_age_ms = 3600000,
                               .buffer_max = 32u << 20,
                               .compression_level = 1,
                               .max_message_raw = 1u << 20};
    struct cl_engine_sink sink = {
        .arg = &f.seen, .stored = on_stored, .failed = on_failed, .committed = on_committed};
    f.e = cl_engine_new(&o, commit, &sink);
    struct msg m;
    make_msg(&m, "m", "{\"timestamp\":\"" TS "\",\"service\":\"bad\",\"message\":\"b\"}\n" WEB);
    assert_int_equal(cl_engine_take(f.e, &m.in, 1), CL_OK);
    assert_int_equal(cl_engine_flush_all(f.e), CL_OK); /* bad (fails), then web */
    assert_int_equal(f.seen.n_keys, 1);
    assert_int_equal(f.seen.n_failed, 1); /* on_failed asserts a reason */
    assert_int_equal(f.seen.why[0], CL_ENGINE_STORE_FAILED);
    assert_int_equal(f.seen.n_stored, 0);
    cl_ingest_batch_free(&m.batch);
    cl_engine_free(f.e);
    f.e = NULL;
    cl_commit_free(commit);
    close_fixture(&f);
}

/* The held set keys by the queue's id strings, whatever their format. */
static void test_held_set_string_ids(void **state)
{
    (void)state;
    struct cl_held_set *s = cl_held_set_new();
    int a, b;
    char id[64];
    for (int i = 0; i < 3000; i++) { /* beyond the first table size: rehash keeps claims */
        snprintf(id, sizeof id, "b6f1c0de-%d", i);
        assert_null(cl_held_set_claim(s, id, &a));
    }
    assert_ptr_equal(cl_held_set_claim(s, "b6f1c0de-17", &b), &a);
    cl_held_set_release(s, "b6f1c0de-17", &b); /* not b's: no effect */
    assert_ptr_equal(cl_held_set_claim(s, "b6f1c0de-17", &b), &a);
    cl_held_set_release(s, "b6f1c0de-17", &a);
    assert_null(cl_held_set_claim(s, "b6f1c0de-17", &b));
    cl_held_set_free(s);
}

/* Progress as an earlier delivery left it: every message has stored its web records. */
static int web_progress(void *impl, const char *msg_id, int *has)
{
    (void)impl, (void)msg_id;
    *has = 1;
    return CL_OK;
}

static int web_done(void *impl, const char *msg_id, const char *partition, int *done)
{
    (void)impl, (void)msg_id;
    *done = strncmp(partition, "service=web/", 12) == 0;
    return CL_OK;
}

static uint64_t observed_records(struct cl_analytics *a)
{
    struct cl_analytics_stats st;
    cl_analytics_stats(a, &st);
    return st.records;
}

/* Analytics sees every record that enters a partition, once, whether its member is kept
 * compressed or its lines copied, and not the records an earlier delivery stored. */
static void test_analytics_sees_buffered_records(void **state)
{
    (void)state;
    struct cl_analytics *a = cl_analytics_new(NULL);
    struct fixture f;
    open_fixture_observed(&f, 32u << 20, a);
    struct msg packed, mixed_msg;
    make_msg(&packed, "m1", API WEB API);
    struct cl_buf raw, mixed;
    cl_buf_init(&raw, 1 << 20);
    cl_buf_init(&mixed, 1 << 20);
    assert_int_equal(cl_gzip_decompress(packed.in.body, packed.in.len, &raw), CL_OK);
    /* one member mixing partitions: the normalized lines reordered api, web, api (the
     * packed message holds the api member, then the web one) */
    const char *l2 = memchr(raw.data, '\n', raw.len) + 1, *l3 = memchr(l2, '\n', raw.len) + 1;
    struct cl_buf order;
    cl_buf_init(&order, 1 << 20);
    cl_buf_append(&order, raw.data, (size_t)(l2 - raw.data));
    cl_buf_append(&order, l3, (size_t)(raw.data + raw.len - l3));
    cl_buf_append(&order, l2, (size_t)(l3 - l2));
    assert_non_null(strstr(order.data, "\"web\""));
    make_msg(&mixed_msg, "m0", API WEB API);
    assert_int_equal(cl_gzip_compress(order.data, order.len, 1, &mixed), CL_OK);
    cl_buf_free(&order);
    mixed_msg.in.body = mixed.data;
    mixed_msg.in.len = mixed.len;
    assert_int_equal(cl_engine_take(f.e, &packed.in, 1), CL_OK);
    assert_int_equal(observed_records(a), 3);
    assert_int_equal(cl_engine_flush_all(f.e), CL_OK);
    assert_int_equal(observed_records(a), 3); /* committing observes nothing more */
    /* The same messages delivered again with their web records stored: api only. */
    const struct cl_commit_ops *cond = f.commit->ops;
    struct cl_commit_ops with_progress = *cond;
    with_progress.has_progress = web_progress;
    with_progress.partition_done = web_done;
    f.commit->ops = &with_progress;
    assert_int_equal(cl_engine_take(f.e, &packed.in, 1), CL_OK);
    assert_int_equal(observed_records(a), 5);
    assert_int_equal(cl_engine_take(f.e, &mixed_msg.in, 1), CL_OK);
    assert_int_equal(observed_records(a), 7); /* two runs around the skipped web line */
    f.commit->ops = cond;
    cl_buf_free(&raw);
    cl_buf_free(&mixed);
    cl_ingest_batch_free(&packed.batch);
    cl_ingest_batch_free(&mixed_msg.batch);
    close_fixture(&f);
    cl_analytics_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_ids_across_takes),
        cmocka_unit_test(test_budget_commits_largest),
        cmocka_unit_test(test_shared_budget),
        cmocka_unit_test(test_idle_engine_gives_pool_back),
        cmocka_unit_test(test_poison_alone),
        cmocka_unit_test(test_members_pass_through),
        cmocka_unit_test(test_failed_then_committed),
        cmocka_unit_test(test_held_set_string_ids),
        cmocka_unit_test(test_analytics_sees_buffered_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
