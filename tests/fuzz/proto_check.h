/* proto_check.h - the invariants every protocol decoder keeps, checked by the
 * fuzz_proto_* targets: each record handed to the sink is one JSON object (its strings
 * may hold bytes that are not UTF-8, which the normalizer then rejects, never anything
 * else malformed), a rejection always has a reason, and a body error always has a
 * message. Decoding the same body twice gives the same records. */
#ifndef CL_PROTO_CHECK_H
#define CL_PROTO_CHECK_H

#include "buf.h"
#include "fuzz_check.h"
#include "json.h"
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct proto_seen {
    struct cl_buf all; /* records and rejections, in order */
    unsigned records;
    unsigned items; /* records and rejections */
};

static void proto_on_record(void *arg, const char *json, size_t len)
{
    struct proto_seen *s = arg;
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, json, len, CL_JSON_MAX_DEPTH_LIMIT);
    if (cl_json_scan_value(&r, &v) == 0) {
        CHECK(v.type == CL_JSON_OBJECT);
        CHECK(cl_json_at_end(&r));
    } else {
        CHECK(r.err.msg && strstr(r.err.msg, "UTF-8"));
    }
    cl_buf_append(&s->all, json, len);
    cl_buf_append_char(&s->all, '\n');
    s->records++;
    s->items++;
}

/* A document taken as it is: a clean service name, and parts that are JSON objects or,
 * for _bulk, the document line as sent (the normalizer validates every part). */
static void proto_on_document(void *arg, const struct cl_proto_doc *d)
{
    struct proto_seen *s = arg;
    CHECK(d->service_len <= 64);
    for (size_t i = 0; i < d->service_len; i++)
        CHECK(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
                     d->service[i]) != NULL);
    cl_buf_printf(&s->all, "doc %.*s", (int)d->service_len, d->service);
    for (size_t k = 0; k < d->n_parts; k++) {
        struct cl_json_reader r;
        struct cl_json_value v;
        cl_json_reader_init(&r, d->parts[k].ptr, d->parts[k].len, CL_JSON_MAX_DEPTH_LIMIT);
        if (d->n_parts > 1 && cl_json_scan_value(&r, &v) == 0) { /* not _bulk's one part */
            CHECK(v.type == CL_JSON_OBJECT && cl_json_at_end(&r));
        } else if (d->n_parts > 1) { /* as proto_on_record: bytes that are not UTF-8 */
            CHECK(r.err.msg && strstr(r.err.msg, "UTF-8"));
        }
        cl_buf_append_char(&s->all, ' ');
        cl_buf_append(&s->all, d->parts[k].ptr, d->parts[k].len);
    }
    cl_buf_append_char(&s->all, '\n');
    s->records++;
    s->items++;
}

static void proto_on_reject(void *arg, const char *why)
{
    struct proto_seen *s = arg;
    CHECK(why && *why);
    cl_buf_printf(&s->all, "!%s\n", why);
    s->items++;
}

static void proto_check(cl_proto_decode_fn decode, const uint8_t *data, size_t size)
{
    struct cl_proto_opts o = {16, 4096, "", 1 << 20, NULL};
    struct proto_seen a, b, c;
    char err[200] = "";
    cl_buf_init(&a.all, SIZE_MAX / 2);
    cl_buf_init(&b.all, SIZE_MAX / 2);
    cl_buf_init(&c.all, SIZE_MAX / 2);
    a.records = b.records = c.records = 0;
    a.items = b.items = c.items = 0;
    struct cl_proto_sink sa = {proto_on_record, proto_on_reject, &a, proto_on_document};
    struct cl_proto_sink sb = {proto_on_record, proto_on_reject, &b, proto_on_document};
    /* Without the document callback every record is built (proto_record.h). */
    struct cl_proto_sink sc = {proto_on_record, proto_on_reject, &c, NULL};
    int rc = decode((const char *)data, size, &o, &sa, err, sizeof err);
    CHECK(rc == 0 || rc == -1);
    CHECK(rc == 0 || err[0] != '\0');
    CHECK(decode((const char *)data, size, &o, &sb, err, sizeof err) == rc);
    CHECK(a.all.len == b.all.len &&
          (a.all.len == 0 || memcmp(a.all.data, b.all.data, a.all.len) == 0));
    CHECK(decode((const char *)data, size, &o, &sc, err, sizeof err) == rc);
    CHECK(c.items == a.items); /* a _bulk line may be a record here, a rejection there */
    cl_buf_free(&a.all);
    cl_buf_free(&b.all);
    cl_buf_free(&c.all);
}

#endif
