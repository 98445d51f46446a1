/* query.h - finding records in the store: filters, pruning, parallel scan, ordering.
 *
 * Used by `cloudlog query`, `cloudlog tail`, `GET /v1/query` and (later) over S3. A
 * query names a time range and filters; the engine lists candidate objects by their
 * partition keys (service=S/dt=D/hour=H), prunes them further with the catalog's
 * per-object min/max timestamp and level counts when a catalog is available, then
 * decompresses and scans the survivors in parallel, emitting matches in the requested
 * order and stopping as soon as the limit is satisfied.
 */
#ifndef CL_QUERY_H
#define CL_QUERY_H

#include "partition.h"
#include "catalog.h"
#include "queue.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

enum cl_query_order { CL_ORDER_NEWEST = 0, CL_ORDER_OLDEST };

struct cl_query_where {
    const char *field; /* top-level field name */
    const char *value; /* matches a string field's decoded value, or the JSON text of any
                          other value (42, true, null) */
};

struct cl_query {
    int64_t from_ms;             /* inclusive */
    int64_t to_ms;               /* exclusive */
    const char *const *services; /* fnmatch(3) globs; n_services == 0: all */
    size_t n_services;
    unsigned level_mask; /* bit (1 << enum cl_level) per accepted level; 0: all */
    const char *grep;    /* substring of the record's JSON line; NULL: none */
    int grep_icase;
    const char *regex; /* PCRE2 pattern over the record's JSON line; NULL: none */
    const struct cl_query_where *where;
    size_t n_where;
    size_t limit; /* 0: no limit */
    enum cl_query_order order;
    int count_only; /* count matches, emit nothing */
    int unordered;  /* emit each scanned batch's matches at once, in no order (sums and
                     * counts need none): no sort, no ordered merge; limit still applies */
    int threads;    /* scan threads; 0: one per core */
    /* Read objects through the store's map (mmap(2) for a local store) rather than copying
     * them, where it has one. Only for a process an object truncated in place by hand
     * may end with SIGBUS (`cloudlog query`); the daemon reads. */
    int map_objects;
    /* Budgets (docs/query.md "Query budgets"); 0 means none, or PCRE2's own default. */
    int64_t timeout_ms;         /* wall-clock time from the start of the run */
    uint64_t max_bytes;         /* decompressed bytes scanned */
    uint32_t regex_match_limit; /* pcre2_set_match_limit, per record */
    uint32_t regex_depth_limit; /* pcre2_set_depth_limit, per record */
    uint64_t regex_heap_limit;  /* bytes, pcre2_set_heap_limit, per record */
    /* Polled from every scan thread (so it must be thread-safe) between objects and
     * every few thousand records; non-zero cancels the run (client gone, shutdown). */
    int (*cancelled)(void *arg);
    void *cancel_arg;
};

/* Why a run stopped before its end (cl_query_stats.stopped). */
enum cl_query_stop {
    CL_QUERY_COMPLETE = 0,
    CL_QUERY_DEADLINE,  /* timeout_ms passed: CL_ERR_TOO_LARGE */
    CL_QUERY_BUDGET,    /* max_bytes would be exceeded: CL_ERR_TOO_LARGE */
    CL_QUERY_REGEX,     /* a match failed (PCRE2 limit or error): CL_ERR_INVAL */
    CL_QUERY_CANCELLED, /* cancelled() said so: CL_ERR_CLOSED */
};

/* Defaults of the regex limits (cloudlog serve and cloudlog query use them too). */
#define CL_QUERY_REGEX_MATCH_LIMIT 1000000u
#define CL_QUERY_REGEX_DEPTH_LIMIT 1000000u
#define CL_QUERY_REGEX_HEAP_LIMIT (64u << 20)

