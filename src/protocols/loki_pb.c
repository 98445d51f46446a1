/* loki_pb.c - Loki's protobuf push (snappy-compressed PushRequest, Promtail's, Alloy's and
 * winston-loki's default) -> input records, mapped as the JSON push (loki.h).
 *
 * The body is a snappy block (no framing): its decompressed length is checked against
 * max_decoded before anything is allocated. protobuf-c unpacks the PushRequest (types
 * from our own loki_push.proto; no nesting to bound). Each stream's labels string
 * ({job="api", level="info"}) is parsed into a JSON object once, and every entry is
 * written by cl_loki_write_entry like a JSON push entry. Every build links Debian's
 * libsnappy (CL_HAVE_SNAPPY), the static Lambda build included; without it the decoder
 * would refuse every body (415). */
#include "proto.h"

#include "common.h"
#include "json_write.h"
#include "loki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CL_HAVE_SNAPPY
#include "loki_push.pb-c.h"
#include "pb_arena.h"

#include <snappy-c.h>

static int label_name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
        p++;
    return p;
}

/* Appends the value of a quoted label at *pp (after '"') as a JSON string; 0, or -1. */
static int label_value(const char **pp, const char *end, struct cl_buf *out, struct cl_buf *tmp)
{
    const char *p = *pp;
    cl_buf_reset(tmp);
    while (p < end && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            if (p == end)
                return -1;
            c = *p++;
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c; /* \" \\ and \n, as Prometheus */
        }
        cl_buf_append_char(tmp, c);
    }
    if (p == end)
        return -1;
    cl_json_write_string(out, tmp->data ? tmp->data : "", tmp->len);
    *pp = p + 1;
    return 0;
}

/* Renders {a="b", c="d"} as the JSON object {"a":"b","c":"d"} into out; 0, or -1. */
static int labels_json(const char *s, size_t n, struct cl_buf *out)
{
    const char *p = s, *end = s + n;
    struct cl_buf tmp;
    int rc = -1, first = 1;
    cl_buf_init(&tmp, SIZE_MAX / 2);
    cl_buf_reset(out);
    cl_buf_append_char(out, '{');
    p = skip_ws(p, end);
    if (p == end || *p++ != '{')
        goto done;
    for (;;) {
        p = skip_ws(p, end);
        if (p < end && *p == '}') {
            rc = skip_ws(p + 1, end) == end ? 0 : -1;
            break;
        }
        const char *name = p;
        while (p < end && label_name_char(*p, p == name))
            p++;
        if (p == name)
            break;
        if (!first)
            cl_buf_append_char(out, ',');
        first = 0;
        cl_json_write_string(out, name, (size_t)(p - name));
        cl_buf_append_char(out, ':');
        p = skip_ws(p, end);
        if (p == end || *p++ != '=')
            break;
        p = skip_ws(p, end);
        if (p == end || *p++ != '"' || label_value(&p, end, out, &tmp) != 0)
            break;
        p = skip_ws(p, end);
        if (p < end && *p == ',')
            p++;
    }
done:
    cl_buf_append_char(out, '}');
    cl_buf_free(&tmp);
    return rc;
}

/* A JSON text in b as a validated value (b outlives v). */
static int as_value(const struct cl_buf *b, struct cl_json_value *v, int depth)
{
    struct cl_json_reader r;
    cl_json_reader_init(&r, b->data, b->len, depth);
    return cl_json_scan_value(&r, v) == 0 && cl_json_at_end(&r) ? 0 : -1;
}

/* The entry's structured metadata as a JSON object value in tmp; NULL when it has none.
 * *bad is set when it does not validate. */
static const struct cl_json_value *metadata(struct cl_loki *l,
                                            const Cloudlog__Loki__EntryAdapter *e,
                                            struct cl_buf *tmp, struct cl_json_value *meta,
                                            int *bad)
{
    *bad = 0;
    if (e->n_structured_metadata == 0)
        return NULL; /* as an empty object: nothing to merge */
    cl_buf_reset(tmp);
    cl_buf_append_char(tmp, '{');
    for (size_t k = 0; k < e->n_structured_metadata; k++) {
        const Cloudlog__Loki__LabelPairAdapter *m = e->structured_metadata[k];
        cl_buf_append_str(tmp, k ? "," : "");
        cl_json_write_string(tmp, m->name, strlen(m->name));
        cl_buf_append_char(tmp, ':');
        cl_json_write_string(tmp, m->value, strlen(m->value));
    }
    cl_buf_append_char(tmp, '}');
    *bad = as_value(tmp, meta, l->depth) != 0;
    return meta;
}

