/* otlp_json.c - OTLP/HTTP logs in JSON ({"resourceLogs":[...]}) -> input records: the
 * request, resource and scope levels (records: otlp_json_record.c; attributes and
 * AnyValues: otlp_json_value.c).
 *
 * The body is walked once with a validating cursor (json_walk.h) that descends into
 * resource logs, scope logs, records and attributes where they are, checking each byte
 * as it passes: no separate validating pass. A record's members are collected as key,
 * value pairs that point into the body (or at values made here: timestamp, level,
 * service, lowercased ids, nested values), in the order otlp_common.h gives, then
 * written out as one copy whose members the normalizer takes as they are
 * (cl_proto_doc.members). OTLP JSON is protobuf's JSON mapping: lowerCamelCase names,
 * 64-bit integers (timeUnixNano, intValue) as decimal strings (numbers accepted too),
 * trace and span ids as hex strings, bytes as base64. */
#include "otlp_json.h"

#include "common.h"
#include "proto_record.h"

#include <stdio.h>
#include <stdlib.h>

/* The first member `name` after the value at the cursor (of an entered object) into a
 * cursor at its value; 0 if there is none. For members a shipper sent in an unusual
 * order (the scope after its records): the usual order is read in one pass. */
static int member_ahead(const struct cl_jw_cursor *c, const char *name, size_t n,
                        struct cl_jw_cursor *at)
{
    struct cl_json_value key, skip;
    *at = *c;
    cl_jw_cursor_take(at, &skip);
    while (cl_jw_cursor_key(at, &key)) {
        if (key.len == n + 2 && !(key.flags & CL_JSON_F_ESCAPED) &&
            memcmp(key.ptr + 1, name, n) == 0)
            return 1;
        cl_jw_cursor_take(at, &skip);
    }
    return 0;
}

static void scope_name(struct walk *w, struct cl_jw_cursor *c, struct cl_json_value *name)
{
    struct cl_json_value scope;
    cl_jw_cursor_take(c, &scope);
    *name = cl_jw_member(&scope, "name", w->depth);
}

static void scope_logs(struct walk *w, struct cl_jw_cursor *c)
{
    struct cl_json_value key, skip, name = {0};
    int scope_seen = 0, logs_seen = 0;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &skip);
        return;
    }
    cl_jw_cursor_enter(c);
    while (cl_jw_cursor_key(c, &key)) {
        if (!scope_seen && KEY_IS(&key, "scope")) {
            scope_seen = 1;
            scope_name(w, c, &name);
        } else if (!logs_seen && KEY_IS(&key, "logRecords") &&
                   cl_jw_cursor_type(c) == CL_JSON_ARRAY) {
            struct cl_jw_cursor at;
            logs_seen = 1;
            if (!scope_seen && member_ahead(c, "scope", 5, &at))
                scope_name(w, &at, &name);
            scope_seen = 1;
            cl_jw_cursor_enter(c);
            while (cl_jw_cursor_element(c))
                cl_otlpj_log_record(w, c, &name);
        } else {
            logs_seen |= KEY_IS(&key, "logRecords");
            cl_jw_cursor_take(c, &skip);
        }
    }
}

/* The resource at the cursor: its attributes (service.name left out) into w->res, the
 * service token into w->svc. */
static void resource(struct walk *w, struct cl_jw_cursor *c)
{
    struct cl_json_value key, skip;
    struct service_ref svc = {0};
    int attrs_seen = 0;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &skip);
        return;
    }
    cl_jw_cursor_enter(c);
    w->target = IN_RESOURCE;
    while (cl_jw_cursor_key(c, &key))
        if (!attrs_seen && KEY_IS(&key, "attributes")) {
            attrs_seen = 1;
            cl_otlpj_attributes(w, c, &w->res, &svc);
        } else {
            cl_jw_cursor_take(c, &skip);
        }
    for (size_t i = 0; i < w->res.n; i++) /* made once, read by every record below */
        if (w->res.p[i].where == IN_RESOURCE) {
            w->res.p[i].val.ptr = w->made[IN_RESOURCE].data + w->res.p[i].off;
            w->res.p[i].where = IN_PLACE;
        }
    if (svc.value.type == CL_JSON_STRING) {
        char name[128]; /* cl_proto_service_clean keeps 64 bytes */
        cl_jw_text(&svc.value, name, sizeof name);
        size_t n = cl_proto_service_clean(name, strlen(name)); /* as far as a NUL, as before */
        if (n) {
            w->svc[0] = '"';
            memcpy(w->svc + 1, name, n);
            w->svc[n + 1] = '"';
            w->svc_len = n + 2;
        }
    }
}

