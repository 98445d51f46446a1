/* scan_count.c - a count's scan: the pool's threads take the plan's objects one at a
 * time from a shared index until none is left, with no join between objects.
 *
 * A count orders and emits nothing, so an object's result is only summed: each thread
 * adds what its objects gave to sums of its own, added up once at the end, and keeps
 * nothing of an object but a failure (for its warning, given in plan order by the
 * caller). No thread waits for another before the plan runs out: the slowest object of
 * a batch no longer sets the pace, nor does a thread the scheduler took off its core. */
#include "query_int.h"

#include "common.h"

#include <stdlib.h>

enum { C_OPENED, C_COMPRESSED, C_SCANNED, C_RECORDS, C_MATCHED, C_N };

/* One thread's sums, on a cache line of their own. Only that thread writes them; relaxed
 * atomics let thread 0 read them while they change, for a progress report. */
struct part {
    _Alignas(64) atomic_uint_fast64_t v[C_N];
};

struct count_run {
    const struct cq_count_job *job;
    struct cq_result **failed;
    atomic_size_t next; /* the next object to take */
    atomic_size_t done; /* objects finished (scanned, failed or stopped) */
    size_t reported;    /* done at the last progress report; thread 0 only */
    struct part part[CQ_MAX_THREADS];
};

static void part_add(struct part *p, int k, uint64_t n)
{
    uint64_t v = atomic_load_explicit(&p->v[k], memory_order_relaxed);
    atomic_store_explicit(&p->v[k], v + n, memory_order_relaxed);
}

/* Adds every thread's sums to st. */
static void sum_parts(struct count_run *c, size_t n_threads, struct cl_query_stats *st)
{
    for (size_t t = 0; t < n_threads; t++) {
        atomic_uint_fast64_t *v = c->part[t].v;
        st->objects_opened += atomic_load_explicit(&v[C_OPENED], memory_order_relaxed);
        st->bytes_compressed += atomic_load_explicit(&v[C_COMPRESSED], memory_order_relaxed);
        st->bytes_scanned += atomic_load_explicit(&v[C_SCANNED], memory_order_relaxed);
        st->records_scanned += atomic_load_explicit(&v[C_RECORDS], memory_order_relaxed);
        st->records_matched += atomic_load_explicit(&v[C_MATCHED], memory_order_relaxed);
    }
}

/* Sums object i's result r into p and frees it, or keeps it in failed[i]; a result the
 * budget stopped gives nothing (the run fails as a whole). */
static void account(struct count_run *c, struct part *p, size_t i, struct cq_result *r)
{
    if (r->failed && !r->stopped) {
        c->failed[i] = r;
        return;
    }
    if (!r->stopped) {
        part_add(p, C_OPENED, 1);
        part_add(p, C_COMPRESSED, r->bytes_compressed);
        part_add(p, C_SCANNED, r->bytes_scanned);
        part_add(p, C_RECORDS, r->records_scanned);
        part_add(p, C_MATCHED, r->records_matched);
    }
    cq_result_free(r);
}

/* Thread 0 reports progress every job->progress_every objects. */
static void maybe_progress(struct count_run *c, size_t done, size_t n_threads)
{
    const struct cq_count_job *j = c->job;
    if (!j->progress || done - c->reported < j->progress_every)
        return;
    c->reported = done;
    struct cl_query_stats s = {0};
    sum_parts(c, n_threads, &s);
    j->progress(j->progress_arg, &s, done);
}

struct count_arg {
    struct count_run *c;
    size_t n_threads;
};

static void count_worker(void *arg, size_t t)
{
    struct count_arg *a = arg;
    struct count_run *c = a->c;
    const struct cq_count_job *j = c->job;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&c->next, 1, memory_order_relaxed);
        if (i >= j->n || cq_budget_check(j->budget))
            return;
        struct cq_result *r = cl_calloc(1, sizeof *r);
        cq_scan_object(j->sc[t], j->store, &j->objs[i], 0, r);
        account(c, &c->part[t], i, r);
        size_t done = atomic_fetch_add_explicit(&c->done, 1, memory_order_relaxed) + 1;
        if (t == 0)
            maybe_progress(c, done, a->n_threads);
    }
}

size_t cq_count_scan(const struct cq_count_job *job, struct cq_pool *pool,
                     struct cl_query_stats *st, struct cq_result **failed)
{
    /* ~16 KiB: on the caller's stack, where _Alignas holds */
    struct count_run c = {.job = job, .failed = failed};
    atomic_init(&c.next, 0);
    atomic_init(&c.done, 0);
    struct count_arg a = {.c = &c, .n_threads = cq_pool_size(pool)};
    cq_pool_run(pool, count_worker, &a);
    sum_parts(&c, a.n_threads, st);
    return atomic_load(&c.done);
}
