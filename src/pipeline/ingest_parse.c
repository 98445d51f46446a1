/* ingest_parse.c - request body -> normalized records -> gzip NDJSON queue messages.
 *
 * The body form is detected from its first byte (after whitespace and a UTF-8 BOM):
 * '[' is an array of records, '{' a single record when exactly one JSON value fills the
 * body and NDJSON otherwise; anything else is tried as NDJSON too (so leading garbage
 * lines do not block good ones) and is a body error if no line is an object. Each record is
 * normalized on its own, so a bad record is rejected alone; accepted records are packed in order
 * into messages of at most max_message_bytes raw bytes, at most max_message_bytes as sent
 * (base64 of the gzip plus attributes) and at most max_message_partitions distinct
 * partitions (core/batch.c).
 */
#include "ingest.h"

#include "batch.h"
#include "json.h"
#include "json_write.h"
#include "cl_limits.h"
#include "message.h"
#include "record.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_ingest_limits_default(struct cl_ingest_limits *l)
{
    l->max_body_bytes = CL_DEFAULT_MAX_BODY;
    l->max_decoded_bytes = CL_DEFAULT_MAX_DECODED;
    l->max_record_bytes = CL_DEFAULT_MAX_RECORD;
    l->max_errors = CL_DEFAULT_MAX_ERRORS;
    l->max_message_bytes = CL_DEFAULT_MAX_MESSAGE;
    l->max_depth = CL_JSON_DEFAULT_MAX_DEPTH;
    l->compression_level = 1;
    l->max_record_age_ms = CL_DEFAULT_MAX_RECORD_AGE_MS;
    l->max_record_future_ms = CL_DEFAULT_MAX_RECORD_FUTURE_MS;
    l->max_message_partitions = CL_DEFAULT_MAX_MESSAGE_PARTITIONS;
    l->es_prefix = CL_DEFAULT_ES_PREFIX;
    l->loki_service_labels = CL_DEFAULT_LOKI_SERVICE_LABELS;
}

void cl_ingest_batch_init(struct cl_ingest_batch *b)
{
    b->msgs = NULL;
    b->n_msgs = 0;
    b->cap = 0;
}

void cl_ingest_batch_free(struct cl_ingest_batch *b)
{
    for (size_t i = 0; i < b->n_msgs; i++)
        free((void *)b->msgs[i].body); /* the batch owns the bodies (ingest.h) */
    free(b->msgs);
    cl_ingest_batch_init(b);
}

void cl_ingest_parse_result_init(struct cl_ingest_parse_result *r)
{
    memset(r, 0, sizeof *r);
    cl_buf_init(&r->errors, CL_MAX_INGEST_ERRORS_LIST + 1); /* + the closing ']' */
    cl_buf_init(&r->outcomes, SIZE_MAX / 2);             /* one byte per record of a bounded body */
    cl_buf_init(&r->reasons, CL_MAX_INGEST_ERRORS_LIST); /* max_errors reasons of <= 255 bytes */
}

void cl_ingest_parse_result_free(struct cl_ingest_parse_result *r)
{
    cl_buf_free(&r->errors);
    cl_buf_free(&r->outcomes);
    cl_buf_free(&r->reasons);
}

struct parse_ctx {
    const char *body;
    size_t len;
    const struct cl_ingest_limits *lim;
    struct cl_norm_opts opts;
    struct cl_batch *batch; /* per-thread, reused across requests */
    struct cl_ingest_batch *out;
    size_t out_start; /* out->n_msgs before this body, for rollback */
    struct cl_ingest_parse_result *res;
    uint32_t index;      /* index of the next record */
    uint32_t parsed;     /* records that were well-formed JSON objects */
    size_t line;         /* line number at byte line_pos */
    size_t line_pos;     /* newlines before this offset are counted in `line` */
    char first_err[160]; /* first rejection, for a body-level error */
    struct cl_buf entry; /* scratch: one errors-list entry */
    int bad_start;       /* the body starts with neither '{' nor '[' */
};

static void push_message(struct parse_ctx *c, const struct cl_batch_sealed *s)
{
    struct cl_ingest_batch *b = c->out;
    if (b->n_msgs == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4;
        b->msgs = cl_realloc(b->msgs, b->cap * sizeof *b->msgs);
    }
    cl_msg_from_sealed(s, &b->msgs[b->n_msgs++]);
}

/* Drops a UTF-8 sequence cut short at the end of s (left by truncation). */
static void trim_partial_utf8(char *s)
{
    size_t n = strlen(s), k = n;
    while (k > 0 && ((unsigned char)s[k - 1] & 0xC0) == 0x80)
        k--;
    if (k > 0 && (unsigned char)s[k - 1] >= 0xC0 &&
        cl_utf8_seq_len((const unsigned char *)s + k - 1, n - k + 1) == 0)
        s[k - 1] = '\0';
}

