/* daemon_analytics.c - the daemon's analytics thread (daemon_analytics.h): tick, drain
 * and one SQLite transaction per second. A write that fails is logged and its batch
 * dropped: patterns are derived data (design.md), never a reason to hold up the queue. */
#include "daemon_analytics.h"

#include "analytics.h"
#include "alarm.h"
#include "analytics_db.h"
#include "common.h"
#include "daemon.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 1000
/* The processors hand records to the analytics observer thread through a buffer of this
 * size, twice (the one filled, the one learned; docs/analytics.md "Cost inline"). Records
 * of indexed messages go compressed (cl_analytics_observe_member, about 3.6 times
 * smaller), so 1 MiB holds about the 12,000 records that 4 MiB of text held ("Cost
 * inline, sixth round"). Measured on text: 16 MiB cost 23 MiB more peak RSS for no CPU per
 * record saved; 3 messages of 1,000 records cost a fifth more CPU per record (producers
 * and the observer wait on each other far more often). */
#define CL_DAEMON_ANALYTICS_QUEUE_BYTES ((size_t)1 << 20)
/* Observer threads, each mining its own services (analytics.h, shards): one was the
 * drain's bottleneck while the processors left most of the second core idle
 * (docs/analytics.md "Cost inline, third round"). Each gets half the buffer above. */
#define CL_DAEMON_ANALYTICS_SHARDS 2

struct cl_daemon_analytics {
    struct cl_analytics *a;
    struct cl_analytics_db *db;
    struct cl_metric *detected, *score;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started, stopping;
};

void cl_daemon_analytics_path(const struct cl_daemon *d, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", d->cfg->data_dir, CL_ANALYTICS_DB_NAME);
}

/* One tick, drain and transaction; final: the last one, which holds nothing back. */
static void write_once(struct cl_daemon_analytics *an, int final)
{
    struct cl_analytics_batch b;
    char err[256];
    int64_t now = cl_now_ms();
    cl_analytics_tick(an->a, now);
    if (final)
        cl_analytics_drain_final(an->a, &b);
    else
        cl_analytics_drain(an->a, &b);
    for (size_t i = 0; i < b.n_anomalies; i++)
        cl_log(CL_LOG_WARN, "anomaly: %s", b.anomalies[i].text);
    if (b.dropped)
        cl_log(CL_LOG_WARN, "analytics: %llu count rows dropped (more than %d pending)",
               (unsigned long long)b.dropped, CL_ANALYTICS_MAX_PENDING);
    if ((b.n_counts || b.n_patterns || b.n_anomalies) &&
        cl_analytics_db_apply(an->db, &b, now, err, sizeof err) != 0)
        cl_log(CL_LOG_WARN, "analytics: %s (batch dropped)", err);
    cl_analytics_batch_free(&b);
}

static void *analytics_main(void *arg)
{
    struct cl_daemon_analytics *an = arg;
    pthread_mutex_lock(&an->mu);
    while (!an->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += TICK_MS / 1000;
        int rc = 0;
        while (!an->stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&an->cv, &an->mu, &until);
        pthread_mutex_unlock(&an->mu);
        write_once(an, 0);
        pthread_mutex_lock(&an->mu);
    }
    pthread_mutex_unlock(&an->mu);
    return NULL;
}

static void register_metrics(struct cl_daemon_analytics *an, struct cl_metrics *reg)
{
    an->detected = cl_metrics_counter(reg, "AnomaliesDetected", CL_UNIT_COUNT,
                                      "Anomalies the inline detectors reported (docs/analytics.md)",
                                      NULL, NULL);
    an->score = cl_metrics_gauge(reg, "AnomalyScoreMax", CL_UNIT_COUNT,
                                 "Highest anomaly score of the last closed minutes (0..1)");
}

void cl_daemon_analytics_register(struct cl_daemon *d)
{
    d->analytics = cl_calloc(1, sizeof *d->analytics);
    register_metrics(d->analytics, d->metrics);
}

