/* json_stream.c - JSON values back to back ({...}{...}), as Fluent Bit's http output
 * sends with `format json_stream`, and as Splunk HEC's /services/collector/event takes
 * (hec.c). Whitespace, newlines included, may separate the values. */
#include "proto.h"

#include "json.h"

#include <stdio.h>

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int cl_json_stream_detect(const char *body, size_t len)
{
    struct cl_json_reader r;
    struct cl_json_value v;
    size_t i = 0;
    while (i < len && is_space(body[i]))
        i++;
    if (i == len || body[i] != '{')
        return 0;
    cl_json_reader_init(&r, body + i, len - i, 0);
    if (cl_json_scan_value(&r, &v) != 0)
        return 0;
    /* NDJSON puts a newline between records; json_stream puts nothing (or blanks). */
    size_t p = r.pos;
    while (p < r.len && (r.buf[p] == ' ' || r.buf[p] == '\t'))
        p++;
    return p < r.len && r.buf[p] == '{';
}

int cl_json_values_each(const char *body, size_t len, int max_depth,
                        void (*fn)(void *arg, const struct cl_json_value *v), void *arg, char *err,
                        size_t err_len)
{
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, body, len, max_depth);
    while (!cl_json_at_end(&r)) {
        if (cl_json_scan_value(&r, &v) != 0) {
            snprintf(err, err_len, "invalid JSON: %s at byte %zu",
                     r.err.msg ? r.err.msg : "malformed", r.err.offset);
            return -1;
        }
        fn(arg, &v);
    }
    return 0;
}

static void stream_value(void *arg, const struct cl_json_value *v)
{
    const struct cl_proto_sink *sink = arg;
    if (v->type == CL_JSON_OBJECT)
        sink->record(sink->arg, v->ptr, v->len);
    else
        sink->reject(sink->arg, "record is not a JSON object");
}

int cl_json_stream_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                          const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    return cl_json_values_each(body, len, o->max_depth, stream_value, (void *)sink, err, err_len);
}