/* Copies src into dst[cap], truncating at a character boundary. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = CL_MIN(strlen(src), cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    trim_partial_utf8(dst);
}

/* Lists one rejection, unless max_errors entries or CL_MAX_INGEST_ERRORS_LIST bytes are
 * listed already: then only the count grows and the answer says the list is cut short. */
static void add_error(struct parse_ctx *c, uint32_t index, size_t line, const char *msg)
{
    struct cl_ingest_parse_result *r = c->res;
    if (r->rejected == 0) {
        copy_text(c->first_err, sizeof c->first_err, msg);
        r->first_rejected = index;
    }
    r->rejected++;
    cl_buf_append_char(&r->outcomes, 1);
    if (r->rejected <= c->lim->max_errors)
        cl_buf_append(&r->reasons, msg, strlen(msg) + 1);
    if (r->errors_truncated)
        return;
    if (r->rejected > c->lim->max_errors) {
        r->errors_truncated = 1;
        return;
    }
    struct cl_buf *e = &c->entry;
    cl_buf_reset(e);
    cl_buf_printf(e, "%s{\"index\":%u,\"line\":%zu,\"error\":", r->listed ? "," : "", index, line);
    cl_json_write_string(e, msg, strlen(msg));
    cl_buf_append_char(e, '}');
    /* Keep room for the closing ']' so the list always ends as valid JSON. */
    if (cl_buf_failed(e) || r->errors.len + e->len + 1 > r->errors.max) {
        r->errors_truncated = 1;
        return;
    }
    cl_buf_append(&r->errors, e->data, e->len);
    r->listed++;
}

static void process_parts(struct parse_ctx *c, const struct cl_slice *parts, size_t n_parts,
                          size_t line, const struct cl_norm_opts *opts)
{
    struct cl_buf *lines = cl_batch_lines(c->batch);
    size_t mark = lines->len;
    struct cl_record_meta meta;
    char err[256];
    uint32_t index = c->index++;
    int rc = cl_record_normalize_parts(parts, n_parts, opts, lines, &meta, err, sizeof err);
    c->parsed += meta.parsed ? 1 : 0;
    if (rc != CL_OK) {
        add_error(c, index, line, err);
        return;
    }
    c->res->accepted++;
    c->res->accepted_bytes += lines->len - mark;
    cl_buf_append_char(&c->res->outcomes, 0);
    struct cl_batch_sealed s;
    while (cl_batch_add_record(c->batch, mark, meta.ts_ms, (int)meta.level, meta.service, &s))
        push_message(c, &s); /* more than once when a seal had to be halved */
}

static void process_record(struct parse_ctx *c, const char *rec, size_t n, size_t line)
{
    struct cl_slice whole = {rec, n};
    process_parts(c, &whole, 1, line, &c->opts);
}

/* 1-based line of body offset `pos`; offsets must be asked in increasing order. */
static size_t line_at(struct parse_ctx *c, size_t pos)
{
    const char *p = c->body + c->line_pos;
    const char *end = c->body + pos;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        c->line++;
        p++;
    }
    c->line_pos = pos;
    return c->line;
}

static int is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int array_element(void *arg, const char *elem, size_t n)
{
    struct parse_ctx *c = arg;
    process_record(c, elem, n, line_at(c, (size_t)(elem - c->body)));
    return 0;
}

static void body_error(struct parse_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void body_error(struct parse_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->res->body_error_msg, sizeof c->res->body_error_msg, fmt, ap);
    va_end(ap);
    trim_partial_utf8(c->res->body_error_msg);
    c->res->body_error = 1;
}

/* Drops everything produced from this body (the body is rejected as a whole). */
static void rollback(struct parse_ctx *c)
{
    struct cl_ingest_batch *b = c->out;
    while (b->n_msgs > c->out_start)
        free((void *)b->msgs[--b->n_msgs].body);
    c->res->accepted = 0;
    c->res->rejected = 0;
    c->res->first_rejected = -1;
    c->res->accepted_bytes = 0;
    c->res->listed = 0;
    c->res->errors_truncated = 0;
    cl_buf_reset(&c->res->errors);
    cl_buf_append_char(&c->res->errors, '[');
    cl_buf_reset(&c->res->outcomes);
    cl_buf_reset(&c->res->reasons);
    c->parsed = 0;
    c->index = 0;
    cl_batch_reset(c->batch, c->lim->max_message_bytes, c->lim->max_message_bytes,
                   c->lim->compression_level);
}