static void resource_logs(struct walk *w, struct cl_jw_cursor *c)
{
    struct cl_json_value key, skip;
    int res_seen = 0, scopes_seen = 0;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &skip);
        return;
    }
    cl_jw_cursor_enter(c);
    cl_otlpj_pairs_reset(&w->res);
    cl_buf_reset(&w->made[IN_RESOURCE]);
    w->svc_len = 0;
    while (cl_jw_cursor_key(c, &key)) {
        if (!res_seen && KEY_IS(&key, "resource")) {
            res_seen = 1;
            resource(w, c);
        } else if (!scopes_seen && KEY_IS(&key, "scopeLogs") &&
                   cl_jw_cursor_type(c) == CL_JSON_ARRAY) {
            struct cl_jw_cursor at;
            scopes_seen = 1;
            if (!res_seen && member_ahead(c, "resource", 8, &at))
                resource(w, &at);
            res_seen = 1;
            cl_jw_cursor_enter(c);
            while (cl_jw_cursor_element(c))
                scope_logs(w, c);
        } else {
            scopes_seen |= KEY_IS(&key, "scopeLogs");
            cl_jw_cursor_take(c, &skip);
        }
    }
}

static void walk_free(struct walk *w)
{
    for (int i = 0; i < N_WHERE; i++)
        cl_buf_free(&w->made[i]);
    free(w->body.p);
    free(w->attrs.p);
    free(w->res.p);
    free(w->all.p);
    cl_proto_rec_free(&w->rec);
    cl_buf_free(&w->out);
    cl_jw_pairs_free(&w->mem);
}

/* The error of a body the cursor stopped in (or one without a resourceLogs array):
 * the validating reader's message for the first malformed byte, as a body validated
 * before its walk had; -1. */
static int body_error(const char *body, size_t len, int depth, char *err, size_t err_len)
{
    struct cl_json_value top;
    if (cl_jw_body_object(body, len, depth, "OTLP JSON", &top, err, err_len) == 0)
        snprintf(err, err_len, "invalid OTLP JSON: resourceLogs is not an array");
    return -1;
}

int cl_otlp_json_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                        const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    struct walk w = {.depth = 8 + 4 * CL_MIN(o->max_depth, 128), .sink = sink};
    w.norm_depth = o->max_depth > 0 ? CL_MIN(o->max_depth, CL_JSON_MAX_DEPTH_LIMIT)
                                    : CL_JSON_DEFAULT_MAX_DEPTH; /* as the reader clamps */
    struct cl_json_value key, skip;
    struct cl_jw_cursor c;
    int logs_seen = 0;
    /* One pass: the cursor validates what it walks, records are handed on as they are
     * read, and a body found malformed further on is an error all the same (the caller
     * drops the records it received, proto.h). */
    cl_jw_cursor_text(&c, body, len, w.depth);
    if (cl_jw_cursor_type(&c) != CL_JSON_OBJECT)
        return body_error(body, len, w.depth, err, err_len);
    for (int i = 0; i < N_WHERE; i++)
        cl_buf_init(&w.made[i], SIZE_MAX / 2); /* bounded by the decoded body */
    cl_buf_init(&w.out, SIZE_MAX / 2);
    cl_proto_rec_init(&w.rec, &w.out);
    cl_jw_cursor_enter(&c);
    while (cl_jw_cursor_key(&c, &key)) {
        if (logs_seen || !KEY_IS(&key, "resourceLogs")) {
            cl_jw_cursor_take(&c, &skip);
            continue;
        }
        logs_seen = 1;
        if (cl_jw_cursor_type(&c) != CL_JSON_ARRAY) {
            logs_seen = -1; /* an error once the rest is known to be valid JSON */
            break;
        }
        cl_jw_cursor_enter(&c);
        while (cl_jw_cursor_element(&c))
            resource_logs(&w, &c);
    }
    walk_free(&w);
    if (logs_seen != 1 || !cl_jw_cursor_done(&c))
        return body_error(body, len, w.depth, err, err_len);
    return 0;
}

int cl_otlp_json_detect(const char *body, size_t len)
{
    /* Only the first member is looked at: resourceLogs is OTLP's one top-level field,
     * and the normalizer's input records never start with it. */
    size_t i = 0;
    while (i < len && cl_jw_is_space(body[i]))
        i++;
    if (i == len || body[i] != '{')
        return 0;
    i++;
    while (i < len && cl_jw_is_space(body[i]))
        i++;
    return len - i >= 14 && memcmp(body + i, "\"resourceLogs\"", 14) == 0;
}
