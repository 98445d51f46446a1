/* retention_thread.c - store retention on a schedule, the store gauges, store readiness.
 *
 * The thread wakes every GAUGE_PERIOD_MS to refresh the store's size and horizon from the
 * catalog (one aggregate query, kept off the /metrics path) and to probe a remote store,
 * and runs a retention pass at start and every --retention-interval. */
#include "retention_thread.h"

#include "catalog.h"
#include "common.h"
#include "daemon.h"
#include "log.h"
#include "retention.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#define GAUGE_PERIOD_MS 10000 /* store gauges and the remote store's readiness probe */

struct cl_retention_thread {
    struct cl_daemon *d;
    /* S3 readiness: the last probe's verdict, for /readyz (cl_store_ready). */
    pthread_mutex_t probe_mu;
    int probe_failed;
    char probe_reason[300];
    char fs_root[4200];
    int fs;
    struct cl_metric *freed, *objects, *partitions, *store_bytes, *horizon;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int stopping;
    int started;
};

static int is_local_store(const struct cl_server_config *cfg)
{
    return !cfg->store_url || strncmp(cfg->store_url, "s3://", 5) != 0;
}

int cl_retention_check_config(const struct cl_daemon *d, char *err, size_t err_len)
{
    if (d->cfg->store_retention_ms <= 0)
        return 0;
    if (d->remote_queue || !is_local_store(d->cfg)) {
        snprintf(err, err_len,
                 "--retention applies to the local store with the embedded queue's catalog; "
                 "an S3 store keeps its lifecycle rules (docs/operations.md#retention)");
        return -1;
    }
    return 0;
}

/* The file store's directory: DATA/logs, or the path of a file:DIR or plain --store. */
static void fs_root_of(const struct cl_server_config *cfg, char *out, size_t len)
{
    if (!cfg->store_url)
        snprintf(out, len, "%s/logs", cfg->data_dir);
    else
        snprintf(out, len, "%s",
                 strncmp(cfg->store_url, "file:", 5) == 0 ? cfg->store_url + 5 : cfg->store_url);
}

/* A remote store is probed from here, never from /readyz: a GET of a key that does not
 * exist answers 404 when the bucket is reachable and the credentials work. */
static void probe_store(struct cl_retention_thread *t)
{
    if (t->fs)
        return;
    struct cl_buf b;
    cl_buf_init(&b, 1 << 16);
    int rc = cl_store_get(&t->d->store, "_cloudlog/readiness-probe", &b);
    cl_buf_free(&b);
    pthread_mutex_lock(&t->probe_mu);
    t->probe_failed = rc != CL_OK && rc != CL_ERR_NOT_FOUND;
    snprintf(t->probe_reason, sizeof t->probe_reason,
             "store is unreachable: a probe GET failed (%s); see the log", cl_strerror(rc));
    pthread_mutex_unlock(&t->probe_mu);
}

/* The free bytes of the file system holding path, or -1 if unknown. */
static long long free_bytes(const char *path)
{
    struct statvfs v;
    if (statvfs(path, &v) != 0)
        return -1;
    return (long long)v.f_bavail * (long long)v.f_frsize;
}

static int disk_full(const char *what, const char *path, char *reason, size_t len)
{
    long long n = free_bytes(path);
    if (n < 0 || n >= CL_STORE_MIN_FREE)
        return 0;
    snprintf(reason, len, "%s %s is full: %lld bytes free (need %d)", what, path, n,
             CL_STORE_MIN_FREE);
    return 1;
}

int cl_store_ready(struct cl_retention_thread *t, char *reason, size_t len)
{
    if (!t)
        return 1;
    if (t->fs)
        return !disk_full("store directory", t->fs_root, reason, len) &&
               !disk_full("data directory", t->d->cfg->data_dir, reason, len);
    pthread_mutex_lock(&t->probe_mu);
    int failed = t->probe_failed;
    if (failed)
        snprintf(reason, len, "%s", t->probe_reason);
    pthread_mutex_unlock(&t->probe_mu);
    return !failed;
}

static void refresh_gauges(struct cl_retention_thread *t)
{
    probe_store(t);
    if (t->d->remote_queue)
        return;
    struct cl_catalog_stats st;
    if (cl_catalog_stats(cl_queue_catalog(&t->d->queue), &st) != CL_OK)
        return;
    cl_gauge_set(t->store_bytes, (double)st.bytes);
    cl_gauge_set(t->horizon, st.objects ? (double)st.min_ts_ms / 1000.0 : 0);
}

