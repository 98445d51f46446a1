/* message_index.c - the member index of a queue message (message.h, "MEMBER INDEX"):
 * written by ingest before the data members, read by the processor instead of inflating.
 *
 * The index member: a gzip header with FLG.FEXTRA and one subfield 'C','L' holding the
 * payload, then an empty final deflate block (0x03 0x00) and a trailer of CRC-32 0 and
 * size 0. Payload (integers LEB128 varints unless said otherwise):
 *   u8 version, u8 partitioning, u32 LE CRC-32 of the data members' bytes, n,
 *   n x { gz_len, raw_len, records, zigzag min_ts_ms, max_ts_ms - min_ts_ms,
 *         CL_LEVEL_COUNT x records of that level, u8 service length, service bytes },
 *   u32 LE CRC-32 of the payload before it.
 */
#include "message.h"

#include "common.h"
#include "record.h"
#include "wire.h"

#include <isa-l/crc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GZ_FIXED 10                    /* magic, method, flags, mtime, xfl, os */
#define SUB_HEAD 4                     /* SI1, SI2, LEN */
#define MEMBER_TAIL 10                 /* empty deflate block (2) + CRC-32 and size (8) */
#define PAYLOAD_MAX (65535 - SUB_HEAD) /* XLEN is 16 bits and holds the subfield header */
/* What a record's timestamp can be (timestamp.c: 0001-01-01 .. 9999-12-31), in ms. */
#define TS_MIN_MS (-62135596800000LL)
#define TS_MAX_MS 253402300799999LL

static uint32_t crc32_of(const void *p, size_t n)
{
    /* ISA-L's CRC-32 of gzip (the zlib polynomial, reflected), tens of GB/s with PCLMUL:
     * checking a message's bytes costs far less than inflating them. */
    return crc32_gzip_refl(0, (const unsigned char *)p, (uint64_t)n);
}

static void put_payload(struct cl_buf *p, const struct cl_msg_member *members, size_t n,
                        uint32_t data_crc)
{
    cl_buf_append_char(p, CL_MSG_INDEX_VERSION);
    cl_buf_append_char(p, CL_MSG_PARTITIONING_HOUR);
    cl_wire_put_le32(p, data_crc);
    cl_wire_put_uv(p, n);
    for (size_t i = 0; i < n; i++) {
        const struct cl_msg_member *m = &members[i];
        cl_wire_put_uv(p, m->gz_len);
        cl_wire_put_uv(p, m->raw_len);
        cl_wire_put_uv(p, m->records);
        cl_wire_put_uv(p, ((uint64_t)m->min_ts_ms << 1) ^ (uint64_t)(m->min_ts_ms >> 63));
        cl_wire_put_uv(p, (uint64_t)(m->max_ts_ms - m->min_ts_ms));
        for (int l = 0; l < CL_LEVEL_COUNT; l++)
            cl_wire_put_uv(p, m->levels[l]);
        size_t sl = strnlen(m->service, 64);
        cl_buf_append_char(p, (char)sl);
        cl_buf_append(p, m->service, sl);
    }
    cl_wire_put_le32(p, crc32_of(p->data, p->len));
}

int cl_msg_index_write(const struct cl_msg_member *members, size_t n, const void *data, size_t len,
                       struct cl_buf *out)
{
    struct cl_buf p;
    cl_buf_init(&p, PAYLOAD_MAX);
    put_payload(&p, members, n, crc32_of(data, len));
    if (cl_buf_failed(&p)) {
        cl_buf_free(&p);
        return CL_ERR_TOO_LARGE;
    }
    static const unsigned char head[GZ_FIXED] = {0x1f, 0x8b, 8, 4 /* FEXTRA */, 0, 0, 0, 0, 0, 255};
    static const unsigned char tail[MEMBER_TAIL] = {0x03, 0x00}; /* then CRC 0, size 0 */
    size_t xlen = p.len + SUB_HEAD;
    unsigned char sub[2 + SUB_HEAD] = {(unsigned char)xlen,  (unsigned char)(xlen >> 8), 'C', 'L',
                                       (unsigned char)p.len, (unsigned char)(p.len >> 8)};
    cl_buf_append(out, head, sizeof head);
    cl_buf_append(out, sub, sizeof sub);
    cl_buf_append(out, p.data, p.len);
    cl_buf_append(out, tail, sizeof tail);
    cl_buf_free(&p);
    return CL_OK;
}

static int64_t hour_of(int64_t ms)
{
    return ms / 3600000 - (ms % 3600000 < 0);
}

