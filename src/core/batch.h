/* batch.h - packs normalized NDJSON lines into gzip batches of bounded raw size.
 *
 * Usage per line: mark = cl_batch_lines(b)->len; append one line to cl_batch_lines(b)
 * (e.g. with cl_record_normalize); then cl_batch_add(b, mark, ts, &sealed). When the
 * new line would push the pending lines past max_raw, the lines before it are sealed
 * first (gzip), so every batch holds at most max_raw raw bytes unless one line alone is
 * larger. cl_batch_flush seals what is left.
 */
#ifndef CL_BATCH_H
#define CL_BATCH_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

struct cl_batch {
    struct cl_buf lines; /* pending, uncompressed lines */
    size_t max_raw;
    int level; /* gzip level */
    uint32_t count;
    int64_t min_ts_ms, max_ts_ms;
};

/* A compressed batch. gz is heap memory owned by the receiver (free()). */
struct cl_batch_sealed {
    char *gz;
    size_t gz_len;
    uint32_t count;
    uint64_t raw_bytes;
    int64_t min_ts_ms, max_ts_ms;
};

void cl_batch_init(struct cl_batch *b, size_t max_raw, int level);
/* Drops pending lines and sets new limits, keeping the memory for reuse. */
void cl_batch_reset(struct cl_batch *b, size_t max_raw, int level);
void cl_batch_free(struct cl_batch *b);

/* The buffer the next line is appended to. */
static inline struct cl_buf *cl_batch_lines(struct cl_batch *b)
{
    return &b->lines;
}

/* Accounts the line appended since `mark`. Returns 1 if the lines before it were sealed
 * into *sealed (caller owns sealed->gz), else 0. */
int cl_batch_add(struct cl_batch *b, size_t mark, int64_t ts_ms, struct cl_batch_sealed *sealed);

/* Seals all pending lines. Returns 1 if *sealed was filled, 0 if nothing was pending. */
int cl_batch_flush(struct cl_batch *b, struct cl_batch_sealed *sealed);

#endif
