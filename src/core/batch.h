/* batch.h - packs normalized NDJSON lines into gzip batches of bounded raw size.
 *
 * Usage per line: mark = cl_batch_lines(b)->len; append one line to cl_batch_lines(b)
 * (e.g. with cl_record_normalize); then cl_batch_add(b, mark, ts, &sealed). When the
 * new line would push the pending lines past max_raw, the lines before it are sealed
 * first (gzip), so every batch holds at most max_raw raw bytes unless one line alone is
 * larger. cl_batch_flush seals what is left.
 *
 * cl_batch_add_record also bounds the distinct partitions (service, UTC hour) of a batch:
 * when a line would open one partition more than max_parts, the lines before it are
 * sealed first, so no queue message fans out into more than max_parts objects.
 */
#ifndef CL_BATCH_H
#define CL_BATCH_H

#include "buf.h"
#include "common.h"

#include <stddef.h>
#include <stdint.h>

/* One partition of the pending lines: service and hour since the epoch. */
struct cl_batch_part {
    int64_t hour;
    size_t service_len;
    char service[64];
};

struct cl_batch {
    struct cl_buf lines; /* pending, uncompressed lines */
    size_t max_raw;
    int level; /* gzip level */
    uint32_t count;
    int64_t min_ts_ms, max_ts_ms;
    size_t max_parts;            /* distinct partitions per batch; 0: no limit */
    struct cl_batch_part *parts; /* of the pending lines (max_parts entries, owned) */
    size_t n_parts, last_part;   /* last_part: where the previous line went */
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

/* Sets the distinct partitions allowed per batch (0: no limit); call before adding. */
void cl_batch_set_max_parts(struct cl_batch *b, size_t max_parts);

/* cl_batch_add for a line of `service` (at most 64 bytes): also seals the lines before
 * it when the line would open partition number max_parts + 1. */
int cl_batch_add_record(struct cl_batch *b, size_t mark, int64_t ts_ms, struct cl_slice service,
                        struct cl_batch_sealed *sealed);

/* Seals all pending lines. Returns 1 if *sealed was filled, 0 if nothing was pending. */
int cl_batch_flush(struct cl_batch *b, struct cl_batch_sealed *sealed);

#endif
