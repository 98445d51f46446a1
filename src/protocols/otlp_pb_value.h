/* otlp_pb_value.h - OTLP protobuf attribute values -> JSON (otlp_pb.c's helpers).
 *
 * AnyValue and KeyValueList messages unpacked by protobuf-c are written as JSON values;
 * a LogRecord's attributes arrive packed (otlp_logs.proto) and are read here one by one.
 * The writers return how deep the containers they wrote nest (0: a scalar).
 */
#ifndef CL_OTLP_PB_VALUE_H
#define CL_OTLP_PB_VALUE_H

#include "otlp_logs.pb-c.h"
#include "proto_record.h"

#include <stddef.h>
#include <stdint.h>

int cl_otlp_pb_write_any(struct cl_buf *out, const Cloudlog__Otlp__AnyValue *v);
/* Writes each attribute as a member of r (a key already written is skipped, its value
 * too; skip_service_name leaves service.name out). Returns the deepest nesting. */
int cl_otlp_pb_write_attrs(struct cl_proto_rec *r, Cloudlog__Otlp__KeyValue **kv, size_t n,
                           int skip_service_name);
/* As cl_otlp_pb_write_attrs for packed KeyValue messages; unpacks the unusual ones with
 * protobuf-c into alloc (an arena: nothing is freed here). Returns the deepest nesting,
 * or -1 when one is no KeyValue (protobuf-c refuses it: the request is malformed). */
int cl_otlp_pb_write_packed_attrs(struct cl_proto_rec *r, const ProtobufCBinaryData *kv, size_t n,
                                  ProtobufCAllocator *alloc);

/* Packed KeyValues kv[0..n) as protobuf-c would unpack them, into *out (an array of n,
 * everything in alloc, an arena): the usual shape built from its bytes, any other by
 * protobuf-c. 0, or -1 when one is no KeyValue (the request is malformed). */
int cl_otlp_pb_unpack_attrs(const ProtobufCBinaryData *kv, size_t n, ProtobufCAllocator *alloc,
                            Cloudlog__Otlp__KeyValue ***out);
/* LogRecord.body as protobuf-c reads an AnyValue field sent parts[0..n) times: 1 with
 * a lone string's text in *s, *len (read from its bytes, up to a NUL as everywhere); 0
 * with any other unpacked by protobuf-c into alloc (*any; NULL when n is 0); -1 when it
 * is no AnyValue (the request is malformed). */
int cl_otlp_pb_body(const ProtobufCBinaryData *parts, size_t n, ProtobufCAllocator *alloc,
                    const char **s, size_t *len, Cloudlog__Otlp__AnyValue **any);

/* ScopeLogs.scope (sent parts[0..n) times) as protobuf-c reads it: its name in *s, *len
 * (len 0: none). 0, or -1 when it is no InstrumentationScope. */
int cl_otlp_pb_scope_name(const ProtobufCBinaryData *parts, size_t n, ProtobufCAllocator *alloc,
                          const char **s, size_t *len);

#endif
