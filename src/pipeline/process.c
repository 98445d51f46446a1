/* process.c - the daemon's processor: receive from the queue, run the engine, and carry
 * out its outcomes on the queue (delete, release with backoff, give back uncounted,
 * dead-letter); keep held messages invisible; one message never held twice. */
#include "process.h"

#include "breaker.h"
#include "common.h"
#include "engine.h"
#include "held_set.h"
#include "log.h"
#include "phase_clock.h"
#include "retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cl_processor {
    struct cl_queue *q;
    struct cl_store *st;
    struct cl_process_opts o;
    struct cl_commit *commit;
    struct cl_engine *engine;
    struct cl_process_counters c;
    unsigned rng;
    struct cl_held_set *held_set;
    int own_held_set;
    struct cl_breaker *breaker;
    int own_breaker;
    int64_t empty_since_ms; /* start of the receives that found nothing; 0: the last had some */
    int64_t full_at_ms;     /* when a receive last came back full (a backlog); 0: never */
    struct cl_phase_clock clock; /* bound to the stepping thread when CLOUDLOG_PHASES is set */
    int clock_bound;
};

void cl_process_opts_default(struct cl_process_opts *o)
{
    o->flush_size = 8u << 20;
    o->flush_age_ms = 10000;
    o->flush_idle_ms = 1000;
    o->buffer_max = 20u << 20; /* docs/performance.md, "What the buffer budget holds" */
    o->compression_level = 1;
    o->visibility_s = 60;
    o->retry_base_ms = 1000;
    o->retry_max_ms = 300000;
    o->receive_batch = 10;
    o->max_message_raw = 64u << 20;
    o->conditional_commit = 0;
    o->budget = NULL;
    o->metrics = NULL;
    o->breaker = NULL;
    o->analytics = NULL;
    o->any_received_ms = NULL;
}

/* Sink: the messages are stored; delete them unless the commit did (counting only those
 * it deleted: one whose delete failed is deleted, and counted, at its next receive). */
static void on_stored(void *arg, struct cl_engine_msg *const *m, size_t n, int acked)
{
    struct cl_processor *p = arg;
    if (acked) {
        for (size_t i = 0; i < n; i++)
            p->c.messages_deleted += m[i]->deleted != 0;
    } else {
        const char **receipts = cl_malloc(n * sizeof *receipts);
        int *results = cl_malloc(n * sizeof *results);
        for (size_t i = 0; i < n; i++)
            receipts[i] = m[i]->receipt;
        if (cl_queue_delete(p->q, receipts, n, results) == CL_OK)
            for (size_t i = 0; i < n; i++)
                p->c.messages_deleted += results[i] == CL_OK;
        else
            cl_log(CL_LOG_WARN,
                   "processor: deleting %zu stored message(s) failed; they will be received "
                   "again",
                   n);
        free(receipts);
        free(results);
    }
    for (size_t i = 0; i < n; i++)
        cl_held_set_release(p->held_set, m[i]->id, p);
}

static void release_backoff(struct cl_processor *p, const struct cl_engine_msg *m,
                            const char *error)
{
    int s = cl_retry_backoff_s(p->o.retry_base_ms, p->o.retry_max_ms, m->receive_count, &p->rng);
    int rc = cl_queue_change_visibility(p->q, m->receipt, s, error);
    cl_counter_add(p->o.metrics->retries, 1);
    if (rc != CL_OK && rc != CL_ERR_STALE)
        cl_log(CL_LOG_WARN, "processor: cannot release message %s: %s", m->id, cl_strerror(rc));
}

/* Sink: the message was not stored; what the retry policy (retry.h) says. */
static void on_failed(void *arg, const struct cl_engine_msg *m, enum cl_engine_outcome why,
                      const char *error)
{
    struct cl_processor *p = arg;
    if (why == CL_ENGINE_POISON) {
        /* dead-lettered at once; where the queue cannot (SQS) its redrive policy will */
        if (cl_queue_dead_letter(p->q, m->receipt, error) == CL_ERR_UNSUPPORTED)
            release_backoff(p, m, error);
    } else if (why == CL_ENGINE_GIVEN_BACK) {
        /* visible at once: nobody receives while the breaker is open anyway */
        int rc = cl_queue_release(p->q, m->receipt, 0, error);
        cl_counter_add(p->o.metrics->retries, 1);
        if (rc != CL_OK && rc != CL_ERR_STALE)
            cl_log(CL_LOG_WARN, "processor: cannot give back message %s: %s", m->id,
                   cl_strerror(rc));
    } else {
        release_backoff(p, m, error);
    }
    cl_held_set_release(p->held_set, m->id, p);
}

