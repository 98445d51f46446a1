/* test_queue_retention.c - expired partitions of the catalog (catalog_retention.h): the
 * hour boundary, the quiet time, unpublished objects, oldest first, and deletion that
 * re-checks inside its transaction. */
#include "catalog.h"
#include "catalog_retention.h"
#include "common.h"
#include "queue.h"
#include "queue_sqlite.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOUR_MS 3600000LL
/* 2026-11-20T00:00:00Z */
#define DAY0_MS 1795132800000LL

static char test_dir[512];
static int64_t fake_now_ms;

static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now_ms;
}

static void open_queue(struct cl_queue *q, const char *name)
{
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/%s", test_dir, name);
    unlink(path);
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.durability_full = 0;
    if (cl_queue_open(q, path, &o, err, sizeof err) != CL_OK)
        fail_msg("open %s: %s", path, err);
    assert_int_equal(cl_queue_sqlite_set_clock(q, fake_clock, NULL), CL_OK);
}

/* Commits (and publishes, unless unpublished) one object of service on dt/hour, created at
 * fake_now_ms. */
static void add_object(struct cl_queue *q, const char *service, const char *dt, int hour, int n,
                       int unpublished)
{
    char key[200];
    snprintf(key, sizeof key, "service=%s/dt=%s/hour=%02d/obj%d.ndjson.gz", service, dt, hour, n);
    struct cl_catalog_object o = {.key = key,
                                  .staging_key = key,
                                  .service = service,
                                  .dt = dt,
                                  .hour = hour,
                                  .records = 10,
                                  .bytes = 100 + (uint64_t)n};
    int64_t id = 0;
    struct cl_catalog_flush f = {.obj = &o, .object_id = &id};
    assert_int_equal(cl_catalog_commit_flush(cl_queue_catalog(q), &f, NULL), CL_OK);
    if (!unpublished)
        assert_int_equal(cl_catalog_mark_published(cl_queue_catalog(q), id), CL_OK);
}

struct seen {
    char names[16][80];
    size_t n;
};

static int collect(void *arg, const struct cl_catalog_partition *p)
{
    struct seen *s = arg;
    if (s->n < 16)
        snprintf(s->names[s->n++], sizeof s->names[0], "%s/%s/%02d/%llu/%llu", p->service, p->dt,
                 p->hour, (unsigned long long)p->objects, (unsigned long long)p->bytes);
    return 0;
}

static void test_expired_and_deleted(void **state)
{
    (void)state;
    struct cl_queue q;
    open_queue(&q, "retention.db");
    fake_now_ms = DAY0_MS + 30 * 24 * HOUR_MS; /* objects committed long after their hours */
    add_object(&q, "web", "2026-11-20", 5, 1, 0);
    add_object(&q, "web", "2026-11-20", 5, 2, 0);
    add_object(&q, "api", "2026-11-20", 3, 3, 0);
    add_object(&q, "api", "2026-11-20", 6, 4, 0);
    add_object(&q, "api", "2026-11-20", 7, 5, 1); /* unpublished: kept */
    fake_now_ms += 10 * 60 * 1000;
    add_object(&q, "web", "2026-11-19", 23, 6, 0); /* just added: still receiving */

    /* cutoff 07:00: hours ending at or before it, i.e. up to hour 06 */
    int64_t cutoff = DAY0_MS + 7 * HOUR_MS;
    int64_t quiet = fake_now_ms - 5 * 60 * 1000;
    struct seen s = {.n = 0};
    assert_int_equal(cl_catalog_expired(&q, cutoff, quiet, collect, &s), CL_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.names[0], "api/2026-11-20/03/1/103"); /* oldest first */
    assert_string_equal(s.names[1], "web/2026-11-20/05/2/203");
    assert_string_equal(s.names[2], "api/2026-11-20/06/1/104");
    /* one millisecond earlier, hour 06 has not ended yet */
    s.n = 0;
    assert_int_equal(cl_catalog_expired(&q, cutoff - 1, quiet, collect, &s), CL_OK);
    assert_int_equal(s.n, 2);

    struct cl_catalog_partition p = {"web", "2026-11-20", 5, 0, 0, 0, 0};
    char **keys;
    size_t n;
    uint64_t bytes;
    assert_int_equal(cl_catalog_delete_partition(&q, &p, cutoff, quiet, &keys, &n, &bytes), CL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(bytes, 203);
    assert_string_equal(keys[0], "service=web/dt=2026-11-20/hour=05/obj1.ndjson.gz");
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    /* gone: a second delete finds nothing */
    assert_int_equal(cl_catalog_delete_partition(&q, &p, cutoff, quiet, &keys, &n, &bytes), CL_OK);
    assert_int_equal(n, 0);
    /* a new object lands in an expired partition: the delete re-checks and keeps it */
    struct cl_catalog_partition api3 = {"api", "2026-11-20", 3, 0, 0, 0, 0};
    add_object(&q, "api", "2026-11-20", 3, 7, 0);
    assert_int_equal(cl_catalog_delete_partition(&q, &api3, cutoff, quiet, &keys, &n, &bytes),
                     CL_OK);
    assert_int_equal(n, 0);
    /* not expired at this cutoff: nothing, whatever the quiet time */
    struct cl_catalog_partition late = {"api", "2026-11-20", 7, 0, 0, 0, 0};
    assert_int_equal(
        cl_catalog_delete_partition(&q, &late, cutoff, fake_now_ms + 1, &keys, &n, &bytes), CL_OK);
    assert_int_equal(n, 0);
    struct cl_catalog_stats st;
    assert_int_equal(cl_catalog_stats(cl_queue_catalog(&q), &st), CL_OK);
    assert_int_equal(st.objects, 5);
    cl_queue_close(&q);
}

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("CL_TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/queue_retention_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(test_dir) ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expired_and_deleted),
    };
    return cmocka_run_group_tests(tests, setup_dir, NULL);
}