/* The line through its JSON string form, as the JSON push gives it (a line that starts
 * with '{' but is no JSON object as sent, e.g. with bytes that are not UTF-8). */
static void write_entry_json(struct cl_loki *l, const struct cl_json_value *labels, uint64_t ns,
                             const char *line, const struct cl_json_value *meta, struct cl_buf *tmp)
{
    struct cl_json_value tok;
    cl_buf_reset(tmp);
    cl_json_write_string(tmp, line, strlen(line));
    if (as_value(tmp, &tok, l->depth) != 0) {
        l->sink->reject(l->sink->arg, "entry line or metadata is not valid UTF-8");
        return;
    }
    cl_loki_write_entry(l, labels, ns, &tok, meta);
}

static void write_stream(struct cl_loki *l, const Cloudlog__Loki__StreamAdapter *s,
                         struct cl_buf *lab, struct cl_buf *tmp, struct cl_buf *tmp2)
{
    struct cl_json_value labels, meta_v;
    int labels_ok = labels_json(s->labels, strlen(s->labels), lab) == 0 &&
                    as_value(lab, &labels, l->depth) == 0;
    for (size_t i = 0; i < s->n_entries; i++) {
        const Cloudlog__Loki__EntryAdapter *e = s->entries[i];
        int bad;
        if (!labels_ok) {
            l->sink->reject(l->sink->arg, "stream labels are not {name=\"value\", ...}");
            continue;
        }
        const struct cl_json_value *meta = metadata(l, e, tmp, &meta_v, &bad);
        if (bad) {
            l->sink->reject(l->sink->arg, "entry line or metadata is not valid UTF-8");
            continue;
        }
        uint64_t ns = 0;
        if (e->timestamp && e->timestamp->seconds > 0)
            ns = (uint64_t)e->timestamp->seconds * 1000000000u + (uint64_t)e->timestamp->nanos;
        /* the line as text: no JSON string round trip unless it needs one */
        if (cl_loki_write_entry_text(l, &labels, ns, e->line, strlen(e->line), meta) != 0)
            write_entry_json(l, &labels, ns, e->line, meta, tmp2);
    }
}

int cl_loki_pb_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                      const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    size_t n;
    if (snappy_uncompressed_length(body, len, &n) != SNAPPY_OK || n > o->max_decoded) {
        snprintf(err, err_len,
                 "body is not a snappy block within the decompressed-size limit "
                 "(Loki protobuf push)");
        return -1;
    }
    char *raw = malloc(n ? n : 1);
    if (!raw || snappy_uncompress(body, len, raw, &n) != SNAPPY_OK) {
        free(raw);
        snprintf(err, err_len, "body is not valid snappy (Loki protobuf push)");
        return -1;
    }
    struct cl_pb_arena arena;
    cl_pb_arena_init(&arena);
    Cloudlog__Loki__PushRequest *req =
        cloudlog__loki__push_request__unpack(&arena.alloc, n, (const uint8_t *)raw);
    free(raw);
    if (!req) {
        cl_pb_arena_free(&arena);
        snprintf(err, err_len, "body is not a protobuf Loki PushRequest");
        return -1;
    }
    struct cl_loki l;
    struct cl_buf lab, tmp, tmp2;
    cl_loki_init(&l, sink, o);
    cl_buf_init(&lab, SIZE_MAX / 2); /* bounded by the decompressed body */
    cl_buf_init(&tmp, SIZE_MAX / 2);
    cl_buf_init(&tmp2, SIZE_MAX / 2);
    for (size_t i = 0; i < req->n_streams; i++)
        write_stream(&l, req->streams[i], &lab, &tmp, &tmp2);
    cl_buf_free(&lab);
    cl_buf_free(&tmp);
    cl_buf_free(&tmp2);
    cl_loki_free(&l);
    cl_pb_arena_free(&arena); /* req and everything in it */
    return 0;
}

int cl_loki_pb_supported(void)
{
    return 1;
}

#else

int cl_loki_pb_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                      const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    snprintf(err, err_len, "Loki's protobuf push is not supported in this build");
    return -1;
}

int cl_loki_pb_supported(void)
{
    return 0;
}

#endif
