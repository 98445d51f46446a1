/* object_index.c - the member index of a stored object (object_index.h): built by the
 * processor as it appends members, put first in the object at the flush, read by the
 * query to inflate only the segments a query needs, and checked by `cloudlog verify`. */
#include "object_index.h"

#include "codec.h"
#include "common.h"
#include "message.h"
#include "wire.h"

#include <isa-l/crc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GZ_FIXED 10                    /* magic, method, flags, mtime, xfl, os */
#define SUB_HEAD 4                     /* SI1, SI2, LEN */
#define TAIL 10                        /* empty final block (2) + CRC-32 0 and size 0 */
#define HEAD (GZ_FIXED + 2 + SUB_HEAD) /* up to the payload */
#define PAYLOAD_MAX (65535 - SUB_HEAD) /* XLEN is 16 bits and holds the subfield head */
#define MIN_MEMBER 18                  /* the smallest gzip member */
#define TS_BOUND ((int64_t)1 << 50)    /* ms: beyond year 37000, never a record's */
#define PAYLOAD_MIN (2 + 4 + 1 + 4)    /* version, flags, data CRC, n, payload CRC */

static uint32_t crc_of(const void *p, size_t n)
{
    return crc32_gzip_refl(0, (const unsigned char *)p, (uint64_t)n);
}

void cl_obj_index_init(struct cl_obj_index *x)
{
    memset(x, 0, sizeof *x);
}

void cl_obj_index_free(struct cl_obj_index *x)
{
    free(x->v);
    memset(x, 0, sizeof *x);
}

void cl_obj_seg_init(struct cl_obj_seg *s)
{
    memset(s, 0, sizeof *s);
    s->known = 1;
    s->min_ts_ms = INT64_MAX;
    s->max_ts_ms = INT64_MIN;
}

struct cl_obj_seg *cl_obj_index_member(struct cl_obj_index *x, uint64_t gz_len)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 16;
        x->v = cl_realloc(x->v, x->cap * sizeof *x->v);
    }
    struct cl_obj_seg *s = &x->v[x->n++];
    cl_obj_seg_init(s);
    s->gz_len = gz_len;
    return s;
}

struct cl_obj_seg *cl_obj_index_last(struct cl_obj_index *x)
{
    if (x->n == 0)
        x->broken = 1;
    return x->n ? &x->v[x->n - 1] : NULL;
}

void cl_obj_seg_line(struct cl_obj_seg *s, uint64_t raw_len, int64_t ts_ms, enum cl_level level)
{
    if (!s)
        return;
    s->raw_len += raw_len;
    s->records++;
    s->min_ts_ms = CL_MIN(s->min_ts_ms, ts_ms);
    s->max_ts_ms = CL_MAX(s->max_ts_ms, ts_ms);
    if ((int)level >= 0 && level < CL_LEVEL_COUNT)
        s->levels[level]++;
    else
        s->known = 0;
}

void cl_obj_seg_add(struct cl_obj_seg *s, uint64_t raw_len, uint64_t records, int64_t min_ts_ms,
                    int64_t max_ts_ms, const uint32_t *levels)
{
    if (!s)
        return;
    s->raw_len += raw_len;
    s->records += records;
    s->min_ts_ms = CL_MIN(s->min_ts_ms, min_ts_ms);
    s->max_ts_ms = CL_MAX(s->max_ts_ms, max_ts_ms);
    for (int l = 0; levels && l < CL_LEVEL_COUNT; l++)
        s->levels[l] += levels[l];
    s->known &= levels != NULL;
}

/* ---- writing ---- */

/* A segment's span and levels are written only when they say something. */
static int seg_known(const struct cl_obj_seg *s)
{
    uint64_t sum = 0;
    for (int l = 0; l < CL_LEVEL_COUNT; l++)
        sum += s->levels[l];
    return s->known && s->records > 0 && sum == s->records && s->min_ts_ms <= s->max_ts_ms &&
           s->min_ts_ms > -TS_BOUND && s->max_ts_ms < TS_BOUND;
}

