/* batch.c - packs normalized NDJSON lines into gzip batches of bounded raw and sent size. */
#include "batch.h"

#include "codec.h"
#include "common.h"
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_batch_init(struct cl_batch *b, size_t max_raw, size_t max_sent, int level)
{
    /* Unbounded buffer: its size is bounded by max_raw plus one line, which the
     * caller's record limit bounds. */
    cl_buf_init(&b->lines, SIZE_MAX / 2);
    b->idx = NULL;
    b->idx_cap = 0;
    b->max_parts = 0;
    b->parts = NULL;
    b->remap = NULL;
    cl_batch_reset(b, max_raw, max_sent, level);
}

void cl_batch_reset(struct cl_batch *b, size_t max_raw, size_t max_sent, int level)
{
    cl_buf_reset(&b->lines);
    b->max_raw = max_raw;
    b->max_sent = max_sent;
    b->level = level;
    b->count = 0;
    b->n_parts = 0;
    b->last_part = 0;
    b->adding = 0;
}

void cl_batch_free(struct cl_batch *b)
{
    cl_buf_free(&b->lines);
    free(b->idx);
    b->idx = NULL;
    b->idx_cap = 0;
    b->count = 0;
    free(b->parts);
    free(b->remap);
    b->parts = NULL;
    b->remap = NULL;
    b->max_parts = b->n_parts = 0;
}

void cl_batch_set_max_parts(struct cl_batch *b, size_t max_parts)
{
    if (max_parts != b->max_parts) {
        free(b->parts);
        free(b->remap);
        b->parts = max_parts ? cl_calloc(max_parts, sizeof *b->parts) : NULL;
        b->remap = max_parts ? cl_calloc(max_parts, sizeof *b->remap) : NULL;
        b->max_parts = max_parts;
    }
    b->n_parts = 0;
    b->last_part = 0;
}

/* The output buffer is unbounded, so failing here means the compressor itself is
 * broken; like an allocation failure (common.h), that aborts. */
static void gzip_or_abort(const char *data, size_t len, int level, struct cl_buf *gz)
{
    if (cl_gzip_compress(data, len, level, gz) != CL_OK) {
        fprintf(stderr, "cloudlog: gzip compression of %zu bytes failed\n", len);
        abort();
    }
}

/* The member of each partition of the first n lines: records, raw bytes, time span,
 * levels and service (gz_len is set once it is compressed). Caller frees. */
static struct cl_msg_member *member_stats(const struct cl_batch *b, uint32_t n)
{
    struct cl_msg_member *mm = cl_calloc(b->n_parts, sizeof *mm);
    for (size_t p = 0; p < b->n_parts; p++) {
        memcpy(mm[p].service, b->parts[p].service, b->parts[p].service_len);
        mm[p].min_ts_ms = INT64_MAX;
        mm[p].max_ts_ms = INT64_MIN;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct cl_batch_line *l = &b->idx[i];
        struct cl_msg_member *m = &mm[l->part];
        m->raw_len += l->end - (i ? b->idx[i - 1].end : 0);
        m->records++;
        m->min_ts_ms = CL_MIN(m->min_ts_ms, l->ts_ms);
        m->max_ts_ms = CL_MAX(m->max_ts_ms, l->ts_ms);
        m->levels[l->level]++;
    }
    return mm;
}

/* One gzip member per partition of the first n lines (each partition's lines in their
 * order), so the processor can append a member to its partition's object as it is,
 * without recompressing (docs/pipeline.md, "Queue messages"). Sets mm[p].gz_len. */
