/* query.c - cl_query_run: validate, plan, scan objects in parallel (a count all at once,
 * anything else in batches), merge. */
#include "query_int.h"

#include "common.h"
#include "units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One batch of consecutive plan objects, scanned by the pool's threads. */
struct batch {
    struct cl_store *store;
    struct cq_budget *budget;
    struct cq_scanner *const *sc; /* one per thread of the pool */
    const struct cq_object *objs;
    struct cq_result **res; /* res[i] for objs[i], allocated by the worker */
    size_t n;
    atomic_size_t next; /* next object to take */
    int keep;
};

static void batch_worker(void *arg, size_t t)
{
    struct batch *b = arg;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&b->next, 1, memory_order_relaxed);
        if (i >= b->n)
            return;
        if (cq_budget_check(b->budget))
            continue; /* res[i] stays NULL: not scanned */
        b->res[i] = cl_calloc(1, sizeof *b->res[i]);
        cq_scan_object(b->sc[t], b->store, &b->objs[i], b->keep, b->res[i]);
    }
}

struct run {
    const struct cl_query_source *src;
    const struct cl_query *q;
    cl_query_emit_fn emit;
    cl_query_warn_fn warn;
    cl_query_progress_fn progress;
    void *arg;
    struct cl_query_stats *st;
    struct cq_plan plan;
    struct cq_scanner *sc[CQ_MAX_THREADS];
    size_t n_threads;
    struct cq_pool *pool;
    int64_t t0;
    struct cq_merge merge;
    struct cq_budget budget;
};

/* Accounts for one scanned object and hands it to the merge, emits it (unordered; not
 * once the run stopped) or frees it. An object the budget stopped, or never started, gives nothing:
 * the run fails as a whole. Returns 1 when an unordered emit reached the limit or was asked to
 * stop. */
static int collect(struct run *x, struct cq_result *r, int stopped)
{
    struct cl_query_stats *st = x->st;
    if (!r)
        return 0;
    if (r->stopped) {
        cq_result_free(r);
        return 0;
    }
    st->bytes_compressed += r->bytes_compressed;
    if (r->failed) {
        st->objects_failed++;
        if (x->warn)
            x->warn(x->arg, r->obj->key, r->reason);
        cq_result_free(r);
        return 0;
    }
    st->objects_opened++;
    st->bytes_scanned += r->bytes_scanned;
    st->records_scanned += r->records_scanned;
    st->records_matched += r->records_matched;
    if (x->q->count_only || (x->q->unordered && stopped))
        cq_result_free(r);
    else if (x->q->unordered)
        return cq_emit_unordered(&x->merge, r, x->emit, x->arg);
    else
        cq_merge_add(&x->merge, r);
    return 0;
}

static int64_t next_bound(const struct run *x, size_t i)
{
    const struct cq_object *o = &x->plan.v[i];
    return x->q->order == CL_ORDER_OLDEST ? o->min_ts : o->max_ts;
}

/* Objects per thread between two progress reports of a count. */
#define COUNT_PROGRESS_PER_THREAD 64

/* A count's progress: the run's stats with what the scan has summed so far. */
static void count_progress(void *arg, const struct cl_query_stats *scanned, size_t done)
{
    struct run *x = arg;
    struct cl_query_stats s = *x->st;
    s.objects_opened += scanned->objects_opened;
    s.bytes_compressed += scanned->bytes_compressed;
    s.bytes_scanned += scanned->bytes_scanned;
    s.records_scanned += scanned->records_scanned;
    s.records_matched += scanned->records_matched;
    s.elapsed_ms = cl_mono_ms() - x->t0;
    x->progress(x->arg, &s, done, x->plan.n);
}

/* Scans the plan for a count: every thread takes objects until none is left, then the
 * failures are reported in plan order. */
static void scan_count(struct run *x)
{
    struct cq_result **failed = cl_calloc(CL_MAX(x->plan.n, 1), sizeof *failed);
    struct cq_count_job j = {.store = x->src->store,
                             .budget = &x->budget,
                             .objs = x->plan.v,
                             .n = x->plan.n,
                             .sc = x->sc,
                             .progress = x->progress ? count_progress : NULL,
                             .progress_arg = x,
                             .progress_every = x->n_threads * COUNT_PROGRESS_PER_THREAD};
    size_t done = cq_count_scan(&j, x->pool, x->st, failed);
    for (size_t i = 0; i < x->plan.n; i++)
        collect(x, failed[i], 0);
    free(failed);
    x->st->elapsed_ms = cl_mono_ms() - x->t0;
    if (x->progress)
        x->progress(x->arg, x->st, done, x->plan.n);
}

/* Scans the plan batch by batch (a count: all at once); returns once everything is
 * scanned, the limit is met or emit asked to stop. */
static void scan_all(struct run *x)
{
    if (x->q->count_only) {
        scan_count(x);
        return;
    }
    /* Objects per thread and batch: a batch ends in a join (its slowest object sets the
     * pace) and keeps its matches until then, so an unordered run (nothing waits in the
     * merge between batches) takes more at a time than an ordered one. */
    size_t per = x->q->unordered ? 8 : 2, bsize = x->n_threads * per;
    /* An ordered run with a limit starts with one object per thread: the newest (oldest)
     * objects often hold the whole limit, and the merge then stops before the rest. */
    int ordered = !x->q->unordered;
    size_t first = ordered && x->q->limit ? x->n_threads : bsize;
    struct cq_result **res = cl_calloc(bsize, sizeof *res);
    int stop = 0;
    for (size_t i = 0, n; !stop && i < x->plan.n && !cq_budget_check(&x->budget); i += n) {
        n = CL_MIN(i == 0 ? first : bsize, x->plan.n - i);
        struct batch b = {.store = x->src->store,
                          .budget = &x->budget,
                          .sc = x->sc,
                          .objs = &x->plan.v[i],
                          .res = res,
                          .n = n,
                          .keep = 1};
        atomic_init(&b.next, 0);
        cq_pool_run(x->pool, batch_worker, &b);
        for (size_t j = 0; j < b.n; j++) {
            /* after a stop the rest is only accounted for and freed */
            stop |= collect(x, res[j], stop);
            res[j] = NULL;
        }
        size_t next = i + b.n;
        if (!stop && ordered && !cq_budget_check(&x->budget))
            stop = cq_merge_emit(&x->merge, next < x->plan.n,
                                 next < x->plan.n ? next_bound(x, next) : 0, x->emit, x->arg);
        x->st->elapsed_ms = cl_mono_ms() - x->t0;
        if (x->progress)
            x->progress(x->arg, x->st, next, x->plan.n);
    }
    free(res);
}

