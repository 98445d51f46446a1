/* pipeline_opts.h - the option rows the daemon (`cloudlog serve`) and the Lambda functions
 * share: ingest limits, the stored objects' compression and the telemetry (log level, EMF). One
 * declaration each (name, CLOUDLOG_* variable, default, bounds, help): serve includes the rows in
 * its table, the Lambda reads its environment through them (lambda_env.c). */
#ifndef CL_PIPELINE_OPTS_H
#define CL_PIPELINE_OPTS_H

#include "ingest.h"
#include "options.h"

#include <stdint.h>

/* What the ingest rows fill. */
struct cl_ingest_opts {
    uint64_t max_body, max_decoded, max_record, max_message;
    int max_errors, max_depth, compression_level, max_message_partitions;
    int64_t max_record_age_ms, max_record_future_ms, idempotency_window_ms;
};

/* Rows for a struct cl_ingest_opts (ended by a row without a name): max-body, max-decoded,
 * max-record, max-errors, max-message, max-depth, max-record-age, max-record-future,
 * max-message-partitions, compression-level, idempotency-window. */
extern const struct cl_option cl_ingest_options[];

/* What the object rows fill. */
struct cl_object_opts {
    int compression_level;
};

/* Rows for a struct cl_object_opts: object-compression-level. */
extern const struct cl_option cl_object_options[];

/* What the telemetry rows fill. */
struct cl_telemetry_opts {
    const char *log_level, *emf_namespace, *emf_dimensions;
};

/* Rows for a struct cl_telemetry_opts: emf-namespace, emf-dimensions, log-level. */
extern const struct cl_option cl_telemetry_options[];

/* Copies o's limits into l (the rest of l is left alone). */
void cl_ingest_opts_to_limits(const struct cl_ingest_opts *o, struct cl_ingest_limits *l);

#endif
