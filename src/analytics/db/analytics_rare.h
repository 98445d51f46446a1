/* analytics_rare.h - the "<rare>" pattern of each service in the catalog: counts of
 * patterns that have no row in the catalog and get none in their batch (seen, then evicted
 * from their service's miner by its LRU cap before the next write) are written under it,
 * one row per service, minute and level, instead of one row per pattern that no reader
 * could show (readers join counts to pattern rows). docs/analytics.md "The catalog". */
#ifndef CL_ANALYTICS_RARE_H
#define CL_ANALYTICS_RARE_H

#include "analytics.h"

#include <stddef.h>
#include <stdint.h>

/* CL_ANALYTICS_RARE_TEMPLATE: analytics.h (the budget's records count under it too). */

/* The rare pattern's id: the FNV-1a hash of its template, as every pattern id. */
uint64_t cl_an_rare_id(void);

/* A batch's counts split for the writer (owned by the caller: cl_an_rare_free). */
struct cl_an_rare {
    uint64_t *kept; /* hash set of (service, id) that have or get a row: key_of, 0 empty */
    size_t kept_cap;
    struct cl_pattern_count *rows; /* the folded counts, one per (service, minute, level) */
    size_t n_rows, cap_rows;
    int32_t *index; /* open addressing over rows, -1 empty */
    size_t index_cap;
    struct cl_pattern_info *infos; /* the rare pattern row of each service folded into */
    size_t n_infos;
};

/* 1 when (service, id) has a pattern row in the catalog (before the batch), 0 when not, -1
 * on an error. */
typedef int (*cl_an_has_row_fn)(void *ctx, const char *service, uint64_t id);

/* Starts a split of b (r is freed by cl_an_rare_free even on an error): kept are the
 * (service, id) of b's pattern rows, and those of b's renames whose counts end under an id
 * with a row once b is applied (has_row is asked, only when b has renames, for the rows
 * before b of the ids they name). Returns 0, or -1 when has_row failed. */
int cl_an_rare_init(struct cl_an_rare *r, const struct cl_analytics_batch *b,
                    cl_an_has_row_fn has_row, void *ctx);
/* Whether (service, id) has a row coming in this batch; _key: by cl_an_written_key. */
int cl_an_rare_kept(const struct cl_an_rare *r, const char *service, uint64_t id);
int cl_an_rare_kept_key(const struct cl_an_rare *r, uint64_t key);
/* Adds c's count to its service's rare row of its minute and level. */
void cl_an_rare_fold(struct cl_an_rare *r, const struct cl_pattern_count *c);
/* Builds r->infos: per service folded into, its rare row (first and last seen: the
 * minutes folded). */
void cl_an_rare_finish(struct cl_an_rare *r);
void cl_an_rare_free(struct cl_an_rare *r);

#endif