static void put_seg(struct cl_buf *p, const struct cl_obj_seg *s)
{
    int known = seg_known(s);
    cl_wire_put_uv(p, s->gz_len);
    cl_wire_put_le32(p, s->crc);
    cl_wire_put_uv(p, s->raw_len);
    cl_wire_put_uv(p, s->records);
    cl_buf_append_char(p, (char)known);
    if (!known)
        return;
    cl_wire_put_uv(p, ((uint64_t)s->min_ts_ms << 1) ^ (uint64_t)(s->min_ts_ms >> 63));
    cl_wire_put_uv(p, (uint64_t)(s->max_ts_ms - s->min_ts_ms));
    for (int l = 0; l < CL_LEVEL_COUNT; l++)
        cl_wire_put_uv(p, s->levels[l]);
}

/* The payload of v[0..n) into p (bounded by PAYLOAD_MAX: check cl_buf_failed). */
static void put_payload(struct cl_buf *p, const struct cl_obj_seg *v, size_t n)
{
    cl_buf_append_char(p, CL_OBJ_INDEX_VERSION);
    cl_buf_append_char(p, 0);
    cl_wire_put_uv(p, n);
    for (size_t i = 0; i < n; i++)
        put_seg(p, &v[i]);
    cl_wire_put_le32(p, crc_of(p->data, p->len));
}

/* Merges neighbours pairwise in place: half as many segments, each the union of two. */
static size_t halve(struct cl_obj_seg *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i += 2, k++) {
        struct cl_obj_seg s = v[i];
        if (i + 1 < n) {
            const struct cl_obj_seg *b = &v[i + 1];
            s.gz_len += b->gz_len;
            s.raw_len += b->raw_len;
            s.records += b->records;
            s.min_ts_ms = CL_MIN(s.min_ts_ms, b->min_ts_ms);
            s.max_ts_ms = CL_MAX(s.max_ts_ms, b->max_ts_ms);
            for (int l = 0; l < CL_LEVEL_COUNT; l++)
                s.levels[l] += b->levels[l];
            s.known = seg_known(&s) && seg_known(b);
        }
        v[k] = s;
    }
    return k;
}

/* DuckDB's gzip reader (1.5, CompressedFile::ReadData in compressed_file_system.cpp)
 * reads in 32 KiB buffers and, at the end of each member, refills its full buffer from
 * that member's trailer on; when that refill reads nothing it stops, even though the
 * buffer still holds later members. That happens when the bytes from a member's trailer
 * to the end of the file are a multiple of 32 KiB (seen: 1 object of 2,040 lost its last
 * 2 members, with or without this index). An empty member (20 bytes) appended moves the
 * end of the file until no member but the last one ends so. */
#define DUCKDB_BUFFER 32768u
#define DUCKDB_PAD_MAX 8
#define EMPTY_MEMBER 20

/* 1 if a member other than the last of v[0..n) (or the index member before them) ends
 * a multiple of DUCKDB_BUFFER before the end of the len data bytes, counted from its
 * trailer. */
static int duckdb_stops_early(const struct cl_obj_seg *v, size_t n, uint64_t len)
{
    uint64_t end = 0; /* where the index member ends, relative to the data */
    for (size_t i = 0; i <= n; i++) {
        if (i > 0)
            end += v[i - 1].gz_len;
        if (i < n && (len - end + 8) % DUCKDB_BUFFER == 0)
            return 1;
    }
    return 0;
}

/* Appends empty members to pad (and their segments to v) while DuckDB would stop early
 * on the len body bytes followed by pad. Returns the new number of segments (v has room
 * for DUCKDB_PAD_MAX more). */
