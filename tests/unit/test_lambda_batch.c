/* test_lambda_batch.c - the stateless batch processor (batch_process.h) over a local
 * file: store: deterministic object ids, grouping by partition, a failing partition,
 * undecodable messages and the deadline. */
#include "batch_process.h"
#include "codec.h"
#include "common.h"
#include "ingest.h"
#include "msg_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[512];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* A store that forwards to a file: store but fails every put under "service=bad/". */
struct failing {
    struct cl_store inner;
    int puts;
    int conditional; /* refuse to overwrite, as S3 with If-None-Match: * (CL_ERR_EXISTS) */
};

static int failing_put(void *impl, const char *key, const void *data, size_t len)
{
    struct failing *f = impl;
    f->puts++;
    if (strncmp(key, "service=bad/", 12) == 0)
        return CL_ERR_IO;
    if (f->conditional) {
        struct cl_buf old;
        cl_buf_init(&old, 1 << 20);
        int rc = cl_store_get(&f->inner, key, &old);
        cl_buf_free(&old);
        if (rc == CL_OK)
            return CL_ERR_EXISTS;
    }
    return cl_store_put(&f->inner, key, data, len);
}

static const struct cl_store_ops failing_ops = {.name = "failing", .put = failing_put};

static struct failing *open_store(const char *name, struct cl_store *st)
{
    char dir[600], err[256];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    struct failing *f = calloc(1, sizeof *f);
    assert_int_equal(cl_store_open(&f->inner, dir, err, sizeof err), CL_OK);
    *st = (struct cl_store){.ops = &failing_ops, .impl = f};
    return f;
}

static void close_store(struct failing *f)
{
    cl_store_close(&f->inner);
    free(f);
}

/* One queue message (as the ingest stage builds it) from an NDJSON body. */
struct msg {
    struct cl_ingest_batch batch;
    struct cl_bp_message m;
};

static void make_msg(struct msg *out, const char *id, const char *ndjson)
{
    const struct cl_msg_out *mo = cl_test_message(&out->batch, ndjson);
    out->m = (struct cl_bp_message){
        .id = id, .body = mo->body, .len = mo->len, .attrs = mo->attrs, .sent_ms = 1};
}

static void free_msg(struct msg *m)
{
    cl_ingest_batch_free(&m->batch);
}

#define TS1 "2026-11-25T15:04:05.123Z"
#define TS2 "2026-11-25T16:00:00.000Z"

static const char *bodies[3] = {
    "{\"timestamp\":\"" TS1 "\",\"service\":\"api\",\"message\":\"m1 a\"}\n"
    "{\"timestamp\":\"" TS2 "\",\"service\":\"web\",\"message\":\"m1 b\"}\n",
    "{\"timestamp\":\"" TS1 "\",\"service\":\"api\",\"message\":\"m2 a\"}\n",
    "{\"timestamp\":\"" TS1 "\",\"service\":\"bad\",\"message\":\"m3 a\"}\n"
    "{\"timestamp\":\"" TS1 "\",\"service\":\"api\",\"message\":\"m3 b\"}\n",
};
static const char *ids[3] = {"id-1", "id-2", "id-3"};

static void run(struct cl_store *st, const int *order, struct cl_bp_result *res, struct msg *msgs)
{
    struct cl_bp_message in[3];
    for (int i = 0; i < 3; i++)
        in[i] = msgs[order[i]].m;
    struct cl_bp_opts o;
    cl_bp_opts_default(&o);
    assert_int_equal(cl_batch_process(st, in, 3, &o, res), CL_OK);
}

static void get_object(struct failing *f, const char *key, struct cl_buf *raw)
{
    struct cl_buf gz;
    cl_buf_init(&gz, 1 << 20);
    assert_int_equal(cl_store_get(&f->inner, key, &gz), CL_OK);
    cl_buf_init(raw, 1 << 20);
    assert_int_equal(cl_gzip_decompress(gz.data, gz.len, raw), CL_OK);
    cl_buf_free(&gz);
}

