/* miner.h - online log pattern mining for one service (Drain family): messages are
 * masked (mask.h), routed by token count and first tokens to a small set of clusters,
 * and joined to the most similar one, whose template generalizes with "<*>". */
#ifndef CL_MINER_H
#define CL_MINER_H

#include <stddef.h>
#include <stdint.h>

/* Defaults: one configuration for every kind of log (docs/analytics.md). */
#define CL_MINER_DEFAULT_MAX_CLUSTERS 1024
#define CL_MINER_DEFAULT_SIMILARITY 0.7

/* Entries of the shape cache (miner.c) at most: 24 bytes each, two per cluster up to this. */
#define CL_MINER_SHAPE_CACHE 1024

struct cl_miner_config {
    size_t max_clusters; /* cap; the least recently used cluster is evicted beyond it */
    double similarity;   /* join a cluster when this share of tokens agree (0..1] */
};

/* The outcome of one message. cluster/generation name the cluster until it is evicted. */
struct cl_pattern_match {
    uint64_t id;      /* hash of the template as it is after this message */
    uint64_t prev_id; /* the template's id before this message generalized it, else 0 */
    uint32_t cluster; /* slot of the cluster */
    uint32_t generation;
    int is_new; /* this message created the cluster */
};

/* A miner is not thread-safe: one thread at a time (it keeps one scratch message). */
struct cl_miner;

/* Returns a new miner (owned by the caller: cl_miner_free). cfg NULL = defaults. */
struct cl_miner *cl_miner_new(const struct cl_miner_config *cfg);
void cl_miner_free(struct cl_miner *m);

/* Turns the shape cache (on in a new miner) off or on; it never changes a result
 * (unit test test_analytics_shape_cache.c compares every record's match with it on and off). */
void cl_miner_set_shape_cache(struct cl_miner *m, int on);

/* Learns one message and reports its pattern in *out. A message whose shape key
 * (cl_mask_shape_key) the miner placed before, with nothing changed since among the
 * clusters it could join, goes to the same cluster without masking (the shape cache). */
void cl_miner_add(struct cl_miner *m, const char *msg, size_t len, struct cl_pattern_match *out);
/* As cl_miner_add, but with create 0 a message that matches no cluster creates none:
 * returns -1 and the miner is left exactly as it was (no eviction, no LRU move); else 0
 * (out as cl_miner_add's). The analytics' budget of new clusters per service and minute
 * (docs/analytics.md "Cost inline, seventh round"). */
int cl_miner_add_or_skip(struct cl_miner *m, const char *msg, size_t len, int create,
                         struct cl_pattern_match *out);

/* Finds the pattern of msg without learning; returns 0, or -1 when no cluster matches. */
int cl_miner_match(struct cl_miner *m, const char *msg, size_t len, struct cl_pattern_match *out);

/* A template position is a variable once this many clusters differ only there. */
#define CL_MINER_VARIABLE_VALUES 3
/* ... and the rest of the template keeps at least this many constant tokens (so that
 * "cupsd startup succeeded" and "klogd startup succeeded" stay apart). */
#define CL_MINER_VARIABLE_CONTEXT 3

/* Second pass: where CL_MINER_VARIABLE_VALUES or more clusters differ in one position
 * only (a user name, a process name), that position becomes "<*>" in each of them, so
 * they share one template and one id. Run it periodically (after the first pass in
 * `patterns learn`). Returns the number of clusters whose template changed. */
size_t cl_miner_consolidate(struct cl_miner *m);

/* Marks a live cluster as just used (the LRU order), as cl_miner_add does for a match. */
void cl_miner_touch(struct cl_miner *m, uint32_t cluster);

/* Whether (cluster, generation) still names a live cluster. */
int cl_miner_alive(const struct cl_miner *m, uint32_t cluster, uint32_t generation);

/* The current template of a live cluster (borrowed until the next add) and its id. */
const char *cl_miner_template(struct cl_miner *m, uint32_t cluster, size_t *len, uint64_t *id);

/* Live clusters, clusters evicted so far, and bytes held by the miner. */
size_t cl_miner_count(const struct cl_miner *m);
uint64_t cl_miner_evictions(const struct cl_miner *m);
uint64_t cl_miner_shape_hits(const struct cl_miner *m); /* messages placed by the cache */
/* messages cl_miner_add_or_skip skipped without masking (no cluster routes by their head) */
uint64_t cl_miner_head_skips(const struct cl_miner *m);
size_t cl_miner_memory(const struct cl_miner *m);

/* Formats a pattern id as 16 lower-case hex digits plus NUL. */
void cl_pattern_id_format(uint64_t id, char out[17]);

#endif
