/* server.h - the embedded daemon (`cloudlog serve`): configuration and entry point. */
#ifndef CL_SERVER_H
#define CL_SERVER_H

#include <stddef.h>
#include <stdint.h>

/* Filled by the CLI's option table (src/cli/cmd_serve.c), which documents each field's
 * flag, environment variable and default. */
struct cl_server_config {
    const char *listen; /* "HOST:PORT"; port 0 picks a free one */
    const char *data_dir;
    const char *api_key_file;  /* NULL: no authentication */
    int insecure;              /* allow a non-loopback listen address without keys */
    const char *tls_cert;      /* PEM certificate chain; NULL: plain HTTP (src/server/tls.c) */
    const char *tls_key;       /* PEM private key of the first certificate */
    const char *tls_client_ca; /* PEM CA client certificates must chain to; NULL: none */
    uint64_t max_body;
    uint64_t max_decoded;
    uint64_t max_record;
    int max_errors;
    uint64_t max_message;
    int max_depth;
    int compression_level;
    int64_t max_record_age_ms; /* timestamp window: 0 turns a side off */
    int64_t max_record_future_ms;
    int max_message_partitions; /* distinct partitions per queue message */
    const char *queue_url;      /* NULL: sqlite:DATA/queue.db; else an SQS queue (docs/aws.md) */
    const char *durability;     /* "full" or "process" */
    int queue_max_depth;        /* messages in the queue before ingest answers 503 */
    uint64_t queue_max_bytes;
    uint64_t max_inflight; /* request bytes held in memory at once, all requests */
    int max_connections;
    int http_threads;   /* libmicrohttpd polling threads */
    int ingest_workers; /* threads that parse bodies and wait for durable commits */
    int64_t connection_timeout_ms;
    int64_t shutdown_timeout_ms;
    int64_t retention_ms;          /* --queue-retention: the queue's message retention */
    int64_t store_retention_ms;    /* --retention: local store partitions; 0 = keep all */
    int64_t retention_interval_ms; /* how often store retention runs */
    int64_t retention_quiet_ms;    /* a partition with an object this recent is kept */
    int64_t dlq_retention_ms;      /* 0: never */
    int64_t idempotency_window_ms; /* Idempotency-Key memory */
    int max_receive_count;
    const char *log_level;
    /* processor */
    const char *store_url;      /* NULL: file:DATA/logs */
    int processor_workers;      /* 0: one per core */
    int no_processor;           /* ingest only: messages stay in the queue */
    const char *analytics;      /* "on" | "off": patterns and anomalies inline (issue 17) */
    int analytics_max_patterns; /* clusters per service */
    uint64_t flush_size;
    int64_t flush_age_ms;
    uint64_t buffer_max;
    int object_compression_level;
    int64_t visibility_timeout_ms;
    int64_t retry_base_ms;
    int64_t retry_max_ms;
    /* queries (docs/query.md "Query budgets") */
    int max_queries;          /* GET /v1/query scanning at once; more get 503 */
    int64_t query_timeout_ms; /* deadline of one query; 0: none */
    uint64_t query_max_bytes; /* decompressed bytes one query may scan; 0: no budget */
    int regex_match_limit;    /* PCRE2 limits of one regex match (one record) */
    int regex_depth_limit;
    uint64_t regex_heap_limit; /* bytes */
    /* metrics (docs/metrics.md) */
    const char *emf_path;       /* NULL: no EMF; "-": stdout; else a file appended to */
    const char *emf_namespace;  /* default "cloudlog" */
    const char *emf_dimensions; /* "k=v,k=v" or NULL */
    int64_t emf_interval_ms;    /* default 60 s */
    /* alarms (docs/alarms.md) */
    const char *alarms_config;         /* JSON file overriding the built-in alarms, or NULL */
    const char *const *alarm_webhooks; /* --alarm-webhook URLs (borrowed) */
    size_t n_alarm_webhooks;
    /* syslog (docs/syslog.md) */
    const char *const *syslog_listen; /* tcp://HOST:PORT, udp://HOST:PORT (borrowed; each
                                       * may be a comma-separated list) */
    size_t n_syslog_listen;
    uint64_t syslog_max_message; /* longer messages are truncated */
    int syslog_max_connections;  /* TCP connections at once, all listeners */
};

/* Runs the daemon until SIGTERM or SIGINT; returns the process exit status (0 after a
 * clean shutdown, 1 if start-up failed, with the reason logged). */
int cl_server_run(const struct cl_server_config *cfg);

#endif
