/* es_bulk.c - Elasticsearch/OpenSearch _bulk bodies -> input records.
 *
 * A _bulk body is NDJSON: an action line ({"index":{"_index":"app","_id":"1"}}), then,
 * for index, create and update, the document line. index and create documents become
 * records: the document's members, then "service" from the action's _index (or the
 * path's index) unless the document has a service (service or app), characters outside
 * [A-Za-z0-9._-] replaced by '_'. delete and update actions are rejected records (logs
 * are append-only), so record n is always item n of the answer. A line that is no action
 * object, an unknown action or a missing document fails the whole body, as in
 * Elasticsearch. */
#include "proto.h"

#include "common.h"
#include "json.h"
#include "json_write.h"
#include "proto_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { A_INDEX, A_CREATE, A_UPDATE, A_DELETE };

struct walk_cb {
    void (*action)(void *arg, const struct cl_es_action *a, enum kind k);
    /* The document line line[0..n), not validated yet. */
    void (*source)(void *arg, const struct cl_es_action *a, enum kind k, const char *line,
                   size_t n);
    void *arg;
};

static int kind_of(const struct cl_json_value *key, enum kind *k)
{
    static const char *const names[] = {"index", "create", "update", "delete"};
    for (int i = 0; i < 4; i++)
        if (cl_json_key_is(key, names[i], 0)) {
            *k = (enum kind)i;
            return 0;
        }
    return -1;
}

/* Past the JSON whitespace at line[pos] (a line holds no '\n'). */
static size_t skip_space(const char *line, size_t n, size_t pos)
{
    while (pos < n && (line[pos] == ' ' || line[pos] == '\t' || line[pos] == '\r'))
        pos++;
    return pos;
}

/* The action's object value at r->pos (after the key), validated as object_next would
 * validate it (one level below the line's object) with its _index and _id noted in the
 * same pass; 0, or -1. */
static int action_meta(const struct cl_json_reader *r, struct cl_es_action *a)
{
    struct cl_json_reader m;
    struct cl_json_value mk, mv;
    int rc;
    cl_json_reader_init(&m, r->buf, r->len, r->max_depth - 1);
    m.pos = r->pos;
    if (cl_json_object_open(&m) != 0)
        return -1;
    while ((rc = cl_json_object_next(&m, &mk, &mv)) == 1) {
        if (mv.type != CL_JSON_STRING)
            continue;
        if (cl_json_key_is(&mk, "_index", 0))
            a->index = mv.ptr, a->index_len = mv.len;
        else if (cl_json_key_is(&mk, "_id", 0))
            a->id = mv.ptr, a->id_len = mv.len;
    }
    return rc;
}

/* Parses one action line, {"<action>":{metadata}...}, reading the metadata once (what
 * follows it on the line is not read); 0, or -1 with err set. */
static int parse_action(const char *line, size_t n, size_t lineno, struct cl_es_action *a,
                        enum kind *k, char *err, size_t err_len)
{
    struct cl_json_reader r;
    struct cl_json_value key;
    memset(a, 0, sizeof *a);
    cl_json_reader_init(&r, line, n, 8);
    int ok = cl_json_object_open(&r) == 0 && cl_json_scan_value(&r, &key) == 0 &&
             key.type == CL_JSON_STRING;
    r.pos = skip_space(line, n, r.pos);
    ok = ok && r.pos < n && line[r.pos++] == ':';
    if (!ok || action_meta(&r, a) != 0) {
        snprintf(err, err_len, "Malformed action/metadata line [%zu], expected an object", lineno);
        return -1;
    }
    if (kind_of(&key, k) != 0) {
        snprintf(err, err_len,
                 "Malformed action/metadata line [%zu], expected field [create, delete, index, "
                 "update] but found [%.*s]",
                 lineno, (int)CL_MIN(key.len, (size_t)40), key.ptr);
        return -1;
    }
    a->name = key.ptr + 1;
    a->name_len = key.len - 2;
    return 0;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* Walks the lines: each action, and each document with its action. */
static int walk(const char *body, size_t len, const struct walk_cb *cb, char *err, size_t err_len)
{
    struct cl_es_action a = {0};
    enum kind k = A_INDEX;
    int want_doc = 0;
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - body) : len, n = end - pos;
        const char *line = body + pos;
        pos = end + 1;
        lineno++;
        if (is_blank(line, n))
            continue;
        if (!want_doc) {
            if (parse_action(line, n, lineno, &a, &k, err, err_len) != 0)
                return -1;
            if (cb->action)
                cb->action(cb->arg, &a, k);
            want_doc = k != A_DELETE;
            continue;
        }
        if (cb->source)
            cb->source(cb->arg, &a, k, line, n);
        want_doc = 0;
    }
    if (want_doc) {
        snprintf(err, err_len, "The bulk request must end with the document of its last action");
        return -1;
    }
    return 0;
}