static int check_query(const struct cl_query *q, char *err, size_t err_len)
{
    if (q->from_ms >= q->to_ms) {
        snprintf(err, err_len, "empty time range: from must be before to");
        return CL_ERR_INVAL;
    }
    if (q->level_mask >> CL_LEVEL_COUNT) {
        snprintf(err, err_len, "level mask names unknown levels");
        return CL_ERR_INVAL;
    }
    if (q->n_services && !q->services) {
        snprintf(err, err_len, "services missing");
        return CL_ERR_INVAL;
    }
    return CL_OK;
}

/* The result and message of a run the budget stopped. */
static int stop_error(const struct run *x, char *err, size_t err_len)
{
    const struct cl_query *q = x->q;
    char n[32];
    switch ((enum cl_query_stop)atomic_load(&x->budget.stop)) {
    case CL_QUERY_DEADLINE:
        snprintf(err, err_len,
                 "query deadline exceeded: stopped after %.1f s, its time limit; narrow the "
                 "time range or the filters, or raise --query-timeout",
                 (double)q->timeout_ms / 1000.0);
        return CL_ERR_TOO_LARGE;
    case CL_QUERY_BUDGET:
        cl_format_size(q->max_bytes, n, sizeof n);
        snprintf(err, err_len,
                 "query byte budget exceeded: it would scan more than %s of records; narrow the "
                 "time range or the services, or raise --query-max-bytes",
                 n);
        return CL_ERR_TOO_LARGE;
    case CL_QUERY_REGEX:
        cq_regex_error(x->budget.match_error, q, err, err_len);
        return CL_ERR_INVAL;
    case CL_QUERY_CANCELLED:
        snprintf(err, err_len, "query cancelled (client gone or shutting down)");
        return CL_ERR_CLOSED;
    default:
        return CL_OK;
    }
}

static size_t thread_count(const struct cl_query *q)
{
    long n = q->threads > 0 ? q->threads : sysconf(_SC_NPROCESSORS_ONLN);
    return (size_t)CL_MAX(1, CL_MIN(n, CQ_MAX_THREADS));
}

int cl_query_run_progress(const struct cl_query_source *src, const struct cl_query *q,
                          cl_query_emit_fn emit, cl_query_warn_fn warn,
                          cl_query_progress_fn progress, void *arg, struct cl_query_stats *stats,
                          char *err, size_t err_len)
{
    int64_t t0 = cl_mono_ms();
    struct cl_query_stats local;
    if (!stats)
        stats = &local;
    struct run x = {.src = src,
                    .q = q,
                    .emit = emit,
                    .warn = warn,
                    .progress = progress,
                    .arg = arg,
                    .st = stats,
                    .t0 = t0};
    memset(stats, 0, sizeof *stats);
    cq_budget_init(&x.budget, q, t0);
    struct cq_filter f;
    int rc = check_query(q, err, err_len);
    if (rc == CL_OK)
        rc = cq_filter_init(&f, q, err, err_len);
    else
        memset(&f, 0, sizeof f);
    if (rc == CL_OK && (rc = cq_plan_build_budget(src, q, 1, &x.budget, &x.plan)) != CL_OK &&
        !x.budget.stop)
        snprintf(err, err_len, "listing objects: %s", cl_strerror(rc));
    if (rc == CL_OK) {
        stats->objects_considered = x.plan.considered;
        stats->objects_pruned = x.plan.pruned;
        /* Once: CL_MIN and CL_MAX evaluate their arguments more than once, and each
         * thread_count may read /sys (sysconf's count of online CPUs). */
        size_t threads = thread_count(q);
        x.n_threads = CL_MAX(1, CL_MIN(threads, x.plan.n));
        for (size_t i = 0; i < x.n_threads; i++)
            x.sc[i] = cq_scanner_new(&f, &x.budget);
        x.pool = cq_pool_new(x.n_threads);
        cq_merge_init(&x.merge, q->order, q->limit);
        scan_all(&x);
        cq_merge_free(&x.merge);
        cq_pool_free(x.pool);
        for (size_t i = 0; i < x.n_threads; i++)
            cq_scanner_free(x.sc[i]);
    }
    if (x.budget.stop) { /* a stop wins over the listing error it caused */
        stats->stopped = (enum cl_query_stop)x.budget.stop;
        rc = stop_error(&x, err, err_len);
    }
    cq_plan_free(&x.plan);
    cq_filter_free(&f);
    stats->elapsed_ms = cl_mono_ms() - t0;
    return rc;
}

int cl_query_run(const struct cl_query_source *src, const struct cl_query *q, cl_query_emit_fn emit,
                 cl_query_warn_fn warn, void *arg, struct cl_query_stats *stats, char *err,
                 size_t err_len)
{
    return cl_query_run_progress(src, q, emit, warn, NULL, arg, stats, err, err_len);
}
