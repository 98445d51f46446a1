/* map_buf.h - a growing byte buffer in an anonymous mapping of its own, for the processor's
 * partition buffers (part_acc.c).
 *
 * Why not malloc: those buffers grow to megabytes and are freed at every flush. With
 * glibc's default (dynamic) mmap threshold they end up in the heap, whose freed space stays
 * resident (a 5 M-record drain peaked at 104 MiB RSS); fixing the threshold for the whole
 * process at 128 KiB (what the processors did before) made every ingest buffer above it a
 * fresh mapping too, page-faulted in and unmapped per request: +0.9 us of CPU per ingested
 * record, most of what end to end lost against ingest alone (docs/performance.md, "The
 * processor's memory apart from ingest's"). Mapping only these buffers keeps both.
 *
 * Front room: every mapping starts with CL_MAP_BUF_FRONT bytes before the data, never
 * written until cl_map_buf_prepend puts bytes there (the object's index member, in front
 * of its body without moving it). Untouched pages cost no RSS, only address space.
 *
 * The pool: a buffer freed into a pool (struct cl_map_pool) leaves its mapping there with
 * its pages resident, and the next buffer of the pool starts in it, so its writes do not
 * fault pages in again (nor unmap, nor regrow). The resident bytes a pool
 * holds beyond what its buffers have written (the slack: its idle mappings, and the pages
 * of a lent mapping not yet written again) are bounded by the caller: a release gets the
 * room left (cl_map_buf_release), and the pages over it are given back (MADV_DONTNEED) or
 * the mapping unmapped. A pool belongs to one thread (one engine's accumulator).
 *
 * The buffer reads as a struct cl_buf (data, len, cap; .buf for a cl_buf pointer), but it
 * must be grown and freed only by the functions here: cl_buf_* mutators would realloc or
 * free a mapping. */
#ifndef CL_MAP_BUF_H
#define CL_MAP_BUF_H

#include "buf.h"

#include <stddef.h>

/* Room before the data: an object's index member is at most a 64 KiB extra field plus
 * its gzip framing (object_index.h). A multiple of the page size. */
#define CL_MAP_BUF_FRONT (68u * 1024)

/* An idle mapping of a pool: [base, base + map_len), resident in [lo, hi). */
struct cl_map_idle {
    char *base;
    size_t map_len, lo, hi;
};

#define CL_MAP_POOL_SLOTS 64

struct cl_map_pool {
    struct cl_map_idle idle[CL_MAP_POOL_SLOTS]; /* a stack: the last released is lent first */
    size_t n;
    size_t kept;      /* resident bytes of the idle mappings (sum of hi - lo) */
    size_t keep_each; /* resident bytes one idle mapping keeps at most (0: no bound) */
    size_t lent_live; /* buffers started in an idle mapping and not trimmed nor released */
    /* counters for tests and measurement */
    size_t lent, released, trimmed, unmapped;
};

struct cl_map_buf {
    union {
        struct cl_buf buf; /* the bytes as a cl_buf, for readers */
        struct {           /* the same fields by name: data, len, cap as any cl_buf */
            char *data;
            size_t len, cap, max;
            int failed;
        };
    };
    char *base;               /* the mapping (NULL: none yet); data = base + off */
    size_t map_len;           /* off + cap */
    size_t off;               /* front room left before data */
    size_t res_lo, res_hi;    /* resident extent when lent by a pool (offsets from base) */
    struct cl_map_pool *pool; /* borrowed; NULL: mappings are unmapped when freed */
};

void cl_map_pool_init(struct cl_map_pool *p);
/* Unmaps every idle mapping (lent ones stay their buffers'). */
void cl_map_pool_free(struct cl_map_pool *p);

/* An empty mapped buffer (no mapping until the first append), lent from pool's idle
 * mappings when it has any (pool may be NULL). */
void cl_map_buf_init(struct cl_map_buf *b, struct cl_map_pool *pool);
/* Appends n bytes, growing the mapping (mremap, no copy) as needed; keeps a NUL after
 * the data like cl_buf. Aborts when the kernel refuses memory, as cl_malloc does. */
void cl_map_buf_append(struct cl_map_buf *b, const void *p, size_t n);
/* Puts n bytes in front of the data: into the front room when they fit (nothing moves),
 * else the data is moved up. */
void cl_map_buf_prepend(struct cl_map_buf *b, const void *p, size_t n);
/* Resident bytes of b's mapping that its data does not hold (pages of an earlier use of
 * a lent mapping, not yet written again). */
size_t cl_map_buf_slack(const struct cl_map_buf *b);
/* Gives back the pages of b's slack (MADV_DONTNEED); returns the slack dropped. */
size_t cl_map_buf_trim(struct cl_map_buf *b);
/* Unmaps the pool's oldest idle mapping; returns its resident bytes (0: none idle). */
size_t cl_map_pool_drop(struct cl_map_pool *p);
/* Unmaps the buffer (or, with a pool, leaves its mapping idle there keeping at most room
 * resident bytes) and leaves it empty. */
void cl_map_buf_release(struct cl_map_buf *b, size_t room);
/* cl_map_buf_release with no room: always unmapped. */
void cl_map_buf_free(struct cl_map_buf *b);

#endif