static size_t pad_for_duckdb(struct cl_obj_seg *v, size_t n, size_t len, struct cl_buf *pad)
{
    static const unsigned char empty[EMPTY_MEMBER] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 3, 0};
    for (int k = 0; k < DUCKDB_PAD_MAX && duckdb_stops_early(v, n, len + pad->len); k++) {
        if (cl_buf_append(pad, empty, sizeof empty) != CL_OK)
            break;
        cl_obj_seg_init(&v[n]);
        v[n].known = 0; /* no records, no span: read (for nothing) by every query */
        v[n++].gz_len = EMPTY_MEMBER;
    }
    return n;
}

/* Each segment's CRC-32 of its bytes in the object's data: body[0..len), then pad (a
 * merged segment may span both). */
static void set_crcs(struct cl_obj_seg *v, size_t n, const char *body, size_t len,
                     const struct cl_buf *pad)
{
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t left = v[i].gz_len;
        uint32_t c = 0;
        if (at < len) {
            uint64_t k = CL_MIN(left, len - at);
            c = crc32_gzip_refl(c, (const unsigned char *)body + at, k);
            at += k, left -= k;
        }
        if (left)
            c = crc32_gzip_refl(c, (const unsigned char *)pad->data + (at - len), left);
        at += left;
        v[i].crc = c;
    }
}

/* The index member of payload p into head. */
static int put_member(const struct cl_buf *p, struct cl_buf *head)
{
    size_t xlen = p->len + SUB_HEAD;
    const unsigned char fixed[HEAD] = {0x1f,
                                       0x8b,
                                       8,
                                       4 /* FEXTRA */,
                                       0,
                                       0,
                                       0,
                                       0,
                                       0,
                                       255,
                                       (unsigned char)xlen,
                                       (unsigned char)(xlen >> 8),
                                       'C',
                                       'O',
                                       (unsigned char)p->len,
                                       (unsigned char)(p->len >> 8)};
    static const unsigned char tail[TAIL] = {0x03, 0x00}; /* then CRC-32 0 and size 0 */
    cl_buf_append(head, fixed, sizeof fixed);
    cl_buf_append(head, p->data, p->len);
    cl_buf_append(head, tail, sizeof tail);
    return cl_buf_failed(head) ? CL_ERR_INVAL : CL_OK;
}

int cl_obj_index_frame(const struct cl_obj_index *x, const char *body, size_t len,
                       struct cl_buf *head, struct cl_buf *pad)
{
    cl_buf_init(head, HEAD + PAYLOAD_MAX + TAIL);
    cl_buf_init(pad, DUCKDB_PAD_MAX * EMPTY_MEMBER);
    uint64_t total = 0;
    for (size_t i = 0; i < x->n; i++)
        total += x->v[i].gz_len;
    if (x->broken || x->n == 0 || total != len)
        return CL_ERR_INVAL;
    struct cl_obj_seg *v = cl_malloc((x->n + DUCKDB_PAD_MAX) * sizeof *v);
    memcpy(v, x->v, x->n * sizeof *v);
    struct cl_buf p;
    size_t n = pad_for_duckdb(v, x->n, len, pad);
    for (;;) { /* too many segments for 64 KiB: merge neighbours until they fit */
        set_crcs(v, n, body, len, pad);
        cl_buf_init(&p, PAYLOAD_MAX);
        put_payload(&p, v, n);
        if (!cl_buf_failed(&p) || n == 1)
            break;
        cl_buf_free(&p);
        n = halve(v, n);
    }
    free(v);
    int rc = cl_buf_failed(&p) ? CL_ERR_INVAL : put_member(&p, head);
    cl_buf_free(&p);
    if (rc != CL_OK) {
        cl_buf_truncate(head, 0);
        cl_buf_truncate(pad, 0);
    }
    return rc;
}

