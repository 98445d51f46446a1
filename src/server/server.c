/* server.c - the daemon's lifecycle: open the queue, serve HTTP, shut down cleanly.
 *
 * Signals: SIGTERM and SIGINT are blocked in every thread and taken synchronously by
 * the main thread with sigwait, so shutdown runs as ordinary code, not in a handler:
 * stop accepting, let in-flight requests finish (bounded by shutdown_timeout), stop
 * the HTTP threads, then close the queue (which completes pending commits). SIGHUP is
 * taken the same way and reloads keys, certificate and alarm rules (reload.h). */
#include "server.h"

#include "alarm_runner.h"
#include "catalog.h"
#include "common.h"
#include "daemon.h"
#include "daemon_analytics.h"
#include "daemon_metrics.h"
#include "daemon_quarantine.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "processor.h"
#include "reload.h"
#include "retention_thread.h"
#include "run_marker.h"
#include "workers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static void limits_from_config(const struct cl_server_config *cfg, struct cl_ingest_limits *l)
{
    cl_ingest_limits_default(l);
    l->max_body_bytes = cfg->max_body;
    l->max_decoded_bytes = cfg->max_decoded;
    l->max_record_bytes = cfg->max_record;
    l->max_errors = (size_t)cfg->max_errors;
    l->max_message_bytes = cfg->max_message;
    l->max_depth = cfg->max_depth;
    l->compression_level = cfg->compression_level;
    l->max_record_age_ms = cfg->max_record_age_ms;
    l->max_record_future_ms = cfg->max_record_future_ms;
    l->max_message_partitions = (size_t)cfg->max_message_partitions;
    l->es_prefix = cfg->es_prefix;
    l->loki_service_labels = cfg->loki_service_labels;
}

static int open_queue(struct cl_daemon *d, char *err, size_t err_len)
{
    const struct cl_server_config *cfg = d->cfg;
    if (mkdir(cfg->data_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create data directory %s: %s", cfg->data_dir,
                 strerror(errno));
        return -1;
    }
    struct cl_queue_opts qo;
    cl_queue_opts_default(&qo);
    qo.durability_full = strcmp(cfg->durability, "full") == 0;
    qo.max_receive_count = cfg->max_receive_count;
    qo.retention_s = cfg->retention_ms / 1000;
    /* Rounded up: a short retention must not read as 0, "never". */
    qo.dlq_retention_s = (cfg->dlq_retention_ms + 999) / 1000;
    qo.idempotency_window_s = (cfg->idempotency_window_ms + 999) / 1000;
    qo.owner = 1;
    char url[4200], path[4100];
    snprintf(path, sizeof path, "%s/queue.db", cfg->data_dir);
    if (cfg->queue_url)
        snprintf(url, sizeof url, "%s", cfg->queue_url);
    else if (cl_queue_file_url(path, url, sizeof url) != 0) {
        snprintf(err, err_len, "queue file path too long (data directory %.200s)", cfg->data_dir);
        return -1;
    }
    if (cl_daemon_open_queue(d, url, &qo, err, err_len) != CL_OK)
        return -1;
    /* A queue in a local file carries the exactly-once catalog beside it; a queue service
     * is processed in batches with deterministic object ids (commit.h: conditional puts). */
    const struct cl_queue_backend *be = cl_queue_backend_of(url);
    d->remote_queue = !be || !(be->caps & CL_QUEUE_CAP_LOCAL_FILE) || !cl_queue_catalog(&d->queue);
    return 0;
}

