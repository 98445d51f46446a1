/* otlp_pb_pack.h - packing test bodies' log record attributes and bodies as
 * otlp_logs.proto declares them (LogRecord.attributes, LogRecord.body: packed KeyValue and
 * AnyValue messages, the same bytes on the wire). */
#ifndef CL_TEST_OTLP_PB_PACK_H
#define CL_TEST_OTLP_PB_PACK_H

#include "otlp_logs.pb-c.h"

#include <stdint.h>
#include <stdlib.h>

/* kv[0..n) packed, one element each. Free with attrs_free. */
static inline ProtobufCBinaryData *attrs_pack(Cloudlog__Otlp__KeyValue *const *kv, size_t n)
{
    ProtobufCBinaryData *a = calloc(n ? n : 1, sizeof *a);
    for (size_t i = 0; i < n; i++) {
        a[i].len = cloudlog__otlp__key_value__get_packed_size(kv[i]);
        a[i].data = malloc(a[i].len ? a[i].len : 1);
        cloudlog__otlp__key_value__pack(kv[i], a[i].data);
    }
    return a;
}

/* LogRecord.body as otlp_logs.proto declares it (the AnyValue packed, one occurrence):
 * set lr->n_body, lr->body; free with attrs_free(lr->body, lr->n_body). */
static inline void body_pack(Cloudlog__Otlp__LogRecord *lr, const Cloudlog__Otlp__AnyValue *v)
{
    lr->n_body = 1;
    lr->body = calloc(1, sizeof *lr->body);
    lr->body[0].len = cloudlog__otlp__any_value__get_packed_size(v);
    lr->body[0].data = malloc(lr->body[0].len ? lr->body[0].len : 1);
    cloudlog__otlp__any_value__pack(v, lr->body[0].data);
}

static inline void attrs_free(ProtobufCBinaryData *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].data);
    free(a);
}

/* Packs an ExportLogsServiceRequest of one resource with one scope that holds the n
 * records (res may be NULL). Caller frees. */
static inline uint8_t *pack_one_resource(Cloudlog__Otlp__Resource *res,
                                         Cloudlog__Otlp__LogRecord **lrs, size_t n, size_t *len)
{
    Cloudlog__Otlp__ScopeLogs sl = CLOUDLOG__OTLP__SCOPE_LOGS__INIT;
    Cloudlog__Otlp__ScopeLogs *slp = &sl;
    sl.n_log_records = n;
    sl.log_records = lrs;
    Cloudlog__Otlp__ResourceLogs rl = CLOUDLOG__OTLP__RESOURCE_LOGS__INIT;
    Cloudlog__Otlp__ResourceLogs *rlp = &rl;
    rl.resource = res;
    rl.n_scope_logs = 1;
    rl.scope_logs = &slp;
    Cloudlog__Otlp__ExportLogsServiceRequest req =
        CLOUDLOG__OTLP__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    req.n_resource_logs = 1;
    req.resource_logs = &rlp;
    *len = cloudlog__otlp__export_logs_service_request__get_packed_size(&req);
    uint8_t *buf = malloc(*len);
    cloudlog__otlp__export_logs_service_request__pack(&req, buf);
    return buf;
}

#endif
