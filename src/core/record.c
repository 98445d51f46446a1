/* record.c - validates one record and writes its normalized line from the original bytes.
 *
 * HOW IT WORKS: one validating pass over the object (json.c) collects every member as
 * borrowed spans. Keys are compared unescaped: plain keys in place, keys with escapes
 * decoded into a per-thread scratch area. Duplicates are found pairwise for small
 * objects and by sorting for large ones (O(k log k), immune to crafted hash
 * collisions). The output is then written straight into `out`: the four contract
 * fields first, then every other member's original key and value bytes (compacted only
 * when the value holds whitespace). No DOM is built and nothing is re-serialized.
 */
#include "record.h"

#include "json.h"
#include "units.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum field { F_MESSAGE, F_TIMESTAMP, F_LEVEL, F_SERVICE, F_COUNT };

/* Field aliases in priority order (docs/ingest.md). Returns field * 8 + priority (lower
 * priority wins), or -1. A switch on the length with constant-size compares, because
 * this runs for every key of every record. */
static int alias_code(const char *k, size_t n)
{
#define CL_IS(lit) (memcmp(k, lit, sizeof(lit) - 1) == 0)
    switch (n) {
    case 2:
        return CL_IS("ts") ? F_TIMESTAMP * 8 + 2 : -1;
    case 3:
        if (CL_IS("msg"))
            return F_MESSAGE * 8 + 1;
        if (CL_IS("log"))
            return F_MESSAGE * 8 + 2;
        if (CL_IS("lvl"))
            return F_LEVEL * 8 + 2;
        return CL_IS("app") ? F_SERVICE * 8 + 1 : -1;
    case 4:
        if (CL_IS("time"))
            return F_TIMESTAMP * 8 + 1;
        return CL_IS("date") ? F_TIMESTAMP * 8 + 4 : -1;
    case 5:
        return CL_IS("level") ? F_LEVEL * 8 + 0 : -1;
    case 7:
        if (CL_IS("message"))
            return F_MESSAGE * 8 + 0;
        return CL_IS("service") ? F_SERVICE * 8 + 0 : -1;
    case 8:
        return CL_IS("severity") ? F_LEVEL * 8 + 1 : -1;
    case 9:
        return CL_IS("timestamp") ? F_TIMESTAMP * 8 + 0 : -1;
    case 10:
        return CL_IS("@timestamp") ? F_TIMESTAMP * 8 + 3 : -1;
    }
    return -1;
#undef CL_IS
}

struct member {
    struct cl_json_value key, val;
    const char *name; /* unescaped key (in place, or in the scratch area) */
    size_t name_len;
    int dropped; /* a later duplicate, left out (keep_first_duplicate) */
};

/* Per-thread working memory, grown to the largest record seen and reused. */
struct scratch {
    struct member *members;
    size_t members_cap;
    const struct member **sorted;
    size_t sorted_cap;
    char *text; /* unescaped keys and values; holds a whole record's worth */
    size_t text_cap;
    size_t text_used;
};

static __thread struct scratch tls;
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

/* Thread-exit destructor: frees the exiting thread's scratch area. */
static void scratch_free(void *p)
{
    struct scratch *s = p;
    free(s->members);
    free(s->sorted);
    free(s->text);
    memset(s, 0, sizeof *s);
}

static void tls_key_create(void)
{
    if (pthread_key_create(&tls_key, scratch_free) != 0)
        abort();
}

/* A record being normalized. */
struct rec {
    size_t len; /* of the input, all parts */
    struct member *m;
    size_t n;
    int best[F_COUNT]; /* member index chosen for each field, -1 if absent */
    unsigned char prio[F_COUNT];
    char *err;
    size_t err_len;
};

#define CL_DUP_PAIRWISE_MAX 16
#define CL_SNIPPET_MAX 64
/* Fixed part of a line besides the record's own bytes: the four contract keys, the
 * timestamp, the longest level name, a 64-byte service, "}\n" and slack. */