/* Refuses configurations that would expose an unauthenticated API. */
static int check_exposure(struct cl_daemon *d, char *err, size_t err_len)
{
    const struct cl_server_config *cfg = d->cfg;
    if (cfg->api_key_file) {
        d->keys = cl_api_keys_load(cfg->api_key_file, err, err_len);
        d->keyed = d->keys != NULL;
        return d->keys ? 0 : -1;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    if (cl_listen_parse(cfg->listen, &ss, &len, err, err_len) != 0)
        return -1;
    if (!cl_addr_is_loopback(&ss) && !cfg->insecure) {
        snprintf(err, err_len,
                 "refusing to listen on non-loopback address %s without API keys: "
                 "give --api-key-file FILE, or --insecure to accept unauthenticated requests",
                 cfg->listen);
        return -1;
    }
    return 0;
}

static int open_store(struct cl_daemon *d, char *err, size_t err_len)
{
    char url[4200];
    if (d->cfg->store_url)
        snprintf(url, sizeof url, "%s", d->cfg->store_url);
    else
        snprintf(url, sizeof url, "file:%s/logs", d->cfg->data_dir);
    if (cl_store_open(&d->store, url, err, err_len) != CL_OK)
        return -1;
    if (d->remote_queue)
        return 0; /* no catalog: nothing staged to recover */
    cl_daemon_keep_staging(d);
    return cl_process_recover(&d->queue, &d->store, &d->recovery, err, err_len) == CL_OK ? 0 : -1;
}

static void process_opts_from_config(const struct cl_server_config *cfg, struct cl_process_opts *o)
{
    cl_process_opts_default(o);
    o->flush_size = cfg->flush_size;
    o->flush_age_ms = cfg->flush_age_ms;
    o->buffer_max = cfg->buffer_max;
    o->compression_level = cfg->object_compression_level;
    o->visibility_s = (int)CL_MAX(1, cfg->visibility_timeout_ms / 1000);
    o->retry_base_ms = cfg->retry_base_ms;
    o->retry_max_ms = cfg->retry_max_ms;
    o->max_message_raw = cfg->max_decoded;
}

/* The alarm thread over d->metrics: built-in alarms, then --alarms-config, then the
 * --alarm-webhook URLs. */
static int start_alarms(struct cl_daemon *d, char *err, size_t err_len)
{
    const struct cl_server_config *cfg = d->cfg;
    struct cl_alarm_config ac;
    cl_alarm_config_defaults(&ac);
    int rc = cfg->alarms_config ? cl_alarm_config_load(&ac, cfg->alarms_config, err, err_len) : 0;
    ac.describe = cl_daemon_analytics_describe;
    ac.describe_arg = d;
    for (size_t i = 0; rc == 0 && i < cfg->n_alarm_webhooks; i++)
        cl_alarm_config_add_webhook(&ac, cfg->alarm_webhooks[i]);
    char path[4200];
    snprintf(path, sizeof path, "%s/alarms.json", cfg->data_dir);
    if (rc == 0)
        d->alarms = cl_alarm_runner_start(d->metrics, &ac, path, 1000, err, err_len);
    cl_alarm_config_free(&ac);
    return d->alarms ? 0 : -1;
}

static void start_processors(struct cl_daemon *d)
{
    if (d->cfg->no_processor)
        return;
    struct cl_process_opts o;
    process_opts_from_config(d->cfg, &o);
    o.metrics = &d->m;
    o.analytics = cl_daemon_analytics(d);
    long n = d->cfg->processor_workers;
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    d->processors =
        cl_processors_start(&d->queue, &d->store, &o, (size_t)CL_MAX(n, 1), d->remote_queue);
}

/* Waits for SIGTERM or SIGINT (returned); SIGHUP reloads (reload.h) and waits on. */
static int wait_for_signal(struct cl_daemon *d)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            return sig;
        cl_daemon_reload(d);
    }
}

static void drain_requests(struct cl_daemon *d)
{
    int64_t deadline = cl_mono_ms() + d->cfg->shutdown_timeout_ms;
    struct timespec tick = {0, 20 * 1000 * 1000};
    while (atomic_load(&d->active_requests) > 0 && cl_mono_ms() < deadline)
        nanosleep(&tick, NULL);
    int left = atomic_load(&d->active_requests);
    if (left > 0)
        cl_log(CL_LOG_WARN, "shutdown timeout: closing %d unfinished request(s)", left);
}

static void block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The syslog listeners, after HTTP so a bad syslog address fails start-up as a whole. */
static int start_syslog(struct cl_daemon *d, char *err, size_t err_len)
{
    d->syslog = cl_syslog_start(d, err, err_len);
    return d->syslog || !err[0] ? 0 : -1;
}

static int start(struct cl_daemon *d, unsigned *port, char *err, size_t err_len)
{
    limits_from_config(d->cfg, &d->limits);
    if (check_exposure(d, err, err_len) != 0 || cl_syslog_check_config(d, err, err_len) != 0 ||
        cl_ingest_check_protocols(&d->limits, "--es-prefix", "--loki-service-labels", err,
                                  err_len) != 0 ||
        open_queue(d, err, err_len) != 0)
        return -1;
    /* After the queue's owner lock: a refused second daemon must not touch the marker. */
    d->unclean_restarts = cl_run_marker_begin(d->cfg->data_dir, cl_now_ms());
    if (cl_retention_check_config(d, err, err_len) != 0 || open_store(d, err, err_len) != 0 ||
        cl_daemon_metrics_start(d, err, err_len) != 0) {
        cl_retention_thread_stop(d->retention);
        cl_store_close(&d->store);
        cl_queue_close(&d->queue);
        return -1;
    }
    if (cl_daemon_analytics_start(d, err, err_len) != 0 || start_alarms(d, err, err_len) != 0) {
        cl_daemon_analytics_stop(d);
        cl_retention_thread_stop(d->retention);
        cl_daemon_metrics_stop(d);
        cl_store_close(&d->store);
        cl_queue_close(&d->queue);
        return -1;
    }
    start_processors(d);
    cl_retention_thread_run(d->retention);
    d->workers = cl_workers_start((size_t)d->cfg->ingest_workers);
    d->query_workers = cl_workers_start((size_t)d->cfg->max_queries);
    if (!d->workers || !d->query_workers || cl_http_start(d, port, err, err_len) != 0 ||
        start_syslog(d, err, err_len) != 0) {
        if (!d->workers || !d->query_workers)
            snprintf(err, err_len, "cannot start worker threads");
        if (d->mhd)
            cl_http_stop(d);
        cl_workers_free(d->workers);
        cl_workers_free(d->query_workers);
        cl_processors_stop(d->processors);
        cl_daemon_analytics_stop(d);
        cl_retention_thread_stop(d->retention);
        cl_alarm_runner_stop(d->alarms);
        cl_daemon_metrics_stop(d);
        cl_store_close(&d->store);
        cl_queue_close(&d->queue);
        return -1;
    }
    return 0;
}

