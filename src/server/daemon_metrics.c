/* daemon_metrics.c - the daemon's metrics registry, its queue gauges, and the thread
 * that writes EMF lines every interval and once more at shutdown. */
#include "daemon_metrics.h"

#include "cl_limits.h"
#include "common.h"
#include "daemon.h"
#include "daemon_analytics.h"
#include "daemon_quarantine.h"
#include "emf.h"
#include "log.h"
#include "retention_thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cl_daemon_emf {
    struct cl_emf_writer *w;
    struct cl_key_usage *keys; /* per-key documents after the registry's */
    const char *ns;
    FILE *f; /* stdout or a file we opened */
    int64_t interval_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int stopping;
};

/* Collector: QueueDepth, QueueInFlight, OldestMessageAgeSeconds, DLQDepth. */
static void sample_queue(void *arg)
{
    struct cl_daemon *d = arg;
    struct cl_queue_stats st;
    if (cl_daemon_queue_stats(d, &st) != CL_OK)
        return; /* keep the last values */
    int64_t now = cl_now_ms();
    cl_gauge_set(d->m.queue_depth, (double)st.visible);
    cl_gauge_set(d->m.queue_in_flight, (double)st.inflight);
    cl_gauge_set(d->m.dlq_depth, (double)st.dlq_depth);
    cl_gauge_set(d->m.oldest_message_age,
                 st.oldest_ms ? (double)CL_MAX(now - st.oldest_ms, 0) / 1000.0 : 0.0);
    /* Redrives happen in the CLI's process; the queue file counts them for everyone.
     * Scrapes, the alarm thread and EMF collect concurrently: one adds each delta. */
    static pthread_mutex_t redriven_mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&redriven_mu);
    uint64_t seen = cl_counter_total(d->m.redriven);
    if (st.redriven > seen)
        cl_counter_add(d->m.redriven, st.redriven - seen);
    pthread_mutex_unlock(&redriven_mu);
}

static void write_emf(struct cl_daemon_emf *e)
{
    int64_t now = cl_now_ms();
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_METRICS_RESPONSE);
    cl_key_usage_emf(e->keys, e->ns, now, &b);
    if (cl_emf_write(e->w, e->f, now) != 0 ||
        (b.len && (fwrite(b.data, 1, b.len, e->f) != b.len || fflush(e->f) != 0)))
        cl_log(CL_LOG_WARN, "metrics: cannot write EMF output: %s", strerror(errno));
    cl_buf_free(&b);
}

static void *emf_main(void *arg)
{
    struct cl_daemon_emf *e = arg;
    pthread_mutex_lock(&e->mu);
    while (!e->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + (e->interval_ms % 1000) * 1000000;
        until.tv_sec += (time_t)(e->interval_ms / 1000 + ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        int rc = 0;
        while (!e->stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&e->cv, &e->mu, &until);
        if (e->stopping)
            break;
        pthread_mutex_unlock(&e->mu);
        write_emf(e);
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

static void emf_free(struct cl_daemon_emf *e)
{
    if (e->f && e->f != stdout)
        fclose(e->f);
    cl_emf_writer_free(e->w);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static struct cl_daemon_emf *emf_start(struct cl_daemon *d, char *err, size_t err_len)
{
    const struct cl_server_config *cfg = d->cfg;
    struct cl_daemon_emf *e = cl_calloc(1, sizeof *e);
    cl_cond_init_monotonic(&e->cv);
    pthread_mutex_init(&e->mu, NULL);
    e->interval_ms = CL_MAX(cfg->emf_interval_ms, (int64_t)1000);
    const char *ns = cfg->emf_namespace ? cfg->emf_namespace : "cloudlog";
    e->w = cl_emf_writer_new(d->metrics, ns, cfg->emf_dimensions, err, err_len);
    e->keys = d->key_usage;
    e->ns = ns;
    if (e->w)
        e->f = strcmp(cfg->emf_path, "-") == 0 ? stdout : fopen(cfg->emf_path, "a");
    if (e->w && !e->f)
        snprintf(err, err_len, "cannot open EMF output %s: %s", cfg->emf_path, strerror(errno));
    if (e->w && e->f && pthread_create(&e->thread, NULL, emf_main, e) != 0) {
        snprintf(err, err_len, "cannot start the EMF thread");
        if (e->f != stdout)
            fclose(e->f);
        e->f = NULL;
    }
    if (!e->w || !e->f) {
        emf_free(e);
        return NULL;
    }
    return e;
}

/* What start-up found: set once, before any reader runs. */
static void set_startup_gauges(struct cl_daemon *d)
{
    cl_gauge_set(d->m.recent_unclean_restarts, d->unclean_restarts);
    cl_gauge_set(d->m.catalog_objects_missing, (double)d->recovery.missing);
}

int cl_daemon_metrics_start(struct cl_daemon *d, char *err, size_t err_len)
{
    d->metrics = cl_metrics_new();
    cl_std_metrics_register(d->metrics, &d->m);
    cl_daemon_analytics_register(d);
    if (d->cfg->n_syslog_listen)
        cl_syslog_metrics_register(d->metrics, &d->syslog_m);
    set_startup_gauges(d);
    cl_metrics_on_collect(d->metrics, sample_queue, d);
    cl_daemon_quarantine_metrics(d);
    d->retention = cl_retention_thread_new(d); /* its metrics, before any reader runs */
    if (!d->cfg->emf_path)
        return 0;
    d->emf = emf_start(d, err, err_len);
    if (!d->emf) {
        cl_daemon_analytics_stop(d); /* frees what cl_daemon_analytics_register made */
        cl_metrics_free(d->metrics);
        d->metrics = NULL;
        return -1;
    }
    return 0;
}

void cl_daemon_metrics_stop(struct cl_daemon *d)
{
    struct cl_daemon_emf *e = d->emf;
    if (e) {
        pthread_mutex_lock(&e->mu);
        e->stopping = 1;
        pthread_cond_signal(&e->cv);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->thread, NULL);
        write_emf(e); /* the last interval, up to shutdown */
        emf_free(e);
        d->emf = NULL;
    }
    cl_metrics_free(d->metrics);
    d->metrics = NULL;
}