static void parse_array(struct parse_ctx *c, size_t start)
{
    struct cl_json_error err = {0, NULL};
    int rc = cl_json_split_array(c->body + start, c->len - start, array_element, c, &err);
    if (rc != 0) {
        rollback(c);
        body_error(c, "invalid JSON array: %s at byte %zu", err.msg ? err.msg : "malformed",
                   start + err.offset);
    }
}

static void parse_ndjson(struct parse_ctx *c, size_t start)
{
    size_t pos = start, line = 1;
    while (pos < c->len) {
        const char *nl = memchr(c->body + pos, '\n', c->len - pos);
        size_t end = nl ? (size_t)(nl - c->body) : c->len;
        size_t a = pos, z = end;
        while (a < z && is_ws(c->body[a]))
            a++;
        while (z > a && is_ws(c->body[z - 1]))
            z--; /* also strips the '\r' of CRLF */
        if (z > a)
            process_record(c, c->body + a, z - a, line);
        pos = end + 1;
        line++;
    }
}

/* '{': one value filling the body is a single record; anything else is NDJSON. */
static void parse_object_or_ndjson(struct parse_ctx *c, size_t start, size_t first)
{
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, c->body + first, c->len - first, c->lim->max_depth);
    if (cl_json_scan_value(&r, &v) == 0 && cl_json_at_end(&r))
        process_record(c, v.ptr, v.len, line_at(c, (size_t)(v.ptr - c->body)));
    else
        parse_ndjson(c, start);
}

