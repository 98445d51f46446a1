/* cmd_serve.c - `cloudlog serve`: options table for the embedded daemon. */
#include "cli_common.h"
#include "cli_source.h"
#include "commands.h"
#include "log.h"
#include "options.h"
#include "pipeline_opts.h"
#include "server.h"
#include "store.h"

#include <stddef.h>
#include <stdio.h>

static const char *const durability_choices[] = {"full", "process", NULL};
static const char *const log_format_choices[] = {"text", "json", NULL};
static const char *const onoff_choices[] = {"on", "off", NULL};

/* The config plus what the option table collects for it (cfg first, so OFF holds). */
struct serve_args {
    struct cl_server_config cfg;
    struct cl_opt_list webhooks;
    struct cl_opt_list syslog_listen;
    const char *endpoint_url;
    const char *log_format;
    struct cl_ingest_opts ingest; /* the rows shared with the Lambda (pipeline_opts.h) */
    struct cl_object_opts object;
    struct cl_telemetry_opts telemetry;
};

/* The shared rows' values into the server's config. */
static void apply_shared(const struct serve_args *a, struct cl_server_config *cfg)
{
    const struct cl_ingest_opts *i = &a->ingest;
    cfg->max_body = i->max_body;
    cfg->max_decoded = i->max_decoded;
    cfg->max_record = i->max_record;
    cfg->max_errors = i->max_errors;
    cfg->max_message = i->max_message;
    cfg->max_depth = i->max_depth;
    cfg->compression_level = i->compression_level;
    cfg->max_record_age_ms = i->max_record_age_ms;
    cfg->max_record_future_ms = i->max_record_future_ms;
    cfg->max_message_partitions = i->max_message_partitions;
    cfg->idempotency_window_ms = i->idempotency_window_ms;
    cfg->es_prefix = i->es_prefix;
    cfg->loki_service_labels = i->loki_service_labels;
    cfg->object_compression_level = a->object.compression_level;
    cfg->log_level = a->telemetry.log_level;
    cfg->emf_namespace = a->telemetry.emf_namespace;
    cfg->emf_dimensions = a->telemetry.emf_dimensions;
}

#define OFF(f) offsetof(struct cl_server_config, f)

