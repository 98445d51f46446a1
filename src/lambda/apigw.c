/* apigw.c - HTTP API payload format 2.0: event -> request, status + body -> response. */
#include "apigw.h"

#include "ingest.h"

#include "common.h"
#include "json.h"
#include "json_write.h"
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Events are shallow; bodies are strings, so depth stays small whatever the payload. */
#define EVENT_MAX_DEPTH 32

static void set_string(char **field, const struct cl_json_value *v)
{
    if (v->type != CL_JSON_STRING)
        return;
    free(*field);
    *field = cl_json_string_dup(v, NULL);
}

static void parse_headers(const struct cl_json_value *obj, struct cl_apigw_request *req)
{
    struct cl_json_reader r;
    struct cl_json_value k, v;
    cl_json_object_enter(&r, obj, EVENT_MAX_DEPTH);
    while (cl_json_object_next(&r, &k, &v) == 1) {
        if (cl_json_key_is(&k, "content-type", 1))
            set_string(&req->content_type, &v);
        else if (cl_json_key_is(&k, "content-encoding", 1))
            set_string(&req->content_encoding, &v);
        else if (cl_json_key_is(&k, "x-cloudlog-service", 1))
            set_string(&req->service_header, &v);
        else if (cl_json_key_is(&k, "authorization", 1))
            set_string(&req->authorization, &v);
        else if (cl_json_key_is(&k, "accept-encoding", 1))
            set_string(&req->accept_encoding, &v);
        else if (cl_json_key_is(&k, "idempotency-key", 1))
            set_string(&req->idempotency_key, &v);
    }
}

/* requestContext.http.{method,path} and requestContext.timeEpoch */
static void parse_context(const struct cl_json_value *obj, struct cl_apigw_request *req)
{
    struct cl_json_reader r, hr;
    struct cl_json_value k, v;
    cl_json_object_enter(&r, obj, EVENT_MAX_DEPTH);
    while (cl_json_object_next(&r, &k, &v) == 1) {
        if (cl_json_key_is(&k, "timeEpoch", 0))
            req->time_epoch_ms = CL_MAX(cl_json_uint(&v), (int64_t)0);
        if (!cl_json_key_is(&k, "http", 0) || v.type != CL_JSON_OBJECT)
            continue;
        cl_json_object_enter(&hr, &v, EVENT_MAX_DEPTH);
        while (cl_json_object_next(&hr, &k, &v) == 1) {
            if (cl_json_key_is(&k, "method", 0))
                set_string(&req->method, &v);
            else if (cl_json_key_is(&k, "path", 0))
                set_string(&req->path, &v);
        }
    }
}

struct top_fields {
    struct cl_json_value body;
    int base64;
    int version_ok;
    char *raw_path;
};

static int scan_top(const char *event, size_t len, struct cl_apigw_request *req,
                    struct top_fields *t, char *err, size_t err_len)
{
    struct cl_json_reader r;
    struct cl_json_value k, v;
    int rc;
    cl_json_reader_init(&r, event, len, EVENT_MAX_DEPTH);
    if (cl_json_object_open(&r) != 0) {
        snprintf(err, err_len, "event is not a JSON object");
        return CL_ERR_INVAL;
    }
    while ((rc = cl_json_object_next(&r, &k, &v)) == 1) {
        if (cl_json_key_is(&k, "version", 0))
            t->version_ok =
                v.type == CL_JSON_STRING && v.len == 5 && memcmp(v.ptr, "\"2.0\"", 5) == 0;
        else if (cl_json_key_is(&k, "rawPath", 0))
            set_string(&t->raw_path, &v);
        else if (cl_json_key_is(&k, "rawQueryString", 0))
            set_string(&req->raw_query, &v);
        else if (cl_json_key_is(&k, "headers", 0) && v.type == CL_JSON_OBJECT)
            parse_headers(&v, req);
        else if (cl_json_key_is(&k, "requestContext", 0) && v.type == CL_JSON_OBJECT)
            parse_context(&v, req);
        else if (cl_json_key_is(&k, "body", 0))
            t->body = v;
        else if (cl_json_key_is(&k, "isBase64Encoded", 0))
            t->base64 = v.type == CL_JSON_TRUE;
    }
    if (rc < 0 || !cl_json_at_end(&r)) {
        snprintf(err, err_len, "event is not valid JSON: %s at offset %zu",
                 r.err.msg ? r.err.msg : "trailing data", r.err.offset);
        return CL_ERR_INVAL;
    }
    return CL_OK;
}

