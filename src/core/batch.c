/* batch.c - packs normalized NDJSON lines into gzip batches of bounded raw size. */
#include "batch.h"

#include "codec.h"
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_batch_init(struct cl_batch *b, size_t max_raw, int level)
{
    /* Unbounded buffer: its size is bounded by max_raw plus one line, which the
     * caller's record limit bounds. */
    cl_buf_init(&b->lines, SIZE_MAX / 2);
    b->max_raw = max_raw;
    b->level = level;
    b->count = 0;
    b->min_ts_ms = INT64_MAX;
    b->max_ts_ms = INT64_MIN;
    b->max_parts = 0;
    b->parts = NULL;
    b->n_parts = 0;
    b->last_part = 0;
}

void cl_batch_reset(struct cl_batch *b, size_t max_raw, int level)
{
    cl_buf_reset(&b->lines);
    b->max_raw = max_raw;
    b->level = level;
    b->count = 0;
    b->min_ts_ms = INT64_MAX;
    b->max_ts_ms = INT64_MIN;
    b->n_parts = 0;
}

void cl_batch_free(struct cl_batch *b)
{
    cl_buf_free(&b->lines);
    free(b->parts);
    b->parts = NULL;
    b->n_parts = 0;
    b->max_parts = 0;
    b->count = 0;
}

void cl_batch_set_max_parts(struct cl_batch *b, size_t max_parts)
{
    if (max_parts != b->max_parts) {
        free(b->parts);
        b->parts = max_parts ? cl_calloc(max_parts, sizeof *b->parts) : NULL;
        b->max_parts = max_parts;
    }
    b->n_parts = 0;
}

/* Compresses lines[0..n) into *s with the current counters. */
static void seal(struct cl_batch *b, size_t n, struct cl_batch_sealed *s)
{
    struct cl_buf gz;
    cl_buf_init(&gz, SIZE_MAX / 2);
    /* The output buffer is unbounded, so failing here means the compressor itself is
     * broken; like an allocation failure (common.h), that aborts. */
    if (cl_gzip_compress(b->lines.data, n, b->level, &gz) != CL_OK) {
        fprintf(stderr, "cloudlog: gzip compression of %zu bytes failed\n", n);
        abort();
    }
    s->gz = cl_buf_take(&gz, &s->gz_len);
    s->gz = cl_realloc(s->gz, s->gz_len); /* give back the worst-case reservation */
    s->count = b->count;
    s->raw_bytes = n;
    s->min_ts_ms = b->min_ts_ms;
    s->max_ts_ms = b->max_ts_ms;
    b->count = 0;
    b->min_ts_ms = INT64_MAX;
    b->max_ts_ms = INT64_MIN;
    b->n_parts = 0;
}

/* Seals the lines before mark when the line at mark must start a new batch. */
static int add_line(struct cl_batch *b, size_t mark, int64_t ts_ms, int new_batch,
                    struct cl_batch_sealed *sealed)
{
    int did = 0;
    if ((new_batch || b->lines.len > b->max_raw) && b->count > 0) {
        seal(b, mark, sealed);
        size_t tail = b->lines.len - mark;
        memmove(b->lines.data, b->lines.data + mark, tail);
        cl_buf_truncate(&b->lines, tail);
        did = 1;
    }
    b->count++;
    b->min_ts_ms = CL_MIN(b->min_ts_ms, ts_ms);
    b->max_ts_ms = CL_MAX(b->max_ts_ms, ts_ms);
    return did;
}

int cl_batch_add(struct cl_batch *b, size_t mark, int64_t ts_ms, struct cl_batch_sealed *sealed)
{
    return add_line(b, mark, ts_ms, 0, sealed);
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

int cl_batch_add_record(struct cl_batch *b, size_t mark, int64_t ts_ms, struct cl_slice service,
                        struct cl_batch_sealed *sealed)
{
    if (b->max_parts == 0)
        return add_line(b, mark, ts_ms, 0, sealed);
    /* Copied first: service may point into the line, which sealing moves. */
    struct cl_batch_part key = {.hour = ts_ms / 3600000 - (ts_ms % 3600000 < 0)};
    key.service_len = CL_MIN(service.len, sizeof key.service);
    memcpy(key.service, service.ptr, key.service_len);
    size_t i = part_find(b, &key);
    int did = add_line(b, mark, ts_ms, i == b->n_parts && b->n_parts == b->max_parts, sealed);
    if (did) /* the sealed lines took their partitions with them */
        i = b->n_parts = 0;
    if (i == b->n_parts)
        b->parts[b->n_parts++] = key;
    b->last_part = i;
    return did;
}

int cl_batch_flush(struct cl_batch *b, struct cl_batch_sealed *sealed)
{
    if (b->count == 0)
        return 0;
    seal(b, b->lines.len, sealed);
    cl_buf_reset(&b->lines);
    return 1;
}