int cl_obj_index_prepend(const struct cl_obj_index *x, struct cl_buf *body)
{
    struct cl_buf head, pad, out;
    int rc = cl_obj_index_frame(x, body->data, body->len, &head, &pad);
    cl_buf_init(&out, body->max);
    if (rc == CL_OK && cl_buf_reserve(&out, head.len + body->len + pad.len) == CL_OK) {
        cl_buf_append(&out, head.data, head.len);
        cl_buf_append(&out, body->data, body->len);
        cl_buf_append(&out, pad.data, pad.len);
    }
    rc = rc == CL_OK && !cl_buf_failed(&out) ? CL_OK : CL_ERR_INVAL;
    cl_buf_free(&head);
    cl_buf_free(&pad);
    if (rc == CL_OK) {
        cl_buf_free(body);
        *body = out;
    } else {
        cl_buf_free(&out);
    }
    return rc;
}

/* ---- reading ---- */

/* One entry into s; 0 if it is malformed. */
static int get_seg(struct cl_wire_rd *r, struct cl_obj_seg *s)
{
    cl_obj_seg_init(s);
    s->gz_len = cl_wire_get_uv(r);
    if (r->end - r->p < 4)
        return 0;
    s->crc = cl_wire_le32(r->p);
    r->p += 4;
    s->raw_len = cl_wire_get_uv(r);
    s->records = cl_wire_get_uv(r);
    s->known = r->p < r->end ? *r->p++ : 2;
    if (r->bad || s->known > 1 || s->gz_len < MIN_MEMBER || s->raw_len < s->records)
        return 0;
    if (!s->known)
        return 1;
    uint64_t zz = cl_wire_get_uv(r), span = cl_wire_get_uv(r), sum = 0;
    s->min_ts_ms = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
    if (s->min_ts_ms <= -TS_BOUND || s->min_ts_ms >= TS_BOUND || span >= (uint64_t)TS_BOUND)
        return 0;
    s->max_ts_ms = s->min_ts_ms + (int64_t)span;
    for (int l = 0; l < CL_LEVEL_COUNT; l++) {
        s->levels[l] = cl_wire_get_uv(r);
        sum += s->levels[l];
    }
    return !r->bad && s->records > 0 && sum == s->records;
}

/* The entries of a payload whose CRC checked: segments tiling obj[start, len), each
 * starting with a gzip header. */
static enum cl_obj_index_state get_segs(const unsigned char *p, size_t plen,
                                        const unsigned char *obj, size_t start, size_t len,
                                        int check_data, struct cl_obj_seg **segs, size_t *n)
{
    struct cl_wire_rd r = {p + 2, p + plen - 4, 0};
    uint64_t count = cl_wire_get_uv(&r);
    if (r.bad || count == 0 || count > (len - start) / MIN_MEMBER)
        return CL_OBJ_INDEX_DAMAGED;
    struct cl_obj_seg *v = cl_calloc((size_t)count, sizeof *v);
    size_t at = start, i = 0;
    for (; i < count && get_seg(&r, &v[i]); i++) {
        const unsigned char *m = obj + at;
        if (v[i].gz_len > len - at || m[0] != 0x1f || m[1] != 0x8b || m[2] != 8 ||
            (check_data && crc_of(m, (size_t)v[i].gz_len) != v[i].crc))
            break;
        v[i].gz_off = at;
        at += v[i].gz_len;
    }
    if (i < count || r.p != r.end || at != len) {
        free(v);
        return CL_OBJ_INDEX_DAMAGED;
    }
    *segs = v;
    *n = (size_t)count;
    return CL_OBJ_INDEX_OK;
}