static void test_failing_partition(void **state)
{
    struct msg msgs[3];
    for (int i = 0; i < 3; i++)
        make_msg(&msgs[i], ids[i], bodies[i]);
    struct cl_store st;
    struct failing *f = open_store("failing", &st);
    struct cl_bp_result res;
    run(&st, (int[]){0, 1, 2}, &res, msgs);
    assert_int_equal(res.status[0], CL_BP_STORED);
    assert_int_equal(res.status[1], CL_BP_STORED);
    assert_int_equal(res.status[2], CL_BP_STORE_FAILED);
    assert_int_equal(res.failed, 1);
    assert_int_equal(f->puts, 3); /* api@15, bad@15, web@16 */
    assert_int_equal(res.n_keys, 2);
    /* Keys in partition order, ids deterministic in partition and message ids. */
    char id[CL_OBJECT_ID_LEN + 1], want[200];
    const char *api_ids[] = {"id-3", "id-1", "id-2"};
    cl_commit_object_id("service=api/dt=2026-11-25/hour=15", 1795619045123LL, api_ids, 3, id);
    snprintf(want, sizeof want, "service=api/dt=2026-11-25/hour=15/%s.ndjson.gz", id);
    assert_string_equal(res.keys[0], want);
    assert_memory_equal(id, "20261125T150405Z-", 17);
    assert_non_null(strstr(res.keys[1], "service=web/dt=2026-11-25/hour=16/20261125T160000Z-"));
    struct cl_buf raw;
    get_object(f, res.keys[0], &raw);
    /* Records in message-id order: m1, m2, m3. */
    const char *a = strstr(raw.data, "m1 a"), *b = strstr(raw.data, "m2 a"),
               *c = strstr(raw.data, "m3 b");
    assert_true(a && b && c && a < b && b < c);
    assert_null(strstr(raw.data, "m3 a"));
    assert_int_equal(res.records_stored, 4);
    cl_buf_free(&raw);
    cl_bp_result_free(&res);
    close_store(f);
    for (int i = 0; i < 3; i++)
        free_msg(&msgs[i]);
}

/* A batch retried whole, in another order, rewrites the same keys with the same bytes. */
static void test_retry_same_keys(void **state)
{
    struct msg msgs[3];
    for (int i = 0; i < 3; i++)
        make_msg(&msgs[i], ids[i], bodies[i]);
    struct cl_store st;
    struct failing *f = open_store("retry", &st);
    struct cl_bp_result r1, r2;
    run(&st, (int[]){0, 1, 2}, &r1, msgs);
    struct cl_buf first;
    get_object(f, r1.keys[0], &first);
    run(&st, (int[]){2, 0, 1}, &r2, msgs);
    assert_int_equal(r1.n_keys, r2.n_keys);
    for (size_t i = 0; i < r1.n_keys; i++)
        assert_string_equal(r1.keys[i], r2.keys[i]);
    struct cl_buf second;
    get_object(f, r2.keys[0], &second);
    assert_int_equal(first.len, second.len);
    assert_memory_equal(first.data, second.data, first.len);
    /* The per-message status follows the caller's order. */
    assert_int_equal(r2.status[0], CL_BP_STORE_FAILED);
    assert_int_equal(r2.status[1], CL_BP_STORED);
    cl_buf_free(&first);
    cl_buf_free(&second);
    cl_bp_result_free(&r1);
    cl_bp_result_free(&r2);
    close_store(f);
    for (int i = 0; i < 3; i++)
        free_msg(&msgs[i]);
}

/* With a conditional store the retried batch's puts are refused as existing: the records
 * are already there under the same keys, so the messages count as stored. */
