/* pipeline_opts.c - the ingest and object option rows shared by serve and the Lambda. */
#include "pipeline_opts.h"

#include "cl_limits.h"

#include <stddef.h>

#define OFF(f) offsetof(struct cl_ingest_opts, f)

const struct cl_option cl_ingest_options[] = {
    {"max-body", "CLOUDLOG_MAX_BODY", CL_OPT_SIZE, "10MiB", OFF(max_body), "SIZE",
     "largest request body as sent (413 above)", NULL, 0, 0},
    {"max-decoded", "CLOUDLOG_MAX_DECODED", CL_OPT_SIZE, "64MiB", OFF(max_decoded), "SIZE",
     "largest body after gzip decoding (413 above)", NULL, 0, 0},
    {"max-record", "CLOUDLOG_MAX_RECORD", CL_OPT_SIZE, "256KiB", OFF(max_record), "SIZE",
     "largest single record (larger records are rejected)", NULL, 0, 0},
    {"max-errors", "CLOUDLOG_MAX_ERRORS", CL_OPT_INT, "100", OFF(max_errors), "N",
     "per-record errors listed in a response (the rejected count stays exact)", NULL, 0,
     CL_MAX_MAX_ERRORS},
    {"max-message", "CLOUDLOG_MAX_MESSAGE", CL_OPT_SIZE, "1MiB", OFF(max_message), "SIZE",
     "uncompressed records packed into one queue message", NULL, 0, 0},
    {"max-depth", "CLOUDLOG_MAX_DEPTH", CL_OPT_INT, "64", OFF(max_depth), "N",
     "deepest JSON nesting accepted in a record", NULL, 2, 10000},
    {"max-record-age", "CLOUDLOG_MAX_RECORD_AGE", CL_OPT_DURATION, "7d", OFF(max_record_age_ms),
     "DURATION", "records with an older timestamp are rejected (0: no limit)", NULL, 0, 0},
    {"max-record-future", "CLOUDLOG_MAX_RECORD_FUTURE", CL_OPT_DURATION, "10m",
     OFF(max_record_future_ms), "DURATION",
     "records with a timestamp further ahead are rejected (0: no limit)", NULL, 0, 0},
    {"max-message-partitions", "CLOUDLOG_MAX_MESSAGE_PARTITIONS", CL_OPT_INT, "64",
     OFF(max_message_partitions), "N",
     "distinct partitions (service, hour) in one queue message; more start a new message", NULL, 1,
     100000},
    {"compression-level", "CLOUDLOG_COMPRESSION_LEVEL", CL_OPT_INT, "1", OFF(compression_level),
     "N", "gzip level for queue messages (0-3, ISA-L)", NULL, 0, 3},
    {"idempotency-window", "CLOUDLOG_IDEMPOTENCY_WINDOW", CL_OPT_DURATION, "24h",
     OFF(idempotency_window_ms), "DURATION",
     "how long an Idempotency-Key of POST /v1/logs is remembered (docs/ingest.md)", NULL, 0, 0},
    {0},
};

const struct cl_option cl_object_options[] = {
    {"object-compression-level", "CLOUDLOG_OBJECT_COMPRESSION_LEVEL", CL_OPT_INT, "1",
     offsetof(struct cl_object_opts, compression_level), "N",
     "gzip level for stored objects (0-3, ISA-L)", NULL, 0, 3},
    {0},
};

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

const struct cl_option cl_telemetry_options[] = {
    {"emf-namespace", "CLOUDLOG_EMF_NAMESPACE", CL_OPT_STR, "cloudlog",
     offsetof(struct cl_telemetry_opts, emf_namespace), "NS",
     "CloudWatch namespace of the EMF metrics", NULL, 0, 0},
    {"emf-dimensions", "CLOUDLOG_EMF_DIMENSIONS", CL_OPT_STR, NULL,
     offsetof(struct cl_telemetry_opts, emf_dimensions), "K=V,...",
     "dimensions of every EMF metric, e.g. service=cloudlog,env=prod (default: none)", NULL, 0, 0},
    {"log-level", "CLOUDLOG_LOG_LEVEL", CL_OPT_STR, "info",
     offsetof(struct cl_telemetry_opts, log_level), "LEVEL", "diagnostic log level on stderr",
     log_levels, 0, 0},
    {0},
};

void cl_ingest_opts_to_limits(const struct cl_ingest_opts *o, struct cl_ingest_limits *l)
{
    l->max_body_bytes = o->max_body;
    l->max_decoded_bytes = o->max_decoded;
    l->max_record_bytes = o->max_record;
    l->max_message_bytes = o->max_message;
    l->max_errors = (size_t)o->max_errors;
    l->max_depth = o->max_depth;
    l->compression_level = o->compression_level;
    l->max_record_age_ms = o->max_record_age_ms;
    l->max_record_future_ms = o->max_record_future_ms;
    l->max_message_partitions = (size_t)o->max_message_partitions;
}
