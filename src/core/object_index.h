/* object_index.h - the member index of a stored object: which compressed bytes hold
 * which records, so a reader inflates only what a query needs.
 *
 * A stored object is a concatenation of gzip members (docs/pipeline.md, "Objects are
 * multi-member gzip files"). The processor knows each member's compressed length, raw
 * bytes, records, time span and level counts without inflating it (the queue message's
 * member index, message.h), and writes them into the object as a first gzip member with
 * no content: a gzip header with FLG.FEXTRA and one extra subfield 'C','O' (RFC 1952
 * 2.3.1.1) holding the index, an empty final deflate block and a trailer of CRC-32 0 and
 * size 0. Every gzip reader skips the extra field and the empty member, so the object is
 * still plain gzip NDJSON (zcat, gzip -t, Python's gzip, DuckDB read it unchanged).
 *
 * The index lists segments: runs of one or more whole consecutive data members, in
 * order, tiling the rest of the object. Each has its compressed length and the CRC-32 of
 * those compressed bytes, its raw bytes and records, and, when known, its min/max
 * timestamp and records per level; a segment whose span is unknown is always read. When the entries
 * do not fit the extra field (64 KiB), neighbouring segments are merged until they do. Payload
 * (integers LEB128 varints unless said otherwise): u8 version (1), u8 flags (0), n, n x { gz_len,
 * u32 LE CRC-32 of the segment's bytes, raw_len, records, u8 known (0/1), if known: zigzag
 * min_ts_ms, max_ts_ms - min_ts_ms, CL_LEVEL_COUNT x records }, u32 LE CRC-32 of the payload before
 * it.
 */
#ifndef CL_OBJECT_INDEX_H
#define CL_OBJECT_INDEX_H

#include "buf.h"
#include "record.h"

#include <stddef.h>
#include <stdint.h>

#define CL_OBJ_INDEX_VERSION 1

/* One segment: whole gzip members [gz_off, gz_off + gz_len) of the object. */
struct cl_obj_seg {
    uint64_t gz_off; /* set by cl_obj_index_read */
    uint64_t gz_len, raw_len, records;
    uint32_t crc; /* CRC-32 of the compressed bytes (set by prepend and read) */
    int known;    /* 1: min/max and levels are exact; 0: unknown, the segment is always read */
    int64_t min_ts_ms, max_ts_ms;
    uint64_t levels[CL_LEVEL_COUNT];
};

/* The index of an object being built: its data members in the order they are appended. */
struct cl_obj_index {
    struct cl_obj_seg *v; /* owned */
    size_t n, cap;
    int broken; /* a record was counted outside any member: no index is written */
};

void cl_obj_index_init(struct cl_obj_index *x);
void cl_obj_index_free(struct cl_obj_index *x);

/* A gzip member of gz_len bytes follows the previous ones. Returns its segment (owned by
 * x, valid until the next call), empty and known, for the cl_obj_seg_* counts. */
struct cl_obj_seg *cl_obj_index_member(struct cl_obj_index *x, uint64_t gz_len);
/* The last member's segment, or NULL (and x broken) when there is none. */
struct cl_obj_seg *cl_obj_index_last(struct cl_obj_index *x);
/* An empty, known segment (for stats gathered before their member exists). */
void cl_obj_seg_init(struct cl_obj_seg *s);
/* Counts one record of raw_len bytes (with its '\n') into s. */
void cl_obj_seg_line(struct cl_obj_seg *s, uint64_t raw_len, int64_t ts_ms, enum cl_level level);
/* Counts records of a span and level counts into s (levels may be NULL: s becomes
 * unknown). */
void cl_obj_seg_add(struct cl_obj_seg *s, uint64_t raw_len, uint64_t records, int64_t min_ts_ms,
                    int64_t max_ts_ms, const uint32_t *levels);

/* Puts the index of x's members in front of body, whose bytes must be exactly those
 * members: body becomes index member + body. Returns CL_OK, or CL_ERR_INVAL (x has no
 * members, is broken or does not tile body; body unchanged: the object goes without an
 * index and is read whole). */
int cl_obj_index_prepend(const struct cl_obj_index *x, struct cl_buf *body);
/* The same without touching the body: the index member into head and the empty members
 * the body must be followed by (DuckDB's reader, object_index.c) into pad, both
 * initialized here (caller frees). The object is head + body[0..len) + pad. Returns
 * CL_OK, or CL_ERR_INVAL as cl_obj_index_prepend (head and pad then empty). */
int cl_obj_index_frame(const struct cl_obj_index *x, const char *body, size_t len,
                       struct cl_buf *head, struct cl_buf *pad);

/* What cl_obj_index_read found. */
enum cl_obj_index_state {
    CL_OBJ_INDEX_NONE = 0,    /* no index (an older object): read it whole */
    CL_OBJ_INDEX_OK = 1,      /* *segs holds the segments */
    CL_OBJ_INDEX_DAMAGED = -1 /* an index that does not check out: read the object whole */
};

/* Reads the index at the start of obj[0..len). With CL_OBJ_INDEX_OK *segs (caller frees)
 * gets *n segments tiling obj after the index (*data_off = where they start), each
 * starting with a gzip header; check_data also compares each segment's CRC-32. Any
 * other state leaves *segs NULL and *n 0. Unknown versions are CL_OBJ_INDEX_NONE. */
enum cl_obj_index_state cl_obj_index_read(const void *obj, size_t len, int check_data,
                                          struct cl_obj_seg **segs, size_t *n, size_t *data_off);

/* Checks obj's index against its members (cloudlog verify): each segment inflated (up to
 * max_raw bytes) holds the records, raw bytes, time span and level counts its entry says,
 * and every segment's CRC matches. Returns 0 when it does or obj has no index (older objects),
 * -1 with the first difference in err. */
int cl_obj_index_check(const void *obj, size_t len, size_t max_raw, char *err, size_t err_len);

/* 1 if a reader of [from_ms, to_ms) and level_mask (0: every level) must read s. */
int cl_obj_seg_wanted(const struct cl_obj_seg *s, int64_t from_ms, int64_t to_ms,
                      unsigned level_mask);

#endif
