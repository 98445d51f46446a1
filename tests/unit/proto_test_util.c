/* proto_test_util.c - helpers of the protocol decoder tests (see proto_test_util.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto_test_util.h"

#include "proto.h"
#include "record.h"

#include <string.h>

void collect_record(void *arg, const char *json, size_t len)
{
    struct collect *c = arg;
    cl_buf_append(&c->out, json, len);
    cl_buf_append_char(&c->out, '\n');
    c->records++;
}

void collect_reject(void *arg, const char *why)
{
    struct collect *c = arg;
    cl_buf_printf(&c->out, "!%s\n", why);
    c->rejects++;
}

const struct cl_proto_opts OPTS = {64, 256 * 1024, "", 1 << 20, NULL};

int decode_with(cl_proto_decode_fn fn, const struct cl_proto_opts *o, const void *body, size_t len,
                struct collect *c, char *err)
{
    memset(c, 0, sizeof *c);
    cl_buf_init(&c->out, 1 << 26);
    struct cl_proto_sink sink = {collect_record, collect_reject, c, NULL};
    return fn(body, len, o, &sink, err, 200);
}

int decode(cl_proto_decode_fn fn, const void *body, size_t len, struct collect *c, char *err)
{
    return decode_with(fn, &OPTS, body, len, c, err);
}

void done(struct collect *c)
{
    cl_buf_free(&c->out);
}

/* The document path (records as parts, proto.h) and the copy path (proto_record.h)
 * normalize to the same lines, rejections and sizes, whatever the labels, duplicates or
 * defaults: each record of both is normalized here as cl_ingest_parse_decoded does. */
struct normalized {
    struct cl_buf lines;
    struct cl_norm_opts opts;
    int parts_only; /* the document path without the decoder's members: parts read again */
};

static void norm_line(struct normalized *n, const struct cl_slice *parts, size_t k,
                      const struct cl_norm_opts *o)
{
    struct cl_record_meta meta;
    char err[256];
    if (cl_record_normalize_parts(parts, k, o, &n->lines, &meta, err, sizeof err) != CL_OK)
        cl_buf_printf(&n->lines, "!%s\n", err);
}

static void norm_record(void *arg, const char *json, size_t len)
{
    struct normalized *n = arg;
    struct cl_slice whole = {json, len};
    norm_line(n, &whole, 1, &n->opts);
}

static void norm_document(void *arg, const struct cl_proto_doc *d)
{
    struct normalized *n = arg;
    struct cl_norm_opts o = n->opts;
    o.keep_first_duplicate = o.empty_message_ok = 1;
    o.members = n->parts_only ? NULL : d->members;
    o.n_members = n->parts_only ? 0 : d->n_members;
    if (d->service_len) {
        o.default_service = (struct cl_slice){d->service, d->service_len};
        o.document_service = 1;
    }
    norm_line(n, d->parts, d->n_parts, &o);
}

static void norm_reject(void *arg, const char *why)
{
    cl_buf_printf(&((struct normalized *)arg)->lines, "!%s\n", why);
}

/* The document path (with the decoder's members) gives the records of the copy path, or
 * with parts_only of the document path that reads its parts again. */
void check_agree_n(cl_proto_decode_fn fn, const void *body, size_t len, size_t max_record,
                   const char *expect, int parts_only)
{
    struct normalized a = {.opts = {.received_ms = 1796560800000,
                                    .default_service = CL_SLICE_LIT("default"),
                                    .max_record_bytes = max_record,
                                    .max_depth = 64},
                           .parts_only = parts_only},
                      b = a;
    b.parts_only = 0;
    struct cl_proto_sink copy = {norm_record, norm_reject, &a, parts_only ? norm_document : NULL};
    struct cl_proto_sink doc = {norm_record, norm_reject, &b, norm_document};
    struct cl_proto_opts o = {64, max_record, "path-idx", 1 << 20, NULL};
    char err[200];
    cl_buf_init(&a.lines, 1 << 20);
    cl_buf_init(&b.lines, 1 << 20);
    assert_int_equal(fn(body, len, &o, &copy, err, sizeof err), 0);
    assert_int_equal(fn(body, len, &o, &doc, err, sizeof err), 0);
    assert_string_equal(b.lines.data, a.lines.data);
    if (!strstr(a.lines.data, expect))
        fail_msg("%s", a.lines.data);
    cl_buf_free(&a.lines);
    cl_buf_free(&b.lines);
}

void check_agree(cl_proto_decode_fn fn, const char *body, size_t max_record, const char *expect,
                 int parts_only)
{
    check_agree_n(fn, body, strlen(body), max_record, expect, parts_only);
}

void check_paths_agree_n(cl_proto_decode_fn fn, const void *body, size_t len, size_t max_record,
                         const char *expect)
{
    check_agree_n(fn, body, len, max_record, expect, 0);
    check_agree_n(fn, body, len, max_record, expect, 1);
}

void check_paths_agree(cl_proto_decode_fn fn, const char *body, size_t max_record,
                       const char *expect)
{
    check_paths_agree_n(fn, body, strlen(body), max_record, expect);
}

void check_both(cl_proto_decode_fn fn, const char *body, size_t max_record, const char *expect,
                int unused)
{
    (void)unused;
    check_paths_agree(fn, body, max_record, expect);
}