struct cl_processor *cl_processor_new(struct cl_queue *q, struct cl_store *st,
                                      const struct cl_process_opts *o, struct cl_held_set *held)
{
    struct cl_processor *p = cl_calloc(1, sizeof *p);
    p->own_held_set = held == NULL;
    p->held_set = held ? held : cl_held_set_new();
    p->q = q;
    p->st = st;
    p->o = *o;
    if (!p->o.metrics)
        p->o.metrics = &cl_std_metrics_none;
    p->own_breaker = o->breaker == NULL;
    p->breaker = o->breaker ? o->breaker
                            : cl_breaker_new(o->retry_base_ms, CL_BREAKER_PROBE_MAX_MS,
                                             p->o.metrics->store_circuit_open);
    p->commit = o->conditional_commit
                    ? cl_commit_conditional_new(st)
                    : cl_commit_catalog_new(q, st, o->retry_base_ms, o->retry_max_ms, o->metrics);
    struct cl_engine_opts eo = {.flush_size = o->flush_size,
                                .flush_age_ms = o->conditional_commit ? 0 : o->flush_age_ms,
                                .buffer_max = o->buffer_max,
                                .budget = o->budget,
                                .compression_level = o->compression_level,
                                .max_message_raw = o->max_message_raw,
                                .metrics = p->o.metrics,
                                .breaker = p->breaker,
                                .analytics = o->analytics};
    struct cl_engine_sink sink = {.arg = p, .stored = on_stored, .failed = on_failed};
    p->engine = cl_engine_new(&eo, p->commit, &sink);
    p->rng = (unsigned)cl_now_ms() ^ (unsigned)(uintptr_t)p;
    return p;
}

void cl_processor_free(struct cl_processor *p)
{
    if (!p)
        return;
    if (p->clock_bound) {
        cl_phase_unbind(&p->clock);
        cl_phase_report(&p->clock, "processor");
    }
    size_t n;
    struct cl_engine_msg *const *held = cl_engine_held(p->engine, &n);
    for (size_t i = 0; i < n; i++)
        cl_held_set_release(p->held_set, held[i]->id, p);
    cl_engine_free(p->engine);
    cl_commit_free(p->commit);
    if (p->own_held_set)
        cl_held_set_free(p->held_set);
    if (p->own_breaker)
        cl_breaker_free(p->breaker);
    free(p);
}

void cl_processor_counters(const struct cl_processor *p, struct cl_process_counters *c)
{
    struct cl_engine_counters ec;
    cl_engine_counters(p->engine, &ec);
    *c = p->c;
    c->records_stored = ec.records_stored;
    c->objects_written = ec.objects_written;
    c->bytes_stored = ec.bytes_stored;
    c->failures = ec.failures;
}

/* How long receives must find nothing before every buffer flushes: flush_idle_ms, or a
 * tenth of it when a receive came back full within flush_idle_ms before the receives
 * started finding nothing: a backlog ran out, and nothing suggests more is on its way.
 * The 3 M-record drain waited the full second with every message received (13% of its
 * wall time at 690 k records/s, docs/performance.md); a flow that never fills a receive
 * keeps the full second, so its objects keep their size. */
static int64_t idle_after_ms(const struct cl_processor *p)
{
    int64_t since = p->empty_since_ms ? p->empty_since_ms : cl_now_ms();
    if (p->full_at_ms && since - p->full_at_ms < p->o.flush_idle_ms)
        return p->o.flush_idle_ms / 10;
    return p->o.flush_idle_ms;
}

/* Since when receives have found nothing: this worker's, or, with workers sharing a
 * clock, the later of its own and the last message any of them received. */
static int64_t empty_since(const struct cl_processor *p, int64_t now)
{
    int64_t since = p->empty_since_ms ? p->empty_since_ms : now;
    if (p->o.any_received_ms)
        since = CL_MAX(since, (int64_t)atomic_load(p->o.any_received_ms));
    return since;
}

int64_t cl_processor_idle_ms(const struct cl_processor *p)
{
    int64_t now = cl_now_ms(), wait = cl_engine_due_in_ms(p->engine, now);
    /* Wake up in time to extend visibility: at half the timeout's remaining window. */
    int64_t half = (int64_t)p->o.visibility_s * 500;
    size_t n;
    struct cl_engine_msg *const *held = cl_engine_held(p->engine, &n);
    for (size_t i = 0; i < n; i++)
        wait = CL_MIN(wait, held[i]->visible_until_ms - half - now);
    if (n && p->o.flush_idle_ms > 0) /* wake up when the idle flush is due */
        wait = CL_MIN(wait, empty_since(p, now) + idle_after_ms(p) - now);
    return CL_MAX(wait, 0);
}

static void extend_visibility(struct cl_processor *p, int64_t now)
{
    int64_t window = (int64_t)p->o.visibility_s * 1000;
    size_t n;
    struct cl_engine_msg *const *held = cl_engine_held(p->engine, &n);
    for (size_t i = 0; i < n; i++) {
        struct cl_engine_msg *m = held[i];
        if (m->visible_until_ms == 0)
            m->visible_until_ms = now + window; /* received in this step */
        if (m->visible_until_ms - now > window / 2)
            continue;
        int rc = cl_queue_change_visibility(p->q, m->receipt, p->o.visibility_s, NULL);
        if (rc == CL_OK)
            m->visible_until_ms = now + window;
        else
            cl_log(CL_LOG_WARN, "processor: cannot extend visibility of %s: %s", m->id,
                   cl_strerror(rc));
    }
}