enum cl_obj_index_state cl_obj_index_read(const void *obj, size_t len, int check_data,
                                          struct cl_obj_seg **segs, size_t *n, size_t *data_off)
{
    const unsigned char *b = obj;
    *segs = NULL;
    *n = 0;
    /* Ours: a gzip header with only FEXTRA whose first subfield is 'C','O'. */
    if (len < HEAD || b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 || b[3] != 4 || b[12] != 'C' ||
        b[13] != 'O')
        return CL_OBJ_INDEX_NONE;
    size_t xlen = (size_t)b[10] | (size_t)b[11] << 8, plen = (size_t)b[14] | (size_t)b[15] << 8;
    size_t start = GZ_FIXED + 2 + xlen + TAIL;
    static const unsigned char tail[TAIL] = {0x03, 0x00};
    if (plen + SUB_HEAD != xlen || start > len || plen < PAYLOAD_MIN ||
        memcmp(b + start - TAIL, tail, TAIL) != 0)
        return CL_OBJ_INDEX_DAMAGED; /* cut short, or not the member we write */
    const unsigned char *p = b + HEAD;
    if (cl_wire_le32(p + plen - 4) != crc_of(p, plen - 4))
        return CL_OBJ_INDEX_DAMAGED;
    if (p[0] != CL_OBJ_INDEX_VERSION)
        return CL_OBJ_INDEX_NONE; /* a later version's: read whole, as an older object */
    if (start >= len)
        return CL_OBJ_INDEX_DAMAGED;
    *data_off = start;
    return get_segs(p, plen, b, start, len, check_data, segs, n);
}

int cl_obj_seg_wanted(const struct cl_obj_seg *s, int64_t from_ms, int64_t to_ms,
                      unsigned level_mask)
{
    if (!s->known)
        return 1;
    if (s->max_ts_ms < from_ms || s->min_ts_ms >= to_ms)
        return 0;
    if (!level_mask)
        return 1;
    for (int l = 0; l < CL_LEVEL_COUNT; l++)
        if ((level_mask & (1u << l)) && s->levels[l])
            return 1;
    return 0;
}

/* ---- checking against the members (cloudlog verify) ---- */

static int count_record(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    (void)line;
    cl_obj_seg_line(arg, len + 1, h->ts_ms, h->level);
    return 0;
}

/* 0 if the records of segment g (inflated into raw) are what g says, else -1 with why. */
static int check_seg(const struct cl_obj_seg *g, size_t i, struct cl_buf *raw, char *err,
                     size_t err_len)
{
    struct cl_obj_seg c;
    cl_obj_seg_init(&c);
    if (cl_msg_lines(raw, count_record, &c, err, err_len) != 0)
        return -1;
    int ok = c.raw_len == g->raw_len && c.records == g->records;
    if (ok && g->known) {
        ok = c.min_ts_ms == g->min_ts_ms && c.max_ts_ms == g->max_ts_ms;
        for (int l = 0; l < CL_LEVEL_COUNT; l++)
            ok &= c.levels[l] == g->levels[l];
    }
    if (!ok)
        snprintf(err, err_len,
                 "member index entry %zu says %llu records in %llu bytes, the members hold "
                 "%llu in %llu%s",
                 i, (unsigned long long)g->records, (unsigned long long)g->raw_len,
                 (unsigned long long)c.records, (unsigned long long)c.raw_len,
                 c.records == g->records && c.raw_len == g->raw_len
                     ? " (time span or levels differ)"
                     : "");
    return ok ? 0 : -1;
}

int cl_obj_index_check(const void *obj, size_t len, size_t max_raw, char *err, size_t err_len)
{
    struct cl_obj_seg *g;
    size_t n, off;
    enum cl_obj_index_state st = cl_obj_index_read(obj, len, 1, &g, &n, &off);
    if (st == CL_OBJ_INDEX_NONE)
        return 0;
    if (st == CL_OBJ_INDEX_DAMAGED) {
        snprintf(err, err_len, "member index damaged (its CRC, a segment's CRC, framing or sizes)");
        return -1;
    }
    int rc = 0;
    struct cl_buf raw;
    cl_buf_init(&raw, max_raw);
    for (size_t i = 0; i < n && rc == 0; i++) {
        cl_buf_reset(&raw);
        if (cl_gzip_decompress((const char *)obj + g[i].gz_off, (size_t)g[i].gz_len, &raw) !=
            CL_OK) {
            snprintf(err, err_len, "member index entry %zu is not whole gzip members", i);
            rc = -1;
        } else {
            rc = check_seg(&g[i], i, &raw, err, err_len);
        }
    }
    cl_buf_free(&raw);
    free(g);
    return rc;
}
