/* cl_limits.h - cloudlog's maximums and limit defaults, named in one place (after curl's
 * DYN_* constants in lib/curlx/dynbuf.h).
 *
 * Every cl_buf gets its maximum from here (or from a configured limit whose default is
 * here), so a reader can see at a glance how large anything may grow. Configurable
 * limits are documented in docs/ingest.md and the README's configuration table; the
 * others are internal bounds that no valid input reaches.
 */
#ifndef CL_LIMITS_H
#define CL_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* ---- Ingest: configurable, these are the defaults (docs/ingest.md) ---- */
#define CL_DEFAULT_MAX_BODY ((size_t)10 << 20)    /* as received -> 413 */
#define CL_DEFAULT_MAX_DECODED ((size_t)64 << 20) /* after gzip -> 413 */
#define CL_DEFAULT_MAX_RECORD ((size_t)256 << 10) /* one record's JSON -> rejected record */
#define CL_DEFAULT_MAX_ERRORS 100                 /* errors listed in a 202/400 body */
#define CL_MAX_MAX_ERRORS 100000                  /* the largest --max-errors accepted */
#define CL_DEFAULT_MAX_MESSAGE ((size_t)1 << 20)  /* raw records per queue message */
/* Accepted timestamp window around the time a record arrives (Loki's
 * reject_old_samples_max_age and creation_grace_period); 0 turns a side off. */
#define CL_DEFAULT_MAX_RECORD_AGE_MS ((int64_t)7 * 24 * 3600 * 1000) /* 7 days back */
#define CL_DEFAULT_MAX_RECORD_FUTURE_MS ((int64_t)10 * 60 * 1000)    /* 10 minutes ahead */
/* Distinct partitions (service, date, hour) in one queue message; a record that would
 * pass it seals the message and starts the next one. */
#define CL_DEFAULT_MAX_MESSAGE_PARTITIONS 64
/* Shipper protocol settings (docs/shippers.md): where the Elasticsearch-compatible API
 * lives (--es-prefix: "/" and 1-64 more bytes of [A-Za-z0-9._~-] segments), and the Loki
 * stream labels that name the service, in priority order (--loki-service-labels: at most
 * CL_MAX_LOKI_SERVICE_LABELS names of [A-Za-z_][A-Za-z0-9_]*, at most 64 bytes each). */
#define CL_DEFAULT_ES_PREFIX "/es"
#define CL_MAX_ES_PREFIX 64
#define CL_DEFAULT_LOKI_SERVICE_LABELS "service_name,service,app,job"
#define CL_MAX_LOKI_SERVICE_LABELS 16
#define CL_MAX_LOKI_LABEL_NAME 64

/* ---- Ingest responses (internal bounds) ---- */
/* The JSON text of the per-record errors list; entries past it are left out and the
 * answer says "errors_truncated":true (counts stay exact). */
#define CL_MAX_INGEST_ERRORS_LIST ((size_t)3 << 20)
/* One entry of that list: index, line and a reason of at most 255 bytes, each byte
 * possibly escaped as \u00XX. */
#define CL_MAX_INGEST_ERROR_ENTRY ((size_t)2048)
/* A whole 202/400 ingest answer: the errors list plus the counts around it. */
#define CL_MAX_INGEST_RESPONSE (CL_MAX_INGEST_ERRORS_LIST + ((size_t)4 << 10))
/* A plain {"error":"..."} answer. */
#define CL_MAX_ERROR_RESPONSE ((size_t)4096)

/* ---- HTTP server (internal bounds) ---- */
/* Body bytes reserved against --max-inflight at a time, as they arrive. */
#define CL_INFLIGHT_RESERVE_STEP ((size_t)64 << 10)
/* GET /metrics and GET /v1/alarms answers. */
#define CL_MAX_METRICS_RESPONSE ((size_t)4 << 20)
#define CL_MAX_ALARMS_RESPONSE ((size_t)16 << 20)

/* ---- Authentication ---- */
/* Longest API key accepted (a key file line or a CLOUDLOG_API_KEYS item); longer keys
 * are a start-up error, never split or truncated. */
#define CL_MAX_API_KEY 1024

/* ---- TLS (src/server/tls.c) ---- */
/* Largest --tls-cert, --tls-key or --tls-client-ca file read (a start-up error above). */
#define CL_TLS_MAX_PEM (1024 * 1024)
/* Certificates in the --tls-cert chain (leaf first). */
#define CL_TLS_MAX_CHAIN 16

/* ---- Lambda runtime ---- */
/* Largest event we accept: Lambda's synchronous payload limit (6 MB) plus slack. */
#define CL_LAMBDA_MAX_EVENT ((size_t)7 << 20)
/* An error report posted to the Runtime API (type and a bounded message). */
#define CL_MAX_LAMBDA_ERROR_BODY ((size_t)8192)

/* ---- Alarms ---- */
#define CL_MAX_WEBHOOK_BODY ((size_t)64 << 10) /* one notification's JSON */
#define CL_MAX_ALARM_STATE ((size_t)16 << 20)  /* the saved alarm state file */

#endif