static void compress_grouped(const struct cl_batch *b, uint32_t n, struct cl_msg_member *mm,
                             struct cl_buf *gz)
{
    size_t np = b->n_parts, before = gz->len;
    if (np == 1) { /* the lines are that partition's already: no regrouping copy */
        gzip_or_abort(b->lines.data, b->idx[n - 1].end, b->level, gz);
        mm[0].gz_len = gz->len - before;
        return;
    }
    size_t *at = cl_calloc(np + 1, sizeof *at);
    for (size_t p = 0; p < np; p++) /* where each partition's lines start */
        at[p + 1] = at[p] + mm[p].raw_len;
    char *grouped = cl_malloc(at[np] ? at[np] : 1);
    size_t *fill = cl_malloc(np * sizeof *fill);
    memcpy(fill, at, np * sizeof *fill);
    for (uint32_t i = 0; i < n; i++) {
        size_t from = i ? b->idx[i - 1].end : 0, len = b->idx[i].end - from;
        memcpy(grouped + fill[b->idx[i].part], b->lines.data + from, len);
        fill[b->idx[i].part] += len;
    }
    for (size_t p = 0; p < np; p++) {
        before = gz->len;
        if (at[p + 1] > at[p])
            gzip_or_abort(grouped + at[p], at[p + 1] - at[p], b->level, gz);
        mm[p].gz_len = gz->len - before;
    }
    free(grouped);
    free(fill);
    free(at);
}

/* The body of a batch with partitions tracked: the member index, then one member per
 * partition (message.h, "MEMBER INDEX"). A partition left without lines by a partial seal
 * has no member and no entry. Without an index (too many partitions for one) the members
 * alone, which the processor inflates. */
static void compress_indexed(const struct cl_batch *b, uint32_t n, struct cl_buf *body)
{
    struct cl_msg_member *mm = member_stats(b, n);
    struct cl_buf gz;
    cl_buf_init(&gz, SIZE_MAX / 2);
    compress_grouped(b, n, mm, &gz);
    size_t used = 0;
    for (size_t p = 0; p < b->n_parts; p++)
        if (mm[p].records)
            mm[used++] = mm[p];
    cl_msg_index_write(mm, used, gz.data, gz.len, body); /* nothing when it does not fit */
    cl_buf_append(body, gz.data, gz.len);
    cl_buf_free(&gz);
    free(mm);
}

/* Compresses the first n pending lines into *s (counters and time bounds included). */
static void compress_lines(const struct cl_batch *b, uint32_t n, struct cl_batch_sealed *s)
{
    size_t bytes = b->idx[n - 1].end;
    struct cl_buf gz;
    cl_buf_init(&gz, SIZE_MAX / 2);
    if (b->n_parts > 0)
        compress_indexed(b, n, &gz);
    else
        gzip_or_abort(b->lines.data, bytes, b->level, &gz);
    s->gz = cl_buf_take(&gz, &s->gz_len);
    s->gz = cl_realloc(s->gz, s->gz_len); /* give back the worst-case reservation */
    s->count = n;
    s->raw_bytes = bytes;
    s->min_ts_ms = INT64_MAX;
    s->max_ts_ms = INT64_MIN;
    for (uint32_t i = 0; i < n; i++) {
        s->min_ts_ms = CL_MIN(s->min_ts_ms, b->idx[i].ts_ms);
        s->max_ts_ms = CL_MAX(s->max_ts_ms, b->idx[i].ts_ms);
    }
}

/* Drops the first n pending lines (sealed) from the buffer and the index. */
static void drop_lines(struct cl_batch *b, uint32_t n)
{
    size_t bytes = b->idx[n - 1].end, tail = b->lines.len - bytes;
    memmove(b->lines.data, b->lines.data + bytes, tail);
    cl_buf_truncate(&b->lines, tail);
    memmove(b->idx, b->idx + n, (b->count - n) * sizeof *b->idx);
    b->count -= n;
    for (uint32_t i = 0; i < b->count; i++)
        b->idx[i].end -= bytes;
}

/* Keeps only the partitions the pending lines still use (after a seal), in order. */
static void compact_parts(struct cl_batch *b)
{
    if (b->max_parts == 0)
        return;
    const uint32_t unused = UINT32_MAX;
    for (size_t p = 0; p < b->n_parts; p++)
        b->remap[p] = unused;
    for (uint32_t i = 0; i < b->count; i++)
        b->remap[b->idx[i].part] = 0; /* used */
    size_t n = 0;
    for (size_t p = 0; p < b->n_parts; p++) {
        if (b->remap[p] == unused)
            continue;
        b->parts[n] = b->parts[p];
        b->remap[p] = (uint32_t)n++;
    }
    for (uint32_t i = 0; i < b->count; i++)
        b->idx[i].part = b->remap[b->idx[i].part];
    b->n_parts = n;
    b->last_part = 0;
}