static void run_pass(struct cl_retention_thread *t)
{
    const struct cl_server_config *cfg = t->d->cfg;
    struct cl_retention_opts o = {cfg->store_retention_ms, cfg->retention_quiet_ms, 0,
                                  t->fs ? t->fs_root : NULL};
    struct cl_retention_result r;
    int rc = cl_retention_run(&t->d->queue, &t->d->store, &o, cl_now_ms(), NULL, NULL, &r);
    cl_counter_add(t->freed, r.bytes);
    cl_counter_add(t->objects, r.objects);
    cl_counter_add(t->partitions, r.partitions);
    if (rc != CL_OK)
        cl_log(CL_LOG_WARN, "retention: pass stopped: %s", cl_strerror(rc));
    if (r.partitions)
        cl_log(CL_LOG_INFO,
               "retention: deleted %llu partition(s), %llu object(s), %llu record(s), %llu bytes",
               (unsigned long long)r.partitions, (unsigned long long)r.objects,
               (unsigned long long)r.records, (unsigned long long)r.bytes);
}

static void *retention_main(void *arg)
{
    struct cl_retention_thread *t = arg;
    int64_t next_pass = cl_mono_ms(), next_gauges = next_pass;
    pthread_mutex_lock(&t->mu);
    while (!t->stopping) {
        int64_t now = cl_mono_ms();
        int retain = t->d->cfg->store_retention_ms > 0 && !t->d->remote_queue;
        int64_t due = retain ? CL_MIN(next_pass, next_gauges) : next_gauges;
        if (now < due) {
            cl_cond_wait_until_ms(&t->cv, &t->mu, due);
            continue;
        }
        pthread_mutex_unlock(&t->mu);
        if (retain && now >= next_pass) {
            run_pass(t);
            next_pass = now + CL_MAX(t->d->cfg->retention_interval_ms, (int64_t)1000);
        }
        refresh_gauges(t);
        next_gauges = now + GAUGE_PERIOD_MS;
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void register_metrics(struct cl_retention_thread *t, struct cl_metrics *r)
{
    t->freed = cl_metrics_counter(r, "RetentionFreedBytes", CL_UNIT_BYTES,
                                  "Stored bytes deleted by --retention.", NULL, NULL);
    t->objects = cl_metrics_counter(r, "RetentionDeletedObjects", CL_UNIT_COUNT,
                                    "Store objects deleted by --retention.", NULL, NULL);
    t->partitions =
        cl_metrics_counter(r, "RetentionDeletedPartitions", CL_UNIT_COUNT,
                           "Whole dt/hour partitions deleted by --retention.", NULL, NULL);
    t->store_bytes = cl_metrics_gauge(r, "StoreBytes", CL_UNIT_BYTES,
                                      "Bytes of the objects the catalog lists (local store).");
    t->horizon =
        cl_metrics_gauge(r, "StoreOldestRecordTimestamp", CL_UNIT_SECONDS,
                         "Timestamp of the oldest stored record (Unix seconds; 0 when empty).");
}

struct cl_retention_thread *cl_retention_thread_new(struct cl_daemon *d)
{
    struct cl_retention_thread *t = cl_calloc(1, sizeof *t);
    pthread_mutex_init(&t->probe_mu, NULL);
    t->d = d;
    t->fs = is_local_store(d->cfg);
    fs_root_of(d->cfg, t->fs_root, sizeof t->fs_root);
    if (!d->remote_queue) /* the catalog's gauges and counters */
        register_metrics(t, d->metrics);
    cl_cond_init_monotonic(&t->cv);
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void cl_retention_thread_run(struct cl_retention_thread *t)
{
    if (!t)
        return;
    t->started = pthread_create(&t->thread, NULL, retention_main, t) == 0;
    if (!t->started)
        cl_log(CL_LOG_ERROR, "retention: cannot start its thread; the store is not trimmed");
}

void cl_retention_thread_stop(struct cl_retention_thread *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stopping = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (t->started)
        pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    pthread_mutex_destroy(&t->probe_mu);
    free(t);
}