/* One entry; 0 if it is malformed or not a member this partitioning can hold. */
static int get_member(struct cl_wire_rd *r, struct cl_msg_member *m)
{
    m->gz_len = (size_t)cl_wire_get_uv(r);
    m->raw_len = cl_wire_get_uv(r);
    uint64_t records = cl_wire_get_uv(r), zz = cl_wire_get_uv(r), span = cl_wire_get_uv(r), sum = 0;
    m->records = (uint32_t)records;
    m->min_ts_ms = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
    if (m->min_ts_ms < TS_MIN_MS || m->min_ts_ms > TS_MAX_MS ||
        span > (uint64_t)(TS_MAX_MS - m->min_ts_ms))
        return 0;
    m->max_ts_ms = m->min_ts_ms + (int64_t)span;
    /* each count at most records, so their sum cannot wrap into agreeing with it */
    for (int l = 0; l < CL_LEVEL_COUNT; l++) {
        uint64_t c = cl_wire_get_uv(r);
        if (c > records)
            return 0;
        m->levels[l] = (uint32_t)c;
        sum += c;
    }
    size_t sl = r->p < r->end ? *r->p++ : 0;
    if (r->bad || sl == 0 || sl > 64 || (size_t)(r->end - r->p) < sl)
        return 0;
    memcpy(m->service, r->p, sl);
    m->service[sl] = '\0';
    r->p += sl;
    /* every record is a line ending in '\n': fewer raw bytes than records is no member of
     * ours (and analytics, which inflates a member to raw_len bytes, needs raw_len >= 1) */
    return records > 0 && records <= UINT32_MAX && sum == records && m->raw_len >= records &&
           hour_of(m->min_ts_ms) == hour_of(m->max_ts_ms) && cl_service_valid(m->service, sl);
}

/* The payload of the index member at the start of body (0 if there is none); *end gets
 * where the data members start. */
static size_t find_payload(const unsigned char *b, size_t len, const unsigned char **payload,
                           size_t *end)
{
    if (len < GZ_FIXED + 2 + SUB_HEAD + MEMBER_TAIL || b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 ||
        b[3] != 4)
        return 0;
    size_t xlen = (size_t)b[10] | (size_t)b[11] << 8, plen = (size_t)b[14] | (size_t)b[15] << 8;
    *end = GZ_FIXED + 2 + xlen + MEMBER_TAIL;
    if (b[12] != 'C' || b[13] != 'L' || plen + SUB_HEAD != xlen || *end > len)
        return 0;
    static const unsigned char tail[MEMBER_TAIL] = {0x03, 0x00};
    if (memcmp(b + *end - MEMBER_TAIL, tail, MEMBER_TAIL) != 0)
        return 0;
    *payload = b + GZ_FIXED + 2 + SUB_HEAD;
    return plen;
}

/* 1 if member m at body + m->gz_off looks like a gzip member of m->raw_len bytes. */
static int member_frame_ok(const unsigned char *b, const struct cl_msg_member *m)
{
    const unsigned char *p = b + m->gz_off;
    return m->gz_len >= 18 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 &&
           cl_wire_le32(p + m->gz_len - 4) == (uint32_t)m->raw_len;
}

/* The entries of a checked payload [p, p + n): 0 if any is malformed or they do not tile
 * body[start, len) and add up to attrs. */
static size_t get_members(const unsigned char *p, size_t n, const unsigned char *body, size_t start,
                          size_t len, const struct cl_msg_attrs *a, struct cl_msg_member **out)
{
    struct cl_wire_rd r = {p + 6, p + n - 4, 0};
    uint64_t count = cl_wire_get_uv(&r), records = 0, raw = 0;
    if (r.bad || count == 0 || count > (len - start) / 18)
        return 0;
    struct cl_msg_member *v = cl_calloc((size_t)count, sizeof *v);
    size_t at = start, i = 0;
    int64_t min = INT64_MAX, max = INT64_MIN;
    for (; i < count && get_member(&r, &v[i]); i++) {
        v[i].gz_off = at;
        if (v[i].gz_len > len - at || !member_frame_ok(body, &v[i]) ||
            v[i].raw_len > a->raw_bytes - raw) /* the sum must not wrap into agreeing */
            break;
        at += v[i].gz_len;
        records += v[i].records;
        raw += v[i].raw_len;
        min = CL_MIN(min, v[i].min_ts_ms);
        max = CL_MAX(max, v[i].max_ts_ms);
    }
    if (i < count || r.p != r.end || at != len || records != a->record_count ||
        raw != a->raw_bytes || min != a->min_ts_ms || max != a->max_ts_ms) {
        free(v);
        return 0;
    }
    *out = v;
    return (size_t)count;
}

size_t cl_msg_index_read(const struct cl_msg_attrs *attrs, const void *body, size_t len,
                         struct cl_msg_member **members)
{
    const unsigned char *b = body, *p;
    size_t start = 0;
    *members = NULL;
    if (strcmp(attrs->encoding, "gzip") != 0)
        return 0;
    size_t n = find_payload(b, len, &p, &start);
    if (n < 2 + 4 + 1 + 4 || cl_wire_le32(p + n - 4) != crc32_of(p, n - 4))
        return 0; /* no index, or a damaged one */
    if (p[0] != CL_MSG_INDEX_VERSION || p[1] != CL_MSG_PARTITIONING_HOUR)
        return 0; /* another version's, or another partitioning's */
    if (start >= len || cl_wire_le32(p + 2) != crc32_of(b + start, len - start))
        return 0; /* the members' bytes changed: inflating will say how */
    return get_members(p, n, b, start, len, attrs, members);
}

void cl_msg_member_head(const struct cl_msg_member *m, struct cl_line_head *h)
{
    char ts[25];
    cl_format_timestamp(m->min_ts_ms, ts);
    memset(h, 0, sizeof *h);
    h->ts_ms = m->min_ts_ms;
    h->level = CL_LEVEL_INFO;
    snprintf(h->service, sizeof h->service, "%s", m->service);
    memcpy(h->dt, ts, 10);
    h->dt[10] = '\0';
    h->hour = (ts[11] - '0') * 10 + (ts[12] - '0');
}
