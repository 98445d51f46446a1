/* ingest_format.h - which format a request body is in, and the answer in that
 * protocol's shape (ingest_format.c). Internal to the ingest stage. */
#ifndef CL_INGEST_FORMAT_H
#define CL_INGEST_FORMAT_H

#include "ingest.h"

enum cl_ingest_format {
    CL_FMT_UNSUPPORTED, /* 415 */
    CL_FMT_JSON,        /* cloudlog JSON / NDJSON, or a shape told after decompression */
    CL_FMT_OTLP_PB,
    CL_FMT_OTLP_JSON,
    CL_FMT_MSGPACK,     /* Fluent Bit http output, format msgpack */
    CL_FMT_JSON_STREAM, /* Fluent Bit http output, format json_stream */
    CL_FMT_HEC_EVENT,
    CL_FMT_HEC_RAW,
    CL_FMT_ES_BULK,
    CL_FMT_LOKI_JSON,
    CL_FMT_LOKI_PB,
    CL_FMT_LOKI_UNSUPPORTED /* Loki's snappy protobuf: 415 */
};

/* From the route and Content-Type alone (before Content-Encoding is undone). */
enum cl_ingest_format cl_ingest_format_of(enum cl_ingest_route route, const char *content_type);
/* CL_FMT_JSON refined by the decoded body's shape (OTLP JSON, json_stream); others kept. */
enum cl_ingest_format cl_ingest_format_refine(enum cl_ingest_format f, const char *body,
                                              size_t len);
/* The decoder of a protocol format; NULL for cloudlog's own JSON. */
cl_proto_decode_fn cl_ingest_decoder(enum cl_ingest_format f);

/* Sets resp's content type and Elasticsearch header for an answer in format f (a
 * replayed Idempotency-Key answer gets them so). */
void cl_ingest_answer_type(enum cl_ingest_format f, struct cl_ingest_response *resp);

/* 1 if a Content-Type's media type is one a browser sends cross-site without a CORS
 * preflight (text/plain, form, multipart). */
int cl_ingest_cors_simple(const char *content_type);

/* Fills resp->status, body and content type: the answer to `status` (202 when the
 * records were queued) with msg (NULL on success) and the parse result (NULL when the
 * request was refused before parsing), in the shape of the format's clients. */
void cl_ingest_render(enum cl_ingest_format f, struct cl_ingest_response *resp, int status,
                      const char *msg, const struct cl_ingest_parse_result *pr);

#endif
