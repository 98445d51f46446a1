/* scan.c - reads one object, decompresses it with ISA-L and filters its lines.
 *
 * An object with a member index (object_index.h) is read segment by segment: segments
 * outside the query's time range or levels are skipped by their offset, and each one read
 * is inflated into a buffer of its exact size and filtered at once, while its output is
 * still in the core's cache. A count takes the records scanned from the index instead of
 * counting lines. Any failure of an indexed read (an index that does not check out, a
 * segment that does not inflate to what the index says) falls back to reading the object
 * whole, as an object without an index is: a damaged index never gives a wrong answer. */
#include "query_int.h"

#include "common.h"
#include "object_index.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records between two looks at the budget (deadline, cancellation) inside an object:
 * one regex match can take up to its match limit (milliseconds), so with a regex every
 * record; otherwise a record costs ~100 ns and the look is spread over 4096. */
#define CQ_CHECK_EVERY 4096

struct cq_scanner {
    /* The run's scanners are allocated one after another: a cache line of padding at each
     * end keeps this thread's per-line writes (tick, the matcher) off the lines another
     * thread's scanner uses. */
    char pad_front[64];
    struct cq_budget *budget;
    /* ISA-L rather than libdeflate: objects are concatenated gzip members (one per queue
     * message), and ISA-L's one-shot inflate is 8-10% faster per byte over them here
     * (bench_inflate, docs/performance.md "Full scan"). */
    struct inflate_state *d;
    struct cq_matcher m;
    struct cl_buf in; /* compressed object when read, reused across objects */
    /* The object being scanned: mapped (no copy: read(2)'s copy of the compressed bytes
     * was 6-9% of a full scan's CPU here) or in; obj_len bytes. */
    const unsigned char *obj;
    size_t obj_len;
    int mapped;
    /* What the scan of a mapped object allocated (the segment table, the reading plan):
     * freed by the recovery from a SIGBUS (scan_mapped), which skips the usual frees. */
    void *held[3];
    char *out; /* decompressed object, reused; grows as needed */
    size_t out_cap;
    unsigned tick; /* lines since the last look at the budget */
    char pad_back[64];
};

static void bus_install(void);

struct cq_scanner *cq_scanner_new(const struct cq_filter *f, struct cq_budget *b)
{
    if (f->q->map_objects)
        bus_install();
    struct cq_scanner *s = cl_calloc(1, sizeof *s);
    s->budget = b;
    s->d = cl_malloc(sizeof *s->d);
    cq_matcher_init(&s->m, f);
    cl_buf_init(&s->in, CQ_OBJECT_MAX);
    return s;
}

void cq_scanner_free(struct cq_scanner *s)
{
    if (!s)
        return;
    free(s->d);
    cq_matcher_free(&s->m);
    cl_buf_free(&s->in);
    free(s->out);
    free(s);
}

/* Buffers are kept between objects, but one a large object grew is released when the next
 * object needs under a quarter of it: a thread's scan would otherwise hold the largest
 * object's bytes (compressed and raw) to its end. */
#define CQ_KEEP_BYTES (16u << 20) /* always kept: the common objects' sizes */

/* Releases s's buffers that are over CQ_KEEP_BYTES and over 4x what o needs (its
 * compressed size; its raw size, when known). */
static void trim_buffers(struct cq_scanner *s, const struct cq_object *o)
{
    if (o->size && s->in.cap > CQ_KEEP_BYTES && o->size < s->in.cap / 4) {
        cl_buf_free(&s->in);
        cl_buf_init(&s->in, CQ_OBJECT_MAX);
    }
    if (o->raw_bytes && s->out_cap > CQ_KEEP_BYTES && o->raw_bytes < s->out_cap / 4) {
        free(s->out);
        s->out = NULL;
        s->out_cap = 0;
    }
}

static int grow_out(struct cq_scanner *s, size_t need)
{
    if (need > CQ_RAW_MAX)
        return -1;
    if (need > s->out_cap) {
        size_t cap = CL_MAX(need, s->out_cap + s->out_cap / 2);
        s->out = cl_realloc(s->out, CL_MIN(cap, (size_t)CQ_RAW_MAX));
        s->out_cap = CL_MIN(cap, (size_t)CQ_RAW_MAX);
    }
    return 0;
}

