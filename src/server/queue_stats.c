/* queue_stats.c - queue statistics for the ingest check and the metrics collectors. */
#include "daemon.h"

#include "common.h"

#include <pthread.h>

/* A remote queue's statistics are an HTTP request each (and only approximate, as SQS
 * says): ingest would pay one per request, so they are read at most this often. */
#define REMOTE_STATS_TTL_MS 1000

static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;

int cl_daemon_queue_stats(struct cl_daemon *d, struct cl_queue_stats *st)
{
    if (!d->remote_queue)
        return cl_queue_stats(&d->queue, st);
    pthread_mutex_lock(&stats_mu);
    int64_t now = cl_mono_ms();
    if (!d->stats_at_ms || now - d->stats_at_ms >= REMOTE_STATS_TTL_MS) {
        struct cl_queue_stats fresh;
        d->stats_rc = cl_queue_stats(&d->queue, &fresh);
        if (d->stats_rc == CL_OK)
            d->stats = fresh;
        d->stats_at_ms = now;
    }
    int rc = d->stats_rc;
    *st = d->stats;
    pthread_mutex_unlock(&stats_mu);
    return rc;
}
