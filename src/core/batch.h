/* batch.h - packs normalized NDJSON lines into gzip batches of bounded size.
 *
 * Usage per line: mark = cl_batch_lines(b)->len; append one line to cl_batch_lines(b)
 * (e.g. with cl_record_normalize); then cl_batch_add(b, mark, ts, &sealed). When the
 * new line would push the pending lines past max_raw, the lines before it are sealed
 * first (gzip), so every batch holds at most max_raw raw bytes unless one line alone is
 * larger. A batch is also bounded as sent: base64 of its gzip plus CL_BATCH_ATTR_ROOM
 * must fit max_sent. Compression is what decides that (high-entropy lines barely shrink,
 * and base64 adds a third), so a sealed batch over max_sent is undone and its first half
 * of lines sealed instead, halving until it fits or holds one line; the rest stays
 * pending. So one call may seal only part of what is pending: call cl_batch_flush until
 * it returns 0.
 */
#ifndef CL_BATCH_H
#define CL_BATCH_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* Room kept in max_sent for a message's attributes (SQS counts their names, types and
 * values against its message size; ours take under 200 bytes). */
#define CL_BATCH_ATTR_ROOM 256

/* One pending line: where it ends in lines, and its timestamp. */
struct cl_batch_line {
    size_t end;
    int64_t ts_ms;
};

struct cl_batch {
    struct cl_buf lines;       /* pending, uncompressed lines */
    struct cl_batch_line *idx; /* owned; one per pending line */
    size_t idx_cap;
    size_t max_raw;
    size_t max_sent; /* base64(gzip) + CL_BATCH_ATTR_ROOM bound; 0 = none */
    int level;       /* gzip level */
    uint32_t count;  /* pending lines */
};

/* A compressed batch. gz is heap memory owned by the receiver (free()). */
struct cl_batch_sealed {
    char *gz;
    size_t gz_len;
    uint32_t count;
    uint64_t raw_bytes;
    int64_t min_ts_ms, max_ts_ms;
};

void cl_batch_init(struct cl_batch *b, size_t max_raw, size_t max_sent, int level);
/* Drops pending lines and sets new limits, keeping the memory for reuse. */
void cl_batch_reset(struct cl_batch *b, size_t max_raw, size_t max_sent, int level);
void cl_batch_free(struct cl_batch *b);

/* The buffer the next line is appended to. */
static inline struct cl_buf *cl_batch_lines(struct cl_batch *b)
{
    return &b->lines;
}

/* Size of a sealed batch as sent: its gzip in base64 plus CL_BATCH_ATTR_ROOM. */
size_t cl_batch_sent_size(size_t gz_len);

/* Accounts the line appended since `mark`. Returns 1 if lines before it were sealed into
 * *sealed (caller owns sealed->gz), else 0. */
int cl_batch_add(struct cl_batch *b, size_t mark, int64_t ts_ms, struct cl_batch_sealed *sealed);

/* Seals pending lines (all of them, or the first part that fits max_sent). Returns 1 if
 * *sealed was filled, 0 if nothing was pending. */
int cl_batch_flush(struct cl_batch *b, struct cl_batch_sealed *sealed);

#endif
