/* test_pipeline_budget_resident.c - the buffer budget counts what is resident: a mapped
 * partition buffer's resident pages are the pages written, never its doubled capacity nor
 * a huge page (map_buf.h); the accumulator's buffered bytes bound the resident bytes of
 * all its buffers; and bytes another engine is already flushing count as freed, so two
 * engines over a shared budget do not both flush the same excess (engine.h). */
#include "common.h"
#include "engine.h"
#include "ingest.h"
#include "map_buf.h"
#include "message.h"
#include "msg_fixture.h"
#include "part_acc.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Resident bytes of the mapping [p, p + len) (mincore, whole pages). */
static size_t resident(const void *p, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = (len + page - 1) / page, n = 0;
    unsigned char *vec = cl_malloc(pages ? pages : 1);
    assert_int_equal(mincore((void *)p, len, vec), 0);
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    free(vec);
    return n * page;
}

/* 1 if /proc/self/smaps flags the mapping holding p as never backed by huge pages. */
static int no_huge_pages(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    int in = 0, nh = -1;
    while (nh < 0 && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) /* a mapping's first line */
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (in && strncmp(line, "VmFlags:", 8) == 0)
            nh = strstr(line, " nh") != NULL;
    }
    fclose(f);
    return nh == 1;
}

/* Growth doubles the capacity (mremap) but only written pages become resident, and the
 * mapping keeps its no-huge-page flag across every move. */
static void test_resident_is_pages_written(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct cl_map_buf b;
    cl_map_buf_init(&b, NULL);
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 2100; i++) /* 2.1 MB: grown 1 MiB -> 4 MiB */
        cl_map_buf_append(&b, chunk, sizeof chunk);
    assert_int_equal(b.cap, 4u << 20);
    size_t written = (b.len + 1 + page - 1) / page * page; /* with its NUL */
    assert_int_equal(resident(b.data, b.cap), written);
    assert_true(no_huge_pages(b.data));
    cl_map_buf_free(&b);
}

static struct cl_line_head head_of(const char *service)
{
    struct cl_line_head h = {.ts_ms = 1764039600000, .level = CL_LEVEL_INFO, .hour = 3};
    snprintf(h.service, sizeof h.service, "%s", service);
    snprintf(h.dt, sizeof h.dt, "2026-11-25");
    return h;
}

/* Resident bytes of every buffer of a: what the budget should count. */
static size_t acc_resident(const struct cl_part_acc *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct cl_part *pt = a->parts[i];
        n += pt->gz.cap ? resident(pt->gz.data, pt->gz.cap) : 0;
        n += pt->data.cap ? resident(pt->data.data, pt->data.cap) : 0;
    }
    return n;
}

/* Members and lines of uneven sizes in 12 partitions: the resident bytes of all buffers
 * stay within the buffered bytes plus one page per buffer (its last, partly written),
 * at every step, and the mappings are gone once the partitions are removed. */
static void test_buffered_bounds_resident(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct cl_part_acc a;
    cl_part_acc_init(&a);
    struct cl_acc_member m = {0};
    char *bytes = cl_malloc(300000);
    memset(bytes, 'g', 300000);
    const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"};
    struct cl_line_head h[12];
    for (int i = 0; i < 12; i++) {
        h[i] = head_of(names[i]);
        cl_part_acc_add(&a, names[i], &h[i], 0);
    }
    unsigned x = 12345;
    for (int step = 0; step < 600; step++) {
        x = x * 1103515245u + 12345u;
        struct cl_part *pt = a.parts[x % 12];
        size_t len = 1 + (x >> 8) % 299999;
        if (step % 3)
            cl_part_acc_append_gz(&a, pt, bytes, len);
        else
            cl_part_acc_append(&a, pt, bytes, len % 5000, &pt->head, &m);
        assert_true(acc_resident(&a) <= a.buffered + 2 * 12 * page);
    }
    assert_true(a.buffered > (size_t)50 << 20); /* megabytes per partition: grown often */
    void *first = a.parts[0]->gz.data;
    size_t cap = a.parts[0]->gz.cap;
    while (a.n)
        cl_part_acc_remove(&a, a.n - 1);
    assert_int_equal(a.buffered, 0);
    unsigned char v;
    assert_int_equal(mincore(first, cap, &v), -1); /* unmapped at once (ENOMEM) */
    cl_part_acc_free(&a);
    free(bytes);
}

/* A sink that counts what the engine stores. */
static void on_stored(void *arg, struct cl_engine_msg *const *m, size_t n, int acked)
{
    (void)m;
    (void)acked;
    *(size_t *)arg += n;
}

static void on_failed(void *arg, const struct cl_engine_msg *m, enum cl_engine_outcome why,
                      const char *error)
{
    (void)arg;
    (void)m;
    (void)why;
    fail_msg("%s", error);
}

#define TS "2026-11-25T15:04:05.123Z"

/* One queue message with n records of service (distinct texts, so they compress to more
 * bytes with n). */
static struct cl_engine_in message(struct cl_ingest_batch *batch, const char *id,
                                   const char *service, int n)
{
    char *body = cl_malloc((size_t)n * 120 + 1);
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)sprintf(
            body + len, "{\"timestamp\":\"" TS "\",\"service\":\"%s\",\"message\":\"%d %x\"}\n",
            service, i, (unsigned)(i * 2654435761u));
    struct cl_engine_in in = cl_test_engine_in(batch, id, body);
    free(body);
    return in;
}

