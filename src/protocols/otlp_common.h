/* otlp_common.h - the OTLP log record mapping shared by the protobuf and JSON decoders.
 *
 * An OTLP log record becomes one input record, members in this order (the first member
 * of a name wins, proto_record.h): timestamp (time_unix_nano, else
 * observed_time_unix_nano, else none: the request's arrival time), level (from
 * severity_number, else a severity_text the normalizer knows), service (resource
 * attribute service.name, characters outside [A-Za-z0-9._-] replaced by '_'), message
 * (a string body; a map body's members become fields; any other body is written as
 * JSON text), event_name, trace_id and span_id (lowercase hex), the log attributes,
 * severity_text when it named no known level, the resource attributes, scope (the
 * instrumentation scope's name); "message":"" when nothing gave a message.
 */
#ifndef CL_OTLP_COMMON_H
#define CL_OTLP_COMMON_H

#include "proto_record.h"

#include <stddef.h>
#include <stdint.h>

/* "trace".."fatal" for severity numbers 1..24; NULL for 0 and out-of-range numbers. */
const char *cl_otlp_level_of(int64_t severity_number);
/* Writes "timestamp" from nanoseconds since the epoch (0: not written). */
void cl_otlp_write_time(struct cl_proto_rec *r, uint64_t ns);
/* Writes "level" for the severity number or text; returns 0 when the text (non-empty)
 * named no known level, so the caller keeps it as severity_text. */
int cl_otlp_write_level(struct cl_proto_rec *r, int64_t number, const char *text, size_t len);
/* Writes "service" from a service.name value (cleaned, a copy is made). */
void cl_otlp_write_service(struct cl_proto_rec *r, const char *name, size_t len);
/* Parses a decimal uint64 (digits only, at most 20); 0 on success. */
int cl_otlp_parse_u64(const char *s, size_t n, uint64_t *v);

#endif
