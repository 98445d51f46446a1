/* loki.c - Loki push API in JSON (POST /loki/api/v1/push) -> input records.
 *
 * {"streams":[{"stream":{label: value, ...},"values":[[ns, line], [ns, line, {metadata}],
 * ...]}]}: every value is one record, written in this order (first of a name wins):
 * timestamp (the entry's nanoseconds), level (the label level or detected_level, when it
 * names a level), service (the first of the labels of --loki-service-labels, by default
 * service_name, service, app, job, characters outside [A-Za-z0-9._-] replaced by '_'), then the
 * line: a JSON object line (pino's, logfmt is not parsed) gives its members, any other line is the
 * message; then the stream's labels and the entry's structured metadata as fields. */
#include "proto.h"

#include "common.h"
#include "json_walk.h"
#include "loki.h"
#include "json_write.h"
#include "otlp_common.h"
#include "proto_record.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int label_name_ok(const char *p, size_t n)
{
    if (n == 0 || n > CL_MAX_LOKI_LABEL_NAME || (p[0] >= '0' && p[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(p[i] == '_' || (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
              (p[i] >= '0' && p[i] <= '9')))
            return 0;
    return 1;
}

int cl_loki_service_labels_check(const char *list, char *why, size_t why_len)
{
    size_t count = 0;
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (!label_name_ok(p, n)) {
            snprintf(why, why_len,
                     "'%.*s' is no label name ([A-Za-z_][A-Za-z0-9_]*, at most %d bytes; "
                     "names are separated by single commas)",
                     (int)(n > 80 ? 80 : n), p, CL_MAX_LOKI_LABEL_NAME);
            return -1;
        }
        if (++count > CL_MAX_LOKI_SERVICE_LABELS) {
            snprintf(why, why_len, "more than %d labels", CL_MAX_LOKI_SERVICE_LABELS);
            return -1;
        }
        p += n + (comma != NULL);
        if (comma && !*p) {
            snprintf(why, why_len, "a trailing comma");
            return -1;
        }
    }
    return 0;
}

/* Splits o's service label list into l->names; a list that fails the check (callers
 * check it at start-up) is cut at its first bad name. */
static void split_service_labels(struct cl_loki *l, const struct cl_proto_opts *o)
{
    const char *list = o->service_labels ? o->service_labels : CL_DEFAULT_LOKI_SERVICE_LABELS;
    char *w = l->names;
    for (const char *p = list; *p && l->n_service_labels < CL_MAX_LOKI_SERVICE_LABELS;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (!label_name_ok(p, n))
            return;
        memcpy(w, p, n);
        w[n] = '\0';
        l->service_labels[l->n_service_labels++] = w;
        w += n + 1;
        p += n + (comma != NULL);
    }
}

static void write_level(struct cl_loki *l, const struct cl_json_value *labels)
{
    static const char *const names[] = {"level", "detected_level"};
    for (size_t i = 0; i < CL_ARRAY_LEN(names); i++) {
        struct cl_json_value v = cl_jw_member(labels, names[i], l->depth);
        if (v.type != CL_JSON_STRING)
            continue;
        char text[128]; /* longer texts name no level either way (level.c) */
        cl_jw_text(&v, text, sizeof text);
        enum cl_level lv;
        int ok = cl_parse_level_text(text, strlen(text), &lv) == 0;
        if (ok) {
            cl_proto_rec_string(&l->rec, "level", cl_level_name(lv), strlen(cl_level_name(lv)));
            return;
        }
    }
}

static void write_service(struct cl_loki *l, const struct cl_json_value *labels)
{
    for (size_t i = 0; i < l->n_service_labels; i++) {
        struct cl_json_value v = cl_jw_member(labels, l->service_labels[i], l->depth);
        if (v.type != CL_JSON_STRING)
            continue;
        char text[128]; /* cl_otlp_write_service keeps 64 bytes */
        cl_jw_text(&v, text, sizeof text);
        cl_otlp_write_service(&l->rec, text, strlen(text));
        return;
    }
}

/* A JSON object line gives its members; any other line is the message. */
static void write_line(struct cl_loki *l, const struct cl_json_value *line)
{
    size_t n;
    char *text = cl_json_string_dup(line, &n);
    struct cl_json_reader r;
    struct cl_json_value obj;
    cl_json_reader_init(&r, text, n, l->depth);
    if (n && text[0] == '{' && cl_json_scan_value(&r, &obj) == 0 && cl_json_at_end(&r) &&
        obj.type == CL_JSON_OBJECT)
        cl_proto_rec_merge(&l->rec, &obj, l->depth);
    else if (cl_proto_rec_key(&l->rec, "message", 7))
        cl_buf_append(l->rec.out, line->ptr, line->len);
    free(text);
}

void cl_loki_write_entry(struct cl_loki *l, const struct cl_json_value *labels, uint64_t ns,
                         const struct cl_json_value *line, const struct cl_json_value *meta)
{
    cl_proto_rec_begin(&l->rec);
    cl_otlp_write_time(&l->rec, ns);
    write_level(l, labels);
    write_service(l, labels);
    write_line(l, line);
    cl_proto_rec_merge(&l->rec, labels, l->depth);
    if (meta && meta->type == CL_JSON_OBJECT)
        cl_proto_rec_merge(&l->rec, meta, l->depth);
    cl_proto_rec_ensure_message(&l->rec);
    cl_proto_rec_end(&l->rec);
    l->sink->record(l->sink->arg, l->out.data, l->out.len);
}

static void entry(struct cl_loki *l, const struct cl_json_value *labels,
                  const struct cl_json_value *e)
{
    struct cl_jw_array it;
    struct cl_json_value ts = {0}, line = {0}, meta = {0}, v;
    int i = 0;
    if (cl_jw_array_begin(&it, e, l->depth) == 0)
        for (; cl_jw_array_next(&it, &v); i++)
            *(i == 0 ? &ts : i == 1 ? &line : &meta) = v;
    size_t tn;
    const char *t = cl_jw_plain_text(&ts, &tn);
    uint64_t ns;
    if (i < 2 || i > 3 || !t || cl_otlp_parse_u64(t, tn, &ns) != 0 || line.type != CL_JSON_STRING) {
        l->sink->reject(l->sink->arg, "entry is not [\"<unix ns>\", \"<line>\"(, {metadata})]");
        return;
    }
    cl_loki_write_entry(l, labels, ns, &line, &meta);
}

void cl_loki_init(struct cl_loki *l, const struct cl_proto_sink *sink,
                  const struct cl_proto_opts *o)
{
    memset(l, 0, sizeof *l);
    l->sink = sink;
    l->depth = o->max_depth + 4;
    split_service_labels(l, o);
    cl_buf_init(&l->out, SIZE_MAX / 2); /* bounded by the decoded body */
    cl_proto_rec_init(&l->rec, &l->out);
}

void cl_loki_free(struct cl_loki *l)
{
    cl_proto_rec_free(&l->rec);
    cl_buf_free(&l->out);
}

int cl_loki_json_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                        const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    struct cl_loki l;
    struct cl_json_value s, e;
    struct cl_jw_array it, vit;
    if (cl_jw_body_array(body, len, o->max_depth + 4, "streams", "Loki push JSON", &it, err,
                         err_len))
        return -1;
    cl_loki_init(&l, sink, o);
    while (cl_jw_array_next(&it, &s)) {
        struct cl_json_value labels = cl_jw_member(&s, "stream", l.depth);
        struct cl_json_value values = cl_jw_member(&s, "values", l.depth);
        if (labels.type != CL_JSON_OBJECT)
            labels = (struct cl_json_value){CL_JSON_OBJECT, 0, "{}", 2};
        if (cl_jw_array_begin(&vit, &values, l.depth) == 0)
            while (cl_jw_array_next(&vit, &e))
                entry(&l, &labels, &e);
    }
    cl_jw_body_end();
    cl_loki_free(&l);
    return 0;
}
