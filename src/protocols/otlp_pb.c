/* otlp_pb.c - OTLP/HTTP logs in protobuf (application/x-protobuf) -> input records.
 *
 * protobuf-c unpacks the ExportLogsServiceRequest (types generated from our own
 * otlp_logs.proto); each LogRecord is then written as one input record
 * (otlp_common.h). protobuf-c recurses once per nested message and sets no depth limit,
 * and AnyValue nests without bound, so a schema-aware walk over the wire format first
 * refuses bodies nested deeper than the record depth limit allows (no stack overflow on
 * a crafted body). */
#include "proto.h"

#include "common.h"
#include "json.h"
#include "json_write.h"
#include "otlp_common.h"
#include "otlp_logs.pb-c.h"
#include "otlp_pb_value.h"
#include "pb_arena.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- depth check on the wire format ---- */

enum kind {
    K_REQUEST,
    K_RESOURCE_LOGS,
    K_RESOURCE,
    K_SCOPE_LOGS,
    K_LOG,
    K_ANY,
    K_ARRAY,
    K_KVLIST,
    K_KV,
    K_LEAF
};

/* The message kind of field `f` of a message of kind k (K_LEAF: not a message we nest). */
static enum kind child_of(enum kind k, uint64_t f)
{
    switch (k) {
    case K_REQUEST:
        return f == 1 ? K_RESOURCE_LOGS : K_LEAF;
    case K_RESOURCE_LOGS:
        return f == 1 ? K_RESOURCE : f == 2 ? K_SCOPE_LOGS : K_LEAF;
    case K_RESOURCE:
        return f == 1 ? K_KV : K_LEAF;
    case K_SCOPE_LOGS:
        return f == 2 ? K_LOG : K_LEAF;
    case K_LOG:
        return f == 5 ? K_ANY : f == 6 ? K_KV : K_LEAF;
    case K_ANY:
        return f == 5 ? K_ARRAY : f == 6 ? K_KVLIST : K_LEAF;
    case K_ARRAY:
        return f == 1 ? K_ANY : K_LEAF;
    case K_KVLIST:
        return f == 1 ? K_KV : K_LEAF;
    case K_KV:
        return f == 2 ? K_ANY : K_LEAF;
    case K_LEAF:
        break;
    }
    return K_LEAF;
}

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* 0 if the message p[0..n) of kind k nests at most `left` more levels. Malformed wire
 * data is left for protobuf-c to reject. */
static int depth_ok(const uint8_t *p, size_t n, enum kind k, int left)
{
    const uint8_t *end = p + n;
    uint64_t tag, len;
    /* Each nested message costs at least a tag byte and a length byte, so n bytes hold
     * at most n / 2 levels: a LogRecord of a few hundred bytes needs no walk. */
    if (n / 2 <= (size_t)left)
        return 0;
    while (p < end) {
        if (read_varint(&p, end, &tag) != 0)
            return 0;
        switch (tag & 7) {
        case 0:
            if (read_varint(&p, end, &len) != 0)
                return 0;
            break;
        case 1:
            p += CL_MIN((size_t)(end - p), (size_t)8);
            break;
        case 5:
            p += CL_MIN((size_t)(end - p), (size_t)4);
            break;
        case 2: {
            if (read_varint(&p, end, &len) != 0 || len > (uint64_t)(end - p))
                return 0;
            enum kind c = child_of(k, tag >> 3);
            if (c != K_LEAF && (left == 0 || depth_ok(p, (size_t)len, c, left - 1) != 0))
                return -1;
            p += len;
            break;
        }
        default:
            return 0;
        }
    }
    return 0;
}

/* ---- one log record ---- */

/* max(a, b) for values computed once (CL_MAX evaluates its arguments twice). */
static int deeper(int a, int b)
{
    return a > b ? a : b;
}

/* Returns how deep the members written nest (a body written as text: not at all), or -1
 * when the body is no AnyValue (alloc: the request's arena). */
