/* breaker.h - the processor's circuit breaker for systemic failures.
 *
 * A store that is down (unreachable, disk full, I/O errors, throttling) fails every
 * message alike; retrying message by message would count a receive each time and move
 * acknowledged records to the DLQ within minutes. Instead, the first such failure OPENS
 * the breaker: no worker receives while it is open, and what they held goes back to
 * the queue without counting the receive. After a delay (base, doubling to max) one
 * worker PROBES the store and the queue with a tiny object; success closes the breaker
 * "on trial", failure re-opens it. A flush that fails on trial (the store answers the
 * probe but refuses the real object) counts as the messages' failure, so a message that
 * can never be stored still reaches the DLQ instead of looping forever.
 *
 * One breaker is shared by the workers of one process; every function is thread-safe.
 */
#ifndef CL_BREAKER_H
#define CL_BREAKER_H

#include "metrics.h"
#include "queue.h"
#include "store.h"

#include <stdint.h>

struct cl_breaker;

/* open_gauge (borrowed, may be NULL) is set to 1 while open, 0 when closed.
 * Caller frees with cl_breaker_free. */
struct cl_breaker *cl_breaker_new(int64_t base_ms, int64_t max_ms, struct cl_metric *open_gauge);
void cl_breaker_free(struct cl_breaker *b);

enum cl_breaker_verdict {
    CL_BREAKER_PASS,  /* closed: receive and process */
    CL_BREAKER_WAIT,  /* open: do not receive for *wait_ms */
    CL_BREAKER_PROBE, /* open and due: the caller alone probes, then reports */
};

enum cl_breaker_verdict cl_breaker_check(struct cl_breaker *b, int64_t now_ms, int64_t *wait_ms);

/* A systemic failure: opens the breaker (a no-op if open). Returns 1 if the failure
 * happened on trial (see above). */
int cl_breaker_failure(struct cl_breaker *b, int64_t now_ms, const char *why);

/* A failed probe (the caller got CL_BREAKER_PROBE): stays open, the delay doubled. */
void cl_breaker_probe_failed(struct cl_breaker *b, int64_t now_ms, const char *why);

/* A successful probe: closes the breaker, on trial until cl_breaker_success. */
void cl_breaker_probe_ok(struct cl_breaker *b, int64_t now_ms);

/* A flush that stored an object: the store works; ends a trial. */
void cl_breaker_success(struct cl_breaker *b);

/* The workers' gate before a receive: 0 when closed (receive); 1 when open, after
 * sleeping up to wait_ms, or after probing the store (a tiny object put and deleted
 * under _staging/) and the queue (cl_queue_ping) when a probe is due. */
int cl_breaker_gate(struct cl_breaker *b, struct cl_store *st, struct cl_queue *q, unsigned *rng,
                    int wait_ms);

#endif