/* First guess of the decompressed size: the catalog's, else the gzip trailer's ISIZE
 * (exact for one member under 4 GiB), at least 4x the input. */
static size_t size_hint(const struct cq_object *o, const unsigned char *in, size_t len)
{
    size_t hint = (size_t)o->raw_bytes;
    if (!hint && len >= 18)
        hint = (size_t)in[len - 4] | (size_t)in[len - 3] << 8 | (size_t)in[len - 2] << 16 |
               (size_t)in[len - 1] << 24;
    return CL_MAX(hint, len * 4) + 64;
}

/* Inflates the one gzip member at the start of in (header, data, CRC and size checked)
 * into out: ISAL_DECOMP_OK with the bytes used and written, ISAL_OUT_OVERFLOW when out
 * is too small, or another ISA-L code for a damaged or truncated member. */
static int inflate_member(struct inflate_state *st, const unsigned char *in, size_t in_len,
                          char *out, size_t cap, size_t *used_in, size_t *used_out)
{
    isal_inflate_init(st);
    st->crc_flag = ISAL_GZIP;
    st->next_in = (uint8_t *)in;
    st->avail_in = (uint32_t)CL_MIN(in_len, (size_t)UINT32_MAX);
    st->next_out = (uint8_t *)out;
    st->avail_out = (uint32_t)CL_MIN(cap, (size_t)UINT32_MAX);
    int r = isal_inflate_stateless(st);
    *used_in = (size_t)(st->next_in - in);
    *used_out = st->total_out;
    return r;
}

static void keep_match(struct cq_result *r, const char *line, size_t len, uint32_t line_no,
                       int64_t ts)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->m = cl_realloc(r->m, r->cap * sizeof *r->m);
    }
    r->m[r->n++] =
        (struct cq_match){.ts = ts, .line_no = line_no, .len = (uint32_t)len, .off = r->lines.len};
    if (cl_buf_append(&r->lines, line, len) != CL_OK)
        abort(); /* the buffer is unbounded (SIZE_MAX): only a broken allocator fails */
}