static int write_body(struct cl_proto_rec *r, const Cloudlog__Otlp__LogRecord *lr,
                      ProtobufCAllocator *alloc)
{
    Cloudlog__Otlp__AnyValue *b;
    const char *s;
    size_t len;
    int k = cl_otlp_pb_body(lr->body, lr->n_body, alloc, &s, &len, &b);
    if (k < 0)
        return -1;
    if (k == 1) {
        cl_proto_rec_string(r, "message", s, len);
        return 0;
    }
    if (!b || b->value_case == CLOUDLOG__OTLP__ANY_VALUE__VALUE__NOT_SET)
        return 0;
    if (b->value_case == CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE) {
        cl_proto_rec_string(r, "message", b->string_value, strlen(b->string_value));
    } else if (b->value_case == CLOUDLOG__OTLP__ANY_VALUE__VALUE_KVLIST_VALUE) {
        if (b->kvlist_value)
            return cl_otlp_pb_write_attrs(r, b->kvlist_value->values, b->kvlist_value->n_values, 0);
    } else if (cl_proto_rec_key(r, "message", 7)) {
        struct cl_buf text;
        cl_buf_init(&text, SIZE_MAX / 2);
        cl_otlp_pb_write_any(&text, b);
        cl_json_write_string(r->out, text.data, text.len);
        cl_buf_free(&text);
    }
    return 0;
}

static void write_ids(struct cl_proto_rec *r, const Cloudlog__Otlp__LogRecord *lr)
{
    if (lr->trace_id.len && cl_proto_rec_key(r, "trace_id", 8)) {
        cl_buf_append_char(r->out, '"');
        cl_proto_hex(r->out, lr->trace_id.data, lr->trace_id.len);
        cl_buf_append_char(r->out, '"');
    }
    if (lr->span_id.len && cl_proto_rec_key(r, "span_id", 7)) {
        cl_buf_append_char(r->out, '"');
        cl_proto_hex(r->out, lr->span_id.data, lr->span_id.len);
        cl_buf_append_char(r->out, '"');
    }
}

/* A resource's attributes, unpacked once per ResourceLogs (otlp_pb_value.h). */
struct res_attrs {
    Cloudlog__Otlp__KeyValue **kv;
    size_t n;
};

static const char *service_name(const struct res_attrs *res)
{
    for (size_t i = 0; i < res->n; i++) {
        const Cloudlog__Otlp__KeyValue *kv = res->kv[i];
        if (strcmp(kv->key, "service.name") == 0 && kv->value &&
            kv->value->value_case == CLOUDLOG__OTLP__ANY_VALUE__VALUE_STRING_VALUE)
            return kv->value->string_value;
    }
    return NULL;
}

/* A resource's service.name as cl_otlp_write_service writes it (cleaned, cut to 64
 * bytes; len 0: none), worked out once for all the records of its ResourceLogs. */
struct service {
    char name[64];
    size_t len;
};

static void service_of(const struct res_attrs *res, struct service *svc)
{
    const char *name = service_name(res);
    svc->len = name ? CL_MIN(strlen(name), sizeof svc->name) : 0;
    memcpy(svc->name, name ? name : "", svc->len);
    svc->len = cl_proto_service_clean(svc->name, svc->len);
}

/* Writes one record; returns how deep its members' values nest, or -1 when one of its
 * attributes is no KeyValue (alloc: the request's arena, for unusual attributes). */
static int write_log(struct cl_proto_rec *r, const Cloudlog__Otlp__LogRecord *lr,
                     const struct res_attrs *res, const struct service *svc,
                     const struct cl_slice *scope, ProtobufCAllocator *alloc)
{
    int nest, attrs;
    cl_proto_rec_begin(r);
    cl_otlp_write_time(r, lr->time_unix_nano ? lr->time_unix_nano : lr->observed_time_unix_nano);
    int level_known =
        cl_otlp_write_level(r, lr->severity_number, lr->severity_text, strlen(lr->severity_text));
    if (svc->len)
        cl_proto_rec_plain(r, "service", svc->name, svc->len); /* cleaned: plain */
    if ((nest = write_body(r, lr, alloc)) < 0)
        return -1;
    if (*lr->event_name)
        cl_proto_rec_string(r, "event_name", lr->event_name, strlen(lr->event_name));
    write_ids(r, lr);
    if ((attrs = cl_otlp_pb_write_packed_attrs(r, lr->attributes, lr->n_attributes, alloc)) < 0)
        return -1;
    nest = deeper(nest, attrs);
    if (!level_known)
        cl_proto_rec_string(r, "severity_text", lr->severity_text, strlen(lr->severity_text));
    nest = deeper(nest, cl_otlp_pb_write_attrs(r, res->kv, res->n, 1));
    if (scope->len)
        cl_proto_rec_string(r, "scope", scope->ptr, scope->len);
    cl_proto_rec_ensure_message(r);
    cl_proto_rec_end(r);
    return nest;
}