struct decode {
    const struct cl_proto_opts *o;
    const struct cl_proto_sink *sink;
    struct cl_proto_rec rec;
    struct cl_buf out;
};

static void on_action(void *arg, const struct cl_es_action *a, enum kind k)
{
    struct decode *d = arg;
    if (k == A_DELETE)
        d->sink->reject(d->sink->arg, "action [delete] is not supported: logs are append-only");
}

/* The service an action's _index (or the path's index) names, cleaned, into name[65];
 * its length (0: none). */
static size_t index_service(const struct decode *d, const struct cl_es_action *a, char *name)
{
    size_t n;
    if (a->index && a->index_len > 2) {
        n = CL_MIN(a->index_len - 2, (size_t)64);
        memcpy(name, a->index + 1, n); /* escapes, if any, become '_' below */
    } else {
        n = CL_MIN(strlen(d->o->target), (size_t)64);
        memcpy(name, d->o->target, n);
    }
    return cl_proto_service_clean(name, n);
}

static void write_service(struct decode *d, const struct cl_es_action *a)
{
    char name[65];
    if (cl_proto_rec_has(&d->rec, "service", 7) || cl_proto_rec_has(&d->rec, "app", 3))
        return;
    size_t n = index_service(d, a, name);
    if (n)
        cl_proto_rec_string(&d->rec, "service", name, n);
}

static void on_source(void *arg, const struct cl_es_action *a, enum kind k, const char *line,
                      size_t len)
{
    struct decode *d = arg;
    if (k == A_UPDATE) {
        d->sink->reject(d->sink->arg, "action [update] is not supported: logs are append-only");
        return;
    }
    if (d->sink->document) { /* the line as it is: the normalizer validates it (proto.h) */
        char name[65];
        size_t n = index_service(d, a, name);
        struct cl_slice part = {line, len};
        struct cl_proto_doc pd = {&part, 1, name, n, NULL, 0};
        d->sink->document(d->sink->arg, &pd);
        return;
    }
    struct cl_json_reader r;
    struct cl_json_value doc;
    cl_json_reader_init(&r, line, len, d->o->max_depth);
    if (cl_json_scan_value(&r, &doc) != 0 || !cl_json_at_end(&r) || doc.type != CL_JSON_OBJECT) {
        d->sink->reject(d->sink->arg, "document is not a JSON object");
        return;
    }
    cl_proto_rec_begin(&d->rec);
    cl_proto_rec_merge(&d->rec, &doc, d->o->max_depth);
    write_service(d, a);
    cl_proto_rec_ensure_message(&d->rec);
    cl_proto_rec_end(&d->rec);
    d->sink->record(d->sink->arg, d->out.data, d->out.len);
}

int cl_es_bulk_decode(const char *body, size_t len, const struct cl_proto_opts *o,
                      const struct cl_proto_sink *sink, char *err, size_t err_len)
{
    struct decode d = {.o = o, .sink = sink};
    cl_buf_init(&d.out, SIZE_MAX / 2); /* bounded by the decoded body */
    cl_proto_rec_init(&d.rec, &d.out);
    struct walk_cb cb = {on_action, on_source, &d};
    int rc = walk(body, len, &cb, err, err_len);
    cl_proto_rec_free(&d.rec);
    cl_buf_free(&d.out);
    return rc;
}

struct listing {
    void (*fn)(void *arg, const struct cl_es_action *a);
    void *arg;
};

static void list_action(void *arg, const struct cl_es_action *a, enum kind k)
{
    struct listing *l = arg;
    l->fn(l->arg, a);
}

int cl_es_bulk_actions(const char *body, size_t len,
                       void (*fn)(void *arg, const struct cl_es_action *a), void *arg)
{
    char err[200];
    struct listing l = {fn, arg};
    struct walk_cb cb = {list_action, NULL, &l};
    return walk(body, len, &cb, err, sizeof err);
}
