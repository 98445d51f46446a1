/* alarm_notify.h - webhook notifications of alarm transitions: a bounded queue drained by
 * one thread that POSTs JSON (with a Slack-compatible "text") with timeouts and retries
 * with exponential backoff and jitter, so the caller never blocks. */
#ifndef CL_ALARM_NOTIFY_H
#define CL_ALARM_NOTIFY_H

#include "alarm.h"
#include "buf.h"

#include <stddef.h>
#include <stdint.h>

struct cl_alarm_notify_opts {
    size_t queue_max;        /* pending deliveries (one per URL per transition); default 256 */
    int max_attempts;        /* default 6 */
    int64_t backoff_base_ms; /* first retry delay; doubles per attempt; default 500 */
    int64_t backoff_max_ms;  /* default 30000 */
    int64_t timeout_ms;      /* whole request; default 5000 (connect: min(it, 2000)) */
};

void cl_alarm_notify_opts_default(struct cl_alarm_notify_opts *o);

struct cl_alarm_notifier;

/* Copies the URLs and starts the delivery thread. Returns NULL (nothing to free) if
 * the thread cannot start. Free with cl_alarm_notifier_free. */
struct cl_alarm_notifier *cl_alarm_notifier_new(char *const *urls, size_t n_urls,
                                                const struct cl_alarm_notify_opts *o);

/* Queues one POST per URL; never blocks on the network. A delivery that does not fit
 * in the queue is dropped with a warning. */
void cl_alarm_notifier_send(struct cl_alarm_notifier *nt, const struct cl_alarm_transition *t);

/* Stops the thread (aborting a request in progress) and frees everything; deliveries
 * still queued are dropped with one warning. NULL is ignored. */
void cl_alarm_notifier_free(struct cl_alarm_notifier *nt);

/* The JSON body of a transition: {"alarm","old_state","new_state","reason","timestamp",
 * "timestamp_ms","text"} with a one-line Slack "text". Appends to out. */
void cl_alarm_notify_body(const struct cl_alarm_transition *t, struct cl_buf *out);

#endif
