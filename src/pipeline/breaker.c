/* breaker.c - circuit breaker state: closed, open (waiting), probing, closed on trial. */
#include "breaker.h"

#include "common.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct cl_breaker {
    pthread_mutex_t mu;
    int64_t base_ms, max_ms;
    int open;
    int probing;
    int trial;         /* closed by a probe, no object stored since */
    int64_t delay_ms;  /* current wait between probes */
    int64_t next_ms;   /* when the next probe is due */
    int64_t opened_ms; /* when it opened, for the log */
    struct cl_metric *gauge;
};

struct cl_breaker *cl_breaker_new(int64_t base_ms, int64_t max_ms, struct cl_metric *open_gauge)
{
    struct cl_breaker *b = cl_calloc(1, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    b->base_ms = CL_MAX(base_ms, 1);
    b->max_ms = CL_MAX(max_ms, b->base_ms);
    b->gauge = open_gauge;
    cl_gauge_set(b->gauge, 0);
    return b;
}

void cl_breaker_free(struct cl_breaker *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

enum cl_breaker_verdict cl_breaker_check(struct cl_breaker *b, int64_t now_ms, int64_t *wait_ms)
{
    enum cl_breaker_verdict v = CL_BREAKER_PASS;
    *wait_ms = 0;
    pthread_mutex_lock(&b->mu);
    if (b->open) {
        if (!b->probing && now_ms >= b->next_ms) {
            b->probing = 1;
            v = CL_BREAKER_PROBE;
        } else {
            v = CL_BREAKER_WAIT;
            /* While another worker probes, look again soon. */
            *wait_ms = b->probing ? 100 : CL_MAX(b->next_ms - now_ms, 1);
        }
    }
    pthread_mutex_unlock(&b->mu);
    return v;
}

int cl_breaker_failure(struct cl_breaker *b, int64_t now_ms, const char *why)
{
    pthread_mutex_lock(&b->mu);
    int on_trial = b->trial;
    b->trial = 0;
    if (!b->open) {
        b->open = 1;
        b->opened_ms = now_ms;
        b->delay_ms = b->base_ms;
        b->next_ms = now_ms + b->delay_ms;
        cl_log(CL_LOG_ERROR,
               "processor: circuit open: %s; no receives until a probe of the store "
               "succeeds (messages wait in the queue, their receives not counted)",
               why);
    }
    /* Other workers failing while it is already open say nothing new. */
    cl_gauge_set(b->gauge, 1);
    pthread_mutex_unlock(&b->mu);
    return on_trial;
}

void cl_breaker_probe_failed(struct cl_breaker *b, int64_t now_ms, const char *why)
{
    pthread_mutex_lock(&b->mu);
    b->probing = 0;
    b->delay_ms = CL_MIN(b->delay_ms * 2, b->max_ms);
    b->next_ms = now_ms + b->delay_ms;
    int64_t delay = b->delay_ms;
    pthread_mutex_unlock(&b->mu);
    cl_log(CL_LOG_WARN, "processor: %s; next probe in %lld ms", why, (long long)delay);
}

void cl_breaker_probe_ok(struct cl_breaker *b, int64_t now_ms)
{
    pthread_mutex_lock(&b->mu);
    if (b->open)
        cl_log(CL_LOG_INFO, "processor: circuit closed: the store answers again after %lld ms",
               (long long)(now_ms - b->opened_ms));
    b->open = 0;
    b->probing = 0;
    b->trial = 1;
    cl_gauge_set(b->gauge, 0);
    pthread_mutex_unlock(&b->mu);
}

void cl_breaker_success(struct cl_breaker *b)
{
    pthread_mutex_lock(&b->mu);
    b->trial = 0;
    pthread_mutex_unlock(&b->mu);
}

static void probe(struct cl_breaker *b, struct cl_store *st, struct cl_queue *q, unsigned *rng)
{
    char key[64];
    snprintf(key, sizeof key, "_staging/probe-%08x", (unsigned)rand_r(rng));
    int rc = cl_store_put(st, key, "probe\n", 6);
    if (rc == CL_OK)
        rc = cl_store_delete(st, key);
    if (rc == CL_OK)
        rc = cl_queue_ping(q);
    if (rc == CL_OK) {
        cl_breaker_probe_ok(b, cl_now_ms());
        return;
    }
    char why[160];
    snprintf(why, sizeof why, "probe of the store failed: %s", cl_strerror(rc));
    cl_breaker_probe_failed(b, cl_now_ms(), why);
}

int cl_breaker_gate(struct cl_breaker *b, struct cl_store *st, struct cl_queue *q, unsigned *rng,
                    int wait_ms)
{
    int64_t wait = 0;
    switch (cl_breaker_check(b, cl_now_ms(), &wait)) {
    case CL_BREAKER_PASS:
        return 0;
    case CL_BREAKER_PROBE:
        probe(b, st, q, rng);
        return 1;
    case CL_BREAKER_WAIT:
        break;
    }
    int64_t ms = CL_MIN(wait, (int64_t)CL_MAX(wait_ms, 0));
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 1;
}