static const struct cl_option serve_options[] = {
    {"listen", "CLOUDLOG_LISTEN", CL_OPT_STR, "127.0.0.1:8080", OFF(listen), "HOST:PORT",
     "address to serve HTTP on (port 0 picks a free port)", NULL, 0, 0},
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    {"api-key-file", "CLOUDLOG_API_KEY_FILE", CL_OPT_STR, NULL, OFF(api_key_file), "FILE",
     "require 'Authorization: Bearer <key>' with a key from FILE (one per line)", NULL, 0, 0},
    {"tls-cert", "CLOUDLOG_TLS_CERT", CL_OPT_STR, NULL, OFF(tls_cert), "FILE",
     "serve HTTPS (TLS 1.2+) with this PEM certificate chain (default: plain HTTP)", NULL, 0, 0},
    {"tls-key", "CLOUDLOG_TLS_KEY", CL_OPT_STR, NULL, OFF(tls_key), "FILE",
     "PEM private key of --tls-cert", NULL, 0, 0},
    {"tls-client-ca", "CLOUDLOG_TLS_CLIENT_CA", CL_OPT_STR, NULL, OFF(tls_client_ca), "FILE",
     "require client certificates issued by this PEM CA (mutual TLS; default: none)", NULL, 0, 0},
    {"insecure", "CLOUDLOG_INSECURE", CL_OPT_FLAG, "0", OFF(insecure), NULL,
     "allow a non-loopback --listen address without API keys", NULL, 0, 0},
    CL_OPT_INCLUDE_ROWS(cl_ingest_options, offsetof(struct serve_args, ingest)),
    {"queue", "CLOUDLOG_QUEUE", CL_OPT_STR, NULL, OFF(queue_url), "URL",
     "queue: sqlite:FILE, or an SQS queue (sqs://NAME or its queue URL, docs/aws.md); "
     "default DATA/queue.db",
     NULL, 0, 0},
    {"durability", "CLOUDLOG_DURABILITY", CL_OPT_STR, "full", OFF(durability), "MODE",
     "full: ack after fsync (survives power loss); process: survives process crashes only",
     durability_choices, 0, 0},
    {"queue-max-depth", "CLOUDLOG_QUEUE_MAX_DEPTH", CL_OPT_INT, "100000", OFF(queue_max_depth), "N",
     "queued messages at which ingest answers 503 + Retry-After", NULL, 1, 2000000000},
    {"queue-max-bytes", "CLOUDLOG_QUEUE_MAX_BYTES", CL_OPT_SIZE, "4GiB", OFF(queue_max_bytes),
     "SIZE", "queued compressed bytes at which ingest answers 503 + Retry-After", NULL, 0, 0},
    {"max-inflight", "CLOUDLOG_MAX_INFLIGHT", CL_OPT_SIZE, "256MiB", OFF(max_inflight), "SIZE",
     "request bodies held in memory at once (503 above)", NULL, 0, 0},
    {"max-connections", "CLOUDLOG_MAX_CONNECTIONS", CL_OPT_INT, "1024", OFF(max_connections), "N",
     "concurrent HTTP connections", NULL, 1, 100000},
    {"http-threads", "CLOUDLOG_HTTP_THREADS", CL_OPT_INT, "2", OFF(http_threads), "N",
     "threads polling HTTP connections", NULL, 1, 256},
    {"ingest-workers", "CLOUDLOG_INGEST_WORKERS", CL_OPT_INT, "8", OFF(ingest_workers), "N",
     "threads that parse request bodies and wait for durable commits (requests in one "
     "commit share an fsync)",
     NULL, 1, 1024},
    {"connection-timeout", "CLOUDLOG_CONNECTION_TIMEOUT", CL_OPT_DURATION, "60s",
     OFF(connection_timeout_ms), "DURATION", "idle time before a connection is closed", NULL, 0, 0},
    {"shutdown-timeout", "CLOUDLOG_SHUTDOWN_TIMEOUT", CL_OPT_DURATION, "30s",
     OFF(shutdown_timeout_ms), "DURATION",
     "how long SIGTERM waits for in-flight requests to finish", NULL, 0, 0},
    {"queue-retention", "CLOUDLOG_QUEUE_RETENTION", CL_OPT_DURATION, "4d", OFF(retention_ms),
     "DURATION",
     "queue messages not stored within this time move to the dead-letter queue (SQS's default; "
     "this was --retention until the store got its own)",
     NULL, 0, 0},
    {"retention", "CLOUDLOG_RETENTION", CL_OPT_DURATION, "0", OFF(store_retention_ms), "DURATION",
     "local store: delete whole dt=/hour= partitions whose hour ended longer ago than this; 0 "
     "(default): keep everything (docs/operations.md)",
     NULL, 0, 0},
    {"retention-interval", "CLOUDLOG_RETENTION_INTERVAL", CL_OPT_DURATION, "1h",
     OFF(retention_interval_ms), "DURATION", "how often --retention runs (and once at start)", NULL,
     0, 0},
    {"retention-quiet", "CLOUDLOG_RETENTION_QUIET", CL_OPT_DURATION, "1h", OFF(retention_quiet_ms),
     "DURATION",
     "an expired partition that got an object within this time is still receiving: kept", NULL, 0,
     0},
    {"dlq-retention", "CLOUDLOG_DLQ_RETENTION", CL_OPT_DURATION, "0", OFF(dlq_retention_ms),
     "DURATION",
     "dead-letter messages older than this are dropped; 0 (default): never, the DLQ holds "
     "acknowledged records until redriven",
     NULL, 0, 0},
    {"max-receive-count", "CLOUDLOG_MAX_RECEIVE_COUNT", CL_OPT_INT, "5", OFF(max_receive_count),
     "N", "receives before a failing message moves to the dead-letter queue", NULL, 1, 1000},
    {"store", "CLOUDLOG_STORE", CL_OPT_STR, NULL, OFF(store_url), "URL",
     "object store (" CL_STORE_URL_FORMS "); default DATA/logs", NULL, 0, 0},
    CL_CLI_ENDPOINT_OPTION(offsetof(struct serve_args, endpoint_url)),
    {"processor-workers", "CLOUDLOG_PROCESSOR_WORKERS", CL_OPT_INT, "0", OFF(processor_workers),
     "N", "processor threads writing objects (0: one per core)", NULL, 0, 256},
    {"no-processor", "CLOUDLOG_NO_PROCESSOR", CL_OPT_FLAG, "0", OFF(no_processor), NULL,
     "ingest only: run no processor threads, messages stay queued (benchmarks, split setups)", NULL,
     0, 0},
    {"analytics", "CLOUDLOG_ANALYTICS", CL_OPT_STR, "on", OFF(analytics), "on|off",
     "patterns and anomalies inline in the processor (docs/analytics.md)", onoff_choices, 0, 0},
    {"analytics-max-patterns", "CLOUDLOG_ANALYTICS_MAX_PATTERNS", CL_OPT_INT, "512",
     OFF(analytics_max_patterns), "N", "pattern clusters kept per service (LRU beyond)", NULL, 16,
     65536},
    {"flush-size", "CLOUDLOG_FLUSH_SIZE", CL_OPT_SIZE, "8MiB", OFF(flush_size), "SIZE",
     "raw NDJSON bytes buffered per partition before it is written as one object", NULL, 0, 0},
    {"flush-age", "CLOUDLOG_FLUSH_AGE", CL_OPT_DURATION, "10s", OFF(flush_age_ms), "DURATION",
     "longest a buffered record waits before its partition is written", NULL, 0, 0},
    {"buffer-max", "CLOUDLOG_BUFFER_MAX", CL_OPT_SIZE, "20MiB", OFF(buffer_max), "SIZE",
     "buffered bytes of all processor threads together (the largest partitions flush first)", NULL,
     0, 0},
    CL_OPT_INCLUDE_ROWS(cl_object_options, offsetof(struct serve_args, object)),
    {"visibility-timeout", "CLOUDLOG_VISIBILITY_TIMEOUT", CL_OPT_DURATION, "60s",
     OFF(visibility_timeout_ms), "DURATION",
     "how long a received message stays hidden (extended while buffered)", NULL, 0, 0},
    {"retry-base", "CLOUDLOG_RETRY_BASE", CL_OPT_DURATION, "1s", OFF(retry_base_ms), "DURATION",
     "first retry delay of a failed message; doubles per receive, with jitter "
     "(whole seconds, as SQS)",
     NULL, 0, 0},
    {"retry-max", "CLOUDLOG_RETRY_MAX", CL_OPT_DURATION, "5m", OFF(retry_max_ms), "DURATION",
     "longest retry delay", NULL, 0, 0},
    {"max-queries", "CLOUDLOG_MAX_QUERIES", CL_OPT_INT, "4", OFF(max_queries), "N",
     "GET /v1/query scans at once, apart from ingest; more get 503 + Retry-After", NULL, 1, 256},
    {"max-tails", "CLOUDLOG_MAX_TAILS", CL_OPT_INT, "8", OFF(max_tails), "N",
     "live tails (GET /loki/api/v1/tail WebSockets, one thread each) at once; more get 503 + "
     "Retry-After",
     NULL, 0, 1024},
    CL_CLI_QUERY_LIMIT_OPTIONS("30s", "16GiB", OFF(query_timeout_ms), OFF(query_max_bytes),
                               OFF(regex_match_limit), OFF(regex_depth_limit),
                               OFF(regex_heap_limit)),
    {"emf", "CLOUDLOG_EMF", CL_OPT_STR, NULL, OFF(emf_path), "PATH",
     "write metrics as CloudWatch EMF JSON lines to PATH (appended) or - for stdout, every "
     "--emf-interval and at shutdown (default: off)",
     NULL, 0, 0},
    CL_OPT_INCLUDE_ROWS(cl_telemetry_options, offsetof(struct serve_args, telemetry)),
    {"emf-interval", "CLOUDLOG_EMF_INTERVAL", CL_OPT_DURATION, "60s", OFF(emf_interval_ms),
     "DURATION", "how often EMF lines are written (at least 1s)", NULL, 0, 0},
    {"alarms-config", "CLOUDLOG_ALARMS_CONFIG", CL_OPT_STR, NULL, OFF(alarms_config), "FILE",
     "JSON file overriding, disabling or adding to the built-in alarms (docs/alarms.md)", NULL, 0,
     0},
    {"alarm-webhook", "CLOUDLOG_ALARM_WEBHOOK", CL_OPT_LIST, NULL,
     offsetof(struct serve_args, webhooks), "URL",
     "POST alarm state changes as JSON (Slack-compatible 'text') to URL; repeatable", NULL, 0, 0},
    {"syslog-listen", "CLOUDLOG_SYSLOG_LISTEN", CL_OPT_LIST, NULL,
     offsetof(struct serve_args, syslog_listen), "URL",
     "receive syslog (RFC 5424/3164) on tcp://HOST:PORT, tls://HOST:PORT (RFC 5425, with "
     "--tls-cert) or udp://HOST:PORT; repeatable or comma-separated (default: off; "
     "docs/syslog.md)",
     NULL, 0, 0},
    {"syslog-max-message", "CLOUDLOG_SYSLOG_MAX_MESSAGE", CL_OPT_SIZE, "64KiB",
     OFF(syslog_max_message), "SIZE", "longest syslog message; longer ones are truncated", NULL, 0,
     0},
    {"syslog-max-connections", "CLOUDLOG_SYSLOG_MAX_CONNECTIONS", CL_OPT_INT, "256",
     OFF(syslog_max_connections), "N",
     "syslog TCP connections at once (more are closed at once and counted)", NULL, 1, 100000},
    {"log-format", "CLOUDLOG_LOG_FORMAT", CL_OPT_STR, "text",
     offsetof(struct serve_args, log_format), "FORMAT",
     "diagnostic log lines as text or as JSON objects (time, level, msg)", log_format_choices, 0,
     0},
};