#define CL_LINE_OVERHEAD 192

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    *cap = c;
    return cl_realloc(p, c * elem);
}

/* Makes room for n members and len bytes of unescaped text for the coming record. */
static void scratch_prepare(size_t len)
{
    if (!tls.text) { /* first use in this thread: free the scratch when it exits */
        pthread_once(&tls_once, tls_key_create);
        pthread_setspecific(tls_key, &tls);
    }
    tls.text = grow(tls.text, &tls.text_cap, len + 1, 1);
    tls.text_used = 0;
}

static struct member *scratch_member(size_t i)
{
    tls.members = grow(tls.members, &tls.members_cap, i + 1, sizeof *tls.members);
    return &tls.members[i];
}

/* Returns the unescaped content of a string value: in place when it has no escapes,
 * else decoded into the scratch area (which is sized to hold a whole record). */
static const char *string_text(const struct cl_json_value *v, size_t *n)
{
    if (!(v->flags & CL_JSON_F_ESCAPED)) {
        *n = v->len - 2;
        return v->ptr + 1;
    }
    char *dst = tls.text + tls.text_used;
    *n = cl_json_unescape(v, dst);
    tls.text_used += *n;
    return dst;
}

/* Copies up to CL_SNIPPET_MAX bytes of s into out for an error message, cutting at a
 * UTF-8 character boundary and marking the cut with "...". */
static const char *snippet(const char *s, size_t n, char out[CL_SNIPPET_MAX + 4])
{
    size_t k = n;
    if (n > CL_SNIPPET_MAX) {
        k = CL_SNIPPET_MAX;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
    }
    memcpy(out, s, k);
    if (k < n)
        memcpy(out + k, "...", 3), k += 3;
    out[k] = '\0';
    return out;
}

static int fail(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct rec *r, const char *fmt, ...)
{
    if (r->err && r->err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->err_len, fmt, ap);
        va_end(ap);
    }
    return CL_ERR_INVAL;
}

static void classify(struct rec *r, size_t idx)
{
    const struct member *m = &r->m[idx];
    int code = alias_code(m->name, m->name_len);
    if (code < 0)
        return;
    int f = code / 8;
    unsigned char prio = (unsigned char)(code % 8);
    if (r->best[f] < 0 || prio < r->prio[f]) {
        r->best[f] = (int)idx;
        r->prio[f] = prio;
    }
}

/* Explains why a record that does not start with '{' was rejected (cold path). */
static int fail_not_object(struct rec *r, struct cl_slice part, int max_depth)
{
    static const char *const kinds[] = {"",         "null",     "false",    "true",
                                        "a number", "a string", "an array", "an object"};
    struct cl_json_reader rd;
    struct cl_json_value v;
    cl_json_reader_init(&rd, part.ptr, part.len, max_depth);
    if (cl_json_scan_value(&rd, &v) != 0)
        return fail(r, "invalid JSON: %s at byte %zu", rd.err.msg, rd.err.offset);
    return fail(r, "record is not a JSON object (got %s)", kinds[v.type]);
}

/* One validating pass over one part, collecting its members after those already seen. */
static int scan_part(struct rec *r, struct cl_slice part, int max_depth)
{
    struct cl_json_reader rd;
    cl_json_reader_init(&rd, part.ptr, part.len, max_depth);
    if (cl_json_object_open(&rd) != 0)
        return fail_not_object(r, part, max_depth);
    for (;;) {
        struct member *m = scratch_member(r->n);
        int rc = cl_json_object_next(&rd, &m->key, &m->val);
        if (rc == 0)
            break;
        if (rc < 0)
            return fail(r, "invalid JSON: %s at byte %zu", rd.err.msg, rd.err.offset);
        r->m = tls.members;
        m->name = string_text(&m->key, &m->name_len);
        m->dropped = 0;
        classify(r, r->n++);
    }
    r->m = tls.members;
    if (!cl_json_at_end(&rd))
        return fail(r, "invalid JSON: unexpected data after the object at byte %zu", rd.pos);
    return CL_OK;
}

