/* record.h - validation and normalization of one log record (the data contract).
 *
 * Input: the JSON text of one record (an object). Output: one normalized NDJSON line
 *   {"timestamp":"2026-11-25T15:04:05.123Z","level":"info","service":"api","message":...,...}\n
 * Aliases, timestamp forms, level names and the service rule are in docs/ingest.md.
 */
#ifndef CL_RECORD_H
#define CL_RECORD_H

#include "buf.h"
#include "common.h"

#include <stdint.h>

struct cl_json_value;

enum cl_level {
    CL_LEVEL_TRACE = 0,
    CL_LEVEL_DEBUG,
    CL_LEVEL_INFO,
    CL_LEVEL_WARN,
    CL_LEVEL_ERROR,
    CL_LEVEL_FATAL,
    CL_LEVEL_COUNT
};

/* "trace".."fatal". */
const char *cl_level_name(enum cl_level l);

struct cl_norm_opts {
    int64_t received_ms;             /* used when the record has no timestamp */
    struct cl_slice default_service; /* X-Cloudlog-Service header, or "default" */
    size_t max_record_bytes;         /* raw record size limit (default 256 KiB) */
    int max_depth;                   /* JSON nesting limit */
    /* Accepted timestamps: [received_ms - max_age_ms, received_ms + max_future_ms]; a
     * record outside is rejected with the reason. 0 turns that side's check off. */
    int64_t max_age_ms;
    int64_t max_future_ms;
    /* For a shipper's document taken as it is (proto.h, cl_proto_sink.document): a later
     * member of a name already seen is dropped instead of rejecting the record, and a
     * record without message gets "message":"" instead of being rejected. */
    int keep_first_duplicate;
    int empty_message_ok;
    /* default_service is the document's own (the _bulk index): with keep_first_duplicate
     * the size limit counts the record as the decoder's copy of it would be (later
     * duplicates and whitespace left out, "message":"" and this service added). */
    int document_service;
    /* Optional (NULL: the parts are read and validated): the record's members as key,
     * value pairs (members[2i], members[2i+1]) in the parts' order, found by the caller in
     * JSON it validated with max_depth as the parts would be read (values of the validating
     * reader or of a json_walk.h walker over it). The parts are then not read again; their
     * lengths still count against max_record_bytes. */
    const struct cl_json_value *members;
    size_t n_members;
};

/* What the caller needs to know about a normalized record. */
struct cl_record_meta {
    int64_t ts_ms;
    enum cl_level level;
    struct cl_slice service; /* points into the output line in `out` */
    int parsed; /* set on failure too: 1 if the input was a well-formed JSON object, so a
                 * rejection was about its content (0: syntax, not an object, too large) */
};

/* Validates and normalizes the record raw[0..len). On success appends the normalized
 * line (ending in '\n') to out, fills *meta and returns CL_OK. On failure returns
 * CL_ERR_INVAL (or CL_ERR_TOO_LARGE if out's maximum was hit), leaves out as it was,
 * and writes a one-line reason into err (err_len bytes, NUL-terminated). */
int cl_record_normalize(const char *raw, size_t len, const struct cl_norm_opts *opts,
                        struct cl_buf *out, struct cl_record_meta *meta, char *err, size_t err_len);

/* As cl_record_normalize for a record given as the members of several JSON objects
 * parts[0..n_parts) read as one object in that order (a shipper's document and the
 * members a protocol adds; their lengths together count against max_record_bytes). */
int cl_record_normalize_parts(const struct cl_slice *parts, size_t n_parts,
                              const struct cl_norm_opts *opts, struct cl_buf *out,
                              struct cl_record_meta *meta, char *err, size_t err_len);

/* Parses an RFC 3339 / ISO 8601 timestamp string (without quotes) into ms since the
 * epoch, truncating sub-millisecond digits. Returns 0 or -1. */
int cl_parse_timestamp_text(const char *s, size_t len, int64_t *ms);

/* Converts an epoch number (seconds, milliseconds, microseconds or nanoseconds, told
 * apart by magnitude; fractions allowed) given as JSON number text into ms. */
int cl_parse_timestamp_number(const char *s, size_t len, int64_t *ms);

/* Formats ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL). */
void cl_format_timestamp(int64_t ms, char out[25]);

/* Parses a level name/alias (case-insensitive) or a pino/bunyan number. */
int cl_parse_level_text(const char *s, size_t len, enum cl_level *l);
int cl_parse_level_number(const char *s, size_t len, enum cl_level *l);

/* 1 if s matches [A-Za-z0-9._-]{1,64}. */
int cl_service_valid(const char *s, size_t len);

#endif
