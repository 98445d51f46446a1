/* batch_worker.c - receive -> cl_batch_process -> delete stored / release failed. */
#include "batch_worker.h"

#include "batch_process.h"
#include "breaker.h"
#include "common.h"
#include "log.h"

#include <stdlib.h>
#include <time.h>

/* A batch must be written before its messages become visible again: the deadline is the
 * visibility timeout less this margin (at most half of a short timeout). */
#define VISIBILITY_MARGIN_MS 2000

struct cl_batch_worker {
    struct cl_queue *q;
    struct cl_store *st;
    struct cl_process_opts o;
    struct cl_process_counters c;
    unsigned rng;
    struct cl_breaker *breaker; /* shared (opts) or own */
    int own_breaker;
};

struct cl_batch_worker *cl_batch_worker_new(struct cl_queue *q, struct cl_store *st,
                                            const struct cl_process_opts *o)
{
    struct cl_batch_worker *w = cl_calloc(1, sizeof *w);
    w->q = q;
    w->st = st;
    w->o = *o;
    w->o.metrics = o->metrics ? o->metrics : &cl_std_metrics_none;
    w->rng = (unsigned)cl_mono_ms() ^ (unsigned)(uintptr_t)w;
    w->own_breaker = o->breaker == NULL;
    w->breaker = o->breaker ? o->breaker
                            : cl_breaker_new(o->retry_base_ms, CL_BREAKER_PROBE_MAX_MS,
                                             w->o.metrics->store_circuit_open);
    return w;
}

void cl_batch_worker_free(struct cl_batch_worker *w)
{
    if (w && w->own_breaker)
        cl_breaker_free(w->breaker);
    free(w);
}

void cl_batch_worker_counters(const struct cl_batch_worker *w, struct cl_process_counters *c)
{
    *c = w->c;
}

/* base * 2^(count-1), capped, jitter in [50%, 100%], whole seconds (as process_flush.c). */
static int backoff_s(struct cl_batch_worker *w, uint32_t receive_count)
{
    int64_t ms = w->o.retry_base_ms;
    for (uint32_t i = 1; i < receive_count && ms < w->o.retry_max_ms; i++)
        ms *= 2;
    ms = CL_MIN(ms, w->o.retry_max_ms);
    ms = ms / 2 + (int64_t)(rand_r(&w->rng) % (unsigned)(ms / 2 + 1));
    return (int)((ms + 999) / 1000);
}

static const char *status_error(enum cl_bp_status s)
{
    switch (s) {
    case CL_BP_UNDECODABLE:
        return "message could not be decoded";
    case CL_BP_STORE_FAILED:
        return "writing an object holding its records failed";
    case CL_BP_DEADLINE:
        return "not written before its visibility timeout";
    default:
        return NULL;
    }
}

static void release(struct cl_batch_worker *w, const struct cl_msg *m, enum cl_bp_status s)
{
    int rc = cl_queue_change_visibility(w->q, m->receipt, backoff_s(w, m->receive_count),
                                        status_error(s));
    cl_counter_add(w->o.metrics->retries, 1);
    if (rc != CL_OK && rc != CL_ERR_STALE)
        cl_log(CL_LOG_WARN, "processor: cannot release message %s: %s", m->id, cl_strerror(rc));
}

/* Deletes the stored messages, releases the others; counts both. */
static void settle(struct cl_batch_worker *w, const struct cl_msg *msgs, size_t n,
                   const struct cl_bp_result *res)
{
    const char **receipts = cl_malloc((n ? n : 1) * sizeof *receipts);
    int *results = cl_malloc((n ? n : 1) * sizeof *results);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (res->status[i] == CL_BP_STORED)
            receipts[k++] = msgs[i].receipt;
        else
            release(w, &msgs[i], res->status[i]);
    }
    if (k && cl_queue_delete(w->q, receipts, k, results) == CL_OK)
        for (size_t i = 0; i < k; i++)
            w->c.messages_deleted += results[i] == CL_OK;
    else if (k)
        cl_log(CL_LOG_WARN,
               "processor: deleting %zu stored message(s) failed; they will be "
               "received again and rewrite the same objects",
               k);
    free(receipts);
    free(results);
}

/* A failed put is the store's failure, not the messages': open the breaker, so no
 * further receive is counted while it lasts (the failed messages' own receive counts:
 * SQS cannot take it back). */
static void judge_store(struct cl_batch_worker *w, const struct cl_bp_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (res->status[i] == CL_BP_STORE_FAILED) {
            cl_breaker_failure(w->breaker, cl_now_ms(), "writing a batch's object failed");
            return;
        }
    if (res->n_keys)
        cl_breaker_success(w->breaker);
}

size_t cl_batch_worker_step(struct cl_batch_worker *w, int wait_ms)
{
    struct cl_msg *msgs = NULL;
    size_t n = 0;
    if (cl_breaker_gate(w->breaker, w->st, w->q, &w->rng, wait_ms))
        return 0;
    int64_t received_at = cl_now_ms();
    int rc = cl_queue_receive(w->q, w->o.receive_batch, w->o.visibility_s, wait_ms, &msgs, &n);
    if (rc != CL_OK) {
        cl_counter_add_at(w->o.metrics->processing_errors, CL_PERR_RECEIVE, 1);
        struct timespec pause = {1, 0}; /* the queue is unreachable: do not spin */
        nanosleep(&pause, NULL);
        return 0;
    }
    if (n == 0)
        return 0;
    w->c.messages_received += n;
    struct cl_bp_message *in = cl_calloc(n, sizeof *in);
    for (size_t i = 0; i < n; i++)
        in[i] = (struct cl_bp_message){.id = msgs[i].id,
                                       .body = msgs[i].body,
                                       .len = msgs[i].len,
                                       .attrs = msgs[i].attrs,
                                       .sent_ms = msgs[i].sent_ms};
    struct cl_bp_opts bo;
    cl_bp_opts_default(&bo);
    bo.compression_level = w->o.compression_level;
    bo.max_message_raw = w->o.max_message_raw;
    int64_t visibility_ms = (int64_t)w->o.visibility_s * 1000;
    bo.deadline_ms = received_at + visibility_ms - CL_MIN(VISIBILITY_MARGIN_MS, visibility_ms / 2);
    bo.reserve_ms = CL_MIN(bo.reserve_ms, visibility_ms / 4);
    bo.metrics = w->o.metrics;
    bo.analytics = w->o.analytics;
    struct cl_bp_result res;
    if (cl_batch_process(w->st, in, n, &bo, &res) == CL_OK) {
        w->c.records_stored += res.records_stored;
        w->c.objects_written += res.n_keys;
        w->c.bytes_stored += res.bytes_stored;
        w->c.failures += res.failed;
        settle(w, msgs, n, &res);
        judge_store(w, &res, n);
        cl_bp_result_free(&res);
    } else {
        cl_log(CL_LOG_ERROR, "processor: batch of %zu message(s) rejected", n);
    }
    free(in);
    cl_msgs_free(msgs, n);
    return n;
}