struct cl_query_stats {
    uint64_t objects_considered; /* listed in the time range's partitions */
    uint64_t objects_pruned;     /* skipped by catalog min/max ts or level counts */
    uint64_t objects_opened;     /* decompressed and scanned */
    uint64_t objects_failed;     /* corrupt or unreadable: reported, skipped */
    uint64_t bytes_compressed;   /* read from the store */
    uint64_t bytes_scanned;      /* decompressed NDJSON scanned */
    uint64_t records_scanned;
    uint64_t records_matched;
    int64_t elapsed_ms;
    enum cl_query_stop stopped; /* CL_QUERY_COMPLETE unless a budget or error ended it */
};

/* Where to read: a store, and optionally the catalog beside the queue
 * (cl_queue_catalog); catalog NULL means listing-based pruning only. */
struct cl_query_source {
    struct cl_store *store;
    struct cl_catalog *catalog;
};

/* Called for each match in order (not called when count_only). line is the stored
 * normalized record without its newline; return non-zero to stop the query early. */
typedef int (*cl_query_emit_fn)(void *arg, const char *line, size_t len,
                                const struct cl_line_head *head);

/* Called for each object that could not be read (corrupt gzip, truncated, I/O):
 * the scan goes on without it. May be NULL. */
typedef void (*cl_query_warn_fn)(void *arg, const char *key, const char *reason);

/* Runs q. Returns CL_OK (stats filled), CL_ERR_INVAL with err set for a bad query
 * (e.g. a regex that does not compile, from >= to, or a regex match that failed on a
 * record), CL_ERR_TOO_LARGE past the deadline or byte budget, CL_ERR_CLOSED when
 * cancelled (stats->stopped says which, err says it in words), or a store error. */
int cl_query_run(const struct cl_query_source *src, const struct cl_query *q, cl_query_emit_fn emit,
                 cl_query_warn_fn warn, void *arg, struct cl_query_stats *stats, char *err,
                 size_t err_len);

/* Called between batches of scanned objects (from the calling thread) with the stats so
 * far and how many of the planned objects are done, e.g. for a progress line. */
typedef void (*cl_query_progress_fn)(void *arg, const struct cl_query_stats *so_far,
                                     size_t objects_done, size_t objects_total);

/* cl_query_run with a progress callback (may be NULL). */
int cl_query_run_progress(const struct cl_query_source *src, const struct cl_query *q,
                          cl_query_emit_fn emit, cl_query_warn_fn warn,
                          cl_query_progress_fn progress, void *arg, struct cl_query_stats *stats,
                          char *err, size_t err_len);

/* One partition (service=S/dt=D/hour=H) as `cloudlog partitions` lists it. Without a
 * catalog only objects and bytes are known (records 0, has_catalog 0, the span is the
 * partition's hour). */
struct cl_query_partition {
    char service[65];
    char dt[11];
    int hour;
    uint64_t objects, records, bytes;
    int64_t min_ts_ms, max_ts_ms;
    int has_catalog;
};

/* Calls fn for each partition of q's time range and services (other fields of q are
 * ignored), ordered by service, dt, hour; a non-zero return stops and is returned. */
int cl_query_partitions(const struct cl_query_source *src, const struct cl_query *q,
                        int (*fn)(void *arg, const struct cl_query_partition *p), void *arg);

/* Checks q without running it (compiles the regex, checks the range): CL_OK, or
 * CL_ERR_INVAL with err set. Lets a caller answer 400 before it starts streaming. */
int cl_query_validate(const struct cl_query *q, char *err, size_t err_len);

/* Parses a time bound: RFC 3339 ("2026-11-25T15:00:00Z", any offset) or a duration
 * before now ("15m", "2h", "3d"). Returns 0, -1 if s is neither, or -2 if the time is
 * outside the years 0001..9999 that records can have (e.g. since=9223372036854775807ms). */
int cl_query_parse_time(const char *s, int64_t now_ms, int64_t *out_ms);

/* The message for a cl_query_parse_time failure (rc -1 or -2) of option or parameter
 * name with value s, written to out. */
void cl_query_time_error(int rc, const char *name, const char *s, char *out, size_t out_len);

/* Parses a level filter: "warn" (exactly warn) or "warn+" (warn and above) into a mask;
 * several may be combined by the caller with |. Returns 0 or -1. */
int cl_query_parse_level(const char *s, unsigned *mask);

#endif