static void test_retry_conditional_store(void **state)
{
    struct msg msgs[3];
    for (int i = 0; i < 3; i++)
        make_msg(&msgs[i], ids[i], bodies[i]);
    struct cl_store st;
    struct failing *f = open_store("conditional", &st);
    struct cl_bp_result r1, r2;
    run(&st, (int[]){0, 1, 2}, &r1, msgs);
    f->conditional = 1;
    run(&st, (int[]){1, 2, 0}, &r2, msgs);
    assert_int_equal(r2.n_keys, r1.n_keys);
    for (size_t i = 0; i < r1.n_keys; i++)
        assert_string_equal(r1.keys[i], r2.keys[i]);
    assert_int_equal(r2.status[0], CL_BP_STORED);       /* id-2 */
    assert_int_equal(r2.status[1], CL_BP_STORE_FAILED); /* id-3: service=bad still fails */
    assert_int_equal(r2.status[2], CL_BP_STORED);       /* id-1 */
    assert_int_equal(r2.failed, 1);
    cl_bp_result_free(&r1);
    cl_bp_result_free(&r2);
    close_store(f);
    for (int i = 0; i < 3; i++)
        free_msg(&msgs[i]);
}

static void test_object_id(void **state)
{
    char a[CL_OBJECT_ID_LEN + 1], b[CL_OBJECT_ID_LEN + 1], c[CL_OBJECT_ID_LEN + 1];
    const char *x[] = {"m2", "m1", "m2"}, *y[] = {"m1", "m2"}, *z[] = {"m1", "m3"};
    cl_commit_object_id("service=s/dt=2026-01-02/hour=03", 1767323045000LL, x, 3, a);
    cl_commit_object_id("service=s/dt=2026-01-02/hour=03", 1767323045000LL, y, 2, b);
    cl_commit_object_id("service=s/dt=2026-01-02/hour=03", 1767323045000LL, z, 2, c);
    assert_int_equal(strlen(a), CL_OBJECT_ID_LEN);
    assert_memory_equal(a, "20260102T030405Z-", 17);
    assert_string_equal(a, b); /* order and repeats do not matter */
    assert_string_not_equal(a, c);
    for (int i = 17; i < CL_OBJECT_ID_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
    cl_commit_object_id("service=t/dt=2026-01-02/hour=03", 1767323045000LL, y, 2, c);
    assert_string_not_equal(a, c); /* the partition counts */
}

static void test_undecodable_and_deadline(void **state)
{
    struct msg good;
    make_msg(&good, "good", bodies[1]);
    struct cl_bp_message in[4] = {
        good.m,
        {.id = "no-body", .body = NULL},
        {.id = "not-gzip", .body = "hello", .len = 5, .attrs = {.encoding = "gzip"}},
        good.m,
    };
    in[3].id = "other-encoding";
    snprintf(in[3].attrs.encoding, sizeof in[3].attrs.encoding, "zstd");
    struct cl_store st;
    struct failing *f = open_store("undecodable", &st);
    struct cl_bp_opts o;
    cl_bp_opts_default(&o);
    struct cl_bp_result res;
    assert_int_equal(cl_batch_process(&st, in, 4, &o, &res), CL_OK);
    assert_int_equal(res.status[0], CL_BP_STORED);
    assert_int_equal(res.status[1], CL_BP_UNDECODABLE);
    assert_int_equal(res.status[2], CL_BP_UNDECODABLE);
    assert_int_equal(res.status[3], CL_BP_UNDECODABLE);
    assert_int_equal(res.n_keys, 1);
    cl_bp_result_free(&res);
    /* Less than reserve_ms left: nothing is put, every message fails with DEADLINE. */
    o.deadline_ms = cl_now_ms() + 200;
    o.reserve_ms = 1000;
    int puts = f->puts;
    assert_int_equal(cl_batch_process(&st, in, 1, &o, &res), CL_OK);
    assert_int_equal(res.status[0], CL_BP_DEADLINE);
    assert_int_equal(res.n_keys, 0);
    assert_int_equal(f->puts, puts);
    cl_bp_result_free(&res);
    close_store(f);
    free_msg(&good);
}

int main(void)
{
    const char *tmp = getenv("CL_TMPDIR");
    snprintf(root, sizeof root, "%s/test_lambda_batch.%d", tmp ? tmp : "/tmp", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failing_partition),
        cmocka_unit_test(test_retry_conditional_store),
        cmocka_unit_test(test_retry_same_keys),
        cmocka_unit_test(test_object_id),
        cmocka_unit_test(test_undecodable_and_deadline),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