int cl_otlp_pb_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                      const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    /* Request, ResourceLogs, ScopeLogs, LogRecord, then up to three wire levels per JSON
     * level (AnyValue, KeyValueList, KeyValue); capped so the recursion stays shallow
     * whatever --max-depth says (the normalizer enforces the record's own limit). */
    int depth = CL_MIN(o->max_depth, 128);
    if (depth_ok((const uint8_t *)body, len, K_REQUEST, 4 + 3 * depth) != 0) {
        snprintf(err, err_len, "OTLP request nested deeper than the %d-level limit", o->max_depth);
        return -1;
    }
    struct cl_pb_arena arena;
    cl_pb_arena_init(&arena);
    Cloudlog__Otlp__ExportLogsServiceRequest *req =
        cloudlog__otlp__export_logs_service_request__unpack(&arena.alloc, len,
                                                            (const uint8_t *)body);
    if (!req) {
        cl_pb_arena_free(&arena);
        snprintf(err, err_len, "body is not a protobuf ExportLogsServiceRequest");
        return -1;
    }
    struct cl_buf out;
    struct cl_proto_rec r;
    cl_buf_init(&out, SIZE_MAX / 2); /* bounded by the decoded body */
    cl_proto_rec_init(&r, &out);
    cl_proto_rec_set_sink(&r, sink);
    cl_proto_rec_track_members(&r); /* the normalizer takes the members we write */
    int norm_depth = o->max_depth > 0 ? CL_MIN(o->max_depth, CL_JSON_MAX_DEPTH_LIMIT)
                                      : CL_JSON_DEFAULT_MAX_DEPTH; /* as the reader clamps */
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < req->n_resource_logs; i++) {
        const Cloudlog__Otlp__ResourceLogs *rl = req->resource_logs[i];
        struct service svc;
        struct res_attrs res = {NULL, rl->resource ? rl->resource->n_attributes : 0};
        if (res.n &&
            cl_otlp_pb_unpack_attrs(rl->resource->attributes, res.n, &arena.alloc, &res.kv) != 0) {
            snprintf(err, err_len, "body is not a protobuf ExportLogsServiceRequest");
            rc = -1;
            break;
        }
        service_of(&res, &svc);
        for (size_t j = 0; rc == 0 && j < rl->n_scope_logs; j++) {
            const Cloudlog__Otlp__ScopeLogs *sl = rl->scope_logs[j];
            struct cl_slice scope = {NULL, 0}; /* its name, read once for its records */
            if (cl_otlp_pb_scope_name(sl->scope, sl->n_scope, &arena.alloc, &scope.ptr,
                                      &scope.len) != 0) {
                snprintf(err, err_len, "body is not a protobuf ExportLogsServiceRequest");
                rc = -1;
                break;
            }
            for (size_t k = 0; rc == 0 && k < sl->n_log_records; k++) {
                int nest = write_log(&r, sl->log_records[k], &res, &svc, &scope, &arena.alloc);
                if (nest < 0) { /* as protobuf-c refuses the request when it unpacks it all */
                    snprintf(err, err_len, "body is not a protobuf ExportLogsServiceRequest");
                    rc = -1; /* the caller drops the records already handed on (proto.h) */
                    break;
                }
                r.reread = nest + 1 >= norm_depth; /* the normalizer's reading rejects it */
                cl_proto_rec_emit(&r, sink);
            }
        }
    }
    cl_proto_rec_free(&r);
    cl_buf_free(&out);
    cl_pb_arena_free(&arena); /* req and everything in it */
    return rc;
}

/* Appends a packed message to out through protobuf-c's buffer interface. */
struct buf_sink {
    ProtobufCBuffer base;
    struct cl_buf *out;
};

static void buf_sink_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    cl_buf_append(((struct buf_sink *)b)->out, data, len);
}

void cl_otlp_pb_response(struct cl_buf *out, int64_t rejected, const char *message)
{
    Cloudlog__Otlp__ExportLogsServiceResponse resp =
        CLOUDLOG__OTLP__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
    Cloudlog__Otlp__ExportLogsPartialSuccess partial =
        CLOUDLOG__OTLP__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;
    if (rejected > 0) {
        partial.rejected_log_records = rejected;
        partial.error_message = (char *)message;
        resp.partial_success = &partial;
    }
    struct buf_sink s = {{buf_sink_append}, out};
    cloudlog__otlp__export_logs_service_response__pack_to_buffer(&resp, &s.base);
}

void cl_otlp_pb_status(struct cl_buf *out, int code, const char *message)
{
    Cloudlog__Otlp__Status st = CLOUDLOG__OTLP__STATUS__INIT;
    st.code = code;
    st.message = (char *)message;
    struct buf_sink s = {{buf_sink_append}, out};
    cloudlog__otlp__status__pack_to_buffer(&st, &s.base);
}