static const char serve_summary[] =
    "Runs the embedded pipeline: accepts logs on POST /v1/logs, keeps them in a durable queue\n"
    "(DATA/queue.db) and writes them as partitioned gzip NDJSON objects under\n"
    "DATA/logs/service=S/dt=YYYY-MM-DD/hour=HH/. GET /healthz and GET /readyz report\n"
    "liveness and readiness; GET /metrics serves Prometheus metrics; GET /v1/alarms alarm "
    "states.";

const struct cl_cli_table cl_table_serve = {
    "cloudlog serve", "cloudlog serve [OPTIONS]",  serve_summary,
    serve_options,    CL_ARRAY_LEN(serve_options), sizeof(struct serve_args)};

int cl_cmd_serve(int argc, char **argv)
{
    struct serve_args args = {0};
    struct cl_server_config *cfg = &args.cfg;
    size_t n_pos;
    size_t n = CL_ARRAY_LEN(serve_options);
    int rc = cl_cli_options("cloudlog serve", cl_table_serve.usage, serve_summary, serve_options, n,
                            &args, argc, argv, NULL, 0, &n_pos);
    if (rc >= 0) { /* after --help, --version or a usage error */
        cl_options_free(serve_options, n, &args);
        return rc;
    }
    apply_shared(&args, cfg);
    cfg->alarm_webhooks = args.webhooks.v;
    cfg->n_alarm_webhooks = args.webhooks.n;
    cfg->syslog_listen = args.syslog_listen.v;
    cfg->n_syslog_listen = args.syslog_listen.n;
    cl_cli_endpoint_apply(args.endpoint_url);
    enum cl_log_format lf;
    if (cl_log_parse_format(args.log_format, &lf) == 0)
        cl_log_set_format(lf);
    rc = cl_server_run(cfg);
    cl_options_free(serve_options, n, &args);
    return rc;
}