/* One engine over a shared budget of 1 byte (low mark 0: the excess is all it holds)
 * that has taken two messages, api's (200 records) and web's (2), each its own partition;
 * committed to a fs store in a temporary directory, whose ops put_ops replaces if set. */
struct budget_run {
    char dir[256];
    struct cl_store st;
    const struct cl_store_ops *fs_ops;
    struct cl_store_ops ops;
    struct cl_commit *commit;
    struct cl_buffer_budget budget;
    size_t stored;
    struct cl_engine *e;
    struct cl_ingest_batch ba, bw;
};

static void budget_run_open(struct budget_run *r,
                            int (*put)(void *impl, const char *key, const void *data, size_t len))
{
    const char *tmp = getenv("CL_TMPDIR") ? getenv("CL_TMPDIR") : "/tmp";
    char err[256];
    snprintf(r->dir, sizeof r->dir, "%s/cl-budget-XXXXXX", tmp);
    assert_non_null(mkdtemp(r->dir));
    assert_int_equal(cl_store_open(&r->st, r->dir, err, sizeof err), CL_OK);
    r->fs_ops = r->st.ops;
    r->ops = *r->st.ops;
    if (put) {
        r->ops.put = put;
        r->st.ops = &r->ops;
    }
    r->commit = cl_commit_conditional_new(&r->st);
    r->budget.max = 1;
    atomic_init(&r->budget.used, 0);
    atomic_init(&r->budget.flushing, 0);
    struct cl_engine_opts o = cl_test_engine_opts(SIZE_MAX, &r->budget);
    struct cl_engine_sink sink = {.arg = &r->stored, .stored = on_stored, .failed = on_failed};
    r->e = cl_engine_new(&o, r->commit, &sink);
    struct cl_engine_in in[2] = {message(&r->ba, "api", "api", 200),
                                 message(&r->bw, "web", "web", 2)};
    assert_int_equal(cl_engine_take(r->e, in, 2), CL_OK);
    assert_true(atomic_load(&r->budget.used) > r->budget.max);
}

static void budget_run_close(struct budget_run *r)
{
    cl_engine_free(r->e);
    cl_ingest_batch_free(&r->ba);
    cl_ingest_batch_free(&r->bw);
    cl_commit_free(r->commit);
    r->st.ops = r->fs_ops;
    cl_store_close(&r->st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    assert_int_equal(system(cmd), 0);
}

/* Over a shared budget whose whole excess another engine is already flushing: the
 * engine commits only its largest partition (the at-least-one that keeps what it holds
 * moving), not every partition the excess alone would ask for. Once that flush is over
 * (flushing back to 0), the next step commits the rest, and leaves nothing reserved. */
static void test_flushing_counts_as_freed(void **state)
{
    (void)state;
    static struct budget_run r;
    budget_run_open(&r, NULL);
    size_t used = atomic_load(&r.budget.used);
    atomic_store(&r.budget.flushing, used); /* another engine's flush frees as much */
    assert_int_equal(cl_engine_flush_due(r.e, cl_now_ms()), CL_OK);
    assert_int_equal(r.stored, 1); /* api, the largest; web waits */
    assert_true(atomic_load(&r.budget.used) > 0);
    assert_int_equal(atomic_load(&r.budget.flushing), used); /* e's reservation let go */
    atomic_store(&r.budget.flushing, 0);                     /* that flush is over */
    assert_int_equal(cl_engine_flush_due(r.e, cl_now_ms()), CL_OK);
    assert_int_equal(r.stored, 2);
    assert_int_equal(atomic_load(&r.budget.used), 0);
    assert_int_equal(atomic_load(&r.budget.flushing), 0);
    budget_run_close(&r);
}

/* A put that notes whether the budget's flushing covers more than used: bytes of a
 * settled partition still counted as being freed. */
static struct budget_run watched;
static size_t n_puts, n_puts_over;

static int watching_put(void *impl, const char *key, const void *data, size_t len)
{
    n_puts++;
    n_puts_over += atomic_load(&watched.budget.flushing) > atomic_load(&watched.budget.used);
    return watched.fs_ops->put(impl, key, data, len);
}

/* Each partition of a flush leaves flushing as it settles (when it leaves used), not
 * at the end of the whole flush: while the second partition is put, flushing holds only
 * its bytes, so another engine does not subtract the first's twice. */
static void test_flushing_released_per_partition(void **state)
{
    (void)state;
    budget_run_open(&watched, watching_put);
    n_puts = n_puts_over = 0;
    assert_int_equal(cl_engine_flush_due(watched.e, cl_now_ms()), CL_OK);
    assert_int_equal(watched.stored, 2);
    assert_int_equal(n_puts, 2);
    assert_int_equal(n_puts_over, 0);
    assert_int_equal(atomic_load(&watched.budget.used), 0);
    assert_int_equal(atomic_load(&watched.budget.flushing), 0);
    budget_run_close(&watched);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resident_is_pages_written),
        cmocka_unit_test(test_buffered_bounds_resident),
        cmocka_unit_test(test_flushing_counts_as_freed),
        cmocka_unit_test(test_flushing_released_per_partition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
