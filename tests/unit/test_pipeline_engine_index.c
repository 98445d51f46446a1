/* test_pipeline_engine_index.c - the engine takes a message with a member index
 * (message.h) without inflating it: the same objects and catalog statistics as the same
 * message taken from its lines, the partitions an earlier delivery stored skipped, a
 * damaged one failed as poison by the inflate path it falls back to, and analytics still
 * seeing every record. A recording commit strategy stands in for the store. */
#include "analytics.h"
#include "codec.h"
#include "common.h"
#include "engine.h"
#include "ingest.h"
#include "message.h"
#include "msg_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one commit was given. */
struct object {
    char key[CL_PARTITION_MAX];
    uint64_t records;
    size_t raw_len;
    int64_t min_ts, max_ts;
    uint64_t levels[CL_LEVEL_COUNT];
    struct cl_buf gz;
};

struct recorder {
    struct object obj[8];
    size_t n;
    const char *done_prefix; /* partitions stored by an earlier delivery; NULL: none */
    size_t stored, poison;
};

static int rec_commit(void *impl, const struct cl_commit_object *o, char *key, size_t key_len,
                      int *published)
{
    struct recorder *r = impl;
    struct object *ob = &r->obj[r->n++];
    const struct cl_part *pt = o->part;
    snprintf(ob->key, sizeof ob->key, "%s", pt->key);
    ob->records = pt->records;
    ob->raw_len = pt->raw_len;
    ob->min_ts = pt->min_ts;
    ob->max_ts = pt->max_ts;
    memcpy(ob->levels, pt->levels, sizeof ob->levels);
    cl_buf_init(&ob->gz, SIZE_MAX);
    cl_buf_append(&ob->gz, o->gz, o->gz_len);
    snprintf(key, key_len, "%s/x.ndjson.gz", pt->key);
    *published = 1;
    return CL_OK;
}

static int rec_has_progress(void *impl, const char *msg_id, int *has)
{
    (void)msg_id;
    *has = ((struct recorder *)impl)->done_prefix != NULL;
    return CL_OK;
}

static int rec_partition_done(void *impl, const char *msg_id, const char *partition, int *done)
{
    (void)msg_id;
    const char *p = ((struct recorder *)impl)->done_prefix;
    *done = p && strncmp(partition, p, strlen(p)) == 0;
    return CL_OK;
}

static const struct cl_commit_ops rec_ops = {.name = "recorder",
                                             .has_progress = rec_has_progress,
                                             .partition_done = rec_partition_done,
                                             .commit = rec_commit};

static void on_stored(void *arg, struct cl_engine_msg *const *m, size_t n, int acked)
{
    (void)m, (void)acked;
    ((struct recorder *)arg)->stored += n;
}

static void on_failed(void *arg, const struct cl_engine_msg *m, enum cl_engine_outcome why,
                      const char *error)
{
    (void)m, (void)error;
    assert_int_equal(why, CL_ENGINE_POISON);
    ((struct recorder *)arg)->poison++;
}

static size_t max_message_raw = 1u << 20; /* the engines' bound on a decoded message */

/* Takes msgs into a new engine and commits everything; r gets the objects. */
static void run(struct recorder *r, const struct cl_engine_in *msgs, size_t n,
                struct cl_analytics *analytics)
{
    struct cl_commit commit = {&rec_ops, r};
    struct cl_engine_opts o = {.flush_size = 8u << 20,
                               .flush_age_ms = 3600000,
                               .buffer_max = 32u << 20,
                               .compression_level = 1,
                               .max_message_raw = max_message_raw,
                               .analytics = analytics};
    struct cl_engine_sink sink = {.arg = r, .stored = on_stored, .failed = on_failed};
    struct cl_engine *e = cl_engine_new(&o, &commit, &sink);
    assert_int_equal(cl_engine_take(e, msgs, n), CL_OK);
    assert_int_equal(cl_engine_flush_all(e), CL_OK);
    cl_engine_free(e);
}

static void recorder_free(struct recorder *r)
{
    for (size_t i = 0; i < r->n; i++)
        cl_buf_free(&r->obj[i].gz);
}

#define REC(ts, lvl, svc, msg)                                                                     \
    "{\"timestamp\":\"" ts "\",\"level\":\"" lvl "\",\"service\":\"" svc "\",\"message\":\"" msg   \
    "\"}\n"
#define BODY                                                                                       \
    REC("2026-11-25T15:04:05.123Z", "info", "api", "a1")                                           \
    REC("2026-11-25T15:59:59.999Z", "error", "web", "w1")                                          \
    REC("2026-11-25T15:00:00.000Z", "warn", "api", "a2")                                           \
    REC("2026-11-25T16:00:00.000Z", "debug", "api", "a3")

/* The message as an earlier ingest wrote it: the same members without the index. */
static struct cl_engine_in without_index(const struct cl_engine_in *in)
{
    struct cl_msg_member *mm;
    size_t n = cl_msg_index_read(&in->attrs, in->body, in->len, &mm);
    assert_true(n > 0);
    struct cl_engine_in old = *in;
    old.body = (const char *)in->body + mm[0].gz_off;
    old.len = in->len - mm[0].gz_off;
    free(mm);
    return old;
}

static struct cl_engine_in message(struct cl_ingest_batch *b, const char *id)
{
    const struct cl_msg_out *mo = cl_test_message(b, BODY);
    return (struct cl_engine_in){
        .id = id, .receipt = id, .body = mo->body, .len = mo->len, .attrs = mo->attrs};
}

/* Taken by its index or from its lines, a message makes the same objects, byte for byte,
 * with the same partition statistics (what the catalog row records). */