/* The members the caller found (cl_norm_opts.members), taken without reading again. */
static void take_members(struct rec *r, const struct cl_json_value *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct member *m = scratch_member(r->n);
        r->m = tls.members;
        m->key = kv[2 * i];
        m->val = kv[2 * i + 1];
        m->name = string_text(&m->key, &m->name_len);
        m->dropped = 0;
        classify(r, r->n++);
    }
}

static int scan_members(struct rec *r, const struct cl_slice *parts, size_t n_parts, int max_depth)
{
    for (size_t i = 0; i < n_parts; i++) {
        int rc = scan_part(r, parts[i], max_depth);
        if (rc != CL_OK)
            return rc;
    }
    return CL_OK;
}

static int name_eq(const struct member *a, const struct member *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

static int name_cmp(const void *pa, const void *pb)
{
    const struct member *a = *(const struct member *const *)pa;
    const struct member *b = *(const struct member *const *)pb;
    if (a->name_len != b->name_len)
        return a->name_len < b->name_len ? -1 : 1;
    return memcmp(a->name, b->name, a->name_len);
}

static int fail_duplicate(struct rec *r, const struct member *m)
{
    char s[CL_SNIPPET_MAX + 4];
    return fail(r, "duplicate key \"%s\"", snippet(m->key.ptr + 1, m->key.len - 2, s));
}

/* A duplicate name: rejected, or with keep_first the later member is dropped (the field
 * aliases already chose the first of a name: a later one never has a lower priority). */
static int on_duplicate(struct rec *r, struct member *later, int keep_first)
{
    if (!keep_first)
        return fail_duplicate(r, later);
    later->dropped = 1;
    return CL_OK;
}

static int check_duplicates(struct rec *r, int keep_first)
{
    if (r->n <= CL_DUP_PAIRWISE_MAX) {
        for (size_t i = 1; i < r->n; i++)
            for (size_t j = 0; j < i; j++)
                if (name_eq(&r->m[i], &r->m[j])) {
                    if (on_duplicate(r, &r->m[i], keep_first) != CL_OK)
                        return CL_ERR_INVAL;
                    break;
                }
        return CL_OK;
    }
    tls.sorted = grow(tls.sorted, &tls.sorted_cap, r->n, sizeof *tls.sorted);
    for (size_t i = 0; i < r->n; i++)
        tls.sorted[i] = &r->m[i];
    qsort(tls.sorted, r->n, sizeof *tls.sorted, name_cmp);
    const struct member *first = tls.sorted[0]; /* the earliest of the current name */
    for (size_t i = 1; i < r->n; i++) {
        const struct member *a = tls.sorted[i];
        if (!name_eq(a, first)) {
            first = a;
            continue;
        }
        const struct member *later = CL_MAX(a, first); /* report the later of the two */
        first = CL_MIN(a, first);
        if (on_duplicate(r, &r->m[later - r->m], keep_first) != CL_OK)
            return CL_ERR_INVAL;
    }
    return CL_OK;
}

static const struct cl_json_value *field_value(const struct rec *r, enum field f)
{
    return r->best[f] >= 0 ? &r->m[r->best[f]].val : NULL;
}

/* Rejects a timestamp outside the accepted window, as Loki does: one record must not
 * open a partition years away from now (each partition costs an object). */
static int check_window(struct rec *r, const struct cl_norm_opts *opts, int64_t ms)
{
    char ts[25], lim[32];
    int too_old = opts->max_age_ms > 0 && ms < opts->received_ms - opts->max_age_ms;
    int too_new = opts->max_future_ms > 0 && ms > opts->received_ms + opts->max_future_ms;
    if (!too_old && !too_new)
        return CL_OK;
    cl_format_timestamp(ms, ts);
    cl_format_duration(too_old ? opts->max_age_ms : opts->max_future_ms, lim, sizeof lim);
    if (too_old)
        return fail(r, "timestamp %s is more than %s in the past (max record age)", ts, lim);
    return fail(r, "timestamp %s is more than %s in the future (max record future)", ts, lim);
}

static int resolve_timestamp(struct rec *r, const struct cl_norm_opts *opts, int64_t *ms)
{
    const struct cl_json_value *v = field_value(r, F_TIMESTAMP);
    if (!v) {
        *ms = opts->received_ms;
        return CL_OK;
    }
    int rc = -1;
    if (v->type == CL_JSON_STRING) {
        size_t n;
        const char *s = string_text(v, &n);
        rc = cl_parse_timestamp_text(s, n, ms);
    } else if (v->type == CL_JSON_NUMBER) {
        rc = cl_parse_timestamp_number(v->ptr, v->len, ms);
    }
    if (rc == 0)
        return check_window(r, opts, *ms);
    char s[CL_SNIPPET_MAX + 4];
    return fail(r, "invalid timestamp %s", snippet(v->ptr, v->len, s));
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

static int resolve_level(struct rec *r, enum cl_level *l)
{
    const struct cl_json_value *v = field_value(r, F_LEVEL);
    *l = CL_LEVEL_INFO;
    if (!v)
        return CL_OK;
    int rc = -1;
    const char *shown = v->ptr;
    size_t shown_len = v->len;
    if (v->type == CL_JSON_STRING) {
        size_t n;
        const char *s = string_text(v, &n);
        rc = cl_parse_level_text(s, n, l);
        if (rc != 0 && all_digits(s, n))
            rc = cl_parse_level_number(s, n, l);
        shown++;
        shown_len -= 2;
    } else if (v->type == CL_JSON_NUMBER) {
        rc = cl_parse_level_number(v->ptr, v->len, l);
    }
    if (rc == 0)
        return CL_OK;
    char s[CL_SNIPPET_MAX + 4];
    return fail(r, "unknown level \"%s\"", snippet(shown, shown_len, s));
}

static int resolve_service(struct rec *r, const struct cl_norm_opts *opts, struct cl_slice *svc)
{
    const struct cl_json_value *v = field_value(r, F_SERVICE);
    if (!v) {
        *svc = opts->default_service;
        return CL_OK;
    }
    if (v->type == CL_JSON_STRING) {
        svc->ptr = string_text(v, &svc->len);
        if (cl_service_valid(svc->ptr, svc->len))
            return CL_OK;
    }
    char s[CL_SNIPPET_MAX + 4];
    return fail(r, "invalid service %s (expected a string matching [A-Za-z0-9._-]{1,64})",
                snippet(v->ptr, v->len, s));
}

static char *put(char *p, const void *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static int consumed(const struct rec *r, size_t i)
{
    for (int f = 0; f < F_COUNT; f++)
        if (r->best[f] == (int)i)
            return 1;
    return 0;
}

/* Writes the line at p (room checked by the caller); returns the end. */
static char *write_line(const struct rec *r, char *p, int64_t ts, enum cl_level level,
                        struct cl_slice svc, size_t *svc_off)
{
    char *start = p;
    const char *lname = cl_level_name(level);
    p = put(p, "{\"timestamp\":\"", 14);
    cl_format_timestamp(ts, p);
    p = put(p + 24, "\",\"level\":\"", 11);
    p = put(p, lname, strlen(lname));
    p = put(p, "\",\"service\":\"", 13);
    *svc_off = (size_t)(p - start);
    p = put(p, svc.ptr, svc.len);
    p = put(p, "\",\"message\":", 12);
    const struct cl_json_value *msg = field_value(r, F_MESSAGE);
    p = msg ? put(p, msg->ptr, msg->len) : put(p, "\"\"", 2); /* empty_message_ok */
    for (size_t i = 0; i < r->n; i++) {
        const struct member *m = &r->m[i];
        if (m->dropped || consumed(r, i))
            continue;
        *p++ = ',';
        p = put(p, m->key.ptr, m->key.len);
        *p++ = ':';
        if (m->val.flags & CL_JSON_F_SPACE)
            p += cl_json_compact(&m->val, p);
        else
            p = put(p, m->val.ptr, m->val.len);
    }
    return put(p, "}\n", 2);
}

static int check_message(struct rec *r, int empty_ok)
{
    const struct cl_json_value *v = field_value(r, F_MESSAGE);
    if (!v && empty_ok)
        return CL_OK;
    if (!v)
        return fail(r, "missing message (message, msg or log)");
    if (v->type != CL_JSON_STRING)
        return fail(r, "message must be a string");
    return CL_OK;
}

static int emit(struct rec *r, int64_t ts, enum cl_level level, struct cl_slice svc,
                struct cl_buf *out, struct cl_record_meta *meta)
{
    if (cl_buf_reserve(out, r->len + svc.len + CL_LINE_OVERHEAD) != CL_OK) {
        fail(r, "output buffer full");
        return CL_ERR_TOO_LARGE;
    }
    char *start = out->data + out->len;
    size_t svc_off;
    char *end = write_line(r, start, ts, level, svc, &svc_off);
    out->len += (size_t)(end - start);
    out->data[out->len] = '\0';
    meta->ts_ms = ts;
    meta->level = level;
    meta->service.ptr = start + svc_off;
    meta->service.len = svc.len;
    return CL_OK;
}

/* Most a decoder's copy of a document adds to it: "message":"" and a 64-byte service. */
#define CL_DOC_SLACK 128

/* Bytes of v without whitespace outside its strings (what cl_json_compact writes). */
static size_t compact_len(const struct cl_json_value *v)
{
    if (!(v->flags & CL_JSON_F_SPACE))
        return v->len;
    size_t n = 0;
    int in_string = 0;
    for (size_t i = 0; i < v->len; i++) {
        char c = v->ptr[i];
        if (in_string && c == '\\') {
            n += 2;
            i++;
            continue;
        }
        if (c == '"')
            in_string = !in_string;
        if (in_string || !(c == ' ' || c == '\t' || c == '\n' || c == '\r'))
            n++;
    }
    return n;
}

/* The size of the copy a decoder would have written of a document (record.h,
 * document_service): what the size limit applies to in keep_first_duplicate mode. */
static size_t copy_size(const struct rec *r, const struct cl_norm_opts *opts)
{
    size_t size = 2, n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!r->m[i].dropped) {
            size += r->m[i].key.len + 1 + compact_len(&r->m[i].val);
            n++;
        }
    if (r->best[F_MESSAGE] < 0 && opts->empty_message_ok) {
        size += 12; /* "message":"" */
        n++;
    }
    if (r->best[F_SERVICE] < 0 && opts->document_service) {
        size += 12 + opts->default_service.len; /* "service":"..." */
        n++;
    }
    return size + (n ? n - 1 : 0);
}

/* In keep_first_duplicate mode: drops later duplicates, and applies the size limit to
 * the decoder's copy (only computed when it may be over). */
static int check_document(struct rec *r, const struct cl_norm_opts *opts)
{
    check_duplicates(r, 1);
    if (r->len + CL_DOC_SLACK <= opts->max_record_bytes)
        return CL_OK;
    size_t size = copy_size(r, opts);
    if (size > opts->max_record_bytes)
        return fail(r, "record too large (%zu bytes, limit %zu)", size, opts->max_record_bytes);
    return CL_OK;
}

/* A document's input may exceed max_record_bytes by whitespace and duplicate keys its copy
 * drops, but by at most this factor: the scratch area grows with the input (members and
 * unescaped text), so an unbounded input of duplicates would cost unbounded memory. */
#define CL_DOC_INPUT_FACTOR 4
/* Scratch kept by a thread between records; more (after a very large record) is freed. */
#define CL_SCRATCH_KEEP_TEXT (512 * 1024)
#define CL_SCRATCH_KEEP_MEMBERS 4096

/* Frees the scratch area when the last record grew it past what is kept. */
static void scratch_trim(void)
{
    if (tls.text_cap > CL_SCRATCH_KEEP_TEXT || tls.members_cap > CL_SCRATCH_KEEP_MEMBERS ||
        tls.sorted_cap > CL_SCRATCH_KEEP_MEMBERS)
        scratch_free(&tls);
}

static int fail_too_large(struct rec *r, const struct cl_norm_opts *opts, int doc)
{
    if (doc)
        return fail(r,
                    "record too large (%zu bytes before whitespace and duplicate keys are "
                    "dropped, limit %zu)",
                    r->len, opts->max_record_bytes * CL_DOC_INPUT_FACTOR);
    return fail(r, "record too large (%zu bytes, limit %zu)", r->len, opts->max_record_bytes);
}

/* Every record goes through here: flatten keeps the helpers inlined, as they were when
 * one function read one object (measured: +2.4% instructions per native record without). */
__attribute__((flatten)) static int normalize_parts(const struct cl_slice *parts, size_t n_parts,
                                                    const struct cl_norm_opts *opts,
                                                    struct cl_buf *out, struct cl_record_meta *meta,
                                                    char *err, size_t err_len)
{
    size_t len = 0;
    for (size_t i = 0; i < n_parts; i++)
        len += parts[i].len;
    struct rec r = {.len = len, .err = err, .err_len = err_len};
    for (int f = 0; f < F_COUNT; f++)
        r.best[f] = -1;
    meta->parsed = 0;
    if (err && err_len)
        err[0] = '\0';
    int doc = opts->keep_first_duplicate; /* its size is checked on its copy's, below */
    if (len > opts->max_record_bytes &&
        (!doc || len > opts->max_record_bytes * CL_DOC_INPUT_FACTOR))
        return fail_too_large(&r, opts, doc);
    scratch_prepare(len);
    int rc = CL_OK;
    if (opts->members)
        take_members(&r, opts->members, opts->n_members);
    else
        rc = scan_members(&r, parts, n_parts, opts->max_depth);
    if (rc != CL_OK && doc && len > opts->max_record_bytes)
        return fail(&r, "record too large (%zu bytes, limit %zu)", len, opts->max_record_bytes);
    if (rc != CL_OK || (doc && (rc = check_document(&r, opts)) != CL_OK))
        return rc; /* a too large document is not counted as parsed, as before its copy */
    meta->parsed = 1;
    int64_t ts = 0;
    enum cl_level level = CL_LEVEL_INFO;
    struct cl_slice svc = {NULL, 0};
    if ((!doc && (rc = check_duplicates(&r, 0)) != CL_OK) ||
        (rc = check_message(&r, opts->empty_message_ok)) != CL_OK ||
        (rc = resolve_timestamp(&r, opts, &ts)) != CL_OK ||
        (rc = resolve_level(&r, &level)) != CL_OK ||
        (rc = resolve_service(&r, opts, &svc)) != CL_OK)
        return rc;
    return emit(&r, ts, level, svc, out, meta);
}

int cl_record_normalize_parts(const struct cl_slice *parts, size_t n_parts,
                              const struct cl_norm_opts *opts, struct cl_buf *out,
                              struct cl_record_meta *meta, char *err, size_t err_len)
{
    int rc = normalize_parts(parts, n_parts, opts, out, meta, err, err_len);
    scratch_trim();
    return rc;
}

int cl_record_normalize(const char *raw, size_t len, const struct cl_norm_opts *opts,
                        struct cl_buf *out, struct cl_record_meta *meta, char *err, size_t err_len)
{
    struct cl_slice whole = {raw, len};
    return cl_record_normalize_parts(&whole, 1, opts, out, meta, err, err_len);
}

int cl_service_valid(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}
