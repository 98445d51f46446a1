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
}

void cl_batch_reset(struct cl_batch *b, size_t max_raw, int level)
{
    cl_buf_reset(&b->lines);
    b->max_raw = max_raw;
    b->level = level;
    b->count = 0;
    b->min_ts_ms = INT64_MAX;
    b->max_ts_ms = INT64_MIN;
}

void cl_batch_free(struct cl_batch *b)
{
    cl_buf_free(&b->lines);
    b->count = 0;
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
}

int cl_batch_add(struct cl_batch *b, size_t mark, int64_t ts_ms, struct cl_batch_sealed *sealed)
{
    int did = 0;
    if (b->lines.len > b->max_raw && b->count > 0) {
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

int cl_batch_flush(struct cl_batch *b, struct cl_batch_sealed *sealed)
{
    if (b->count == 0)
        return 0;
    seal(b, b->lines.len, sealed);
    cl_buf_reset(&b->lines);
    return 1;
}
