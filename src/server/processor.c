/* processor.c - the daemon's processor threads: one cl_processor each (the engine with
 * the catalog commit on an SQLite queue, with conditional puts on a remote queue such
 * as SQS), stepping until shutdown, then flushing what they hold. */
#include "processor.h"

#include "breaker.h"
#include "engine.h"
#include "common.h"
#include "held_set.h"
#include "log.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct worker {
    struct cl_processor *proc;
    pthread_t thread;
    int started;
    atomic_int *stopping;
};

struct cl_processors {
    atomic_int stopping;
    struct cl_held_set *held;
    struct cl_breaker *breaker;          /* one for all workers: the store is shared */
    struct cl_buffer_budget budget;      /* one --buffer-max for all workers */
    atomic_int_fast64_t any_received_ms; /* when any worker last received (idle flush) */
    size_t n;
    struct worker w[];
};

/* Waits for work at most until the next partition is due, and at most 1 s so the
 * shutdown flag is seen promptly. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    while (!atomic_load(w->stopping)) {
        int64_t wait = CL_MIN(cl_processor_idle_ms(w->proc), 1000);
        cl_processor_step(w->proc, (int)CL_MAX(wait, 1));
    }
    cl_processor_flush_all(w->proc);
    return NULL;
}

/* glibc's malloc keeps its default, dynamic mmap threshold: the partition buffers, which
 * grow to megabytes and are released at every flush, are mappings of their own
 * (map_buf.h; a bounded pool keeps a few for the next partitions, the rest unmapped), so
 * they do not stay resident in the heap, and ingest's per-request buffers are not made
 * mappings (page faults, munmap) as a threshold fixed for the whole process did. Those
 * then live in the heap, where each of the 8 ingest workers' own arena kept its peak: at
 * most PROCESSOR_ARENAS arenas, shared, hold ~4 MiB less at the same CPU per record
 * (docs/performance.md, "The processor's memory apart from ingest's"). */
#define PROCESSOR_ARENAS 2

/* Starts n processor threads (caller stops them with cl_processors_stop). */
struct cl_processors *cl_processors_start(struct cl_queue *q, struct cl_store *st,
                                          const struct cl_process_opts *o, size_t n, int batch_mode)
{
    mallopt(M_ARENA_MAX, PROCESSOR_ARENAS);
    struct cl_processors *ps = cl_calloc(1, sizeof *ps + n * sizeof(struct worker));
    atomic_init(&ps->stopping, 0);
    ps->n = n;
    ps->held = cl_held_set_new();
    struct cl_process_opts po = *o;
    ps->breaker = cl_breaker_new(o->retry_base_ms, CL_BREAKER_PROBE_MAX_MS,
                                 o->metrics ? o->metrics->store_circuit_open : NULL);
    po.breaker = ps->breaker;
    po.conditional_commit = batch_mode;
    atomic_init(&ps->budget.used, 0);
    atomic_init(&ps->budget.flushing, 0);
    atomic_init(&ps->budget.slack, 0);
    ps->budget.max = o->buffer_max;
    po.budget = &ps->budget;
    atomic_init(&ps->any_received_ms, 0);
    po.any_received_ms = &ps->any_received_ms;
    for (size_t i = 0; i < n; i++) {
        struct worker *w = &ps->w[i];
        w->proc = cl_processor_new(q, st, &po, ps->held);
        w->stopping = &ps->stopping;
        w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
        if (!w->started)
            cl_log(CL_LOG_ERROR, "cannot start processor thread %zu", i);
    }
    return ps;
}

void cl_processors_stop(struct cl_processors *ps)
{
    if (!ps)
        return;
    atomic_store(&ps->stopping, 1);
    for (size_t i = 0; i < ps->n; i++) {
        if (ps->w[i].started)
            pthread_join(ps->w[i].thread, NULL);
        cl_processor_free(ps->w[i].proc);
    }
    cl_held_set_free(ps->held);
    cl_breaker_free(ps->breaker);
    free(ps);
}

void cl_processors_counters(struct cl_processors *ps, struct cl_process_counters *sum)
{
    *sum = (struct cl_process_counters){0};
    for (size_t i = 0; ps && i < ps->n; i++) {
        struct cl_process_counters c;
        cl_processor_counters(ps->w[i].proc, &c);
        sum->messages_received += c.messages_received;
        sum->messages_deleted += c.messages_deleted;
        sum->records_stored += c.records_stored;
        sum->objects_written += c.objects_written;
        sum->bytes_stored += c.bytes_stored;
        sum->failures += c.failures;
    }
}