/* Seals the first n pending lines, or the first half of them, and so on, until what is
 * sealed fits max_sent or is one line. Each try compresses anew: what does not fit is
 * freed, so a seal costs at most ~2x the compression of what it keeps. */
static void seal(struct cl_batch *b, uint32_t n, struct cl_batch_sealed *s)
{
    compress_lines(b, n, s);
    while (b->max_sent && n > 1 && cl_msg_sent_size(s->gz_len) > b->max_sent) {
        free(s->gz);
        n /= 2;
        compress_lines(b, n, s);
    }
    drop_lines(b, n);
    compact_parts(b);
}

/* Appends the line that ends at the buffer's end to the index. */
static void index_line(struct cl_batch *b, int64_t ts_ms, uint32_t part, int level)
{
    if (b->count == b->idx_cap) {
        b->idx_cap = b->idx_cap ? 2 * b->idx_cap : 256;
        b->idx = cl_realloc(b->idx, b->idx_cap * sizeof *b->idx);
    }
    b->idx[b->count++] = (struct cl_batch_line){b->lines.len, ts_ms, part, (uint8_t)level};
}

int cl_batch_add(struct cl_batch *b, size_t mark, int64_t ts_ms, struct cl_batch_sealed *sealed)
{
    int did = 0;
    if (b->lines.len > b->max_raw && b->count > 0) {
        (void)mark; /* == the end of the last indexed line */
        seal(b, b->count, sealed);
        did = 1;
    }
    index_line(b, ts_ms, 0, 0);
    return did;
}

static int part_eq(const struct cl_batch_part *p, const struct cl_batch_part *q)
{
    return p->hour == q->hour && p->service_len == q->service_len &&
           memcmp(p->service, q->service, p->service_len) == 0;
}

/* Index of the partition in the pending set, or n_parts if it is not there. Lines of
 * one partition mostly come together, so the previous line's partition is tried first;
 * the set holds at most max_parts entries (a small constant). */
static size_t part_find(const struct cl_batch *b, const struct cl_batch_part *key)
{
    if (b->last_part < b->n_parts && part_eq(&b->parts[b->last_part], key))
        return b->last_part;
    for (size_t i = 0; i < b->n_parts; i++)
        if (part_eq(&b->parts[i], key))
            return i;
    return b->n_parts;
}

int cl_batch_add_record(struct cl_batch *b, size_t mark, int64_t ts_ms, int level,
                        struct cl_slice service, struct cl_batch_sealed *sealed)
{
    if (b->max_parts == 0)
        return cl_batch_add(b, mark, ts_ms, sealed);
    if (!b->adding) { /* copied: service points into the line, which a seal moves */
        b->add_key.hour = ts_ms / 3600000 - (ts_ms % 3600000 < 0);
        b->add_key.service_len = CL_MIN(service.len, sizeof b->add_key.service);
        memcpy(b->add_key.service, service.ptr, b->add_key.service_len);
        b->add_ts_ms = ts_ms;
        b->add_level = level;
        b->adding = 1;
    }
    size_t i = part_find(b, &b->add_key);
    int parts_full = i == b->n_parts && b->n_parts == b->max_parts;
    if ((parts_full || b->lines.len > b->max_raw) && b->count > 0) {
        seal(b, b->count, sealed);
        return 1;
    }
    if (i == b->n_parts)
        b->parts[b->n_parts++] = b->add_key;
    b->last_part = i;
    index_line(b, b->add_ts_ms, (uint32_t)i, b->add_level);
    b->adding = 0;
    return 0;
}

int cl_batch_flush(struct cl_batch *b, struct cl_batch_sealed *sealed)
{
    if (b->count == 0) {
        cl_buf_reset(&b->lines);
        return 0;
    }
    seal(b, b->count, sealed);
    return 1;
}
