/* test_queue_registry.c - the queue backend registry (queue.c), the catalog seam
 * (cl_queue_catalog) and finding dead-letter messages by id behind the interface. */
#include "catalog.h"
#include "catalog_verify.h"
#include "common.h"
#include "message.h"
#include "queue.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char test_dir[512];

static void test_backend_of(void **state)
{
    (void)state;
    const struct cl_queue_backend *be = cl_queue_backend_of("sqlite:/tmp/q.db");
    assert_non_null(be);
    assert_true(be->caps & CL_QUEUE_CAP_LOCAL_FILE);
    assert_true(be->caps & CL_QUEUE_CAP_CATALOG);
    assert_true(be->caps & CL_QUEUE_CAP_EXACT_STATS);
    assert_ptr_equal(cl_queue_backend_of("data/queue.db"), be); /* a plain path */
    assert_ptr_equal(cl_queue_backend_of("./a:b.db"), be);
    const struct cl_queue_backend *remote = cl_queue_backend_of("sqs://logs");
    assert_non_null(remote);
    assert_ptr_not_equal(remote, be);
    assert_false(remote->caps & (CL_QUEUE_CAP_LOCAL_FILE | CL_QUEUE_CAP_CATALOG));
    assert_true(remote->caps & CL_QUEUE_CAP_DLQ_SAMPLE);
    assert_ptr_equal(cl_queue_backend_of("http://127.0.0.1:5000/123456789012/logs"), remote);
    assert_ptr_equal(cl_queue_backend_of("https://sqs.eu-west-1.amazonaws.com/1/logs"), remote);
    assert_null(cl_queue_backend_of("redis://x"));
    assert_null(cl_queue_backend_of(NULL));
}

static void test_url_file(void **state)
{
    (void)state;
    assert_string_equal(cl_queue_url_file("sqlite:/a/b.db"), "/a/b.db");
    assert_string_equal(cl_queue_url_file("rel/queue.db"), "rel/queue.db");
    assert_null(cl_queue_url_file("sqs://logs"));
    assert_null(cl_queue_url_file("redis://x"));
}

static void test_file_url(void **state)
{
    (void)state;
    char url[64];
    assert_int_equal(cl_queue_file_url("a:b/queue.db", url, sizeof url), 0);
    assert_string_equal(url, "sqlite:a:b/queue.db"); /* the colon is not read as a scheme */
    assert_string_equal(cl_queue_url_file(url), "a:b/queue.db");
    assert_int_equal(
        cl_queue_file_url("a-very-long-path/that/does/not/fit/in/sixty/four/bytes/q.db", url,
                          sizeof url),
        -1);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct cl_queue q;
    char err[512];
    assert_int_equal(cl_queue_open(&q, "redis://x", NULL, err, sizeof err), CL_ERR_UNSUPPORTED);
    /* The expected forms come from the registry: every backend's. */
    assert_non_null(strstr(err, "unsupported queue URL scheme 'redis'"));
    assert_non_null(strstr(err, "sqlite:PATH"));
    assert_non_null(strstr(err, "sqs://NAME"));
    assert_int_equal(cl_queue_open(&q, "sqlite:", NULL, err, sizeof err), CL_ERR_INVAL);
    assert_string_equal(err, "sqlite: URL has no path");
    assert_int_equal(cl_queue_open(&q, "", NULL, err, sizeof err), CL_ERR_INVAL);
}

/* Opens test_dir/name with the local-file backend (cl_queue_open_file). */
static void open_in_dir(struct cl_queue *q, const char *name)
{
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/%s", test_dir, name);
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 0;
    if (cl_queue_open_file(q, path, &o, err, sizeof err) != CL_OK)
        fail_msg("open %s: %s", path, err);
}

/* A queue with a catalog offers it; the same calls on a queue without one answer
 * CL_ERR_UNSUPPORTED through a NULL catalog. */
static void test_catalog_seam(void **state)
{
    (void)state;
    struct cl_queue q;
    open_in_dir(&q, "catalog.db");
    struct cl_catalog *c = cl_queue_catalog(&q);
    assert_non_null(c);
    assert_ptr_equal(cl_queue_catalog(&q), c); /* owned by the queue: the same each time */
    struct cl_catalog_stats st;
    assert_int_equal(cl_catalog_stats(c, &st), CL_OK);
    assert_int_equal(st.objects, 0);
    uint64_t lost = 1;
    assert_int_equal(cl_catalog_lost_count(c, &lost), CL_OK); /* verify's ops, same seam */
    assert_int_equal(lost, 0);
    cl_queue_close(&q);

    static const struct cl_queue_ops none = {.name = "none"};
    struct cl_queue other = {.ops = &none};
    assert_null(cl_queue_catalog(&other));
    assert_int_equal(cl_catalog_stats(cl_queue_catalog(&other), &st), CL_ERR_UNSUPPORTED);
    struct cl_catalog_row *rows = (struct cl_catalog_row *)&st;
    size_t n = 1;
    assert_int_equal(cl_catalog_rows(NULL, &rows, &n), CL_ERR_UNSUPPORTED);
    assert_null(rows);
    assert_int_equal(n, 0);
}

/* Sends n messages and dead-letters every one; returns their ids (caller frees). */
static struct cl_msg *dead_letter_n(struct cl_queue *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char body[32];
        snprintf(body, sizeof body, "body-%zu", i);
        struct cl_msg_out m = {.body = body, .len = strlen(body)};
        m.attrs.record_count = 1;
        snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "gzip");
        assert_int_equal(cl_queue_send(q, &m, 1), CL_OK);
    }
    struct cl_msg *got = NULL;
    size_t k = 0;
    assert_int_equal(cl_queue_receive(q, n, 30, 0, &got, &k), CL_OK);
    assert_int_equal(k, n);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(cl_queue_dead_letter(q, got[i].receipt, "poison"), CL_OK);
    return got;
}

static void test_dlq_find(void **state)
{
    (void)state;
    struct cl_queue q;
    open_in_dir(&q, "dlq.db");
    struct cl_msg *sent = dead_letter_n(&q, 3);
    char missing[32];
    snprintf(missing, sizeof missing, "%lld", atoll(sent[2].id) + 100);
    const char *ids[] = {sent[1].id, "not-an-id", missing, sent[0].id, "0"};
    struct cl_msg *found[5];
    assert_int_equal(cl_queue_dlq_find(&q, ids, 5, 1, found), CL_OK);
    assert_non_null(found[0]);
    assert_string_equal(found[0]->id, sent[1].id);
    assert_int_equal(found[0]->len, strlen("body-1"));
    assert_memory_equal(found[0]->body, "body-1", found[0]->len);
    assert_string_equal(found[0]->last_error, "poison");
    assert_null(found[1]);
    assert_null(found[2]);
    assert_non_null(found[3]);
    assert_string_equal(found[3]->id, sent[0].id);
    assert_null(found[4]);
    for (size_t i = 0; i < 5; i++)
        cl_msgs_free(found[i], found[i] ? 1 : 0);
    /* Without bodies: attributes only. */
    assert_int_equal(cl_queue_dlq_find(&q, ids, 1, 0, found), CL_OK);
    assert_non_null(found[0]);
    assert_null(found[0]->body);
    cl_msgs_free(found[0], 1);
    cl_msgs_free(sent, 3);
    cl_queue_close(&q);
}

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("CL_TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/queue_registry_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(test_dir) ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_of),   cmocka_unit_test(test_url_file),
        cmocka_unit_test(test_file_url),     cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_catalog_seam), cmocka_unit_test(test_dlq_find),
    };
    return cmocka_run_group_tests(tests, setup_dir, NULL);
}
