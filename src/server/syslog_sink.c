/* syslog_sink.c - a connection's batches of syslog records and their durable commits.
 *
 * Records are collected as NDJSON input records and committed together on an ingest
 * worker: one cl_ingest_parse (the POST /v1/logs normalizer and message packer) and one
 * cl_queue_send, which returns after the group commit that makes them durable. At most
 * one batch per connection commits at a time; the connection reads and parses the next
 * one meanwhile and waits before handing it over, so a slow or full queue slows the
 * sender down (TCP) instead of growing memory.
 */
#include "syslog_int.h"

#include "common.h"
#include "log.h"
#include "syslog.h"
#include "workers.h"

#include <time.h>

/* Backoff while the queue is full or failing (TCP only). */
#define RETRY_FIRST_MS 50
#define RETRY_MAX_MS 1000

void syslog_sink_init(struct syslog_sink *k, struct cl_syslog_server *s, enum syslog_transport t)
{
    k->s = s;
    k->transport = t;
    /* a full batch plus one more record: JSON escaping grows a message at most 6x */
    size_t max = SYSLOG_BATCH_BYTES + 6 * s->max_msg + (64 << 10);
    cl_buf_init(&k->ndjson, max);
    cl_buf_init(&k->job.ndjson, max);
    k->n = 0;
    k->first_mono_ms = 0;
    k->job.k = k;
    k->job.n = 0;
    atomic_init(&k->job.running, 0);
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->done, NULL);
}

static void wait_job(struct syslog_sink *k)
{
    pthread_mutex_lock(&k->mu);
    while (atomic_load(&k->job.running))
        pthread_cond_wait(&k->done, &k->mu);
    pthread_mutex_unlock(&k->mu);
}

void syslog_sink_free(struct syslog_sink *k)
{
    wait_job(k);
    cl_buf_free(&k->ndjson);
    cl_buf_free(&k->job.ndjson);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->done);
}

void syslog_sink_add(struct syslog_sink *k, const char *msg, size_t len, int truncated,
                     int64_t now_ms)
{
    struct cl_syslog_metrics *sm = &k->s->d->syslog_m;
    struct cl_syslog_msg m;
    cl_syslog_parse(msg, len, now_ms, &m);
    if (cl_syslog_record(&m, now_ms, &k->ndjson) != CL_OK) {
        /* cannot happen: the buffer holds a full batch plus one record of any size */
        cl_counter_add_at(sm->dropped, CL_SYSLOG_DROP_INVALID, 1);
        return;
    }
    if (k->n++ == 0)
        k->first_mono_ms = cl_mono_ms();
    cl_counter_add_at(sm->messages, k->transport, 1);
    if (truncated)
        cl_counter_add(sm->truncated, 1);
}

int syslog_sink_due(const struct syslog_sink *k)
{
    if (k->n >= SYSLOG_BATCH_RECORDS || k->ndjson.len >= SYSLOG_BATCH_BYTES)
        return 1;
    return k->n && !atomic_load(&k->job.running) &&
           cl_mono_ms() - k->first_mono_ms >= SYSLOG_BATCH_MS;
}

int syslog_sink_wait_ms(const struct syslog_sink *k)
{
    if (!k->n)
        return SYSLOG_POLL_MS;
    if (atomic_load(&k->job.running))
        return 1; /* look again soon: the batch is due when the commit ends */
    int64_t left = k->first_mono_ms + SYSLOG_BATCH_MS - cl_mono_ms();
    return left > 0 ? (int)left : 0;
}

/* CL_ERR_FULL when the queue is over --queue-max-depth/--queue-max-bytes (the limits
 * POST /v1/logs answers 503 at), else the result of sending. */
static int send_once(struct cl_daemon *d, struct cl_ingest_batch *b)
{
    struct cl_queue_stats st;
    if (cl_daemon_queue_stats(d, &st) == CL_OK &&
        (st.visible + st.inflight >= (uint64_t)d->cfg->queue_max_depth ||
         st.bytes >= d->cfg->queue_max_bytes))
        return CL_ERR_FULL;
    return cl_queue_send(&d->queue, b->msgs, b->n_msgs);
}

/* Sends until it works; TCP retries with backoff until shutdown, UDP tries once. */
static int send_batch(struct syslog_sink *k, struct cl_ingest_batch *b)
{
    struct cl_daemon *d = k->s->d;
    int64_t delay = RETRY_FIRST_MS;
    for (int attempt = 0;; attempt++) {
        int rc = send_once(d, b);
        if (rc == CL_OK || k->transport == SYSLOG_UDP)
            return rc;
        if (atomic_load(&k->s->stopping) && attempt > 0)
            return rc;
        if (attempt == 0)
            cl_log(CL_LOG_WARN, "syslog: queue %s (%s); not reading until it accepts",
                   rc == CL_ERR_FULL ? "full" : "failing", cl_strerror(rc));
        struct timespec ts = {(time_t)(delay / 1000), (long)(delay % 1000) * 1000000};
        nanosleep(&ts, NULL);
        delay = CL_MIN(delay * 2, RETRY_MAX_MS);
    }
}

/* Normalizes and commits one batch (an ingest worker runs this). */
static void commit(struct syslog_sink *k, struct syslog_commit *job)
{
    struct cl_daemon *d = k->s->d;
    struct cl_syslog_metrics *sm = &d->syslog_m;
    struct cl_ingest_batch batch;
    struct cl_ingest_parse_result pr;
    cl_ingest_batch_init(&batch);
    cl_ingest_parse_result_init(&pr);
    int64_t now = cl_now_ms();
    cl_ingest_parse(job->ndjson.data, job->ndjson.len, NULL, now, &d->limits, &batch, &pr);
    if (pr.rejected) {
        cl_counter_add_at(sm->dropped, CL_SYSLOG_DROP_INVALID, pr.rejected);
        cl_counter_add(d->m.rejected_log_count, pr.rejected);
    }
    int rc = pr.accepted ? send_batch(k, &batch) : CL_OK;
    if (rc == CL_OK) {
        cl_counter_add(d->m.ingested_log_count, pr.accepted);
        cl_counter_add(d->m.ingested_bytes, pr.accepted_bytes);
    } else {
        enum cl_syslog_drop why =
            rc == CL_ERR_FULL ? CL_SYSLOG_DROP_QUEUE_FULL : CL_SYSLOG_DROP_QUEUE_ERROR;
        cl_counter_add_at(sm->dropped, why, pr.accepted);
    }
    cl_ingest_batch_free(&batch);
    cl_ingest_parse_result_free(&pr);
}

static void commit_main(void *arg)
{
    struct syslog_commit *job = arg;
    struct syslog_sink *k = job->k;
    commit(k, job);
    pthread_mutex_lock(&k->mu);
    atomic_store(&job->running, 0);
    pthread_cond_broadcast(&k->done);
    pthread_mutex_unlock(&k->mu);
}

void syslog_sink_flush(struct syslog_sink *k)
{
    if (!k->n)
        return;
    wait_job(k);
    struct cl_buf filled = k->ndjson; /* swap: the committed buffer is refilled */
    k->ndjson = k->job.ndjson;
    k->job.ndjson = filled;
    cl_buf_reset(&k->ndjson);
    k->job.n = k->n;
    k->n = 0;
    atomic_store(&k->job.running, 1); /* no worker holds the job before the submit */
    cl_workers_submit(k->s->d->workers, commit_main, &k->job);
}

void syslog_sink_drain(struct syslog_sink *k)
{
    syslog_sink_flush(k);
    wait_job(k);
}
