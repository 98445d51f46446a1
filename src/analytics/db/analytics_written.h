/* analytics_written.h - what the writer last wrote of each pattern row (first seen and the
 * minute of last seen), so a drain's upsert of a pattern whose row would not change is
 * skipped (docs/analytics.md "Cost inline: the catalog writer"). A cache: a pattern not
 * found is written, so a miss costs an upsert, never a wrong row. */
#ifndef CL_ANALYTICS_WRITTEN_H
#define CL_ANALYTICS_WRITTEN_H

#include <stdint.h>

#define CL_ANALYTICS_WRITTEN_SLOTS 65536 /* 24 bytes each: 1.5 MiB per writer */
/* A Bloom filter of every pattern row the catalog may hold (loaded at open, added to at
 * each write, never removed from): 2^23 bits (1 MiB), 4 probes; about 2% false positives
 * at 1 M patterns. "Not in it" is certain, so a count of such a pattern needs no lookup. */
#define CL_ANALYTICS_ROWS_BITS (1u << 23)

struct cl_an_written;

/* The key of (service, id) in the cache (also analytics_rare.c's set): never 0. */
uint64_t cl_an_written_key(const char *service, uint64_t id);
/* The same key in two steps, for a run of one service's rows (the name hashed once):
 * cl_an_written_key(s, id) == cl_an_written_key_h(cl_an_service_hash(s), id). */
uint64_t cl_an_service_hash(const char *service);
uint64_t cl_an_written_key_h(uint64_t service_hash, uint64_t id);
/* cl_an_written_has and cl_an_rows_may_have by key. */
int cl_an_written_has_key(const struct cl_an_written *w, uint64_t key);
int cl_an_rows_may_have_key(const struct cl_an_written *w, uint64_t key);
/* Whether the cache holds a row of (service, id) written by this writer. */
int cl_an_written_has(const struct cl_an_written *w, const char *service, uint64_t id);

/* Adds (service, id) to the filter of pattern rows. */
void cl_an_rows_add(struct cl_an_written *w, const char *service, uint64_t id);
/* 0: (service, id) certainly has no row; 1: it may have one. */
int cl_an_rows_may_have(const struct cl_an_written *w, const char *service, uint64_t id);

/* Returns an empty cache (owned by the caller: cl_an_written_free). */
struct cl_an_written *cl_an_written_new(void);
void cl_an_written_free(struct cl_an_written *w);

/* Whether the row of (service, id) as last written already holds first_ms and the minute
 * of last_ms (an upsert would change nothing the readers show). */
int cl_an_written_covers(const struct cl_an_written *w, const char *service, uint64_t id,
                         int64_t first_ms, int64_t last_ms);
/* Remembers a row written (clear the cache when its transaction rolls back). */
void cl_an_written_note(struct cl_an_written *w, const char *service, uint64_t id, int64_t first_ms,
                        int64_t last_ms);
/* Forgets (service, id): a rename changed or deleted its row. */
void cl_an_written_forget(struct cl_an_written *w, const char *service, uint64_t id);
/* Forgets everything (a transaction rolled back). */
void cl_an_written_clear(struct cl_an_written *w);

#endif