static size_t skip_bom(const char *body, size_t len)
{
    return len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

static void parse_body(struct parse_ctx *c)
{
    size_t start = skip_bom(c->body, c->len);
    size_t first = start;
    while (first < c->len && is_ws(c->body[first]))
        first++;
    if (first == c->len) {
        body_error(c, "empty body");
        return;
    }
    if (c->body[first] == '[')
        parse_array(c, start);
    else if (c->body[first] == '{')
        parse_object_or_ndjson(c, start, first);
    else { /* maybe NDJSON whose first lines are bad: they must not block the rest */
        c->bad_start = 1;
        parse_ndjson(c, start);
    }
}

static void finish(struct parse_ctx *c)
{
    struct cl_batch_sealed s;
    while (cl_batch_flush(c->batch, &s)) /* more than once when a seal had to be halved */
        push_message(c, &s);
    cl_buf_append_char(&c->res->errors, ']');
    memcpy(c->res->first_error, c->first_err, sizeof c->res->first_error);
    if (c->res->body_error || c->res->accepted > 0 || c->parsed > 0)
        return;
    if (c->bad_start)
        body_error(c, "body is not JSON (expected an object, an array of objects, or NDJSON)");
    else if (c->index == 0)
        body_error(c, "no records in body");
    else
        body_error(c, "no record is a valid JSON object (first error: %s)", c->first_err);
}

/* The line buffer grows to max_message_bytes plus one record; keeping it per thread
 * spares every request the reallocations (and page faults) of growing it again. */
static __thread struct cl_batch tls_batch;
static __thread int batch_ready;
static pthread_key_t batch_key;
static pthread_once_t batch_once = PTHREAD_ONCE_INIT;

/* Thread-exit destructor of the per-thread batch. */
static void batch_free(void *p)
{
    cl_batch_free(p);
}

static void batch_key_create(void)
{
    if (pthread_key_create(&batch_key, batch_free) != 0)
        abort();
}

static struct cl_batch *thread_batch(const struct cl_ingest_limits *lim)
{
    if (!batch_ready) {
        cl_batch_init(&tls_batch, lim->max_message_bytes, lim->max_message_bytes,
                      lim->compression_level);
        pthread_once(&batch_once, batch_key_create);
        pthread_setspecific(batch_key, &tls_batch);
        batch_ready = 1;
    }
    cl_batch_reset(&tls_batch, lim->max_message_bytes, lim->max_message_bytes,
                   lim->compression_level);
    cl_batch_set_max_parts(&tls_batch, lim->max_message_partitions);
    return &tls_batch;
}

/* Resets res and resolves the default service; CL_ERR_INVAL for a bad header. */
static int parse_begin(const char *header_service, struct cl_ingest_parse_result *res,
                       struct cl_slice *svc)
{
    res->accepted = res->rejected = 0;
    res->accepted_bytes = 0;
    res->listed = 0;
    res->errors_truncated = 0;
    res->body_error = 0;
    res->body_error_msg[0] = '\0';
    res->first_rejected = -1;
    res->first_error[0] = '\0';
    res->empty = 0;
    cl_buf_reset(&res->outcomes);
    cl_buf_reset(&res->reasons);
    cl_buf_reset(&res->errors);
    cl_buf_append_char(&res->errors, '[');
    *svc = CL_SLICE_LIT("default");
    if (header_service && *header_service) {
        svc->ptr = header_service;
        svc->len = strlen(header_service);
        if (!cl_service_valid(svc->ptr, svc->len)) {
            cl_buf_append_char(&res->errors, ']');
            return CL_ERR_INVAL;
        }
    }
    return CL_OK;
}

static void parse_ctx_init(struct parse_ctx *c, const char *body, size_t len, struct cl_slice svc,
                           int64_t received_ms, const struct cl_ingest_limits *lim,
                           struct cl_ingest_batch *batch, struct cl_ingest_parse_result *res)
{
    *c = (struct parse_ctx){
        .body = body ? body : "",
        .len = body ? len : 0,
        .lim = lim,
        .opts = {.received_ms = received_ms,
                 .default_service = svc,
                 .max_record_bytes = lim->max_record_bytes,
                 .max_depth = lim->max_depth,
                 .max_age_ms = lim->max_record_age_ms,
                 .max_future_ms = lim->max_record_future_ms},
        .out = batch,
        .out_start = batch->n_msgs,
        .res = res,
        .line = 1,
        .batch = thread_batch(lim),
    };
    cl_buf_init(&c->entry, CL_MAX_INGEST_ERROR_ENTRY);
}

/* Sink callbacks of a protocol decoder: a decoded record's "line" in errors is its
 * 1-based position, as protocols have no lines of their own. */
static void sink_record(void *arg, const char *json, size_t len)
{
    struct parse_ctx *c = arg;
    process_record(c, json, len, c->index + 1);
}

static void sink_document(void *arg, const struct cl_proto_doc *d)
{
    struct parse_ctx *c = arg;
    struct cl_norm_opts o = c->opts;
    o.keep_first_duplicate = 1;
    o.empty_message_ok = 1;
    o.members = d->members;
    o.n_members = d->n_members;
    if (d->service_len) {
        o.default_service = (struct cl_slice){d->service, d->service_len};
        o.document_service = 1;
    }
    process_parts(c, d->parts, d->n_parts, c->index + 1, &o);
}

static void sink_reject(void *arg, const char *why)
{
    struct parse_ctx *c = arg;
    uint32_t index = c->index++;
    add_error(c, index, index + 1, why);
}

/* Runs a protocol decoder over the body; its records go through sink_record (a whole
 * object) or sink_document (members in parts, normalized without a copy). */
static void parse_decoded(struct parse_ctx *c, cl_proto_decode_fn decode, const char *target)
{
    struct cl_proto_sink sink = {sink_record, sink_reject, c, sink_document};
    struct cl_proto_opts o = {c->lim->max_depth, c->lim->max_record_bytes, target ? target : "",
                              c->lim->max_decoded_bytes, c->lim->loki_service_labels};
    char err[sizeof c->res->body_error_msg];
    if (decode(c->body, c->len, &o, &sink, err, sizeof err) != 0) {
        rollback(c);
        body_error(c, "%s", err);
    } else {
        c->res->empty = c->index == 0; /* finish() calls it a body error; OTLP a success */
    }
}

/* Parses a body: cloudlog's own forms when decode is NULL, else a protocol's records. */
static int parse_run(cl_proto_decode_fn decode, const char *target, const char *body, size_t len,
                     const char *header_service, int64_t received_ms,
                     const struct cl_ingest_limits *lim, struct cl_ingest_batch *batch,
                     struct cl_ingest_parse_result *res)
{
    struct cl_slice svc;
    if (parse_begin(header_service, res, &svc) != CL_OK)
        return CL_ERR_INVAL;
    struct parse_ctx c;
    parse_ctx_init(&c, body, len, svc, received_ms, lim, batch, res);
    res->body = c.body;
    res->body_len = c.len;
    res->target = target ? target : "";
    if (decode)
        parse_decoded(&c, decode, target);
    else
        parse_body(&c);
    finish(&c);
    cl_buf_free(&c.entry);
    return CL_OK;
}

int cl_ingest_parse(const char *body, size_t len, const char *header_service, int64_t received_ms,
                    const struct cl_ingest_limits *lim, struct cl_ingest_batch *batch,
                    struct cl_ingest_parse_result *res)
{
    return parse_run(NULL, NULL, body, len, header_service, received_ms, lim, batch, res);
}

int cl_ingest_parse_decoded(cl_proto_decode_fn decode, const char *target, const char *body,
                            size_t len, const char *header_service, int64_t received_ms,
                            const struct cl_ingest_limits *lim, struct cl_ingest_batch *batch,
                            struct cl_ingest_parse_result *res)
{
    return parse_run(decode, target, body, len, header_service, received_ms, lim, batch, res);
}