int cl_daemon_analytics_start(struct cl_daemon *d, char *err, size_t err_len)
{
    struct cl_daemon_analytics *an = d->analytics;
    if (d->cfg->analytics && strcmp(d->cfg->analytics, "off") == 0)
        return 0;
    char path[4200];
    cl_daemon_analytics_path(d, path, sizeof path);
    if (cl_analytics_db_open(path, 0, &an->db, err, err_len) != 0)
        return -1;
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    if (d->cfg->analytics_max_patterns > 0)
        o.max_patterns = (size_t)d->cfg->analytics_max_patterns;
    o.anomalies_detected = an->detected;
    o.anomaly_score = an->score;
    o.async_bytes = CL_DAEMON_ANALYTICS_QUEUE_BYTES;
    o.shards = CL_DAEMON_ANALYTICS_SHARDS;
    /* A one-off message's pattern row waits a drain (a second): most such clusters are
     * evicted by then and only count in "<rare>" (docs/analytics.md "fifth round"). */
    o.hold_singletons = 1;
    an->a = cl_analytics_new(&o);
    long known = cl_analytics_db_load_known(an->db, an->a);
    cl_log(CL_LOG_INFO, "analytics: %s, %ld known pattern(s)", path, known);
    pthread_mutex_init(&an->mu, NULL);
    pthread_cond_init(&an->cv, NULL);
    an->started = pthread_create(&an->thread, NULL, analytics_main, an) == 0;
    if (!an->started)
        cl_log(CL_LOG_ERROR, "analytics: cannot start its thread; counts are not written");
    return 0;
}

struct cl_analytics *cl_daemon_analytics(struct cl_daemon *d)
{
    return d->analytics ? d->analytics->a : NULL;
}

void cl_daemon_analytics_stop(struct cl_daemon *d)
{
    struct cl_daemon_analytics *an = d->analytics;
    if (!an)
        return;
    if (an->started) {
        pthread_mutex_lock(&an->mu);
        an->stopping = 1;
        pthread_cond_signal(&an->cv);
        pthread_mutex_unlock(&an->mu);
        pthread_join(an->thread, NULL);
        pthread_mutex_destroy(&an->mu);
        pthread_cond_destroy(&an->cv);
    }
    if (an->a) {
        write_once(an, 1); /* what the processors handed over last, and what was held */
        struct cl_analytics_stats st;
        cl_analytics_stats(an->a, &st);
        cl_log(CL_LOG_INFO,
               "analytics: %llu record(s), %zu service(s), %zu pattern(s) in %zu bytes, "
               "%llu lock wait(s), %llu full-buffer wait(s), %llu member(s) not inflated, "
               "%llu record(s) over the new-pattern budget (in <rare>)",
               (unsigned long long)st.records, st.services, st.patterns, st.miner_bytes,
               (unsigned long long)st.lock_contended, (unsigned long long)st.queue_waits,
               (unsigned long long)st.gz_failed, (unsigned long long)st.over_budget);
    }
    cl_analytics_free(an->a);
    cl_analytics_db_close(an->db);
    free(an);
    d->analytics = NULL;
}

void cl_daemon_analytics_render_prom(struct cl_daemon *d, struct cl_buf *out)
{
    if (d->analytics)
        cl_analytics_render_prom(d->analytics->a, out);
}

/* Newest first: the latest anomaly's sentence, and how many more the last minute had. */
void cl_daemon_analytics_describe(void *daemon, const struct cl_alarm_rule *r, char *out, size_t n)
{
    struct cl_daemon *d = daemon;
    struct cl_anomaly_event ev[8];
    size_t got = cl_analytics_recent(cl_daemon_analytics(d), ev, CL_ARRAY_LEN(ev));
    if (got == 0)
        return; /* keep the threshold reason */
    size_t more = 0;
    for (size_t i = 1; i < got; i++)
        more += ev[0].ts_ms - ev[i].ts_ms <= (int64_t)r->period_ms;
    if (more)
        snprintf(out, n, "%s (and %zu more; see `cloudlog anomalies`)", ev[0].text, more);
    else
        snprintf(out, n, "%s", ev[0].text);
}
