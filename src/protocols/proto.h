/* proto.h - protocol decoders: a shipper's request body -> a sequence of input records.
 *
 * Each decoder turns a body in one shipper protocol (OTLP, Fluent Bit msgpack, Splunk
 * HEC, ...) into JSON objects of cloudlog's own input shape (timestamp, level, service,
 * message, other fields) and hands them one by one, in order, to a sink. The ingest
 * stage (src/pipeline/ingest_proto.c) feeds them to the same normalizer, limits and
 * queue as POST /v1/logs; the n-th call to the sink is record index n, so per-record
 * rejections map back to the protocol's own error shape. Decoders depend on the core
 * layer only (docs/pipeline.md, "Protocol adapters").
 */
#ifndef CL_PROTO_H
#define CL_PROTO_H

#include "buf.h"
#include "common.h"

#include <stddef.h>
#include <stdint.h>

/* A record as parts: their members read as one object in order, normalized as `record`
 * would normalize the copy a decoder writes with proto_record.h: a later member of a name
 * already seen is dropped, a missing message is "", and service[0..service_len) (cleaned;
 * 0: none) names the service when no part has service or app. The normalizer validates
 * every part as it reads it: a _bulk document line goes as it was sent (a malformed one
 * is rejected with the normalizer's reason); the other decoders pass objects they
 * validated or wrote. */
struct cl_json_value;
struct cl_proto_doc {
    const struct cl_slice *parts;
    size_t n_parts;
    const char *service;
    size_t service_len;
    /* Optional (NULL: the normalizer reads and validates the parts): the parts' members
     * as key, value pairs, found in JSON the decoder validated at the normalizer's depth
     * (cl_norm_opts.members); the normalizer then takes them as they are. */
    const struct cl_json_value *members;
    size_t n_members;
};

struct cl_proto_sink {
    /* One input record: a JSON object of json[0..len) (valid only during the call). */
    void (*record)(void *arg, const char *json, size_t len);
    /* One record the decoder could not turn into an object: rejected with `why`. */
    void (*reject)(void *arg, const char *why);
    void *arg;
    /* Optional (NULL: the decoder builds the record and calls `record`): one record
     * given as validated JSON objects taken as they are (a shipper's document, the members
     * a decoder adds), which spares building a copy. See struct cl_proto_doc. */
    void (*document)(void *arg, const struct cl_proto_doc *doc);
};

struct cl_proto_opts {
    int max_depth;      /* nesting limit of one record (the normalizer's max_depth) */
    size_t max_record;  /* a record's JSON above this is rejected by the normalizer */
    const char *target; /* what the path names, e.g. the _bulk index ("" if nothing) */
    size_t max_decoded; /* a compressed body's decompressed size limit (Loki's snappy) */
    /* Loki: the comma-separated labels naming the service, in priority order (NULL:
     * CL_DEFAULT_LOKI_SERVICE_LABELS; checked by cl_loki_service_labels_check). */
    const char *service_labels;
};

/* A decoder returns 0, or -1 with err (err_len bytes) set when the body as a whole is
 * malformed; the caller then drops every record it already received. */
typedef int (*cl_proto_decode_fn)(const char *body, size_t len, const struct cl_proto_opts *o,
                                  const struct cl_proto_sink *sink, char *err, size_t err_len);

/* OTLP/HTTP logs: ExportLogsServiceRequest as protobuf (otlp_pb.c) or JSON (otlp_json.c). */
int cl_otlp_pb_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                      const struct cl_proto_sink *sink, char *err, size_t err_len);
int cl_otlp_json_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                        const struct cl_proto_sink *sink, char *err, size_t err_len);
/* 1 if a JSON body is an OTLP request: an object whose first member is "resourceLogs". */
int cl_otlp_json_detect(const char *body, size_t len);
/* ExportLogsServiceResponse, and google.rpc.Status for errors, in protobuf; appended to
 * out. rejected == 0 writes the empty message (full success). */
void cl_otlp_pb_response(struct cl_buf *out, int64_t rejected, const char *message);
void cl_otlp_pb_status(struct cl_buf *out, int code, const char *message);

/* Fluent Bit's http output: format msgpack (fluent_msgpack.c) and json_stream
 * (JSON objects back to back, fluent_json.c). */
int cl_fluent_msgpack_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                             const struct cl_proto_sink *sink, char *err, size_t err_len);
int cl_json_stream_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                          const struct cl_proto_sink *sink, char *err, size_t err_len);
/* 1 if a JSON body holds two objects back to back on its first line (json_stream). */
int cl_json_stream_detect(const char *body, size_t len);

/* Calls fn for each JSON value of a body of values back to back (json_stream.c);
 * -1 with err set at the first malformed one. */
int cl_json_values_each(const char *body, size_t len, int max_depth,
                        void (*fn)(void *arg, const struct cl_json_value *v), void *arg, char *err,
                        size_t err_len);

/* Elasticsearch/OpenSearch _bulk (es_bulk.c): action and source lines. Each index or
 * create action with its document is one record (o->target, the path's index, is the
 * default _index, which names the service unless the document has one); every other
 * action is one rejected record, so record n is item n of the answer. */
int cl_es_bulk_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                      const struct cl_proto_sink *sink, char *err, size_t err_len);
/* One action of a _bulk body as the answer needs it: spans into the body (not NUL
 * terminated; _index and _id are JSON string tokens with quotes, or empty). */
struct cl_es_action {
    const char *name; /* "index", "create", "delete", "update", ... */
    size_t name_len;
    const char *index, *id;
    size_t index_len, id_len;
};
/* Calls fn for each action of a _bulk body, in order (as cl_es_bulk_decode numbers
 * them); returns -1 at the first malformed line. */
int cl_es_bulk_actions(const char *body, size_t len,
                       void (*fn)(void *arg, const struct cl_es_action *a), void *arg);

/* Loki's push API in JSON (loki.c): {"streams":[{"stream":{labels},"values":[...]}]}. */
int cl_loki_json_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                        const struct cl_proto_sink *sink, char *err, size_t err_len);
/* 0 if list is a valid --loki-service-labels value (see CL_MAX_LOKI_SERVICE_LABELS; ""
 * names none), else -1 with why set. */
int cl_loki_service_labels_check(const char *list, char *why, size_t why_len);

/* Loki's protobuf push: a snappy-compressed PushRequest (loki_pb.c). Only in builds with
 * libsnappy, which CMakeLists.txt requires everywhere: cl_loki_pb_supported says. */
int cl_loki_pb_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                      const struct cl_proto_sink *sink, char *err, size_t err_len);
int cl_loki_pb_supported(void);

/* Splunk HEC: /services/collector/event (concatenated event objects) and
 * /services/collector/raw (one message per line) (hec.c). */
int cl_hec_event_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                        const struct cl_proto_sink *sink, char *err, size_t err_len);
int cl_hec_raw_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                      const struct cl_proto_sink *sink, char *err, size_t err_len);

#endif