static void test_same_objects_as_from_lines(void **state)
{
    (void)state;
    struct cl_ingest_batch b;
    struct cl_engine_in in = message(&b, "m1"), old = without_index(&in);
    struct recorder by_index = {0}, by_lines = {0};
    run(&by_index, &in, 1, NULL);
    run(&by_lines, &old, 1, NULL);
    assert_int_equal(by_index.n, 3);
    assert_int_equal(by_lines.n, by_index.n);
    assert_int_equal(by_index.stored, 1);
    for (size_t i = 0; i < by_index.n; i++) {
        struct object *x = &by_index.obj[i], *y = &by_lines.obj[i];
        assert_string_equal(x->key, y->key);
        assert_int_equal(x->records, y->records);
        assert_int_equal(x->raw_len, y->raw_len);
        assert_int_equal(x->min_ts, y->min_ts);
        assert_int_equal(x->max_ts, y->max_ts);
        assert_memory_equal(x->levels, y->levels, sizeof x->levels);
        assert_int_equal(x->gz.len, y->gz.len);
        assert_memory_equal(x->gz.data, y->gz.data, x->gz.len);
        struct cl_buf raw;
        cl_buf_init(&raw, 1 << 20);
        assert_int_equal(cl_gzip_decompress(x->gz.data, x->gz.len, &raw), CL_OK);
        assert_int_equal(raw.len, x->raw_len); /* no index member in an object */
        cl_buf_free(&raw);
    }
    assert_string_equal(by_index.obj[0].key, "service=api/dt=2026-11-25/hour=15");
    assert_int_equal(by_index.obj[0].records, 2);
    assert_int_equal(by_index.obj[0].levels[CL_LEVEL_WARN], 1);
    assert_string_equal(by_index.obj[1].key, "service=api/dt=2026-11-25/hour=16");
    assert_string_equal(by_index.obj[2].key, "service=web/dt=2026-11-25/hour=15");
    recorder_free(&by_index);
    recorder_free(&by_lines);
    cl_ingest_batch_free(&b);
}

/* Delivered again after its web records were stored: only the api members are taken. */
static void test_stored_partitions_skipped(void **state)
{
    (void)state;
    struct cl_ingest_batch b;
    struct cl_engine_in in = message(&b, "m1");
    struct recorder r = {.done_prefix = "service=web/"};
    run(&r, &in, 1, NULL);
    assert_int_equal(r.n, 2);
    assert_null(strstr(r.obj[0].key, "web"));
    assert_null(strstr(r.obj[1].key, "web"));
    assert_int_equal(r.stored, 1);
    recorder_free(&r);
    cl_ingest_batch_free(&b);
}

/* A byte changed in a member's compressed data: the index is not used, and the inflate
 * path fails the message alone as poison; the other message is stored. */
static void test_damaged_member_is_poison(void **state)
{
    (void)state;
    struct cl_ingest_batch b1, b2;
    struct cl_engine_in good = message(&b1, "m1"), bad = message(&b2, "m2");
    char *copy = malloc(bad.len);
    memcpy(copy, bad.body, bad.len);
    copy[bad.len - 12] ^= 0x55;
    bad.body = copy;
    struct cl_engine_in both[2] = {good, bad};
    struct recorder r = {0};
    run(&r, both, 2, NULL);
    assert_int_equal(r.poison, 1);
    assert_int_equal(r.stored, 1);
    uint64_t records = 0;
    for (size_t i = 0; i < r.n; i++)
        records += r.obj[i].records;
    assert_int_equal(records, 4); /* the good message's only */
    free(copy);
    recorder_free(&r);
    cl_ingest_batch_free(&b1);
    cl_ingest_batch_free(&b2);
}

/* A message above the bound on a decoded message is refused with the inflate path's
 * reason, index or not. */
static void test_bound_on_decoded_size_holds(void **state)
{
    (void)state;
    struct cl_ingest_batch b;
    struct cl_engine_in in = message(&b, "m1");
    struct recorder r = {0};
    max_message_raw = in.attrs.raw_bytes - 1;
    run(&r, &in, 1, NULL);
    max_message_raw = 1u << 20;
    assert_int_equal(r.poison, 1);
    assert_int_equal(r.n, 0);
    cl_ingest_batch_free(&b);
}

static uint64_t observed(struct cl_analytics *a)
{
    struct cl_analytics_stats st;
    cl_analytics_stats(a, &st);
    return st.records;
}

/* With analytics on, an indexed message is inflated for its text only: analytics sees
 * each record once (not those of partitions stored before) and the objects are the same. */
static void test_analytics_sees_indexed_records(void **state)
{
    (void)state;
    struct cl_analytics *a = cl_analytics_new(NULL);
    struct cl_ingest_batch b;
    struct cl_engine_in in = message(&b, "m1");
    struct recorder r = {0}, plain = {0};
    run(&r, &in, 1, a);
    assert_int_equal(observed(a), 4);
    run(&plain, &in, 1, NULL);
    assert_int_equal(r.n, plain.n);
    for (size_t i = 0; i < r.n; i++)
        assert_memory_equal(r.obj[i].gz.data, plain.obj[i].gz.data, r.obj[i].gz.len);
    struct recorder again = {.done_prefix = "service=web/"};
    run(&again, &in, 1, a);
    assert_int_equal(observed(a), 7);
    recorder_free(&r);
    recorder_free(&plain);
    recorder_free(&again);
    cl_ingest_batch_free(&b);
    cl_analytics_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_objects_as_from_lines),
        cmocka_unit_test(test_stored_partitions_skipped),
        cmocka_unit_test(test_damaged_member_is_poison),
        cmocka_unit_test(test_bound_on_decoded_size_holds),
        cmocka_unit_test(test_analytics_sees_indexed_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
