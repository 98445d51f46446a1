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

#endif
