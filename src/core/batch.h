/* batch.h - packs normalized NDJSON lines into gzip batches of bounded size.
 *
 * Usage per line: mark = cl_batch_lines(b)->len; append one line to cl_batch_lines(b)
 * (e.g. with cl_record_normalize); then cl_batch_add(b, mark, ts, &sealed). When the
 * new line would push the pending lines past max_raw, the lines before it are sealed
 * first (gzip), so every batch holds at most max_raw raw bytes unless one line alone is
 * larger. A batch is also bounded as sent: base64 of its gzip plus CL_MSG_ATTR_ROOM (message.h)
 * must fit max_sent. Compression is what decides that (high-entropy lines barely shrink,
 * and base64 adds a third), so a sealed batch over max_sent is undone and its first half
 * of lines sealed instead, halving until it fits or holds one line; the rest stays
 * pending. So one call may seal only part of what is pending: call cl_batch_flush until
 * it returns 0.
 *
 * cl_batch_add_record also bounds the distinct partitions (service, UTC hour) of a batch:
 * when a line would open partition number max_parts + 1, the lines before it are sealed
 * first, so no queue message fans out into more than max_parts objects. Since a seal may
 * be partial, the line may still not fit after one seal: call cl_batch_add_record with
 * the same line until it returns 0 (each 1 hands over one sealed batch).
 *
 * With partitions tracked (max_parts > 0) a batch is sealed as one gzip member per
 * partition, in order of first appearance, each holding that partition's lines in their
 * order, after a member index (message.h, "MEMBER INDEX"): still one valid gzip stream
 * (RFC 1952 allows concatenated members), and the processor appends each member to its
 * partition's object without inflating or recompressing it.
 */
#ifndef CL_BATCH_H
#define CL_BATCH_H

#include "buf.h"
#include "common.h"

#include <stddef.h>
#include <stdint.h>

/* One pending line: where it ends in lines, its timestamp, its partition (an index
 * into parts; 0 when partitions are not bounded) and its level (enum cl_level). */
struct cl_batch_line {
    size_t end;
    int64_t ts_ms;
    uint32_t part;
    uint8_t level;
};

/* One partition of the pending lines: service and hour since the epoch. */
struct cl_batch_part {
    int64_t hour;
    size_t service_len;
    char service[64];
};

struct cl_batch {
    struct cl_buf lines;       /* pending, uncompressed lines */
    struct cl_batch_line *idx; /* owned; one per pending line */
    size_t idx_cap;
    size_t max_raw;
    size_t max_sent;             /* base64(gzip) + CL_MSG_ATTR_ROOM bound; 0 = none */
    int level;                   /* gzip level */
    uint32_t count;              /* pending lines */
    size_t max_parts;            /* distinct partitions per batch; 0: no limit */
    struct cl_batch_part *parts; /* of the pending lines (max_parts entries, owned) */
    uint32_t *remap;             /* scratch for compacting parts after a seal (owned) */
    size_t n_parts, last_part;   /* last_part: where the previous line went */
    int adding;                  /* a cl_batch_add_record line waits for room */
    struct cl_batch_part add_key;
    int64_t add_ts_ms;
    int add_level;
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

/* Accounts the line appended since `mark`. Returns 1 if lines before it were sealed into
 * *sealed (caller owns sealed->gz), else 0. */
int cl_batch_add(struct cl_batch *b, size_t mark, int64_t ts_ms, struct cl_batch_sealed *sealed);

/* Sets the distinct partitions allowed per batch (0: no limit); call before adding. */
void cl_batch_set_max_parts(struct cl_batch *b, size_t max_parts);

/* cl_batch_add for a line of `service` (at most 64 bytes are compared) and level (enum
 * cl_level, counted in the member index) that also keeps the batch within max_parts
 * partitions. Returns 1 if lines before it were sealed into *sealed (caller owns
 * sealed->gz): then call again with the same arguments, until 0 says the line is
 * pending. */
int cl_batch_add_record(struct cl_batch *b, size_t mark, int64_t ts_ms, int level,
                        struct cl_slice service, struct cl_batch_sealed *sealed);

/* Seals pending lines (all of them, or the first part that fits max_sent). Returns 1 if
 * *sealed was filled, 0 if nothing was pending. */
int cl_batch_flush(struct cl_batch *b, struct cl_batch_sealed *sealed);

#endif