static int take_body(const struct top_fields *t, struct cl_apigw_request *req, char *err,
                     size_t err_len)
{
    if (t->body.type != CL_JSON_STRING) {
        req->body = cl_strdup(""); /* absent or null: an empty body */
        req->body_len = 0;
        return CL_OK;
    }
    size_t n;
    char *text = cl_json_string_dup(&t->body, &n);
    if (!t->base64) {
        req->body = text;
        req->body_len = n;
        return CL_OK;
    }
    void *raw;
    int rc = cl_msg_body_from_text(text, n, &raw, &req->body_len);
    free(text);
    req->body = raw;
    if (rc != CL_OK)
        snprintf(err, err_len, "event body is marked isBase64Encoded but is not valid base64");
    return rc;
}

int cl_apigw_parse(const char *event, size_t len, struct cl_apigw_request *req, char *err,
                   size_t err_len)
{
    memset(req, 0, sizeof *req);
    struct top_fields t = {0};
    int rc = scan_top(event, len, req, &t, err, err_len);
    if (rc == CL_OK && !t.version_ok) {
        snprintf(err, err_len,
                 "not an HTTP API payload format 2.0 event (version must be \"2.0\")");
        rc = CL_ERR_INVAL;
    }
    if (rc == CL_OK && !req->method) {
        snprintf(err, err_len, "event has no requestContext.http.method");
        rc = CL_ERR_INVAL;
    }
    if (rc == CL_OK && !req->path) {
        req->path = t.raw_path;
        t.raw_path = NULL;
    }
    if (rc == CL_OK && !req->path)
        req->path = cl_strdup("/");
    if (rc == CL_OK && !req->raw_query)
        req->raw_query = cl_strdup("");
    if (rc == CL_OK)
        rc = take_body(&t, req, err, err_len);
    free(t.raw_path);
    if (rc != CL_OK)
        cl_apigw_request_free(req);
    return rc;
}

void cl_apigw_request_free(struct cl_apigw_request *req)
{
    free(req->method);
    free(req->path);
    free(req->raw_query);
    free(req->content_type);
    free(req->content_encoding);
    free(req->service_header);
    free(req->authorization);
    free(req->accept_encoding);
    free(req->idempotency_key);
    free(req->body);
    memset(req, 0, sizeof *req);
}

static void header(struct cl_buf *out, const char *name, const char *value)
{
    cl_buf_append_char(out, ',');
    cl_json_write_string(out, name, strlen(name));
    cl_buf_append_char(out, ':');
    cl_json_write_string(out, value, strlen(value));
}

void cl_apigw_response(struct cl_buf *out, int status, const char *body, size_t len,
                       const struct cl_apigw_headers *h)
{
    const char *type = h && h->content_type ? h->content_type : "application/json";
    /* JSON and text go as they are; other types (OTLP's protobuf) base64-encoded */
    int binary = (h && h->content_encoding) ||
                 (strncmp(type, "application/json", 16) != 0 && strncmp(type, "text/", 5) != 0);
    cl_buf_printf(out, "{\"statusCode\":%d,\"headers\":{", status);
    cl_buf_append_str(out, "\"content-type\":");
    cl_json_write_string(out, type, strlen(type));
    if (h && h->retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", h->retry_after_s);
        header(out, "retry-after", v);
    }
    if (h && h->allow)
        header(out, "allow", h->allow);
    if (h && h->www_authenticate)
        header(out, "www-authenticate", h->www_authenticate);
    if (h && h->content_encoding)
        header(out, "content-encoding", h->content_encoding);
    if (h && h->es_product)
        header(out, "x-elastic-product", CL_ES_PRODUCT);
    if (h && h->idempotent_replayed)
        header(out, "idempotent-replayed", "true");
    cl_buf_append_str(out, "},\"body\":");
    if (binary) {
        size_t n;
        char *text = cl_msg_body_to_text(body, len, &n); /* standard padded base64 */
        cl_json_write_string(out, text, n);
        free(text);
    } else {
        cl_json_write_string(out, body, len);
    }
    cl_buf_printf(out, ",\"isBase64Encoded\":%s}", binary ? "true" : "false");
}

/* The q of one Accept-Encoding entry's parameters ("; q=0.5"): 1 when absent. */
static double entry_q(const char *p, const char *end)
{
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (!semi)
            return 1.0;
        p = semi + 1;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
            return strtod(p + 2, NULL);
    }
    return 1.0;
}

int cl_apigw_accepts_gzip(const char *ae)
{
    int star = 0; /* -1: "*" refused, 1: "*" admitted, 0: no "*" entry */
    for (const char *p = ae; p && *p;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        size_t n = 0;
        while (p + n < end && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
            n++;
        double q = entry_q(p + n, end);
        if (n == 4 && strncasecmp(p, "gzip", 4) == 0)
            return q > 0;
        if (n == 1 && *p == '*')
            star = q > 0 ? 1 : -1;
        p = *end ? end + 1 : end;
    }
    return star == 1;
}
