/* daemon.h - state shared by the daemon's lifecycle (server.c) and its HTTP routes. */
#ifndef CL_DAEMON_H
#define CL_DAEMON_H

#include "apikeys.h"
#include "ingest.h"
#include "keylimit.h"
#include "metrics.h"
#include "process.h"
#include "queue.h"
#include "server.h"
#include "store.h"
#include "syslog_listen.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct MHD_Daemon;
struct cl_daemon_emf;
struct cl_alarm_runner;
struct cl_daemon_analytics;
struct cl_retention_thread;

struct cl_daemon {
    const struct cl_server_config *cfg;
    struct cl_queue queue;
    struct cl_store store;
    int remote_queue;            /* not SQLite: batch processing, stats cached (queue_stats.c) */
    int64_t stats_at_ms;         /* remote queue: when stats were read (monotonic) */
    int stats_rc;                /* ... with this result */
    struct cl_queue_stats stats; /* ... and these values */
    struct cl_processors *processors;
    struct cl_recover_report recovery; /* start-up recovery (CatalogObjectsMissing) */
    int unclean_restarts;              /* within run_marker.h's window (RecentUncleanRestarts) */
    struct cl_ingest_limits limits;
    /* API keys: a reference-counted snapshot that a reload swaps (reload.c); requests
     * take it with cl_daemon_keys. keyed: --api-key-file was given (never changes). */
    pthread_mutex_t keys_mu;
    struct cl_api_keys *keys;
    int keyed;
    struct cl_key_usage *key_usage; /* per-key buckets and counters (keylimit.h) */
    struct cl_metrics *metrics;     /* registry: GET /metrics and EMF (daemon_metrics.c) */
    struct cl_std_metrics m;        /* its shared metrics */
    struct cl_daemon_emf *emf;      /* EMF thread, NULL when --emf is off */
    /* alarm thread (src/alarm/alarm_runner.h): GET /v1/alarms, DATA/alarms.json */
    struct cl_alarm_runner *alarms;
    struct cl_daemon_analytics *analytics; /* patterns and anomalies (daemon_analytics.h) */
    struct cl_retention_thread *retention; /* --retention, store gauges (retention_thread.h) */
    struct cl_syslog_server *syslog;       /* --syslog-listen threads, NULL when off */
    struct cl_syslog_metrics syslog_m;
    struct MHD_Daemon *mhd;
    struct cl_tls *tls;         /* --tls-cert: loaded by cl_http_start, freed by cl_http_stop */
    struct cl_workers *workers; /* ingest: parse + durable send, off the HTTP threads */
    struct cl_workers *query_workers; /* GET /v1/query scans, cfg->max_queries threads */
    atomic_int queries_running;       /* queries holding a slot (http_query.c) */
    struct cl_http_tails *tails;      /* live tails' threads (http_tail.c) */
    atomic_size_t inflight_bytes;     /* request bodies held in memory now */
    atomic_int active_requests;
    atomic_int shutting_down;

    /* A damaged queue file moved aside at start-up (daemon_quarantine.c). */
    int queue_quarantined;
};

/* The current API keys, held for the caller (release with cl_api_keys_free), or NULL
 * when the daemon has none. */
struct cl_api_keys *cl_daemon_keys(struct cl_daemon *d);

/* The queue's statistics: read directly from the SQLite queue, at most once a second
 * (cached, shared by all threads) from a remote one. Returns cl_queue_stats' result. */
int cl_daemon_queue_stats(struct cl_daemon *d, struct cl_queue_stats *st);

/* Starts the HTTP server on the configured address (libmicrohttpd, a pool of
 * http_threads polling threads). Ingest work goes to d->workers, which must be
 * running. Returns 0, or -1 with err set. *port receives the bound port. */
int cl_http_start(struct cl_daemon *d, unsigned *port, char *err, size_t err_len);

/* Closes every connection and joins the HTTP threads. */
void cl_http_stop(struct cl_daemon *d);

/* Queues a response with status, taking body (a cl_buf's memory): Content-Type, Retry-After
 * when retry_after_s > 0, Allow when allow is set, WWW-Authenticate on 401, Connection:
 * close on 408; a body whose buffer failed becomes a 500 (http_respond.c). Every route answers
 * through it. */
struct MHD_Connection;
struct cl_buf;
enum MHD_Result cl_http_respond(struct MHD_Connection *c, int status, struct cl_buf *body,
                                const char *content_type, int retry_after_s, const char *allow);
/* The same for a live document (metrics, alarms, patterns): also Cache-Control: no-store. */
enum MHD_Result cl_http_respond_no_store(struct MHD_Connection *c, int status, struct cl_buf *body,
                                         const char *content_type);

#endif