/* The start-up line: where the daemon listens and with what. */
static void log_listening(const struct cl_daemon *d, unsigned port)
{
    char host[256];
    snprintf(host, sizeof host, "%s", d->cfg->listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    cl_log(CL_LOG_INFO, "listening on %s://%s:%u (data %s, queue %s, durability %s, api keys %zu)",
           d->tls ? "https" : "http", *host ? host : "0.0.0.0", port, d->cfg->data_dir,
           d->queue.ops->name, d->remote_queue ? "the queue's" : d->cfg->durability,
           cl_api_keys_count(d->keys));
}

/* After SIGTERM/SIGINT: intake stops, in-flight work finishes, then everything is closed
 * in dependency order. */
static void shut_down(struct cl_daemon *d, int sig)
{
    cl_log(CL_LOG_INFO, "received %s: stopping intake, finishing in-flight requests",
           sig == SIGTERM ? "SIGTERM" : "SIGINT");
    cl_notify_stopping();
    /* From here every new request is answered 503 (http.c). The listen socket stays open
     * until cl_http_stop: MHD_quiesce_daemon on an epoll daemon with worker threads races
     * the workers' own removal of the listen socket from their epoll sets and can abort
     * the process ("Failed to remove listen FD from epoll set", an open libmicrohttpd
     * defect; seen once in CI on SIGTERM 20 ms after start). */
    atomic_store(&d->shutting_down, 1);
    drain_requests(d);
    cl_syslog_stop(d->syslog); /* commits what connections have read, while the queue is open */
    /* Jobs still running finish (their time is bounded by the queue) and resume their
     * connections, so none is suspended when the HTTP server stops. */
    cl_workers_stop(d->workers);
    cl_workers_stop(d->query_workers); /* queries see shutting_down and end their streams */
    cl_http_stop(d);
    cl_workers_free(d->workers);
    cl_workers_free(d->query_workers);
    cl_processors_stop(d->processors); /* flushes what the processors hold */
    cl_daemon_analytics_stop(d);       /* writes what they handed over last */
    cl_retention_thread_stop(d->retention);
    cl_alarm_runner_stop(d->alarms); /* before the registry it reads is freed */
    cl_daemon_metrics_stop(d);       /* last EMF write, while the queue is open */
    cl_queue_close(&d->queue);
    cl_store_close(&d->store);
}

int cl_server_run(const struct cl_server_config *cfg)
{
    enum cl_log_level lvl;
    if (cl_log_parse_level(cfg->log_level, &lvl) == 0)
        cl_log_set_level(lvl);
    block_signals(); /* before any thread starts, so all inherit the mask */

    struct cl_daemon d;
    memset(&d, 0, sizeof d);
    d.cfg = cfg;
    pthread_mutex_init(&d.keys_mu, NULL);
    d.key_usage = cl_key_usage_new();
    char err[512] = "";
    unsigned port = 0;
    if (start(&d, &port, err, sizeof err) != 0) {
        cl_log(CL_LOG_ERROR, "cannot start: %s", err);
        cl_api_keys_free(d.keys);
        cl_key_usage_free(d.key_usage);
        return 1;
    }
    log_listening(&d, port);
    cl_pid_file_write(cfg->data_dir);
    cl_notify_ready("listening");

    shut_down(&d, wait_for_signal(&d));
    cl_api_keys_free(d.keys);
    cl_key_usage_free(d.key_usage);
    pthread_mutex_destroy(&d.keys_mu);
    cl_pid_file_remove(cfg->data_dir);
    cl_run_marker_end(cfg->data_dir);
    cl_log(CL_LOG_INFO, "stopped cleanly");
    return 0;
}
