/* test_pipeline_engine_progress.c - the engine asks the commit strategy for the progress
 * of a whole take at once (has_progress_many) instead of once per message: one call for
 * three messages, none per message, and the same routing (a message whose web partition
 * an earlier delivery stored is taken without it); a failed batch question falls back to
 * asking per message. Messages with and without a member index take the same path. */
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

struct counting {
    size_t many_calls, one_calls, objects, web_objects, stored;
    int many_fails;
};

static int is_m2(const char *id)
{
    return strcmp(id, "m2") == 0; /* m2: its web partition was stored before */
}

static int c_has_progress(void *impl, const char *msg_id, int *has)
{
    ((struct counting *)impl)->one_calls++;
    *has = is_m2(msg_id);
    return CL_OK;
}

static int c_has_progress_many(void *impl, const char *const *ids, size_t n, int *has)
{
    struct counting *c = impl;
    c->many_calls++;
    if (c->many_fails)
        return CL_ERR_IO;
    for (size_t i = 0; i < n; i++)
        has[i] = is_m2(ids[i]);
    return CL_OK;
}

static int c_partition_done(void *impl, const char *msg_id, const char *partition, int *done)
{
    (void)impl;
    *done = is_m2(msg_id) && strncmp(partition, "service=web/", 12) == 0;
    return CL_OK;
}

static int c_commit(void *impl, const struct cl_commit_object *o, char *key, size_t key_len,
                    int *published)
{
    struct counting *c = impl;
    c->objects++;
    if (strncmp(o->part->key, "service=web/", 12) == 0)
        c->web_objects += o->part->records;
    snprintf(key, key_len, "%s/x.ndjson.gz", o->part->key);
    *published = 1;
    return CL_OK;
}

static const struct cl_commit_ops ops = {.name = "counting",
                                         .has_progress = c_has_progress,
                                         .has_progress_many = c_has_progress_many,
                                         .partition_done = c_partition_done,
                                         .commit = c_commit};

static void on_stored(void *arg, struct cl_engine_msg *const *m, size_t n, int acked)
{
    (void)m, (void)acked;
    ((struct counting *)arg)->stored += n;
}

static void on_failed(void *arg, const struct cl_engine_msg *m, enum cl_engine_outcome why,
                      const char *error)
{
    (void)arg, (void)m, (void)why;
    fail_msg("unexpected failure: %s", error);
}

#define REC(svc, msg)                                                                              \
    "{\"timestamp\":\"2026-11-25T15:04:05.123Z\",\"level\":\"info\",\"service\":\"" svc            \
    "\",\"message\":\"" msg "\"}\n"

/* Takes three messages of one api and one web record each into a new engine. */
static void take_three(struct counting *c)
{
    struct cl_ingest_batch b[3];
    struct cl_engine_in in[3];
    const char *ids[3] = {"m3", "m1", "m2"}; /* not in id order: the engine sorts them */
    for (int i = 0; i < 3; i++) {
        const struct cl_msg_out *mo = cl_test_message(&b[i], REC("api", "a") REC("web", "w"));
        in[i] = (struct cl_engine_in){.id = ids[i],
                                      .receipt = ids[i],
                                      .body = mo->body,
                                      .len = mo->len,
                                      .attrs = mo->attrs,
                                      .index = (size_t)i};
    }
    struct cl_commit commit = {&ops, c};
    struct cl_engine_opts o = {.flush_size = 8u << 20,
                               .flush_age_ms = 3600000,
                               .buffer_max = 32u << 20,
                               .compression_level = 1,
                               .max_message_raw = 1u << 20};
    struct cl_engine_sink sink = {.arg = c, .stored = on_stored, .failed = on_failed};
    struct cl_engine *e = cl_engine_new(&o, &commit, &sink);
    assert_int_equal(cl_engine_take(e, in, 3), CL_OK);
    assert_int_equal(cl_engine_flush_all(e), CL_OK);
    cl_engine_free(e);
    for (int i = 0; i < 3; i++)
        cl_ingest_batch_free(&b[i]);
}

static void test_asked_once_per_take(void **state)
{
    (void)state;
    struct counting c = {0};
    take_three(&c);
    assert_int_equal(c.many_calls, 1);
    assert_int_equal(c.one_calls, 0);
    assert_int_equal(c.objects, 2);     /* api and web */
    assert_int_equal(c.web_objects, 2); /* m2's web record was stored before */
    assert_int_equal(c.stored, 3);
}

static void test_failed_batch_question_asks_per_message(void **state)
{
    (void)state;
    struct counting c = {.many_fails = 1};
    take_three(&c);
    assert_int_equal(c.many_calls, 1);
    assert_int_equal(c.one_calls, 3);
    assert_int_equal(c.web_objects, 2);
    assert_int_equal(c.stored, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_asked_once_per_take),
        cmocka_unit_test(test_failed_batch_question_asks_per_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