/* Received again while this process still holds it (its visibility ran out): only the
 * new receipt is kept, by the holder; the records are already buffered. */
static int already_held(struct cl_processor *p, const struct cl_msg *m)
{
    const void *owner = cl_held_set_claim(p->held_set, m->id, p);
    if (!owner)
        return 0;
    size_t n;
    struct cl_engine_msg *const *held = cl_engine_held(p->engine, &n);
    for (size_t i = 0; owner == p && i < n; i++) {
        struct cl_engine_msg *h = held[i];
        if (strcmp(h->id, m->id) == 0) {
            free(h->receipt);
            h->receipt = cl_strdup(m->receipt);
            h->receive_count = m->receive_count;
            h->visible_until_ms = cl_now_ms() + (int64_t)p->o.visibility_s * 1000;
        }
    }
    cl_log(CL_LOG_WARN,
           "processor: message %s received again while held (visibility timeout "
           "%ds too short for the flush age?)",
           m->id, p->o.visibility_s);
    return 1;
}

static void take(struct cl_processor *p, const struct cl_msg *msgs, size_t n)
{
    struct cl_engine_in *in = cl_calloc(n ? n : 1, sizeof *in);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!already_held(p, &msgs[i]))
            in[k++] = (struct cl_engine_in){.id = msgs[i].id,
                                            .receipt = msgs[i].receipt,
                                            .body = msgs[i].body,
                                            .len = msgs[i].len,
                                            .attrs = msgs[i].attrs,
                                            .receive_count = msgs[i].receive_count,
                                            .sent_ms = msgs[i].sent_ms,
                                            .index = i};
    cl_engine_take(p->engine, in, k);
    free(in);
}

/* Flushes every buffer once receives have found nothing for idle_after_ms. Measured in a
 * 3 M-record drain: without it the last partial buffers (11% of the records, held by 20
 * partitions) waited the whole flush age with nothing left to receive, 9 of 15 s
 * (docs/performance.md). A steady flow, even of a few messages per second, never idles. */
static void flush_if_idle(struct cl_processor *p, int64_t receive_start, size_t got, int64_t now)
{
    if (got) {
        p->empty_since_ms = 0;
        if (p->o.any_received_ms)
            atomic_store(p->o.any_received_ms, now);
        if (got == p->o.receive_batch)
            p->full_at_ms = now;
        return;
    }
    if (!p->empty_since_ms)
        p->empty_since_ms = receive_start;
    size_t held;
    cl_engine_held(p->engine, &held);
    if (p->o.flush_idle_ms > 0 && held && now - empty_since(p, now) >= idle_after_ms(p))
        cl_engine_flush_all(p->engine);
}

size_t cl_processor_step(struct cl_processor *p, int wait_ms)
{
    struct cl_msg *msgs = NULL;
    size_t n = 0;
    if (!p->clock_bound && cl_phase_enabled()) {
        cl_phase_bind(&p->clock);
        p->clock_bound = 1;
    }
    cl_phase_enter(CL_PHASE_SETTLE);
    int64_t receive_start = cl_now_ms();
    cl_engine_tick(p->engine, receive_start);
    if (cl_breaker_gate(p->breaker, p->st, p->q, &p->rng, wait_ms)) {
        extend_visibility(p, cl_now_ms());
        return 0;
    }
    cl_phase_enter(CL_PHASE_RECEIVE);
    int rc = cl_queue_receive(p->q, p->o.receive_batch, p->o.visibility_s, wait_ms, &msgs, &n);
    cl_phase_enter(CL_PHASE_TAKE);
    if (rc != CL_OK && rc != CL_ERR_NOT_FOUND) {
        cl_log(CL_LOG_WARN, "processor: receive failed: %s", cl_strerror(rc));
        cl_counter_add_at(p->o.metrics->processing_errors, CL_PERR_RECEIVE, 1);
        /* the queue is unreachable: do not spin */
        int64_t ms = CL_MIN(CL_MAX(wait_ms, 0), 1000);
        struct timespec pause = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
        nanosleep(&pause, NULL);
    }
    p->c.messages_received += n;
    take(p, msgs, n);
    cl_msgs_free(msgs, n);
    cl_phase_enter(CL_PHASE_SETTLE);
    int64_t now = cl_now_ms();
    extend_visibility(p, now); /* stamps the new messages' visibility */
    cl_engine_flush_due(p->engine, now);
    if (rc == CL_OK || rc == CL_ERR_NOT_FOUND)
        flush_if_idle(p, receive_start, n, now);
    extend_visibility(p, now);
    cl_phase_enter(CL_PHASE_OTHER);
    return n;
}

void cl_processor_flush_all(struct cl_processor *p)
{
    cl_engine_flush_all(p->engine);
}