static uint64_t count_lines(const char *p, const char *end)
{
    uint64_t n = 0;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

/* Looks at the budget every CQ_CHECK_EVERY calls; non-zero (and r->stopped) to stop. */
static int must_stop(struct cq_scanner *s, struct cq_result *r)
{
    unsigned every = s->m.f->re ? 1 : CQ_CHECK_EVERY;
    if (++s->tick % every != 0 || !cq_budget_check(s->budget))
        return 0;
    r->stopped = 1;
    return 1;
}

/* Filters the lines of buf; *line_no numbers them on from earlier buffers of the object.
 * With a text every match holds (f->need: the grep, also with -i, or the regex's
 * literal), a search over the whole buffer skips straight to the next line that can match; the
 * skipped lines are only counted, and not even that when counted is set (a count that takes the
 * records from the index: line numbers are then not kept either). A failed regex match stops the
 * whole run (cq_budget_stop): it is never counted as no match. */
static void scan_lines(struct cq_scanner *s, const char *p, size_t n, int keep, int counted,
                       uint32_t *line_no, struct cq_result *r)
{
    const struct cq_filter *f = s->m.f;
    const char *end = p + n;
    int skip = f->need != NULL;
    while (p < end && !must_stop(s, r)) {
        if (skip) {
            const char *hit = cq_filter_find(f, p, (size_t)(end - p));
            const char *ls = hit ? memrchr(p, '\n', (size_t)(hit - p)) : NULL;
            const char *to = hit ? (ls ? ls + 1 : p) : end;
            if (!counted) {
                uint64_t k = count_lines(p, to);
                r->records_scanned += k + (!hit && to > p && end[-1] != '\n');
                *line_no += (uint32_t)k;
            }
            if (!hit)
                break;
            p = to;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct cl_line_head h;
        r->records_scanned += !counted;
        int hit = len ? cq_match_line(&s->m, p, len, &h) : 0;
        if (hit < 0) {
            cq_budget_stop(s->budget, CL_QUERY_REGEX, s->m.match_error);
            r->stopped = 1;
            return;
        }
        if (hit) {
            r->records_matched++;
            if (keep)
                keep_match(r, p, len, *line_no, h.ts_ms);
        }
        ++*line_no;
        p = nl ? nl + 1 : end;
    }
}

/* 1 when every record of segment x passes q's time range and levels: its span and level
 * counts are exact (the processor took them from each record's parsed head, as
 * cq_match_line parses it), so a record's head need not be parsed to know it. */
static int seg_inside(const struct cl_obj_seg *x, const struct cl_query *q)
{
    if (!x->known || x->min_ts_ms < q->from_ms || x->max_ts_ms >= q->to_ms)
        return 0;
    for (int l = 0; q->level_mask && l < CL_LEVEL_COUNT; l++)
        if (x->levels[l] && !(q->level_mask & (1u << l)))
            return 0;
    return 1;
}

/* A count's filter of a segment whose every record passes the time range and levels
 * (seg_inside): a line matches by its content alone (cq_match_content), its head not
 * parsed. With f->need, a search over the segment skips to the next line holding it;
 * when holding it is the whole filter (need_alone) the line matches without another look
 * and the scan only skips to its end. Counts what scan_lines would. */
static void count_inside(struct cq_scanner *s, const char *p, size_t n, struct cq_result *r)
{
    const struct cq_filter *f = s->m.f;
    const char *end = p + n;
    while (p < end && !must_stop(s, r)) {
        const char *hit = f->need ? cq_filter_find(f, p, (size_t)(end - p)) : p;
        if (!hit)
            break;
        const char *ls = hit > p ? memrchr(p, '\n', (size_t)(hit - p)) : NULL;
        ls = ls ? ls + 1 : p;
        const char *nl = memchr(hit, '\n', (size_t)(end - hit));
        size_t len = (size_t)((nl ? nl : end) - ls);
        int match = f->need_alone ? 1 : len ? cq_match_content(&s->m, ls, len) : 0;
        if (match < 0) {
            cq_budget_stop(s->budget, CL_QUERY_REGEX, s->m.match_error);
            r->stopped = 1;
            return;
        }
        r->records_matched += (uint64_t)match;
        p = nl ? nl + 1 : end;
    }
}

/* Length of the gzip member header at p[0..n) (RFC 1952 2.3, trailer room included),
 * or 0 if there is none. */
static size_t gzip_header_len(const unsigned char *p, size_t n)
{
    if (n < 18 || p[0] != 0x1f || p[1] != 0x8b || p[2] != 8 || (p[3] & 0xe0))
        return 0;
    size_t at = 10;
    if (p[3] & 4) /* FEXTRA */
        at += 2 + ((size_t)p[10] | (size_t)p[11] << 8);
    for (unsigned flag = 8; flag <= 16; flag <<= 1) { /* FNAME, FCOMMENT: NUL-terminated */
        const unsigned char *z = (p[3] & flag) && at < n ? memchr(p + at, 0, n - at) : NULL;
        if ((p[3] & flag) && !z)
            return 0;
        at = z ? (size_t)(z - p) + 1 : at;
    }
    at += (p[3] & 2) ? 2 : 0; /* FHCRC */
    return at + 8 <= n ? at : 0;
}

/* Inflates the gzip member at in[0..n) as raw deflate into out: its content's CRC is not
 * computed, the caller checked the CRC-32 of its compressed bytes instead; its trailer's
 * size is checked. Returns 0 with the member's length and its output in *used_in,
 * *used_out, or -1. */
static int inflate_member_raw(struct inflate_state *st, const unsigned char *in, size_t n,
                              char *out, size_t cap, size_t *used_in, size_t *used_out)
{
    size_t h = gzip_header_len(in, n);
    if (!h)
        return -1;
    isal_inflate_init(st);
    st->crc_flag = ISAL_DEFLATE;
    st->next_in = (uint8_t *)in + h;
    st->avail_in = (uint32_t)CL_MIN(n - h, (size_t)UINT32_MAX);
    st->next_out = (uint8_t *)out;
    st->avail_out = (uint32_t)CL_MIN(cap, (size_t)UINT32_MAX);
    if (isal_inflate_stateless(st) != ISAL_DECOMP_OK)
        return -1;
    size_t end = (size_t)(st->next_in - in);
    const unsigned char *t = in + end + 4; /* ISIZE: the content's length mod 2^32 */
    if (n - end < 8 || ((uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 |
                        (uint32_t)t[3] << 24) != (uint32_t)st->total_out)
        return -1;
    *used_in = end + 8;
    *used_out = st->total_out;
    return 0;
}

/* Inflates the segment g (one or more whole gzip members of s->obj) into s->out, which
 * must hold g->raw_len bytes. Integrity: the CRC-32 of its compressed bytes, from the
 * index, instead of each member's CRC-32 of its content (a quarter of the bytes to
 * checksum at the objects' ratio). Returns 0 when it is exactly what the index says. */
static int inflate_segment(struct cq_scanner *s, const struct cl_obj_seg *g)
{
    const unsigned char *in = s->obj + g->gz_off;
    if (crc32_gzip_refl(0, in, g->gz_len) != g->crc)
        return -1;
    size_t in_off = 0, out_off = 0;
    while (in_off < g->gz_len) {
        size_t used_in = 0, used_out = 0;
        if (inflate_member_raw(s->d, in + in_off, (size_t)g->gz_len - in_off, s->out + out_off,
                               s->out_cap - out_off, &used_in, &used_out) != 0)
            return -1;
        in_off += used_in;
        out_off += used_out;
    }
    return out_off == g->raw_len && (out_off == 0 || s->out[out_off - 1] == '\n') ? 0 : -1;
}

/* Forgets what an indexed read found before it failed midway. */
static void reset_result(struct cq_result *r)
{
    cl_buf_reset(&r->lines);
    r->n = 0;
    r->bytes_scanned = r->records_scanned = r->records_matched = 0;
}

/* The order segments are read in, and where a limited, ordered query may stop. */
struct seg_plan {
    size_t *v;       /* wanted segments' indexes, in reading order (owned) */
    uint32_t *line0; /* line number of each segment's first record in the object */
    size_t n;
    int bounded; /* ordered with a limit: read by bound, stop once the limit is met */
    enum cl_query_order order;
    const struct cl_obj_seg *g;
};

/* A segment's bound for the order: the newest record it may hold (newest first) or the
 * oldest (oldest first); an unknown span bounds nothing. */
static int64_t seg_bound(const struct seg_plan *p, size_t i)
{
    const struct cl_obj_seg *x = &p->g[i];
    if (p->order == CL_ORDER_OLDEST)
        return x->known ? x->min_ts_ms : INT64_MIN;
    return x->known ? x->max_ts_ms : INT64_MAX;
}

/* A wanted segment and its place in the reading order (ascending key). */
struct seg_key {
    int64_t key; /* its bound, negated for newest first; unknown spans first */
    size_t i;
};

static int cmp_key(const void *a, const void *b)
{
    const struct seg_key *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->i < y->i ? -1 : 1;
}

/* Sorts p->v by bound: the newest (oldest) records first. Spans are within +-2^50 ms
 * (object_index.c), so negating one cannot overflow. */
static void sort_by_bound(struct seg_plan *p)
{
    struct seg_key *k = cl_malloc(p->n * sizeof *k);
    for (size_t j = 0; j < p->n; j++) {
        int64_t b = seg_bound(p, p->v[j]);
        k[j].i = p->v[j];
        k[j].key = !p->g[p->v[j]].known ? INT64_MIN : p->order == CL_ORDER_OLDEST ? b : -b;
    }
    qsort(k, p->n, sizeof *k, cmp_key);
    for (size_t j = 0; j < p->n; j++)
        p->v[j] = k[j].i;
    free(k);
}

/* Plans the reading of g[0..n) for q (free p->v and p->line0). A limited, ordered query
 * reads the most promising segments first: the object's best k records are usually in
 * one or two of them. */
static void plan_segments(const struct cl_obj_seg *g, size_t n, const struct cl_query *q, int keep,
                          struct seg_plan *p)
{
    *p = (struct seg_plan){.v = cl_malloc(n * sizeof *p->v),
                           .line0 = cl_malloc(n * sizeof *p->line0),
                           .bounded = keep && q->limit && !q->unordered,
                           .order = q->order,
                           .g = g};
    uint64_t line = 0;
    for (size_t i = 0; i < n; i++) {
        p->line0[i] = (uint32_t)line;
        line += g[i].records;
        if (cl_obj_seg_wanted(&g[i], q->from_ms, q->to_ms, q->level_mask))
            p->v[p->n++] = i;
    }
    if (p->bounded && p->n > 1)
        sort_by_bound(p);
}

/* 1 once r holds limit matches that every record of an unread segment bounded by b must
 * follow (strictly: a tie's order depends on line numbers). */
static int limit_met(const struct seg_plan *p, const struct cq_result *r, size_t limit, int64_t b)
{
    size_t better = 0;
    for (size_t i = 0; i < r->n && better < limit; i++)
        better += p->order == CL_ORDER_OLDEST ? r->m[i].ts < b : r->m[i].ts > b;
    return better >= limit;
}

/* Scans the segments of o that its query needs. Returns 0 when done (or r->stopped), -1
 * when the index does not hold up: then nothing of it is kept in r. */
static int scan_indexed(struct cq_scanner *s, const struct cl_obj_seg *g, size_t n, int keep,
                        struct cq_result *r)
{
    const struct cl_query *q = s->m.f->q;
    int counted = !keep, rc = 0; /* a count: records from the index, no line numbers */
    struct seg_plan p;
    plan_segments(g, n, q, keep, &p);
    s->held[1] = p.v;
    s->held[2] = p.line0;
    for (size_t j = 0; j < p.n && !r->stopped && rc == 0; j++) {
        const struct cl_obj_seg *x = &g[p.v[j]];
        /* exact size, plus room ISA-L may look at past the end */
        if (x->raw_len > CQ_RAW_MAX || grow_out(s, (size_t)x->raw_len + 64) ||
            inflate_segment(s, x) != 0) {
            rc = -1;
            break;
        }
        if (cq_budget_take(s->budget, x->raw_len)) {
            r->stopped = 1;
            break;
        }
        r->bytes_scanned += x->raw_len;
        r->records_scanned += counted ? x->records : 0;
        uint64_t before = r->records_scanned;
        uint32_t line_no = p.line0[p.v[j]];
        if (counted && seg_inside(x, q))
            count_inside(s, s->out, (size_t)x->raw_len, r);
        else
            scan_lines(s, s->out, (size_t)x->raw_len, keep, counted, &line_no, r);
        /* line numbers come from the index's record counts: they must hold */
        if (!counted && !r->stopped && r->records_scanned - before != x->records)
            rc = -1;
        else if (p.bounded && j + 1 < p.n && limit_met(&p, r, q->limit, seg_bound(&p, p.v[j + 1])))
            break;
    }
    free(p.v);
    free(p.line0);
    s->held[1] = s->held[2] = NULL;
    if (rc != 0)
        reset_result(r);
    return rc;
}

/* Fails r with reason: nothing found before the failure is kept. */
static void fail_whole(struct cq_result *r, const char *reason)
{
    reset_result(r);
    r->stopped = 0;
    r->failed = 1;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
}

/* Filters the complete lines of s->out[0..have) (taking them from the budget) and moves
 * the partial line after them to the front; returns its length. At the object's end
 * (last) the partial line is filtered too. The first carry bytes are the partial line
 * moved to the front last time, which holds no '\n': only the new bytes are searched, or
 * a line running across many members would be searched again after each (quadratic). */
static size_t scan_complete(struct cq_scanner *s, size_t carry, size_t have, int last, int keep,
                            uint32_t *line_no, struct cq_result *r)
{
    const char *nl = have > carry ? memrchr(s->out + carry, '\n', have - carry) : NULL;
    size_t done = last ? have : nl ? (size_t)(nl - s->out) + 1 : 0;
    if (done && cq_budget_take(s->budget, done)) {
        r->stopped = 1;
        return 0;
    }
    if (done)
        scan_lines(s, s->out, done, keep, 0, line_no, r);
    memmove(s->out, s->out + done, have - done);
    return have - done;
}

/* Scans the object in s->obj whole (no usable index), member by member: each member is
 * inflated after the partial line the one before ended with (a line may span members in
 * gzip written elsewhere) and its complete lines are filtered at once, while its output
 * is still in the core's cache, instead of inflating the whole object first. A damaged
 * or truncated member fails the object with nothing of it kept, as before. */
static void scan_whole(struct cq_scanner *s, const struct cq_object *o, int keep,
                       struct cq_result *r)
{
    const unsigned char *in = s->obj;
    size_t in_off = 0, carry = 0;
    uint64_t raw = 0;
    uint32_t line_no = 0;
    char why[sizeof r->reason];
    if (s->obj_len == 0)
        return fail_whole(r, "empty object (not gzip)");
    if (grow_out(s, size_hint(o, in, s->obj_len)))
        return fail_whole(r, "too large to scan");
    while (in_off < s->obj_len && !r->stopped) {
        size_t used_in = 0, used_out = 0;
        int rc = inflate_member(s->d, in + in_off, s->obj_len - in_off, s->out + carry,
                                s->out_cap - carry, &used_in, &used_out);
        if (rc == ISAL_OUT_OVERFLOW && grow_out(s, s->out_cap * 2) == 0)
            continue;
        if (rc == ISAL_OUT_OVERFLOW || raw + used_out > CQ_RAW_MAX) {
            snprintf(why, sizeof why, "decompresses beyond %llu bytes",
                     (unsigned long long)CQ_RAW_MAX);
            return fail_whole(r, why);
        }
        if (rc != ISAL_DECOMP_OK || used_in == 0) {
            snprintf(why, sizeof why, "corrupt or truncated gzip at byte %zu", in_off);
            return fail_whole(r, why);
        }
        in_off += used_in;
        raw += used_out;
        carry = scan_complete(s, carry, carry + used_out, in_off == s->obj_len, keep, &line_no, r);
        /* the deadline and cancellation, also while no line has ended yet */
        if (!r->stopped && cq_budget_check(s->budget))
            r->stopped = 1;
    }
    if (!r->stopped)
        r->bytes_scanned = raw;
}

size_t cq_map_min = CQ_MAP_MIN;

/* Reads o into s->obj: mapped when the query allows it, the store can and the object is
 * at least cq_map_min bytes, else copied into s->in. Returns CL_OK or the store's error;
 * release with release_object. */
static int load_object(struct cq_scanner *s, struct cl_store *st, const struct cq_object *o)
{
    const void *p = NULL;
    size_t n = 0;
    int map = s->m.f->q->map_objects && o->size >= cq_map_min;
    int rc = map ? cl_store_map(st, o->key, &p, &n) : CL_ERR_UNSUPPORTED;
    if (rc == CL_OK && n > CQ_OBJECT_MAX) {
        cl_store_unmap(st, p, n);
        return CL_ERR_TOO_LARGE; /* as a read bounded by CQ_OBJECT_MAX says */
    }
    if (rc == CL_OK) {
        s->obj = p ? p : (const unsigned char *)"";
        s->obj_len = n;
        s->mapped = p != NULL;
        return CL_OK;
    }
    /* A file system that cannot map (ENODEV, EINVAL) or no address space (ENOMEM): the
     * read may still work, so only an answer about the object itself is final. */
    if (rc == CL_ERR_NOT_FOUND || rc == CL_ERR_TOO_LARGE)
        return rc;
    cl_buf_reset(&s->in);
    rc = cl_store_get(st, o->key, &s->in);
    s->obj = (const unsigned char *)(s->in.data ? s->in.data : "");
    s->obj_len = s->in.len;
    return rc;
}

static void release_object(struct cq_scanner *s, struct cl_store *st)
{
    if (s->mapped)
        cl_store_unmap(st, s->obj, s->obj_len);
    s->mapped = 0;
    s->obj = NULL;
    s->obj_len = 0;
}

/* Scans the object in s->obj into r. */
static void scan_loaded(struct cq_scanner *s, const struct cq_object *o, int keep,
                        struct cq_result *r)
{
    r->bytes_compressed = s->obj_len;
    /* An object is several gzip members: one cut at a member boundary is still valid
     * gzip, so the size the catalog recorded is what shows it. */
    if (o->from_catalog && o->size && s->obj_len != o->size) {
        r->failed = 1;
        snprintf(r->reason, sizeof r->reason,
                 "truncated or changed: %zu bytes, the catalog says %llu", s->obj_len,
                 (unsigned long long)o->size);
        return;
    }
    struct cl_obj_seg *g;
    size_t n, data_off;
    /* The data CRC is left to verify: every segment read is checked by inflating it (its
     * gzip CRC, its exact compressed and raw lengths), one skipped is not used. */
    if (cl_obj_index_read((const char *)s->obj, s->obj_len, 0, &g, &n, &data_off) ==
        CL_OBJ_INDEX_OK) {
        s->held[0] = g;
        int rc = scan_indexed(s, g, n, keep, r);
        free(g);
        s->held[0] = NULL;
        if (rc == 0)
            return;
    }
    scan_whole(s, o, keep, r);
}

/* A page of a mapped object that cannot be read (a disk or network file system's I/O
 * error, a file cut short under the mapping) raises SIGBUS at the access, where read(2)
 * would have returned an error. The thread scanning a mapped object sets bus_jmp; the
 * handler jumps back there, and the object fails as one that cannot be read. A SIGBUS
 * anywhere else is not ours: the handler puts back the previous action and raises it. */
static _Thread_local sigjmp_buf *bus_jmp;
static struct sigaction bus_prev;
static pthread_mutex_t bus_mu = PTHREAD_MUTEX_INITIALIZER;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    (void)si, (void)ctx;
    sigjmp_buf *j = bus_jmp;
    if (j) {
        bus_jmp = NULL;
        siglongjmp(*j, 1);
    }
    sigaction(sig, &bus_prev, NULL);
    raise(sig); /* delivered when the handler returns (SIGBUS is blocked until then) */
}

/* Makes on_sigbus SIGBUS's handler, unless it is already (each scanner of a mapped run
 * asks: someone may have set another since, as a test harness does per test). */
static void bus_install(void)
{
    struct sigaction cur, sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    pthread_mutex_lock(&bus_mu);
    if (sigaction(SIGBUS, NULL, &cur) == 0 &&
        (!(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_sigbus))
        sigaction(SIGBUS, &sa, &bus_prev);
    pthread_mutex_unlock(&bus_mu);
}

/* scan_loaded for a mapped object. After a SIGBUS nothing of the object is kept: its
 * result r is per object (the count sums it, the ordered output merges it, only when it
 * did not fail), so clearing r and failing it undoes what the scan had found. ISA-L's
 * stateless inflate keeps no state between calls, so jumping out of it is safe; a fault
 * inside cl_obj_index_read after it allocated the segment table leaks that table (once
 * per failed object, in a one-shot process). */
static void scan_mapped(struct cq_scanner *s, const struct cq_object *o, int keep,
                        struct cq_result *r)
{
    sigjmp_buf jb;
    if (sigsetjmp(jb, 1) == 0) {
        bus_jmp = &jb;
        scan_loaded(s, o, keep, r);
        bus_jmp = NULL;
        return;
    }
    for (size_t i = 0; i < CL_ARRAY_LEN(s->held); i++) {
        free(s->held[i]);
        s->held[i] = NULL;
    }
    reset_result(r);
    r->stopped = 0;
    r->failed = 1;
    snprintf(r->reason, sizeof r->reason, "cannot read: %s (the mapping raised SIGBUS)",
             cl_strerror(CL_ERR_IO));
}

void cq_scan_object(struct cq_scanner *s, struct cl_store *st, const struct cq_object *o, int keep,
                    struct cq_result *r)
{
    r->obj = o;
    cl_buf_init(&r->lines, SIZE_MAX);
    if (cq_budget_check(s->budget)) {
        r->stopped = 1;
        return;
    }
    trim_buffers(s, o);
    int rc = load_object(s, st, o);
    if (rc != CL_OK) {
        r->failed = 1;
        snprintf(r->reason, sizeof r->reason, "cannot read: %s", cl_strerror(rc));
    } else if (s->mapped) {
        scan_mapped(s, o, keep, r);
    } else {
        scan_loaded(s, o, keep, r);
    }
    release_object(s, st);
}

void cq_result_free(struct cq_result *r)
{
    cl_buf_free(&r->lines);
    free(r->m);
    free(r);
}
