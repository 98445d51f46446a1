/* query_int.h - the query engine's pieces: plan, filter, scan and ordered merge. */
#ifndef CL_QUERY_INT_H
#define CL_QUERY_INT_H

#include "query.h"

#include "buf.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define CQ_MAX_WHERE 64            /* where clauses are tracked in a 64-bit mask */
#define CQ_OBJECT_MAX (1ull << 30) /* largest stored object read (compressed) */
#define CQ_RAW_MAX (4ull << 30)    /* largest decompressed object scanned */
#define CQ_HOUR_MS (3600LL * 1000)
#define CQ_TS_TEXT_LEN 24           /* a stored record's timestamp: YYYY-MM-DDTHH:MM:SS.mmmZ */
#define CQ_JIT_STACK_MAX (8u << 20) /* per scan thread: a 256 KiB run of (?:a|b)+ fits */

/* When one run must stop, shared by its scan threads: the deadline, the byte budget,
 * cancellation and the first failed regex match. The first reason wins. */
struct cq_budget {
    const struct cl_query *q;
    int64_t deadline; /* cl_mono_ms() value; 0: none */
    atomic_uint_fast64_t bytes;
    atomic_int stop; /* enum cl_query_stop */
    int match_error; /* PCRE2 code with CL_QUERY_REGEX, written by the thread that set it */
};

void cq_budget_init(struct cq_budget *b, const struct cl_query *q, int64_t t0);
/* Non-zero once the run must stop: a stop was set, the deadline passed or cancelled()
 * said so (then recorded). Thread-safe. */
int cq_budget_check(struct cq_budget *b);
/* Records why the run stops (ignored if a reason was already set). */
void cq_budget_stop(struct cq_budget *b, enum cl_query_stop why, int match_error);
/* Takes n scanned bytes from the budget; non-zero (and a stop) if that exceeds it. */
int cq_budget_take(struct cq_budget *b, uint64_t n);

/* A candidate object. Bounds come from the catalog, or without one from the partition's
 * hour, so ordering works the same way either way. */
struct cq_object {
    char *key; /* owned by the plan */
    char service[65];
    char dt[11];
    int hour;
    uint64_t size, raw_bytes, records; /* raw_bytes, records: 0 if unknown */
    int64_t min_ts, max_ts;            /* inclusive */
    int from_catalog;
};

struct cq_plan {
    struct cq_object *v; /* owned; free with cq_plan_free */
    size_t n, cap;
    uint64_t considered, pruned;
};

/* Lists the objects of q's partitions ([from, to), services) from the catalog or, if
 * src->catalog is NULL, from the store. prune: drop objects whose bounds or level counts
 * cannot match (counted in pruned) and sort them for q->order. Returns CL_OK or an error. */
int cq_plan_build(const struct cl_query_source *src, const struct cl_query *q, int prune,
                  struct cq_plan *p);
/* cq_plan_build that stops a store listing early once b says so (b may be NULL). */
int cq_plan_build_budget(const struct cl_query_source *src, const struct cl_query *q, int prune,
                         struct cq_budget *b, struct cq_plan *p);
void cq_plan_free(struct cq_plan *p);
/* 1 if service matches one of q's globs (or q has none). */
int cq_service_match(const struct cl_query *q, const char *service);

/* Compiled, read-only filters shared by all scan threads. */
struct cq_filter {
    const struct cl_query *q;
    pcre2_code *re;            /* NULL without --regex */
    pcre2_match_context *mctx; /* the regex limits; NULL without --regex */
    int jit;                   /* re was JIT-compiled: ASCII lines take pcre2_jit_match */
    size_t grep_len;
    char *grep_lower; /* grep lowercased for -i (owned), else NULL */
    char *re_lit;     /* the regex's required literal (cq_regex_literal; owned), else NULL */
    /* Text every matching line holds, searched for over a whole buffer to skip the lines
     * without it: the grep (need_icase: lowercased, found by cq_find_icase) or the regex's
     * literal, the longer of the two; NULL if none. need_alone: holding it is the whole
     * content filter (a grep with no '\n', nothing else), so a line holding it matches
     * without a second look once its time and level are known. */
    const char *need;
    size_t need_len;
    int need_icase, need_alone;
    /* q's range as stored timestamps spell it (YYYY-MM-DDTHH:MM:SS.mmmZ), "" when out of
     * that form's years: a line whose text is outside is dropped without parsing. */
    char from_text[CQ_TS_TEXT_LEN + 1], to_text[CQ_TS_TEXT_LEN + 1];
};

/* Compiles q's filters. Returns CL_OK or CL_ERR_INVAL with err set; free with
 * cq_filter_free either way. */
int cq_filter_init(struct cq_filter *f, const struct cl_query *q, char *err, size_t err_len);
void cq_filter_free(struct cq_filter *f);

/* Per-thread matching state. */
struct cq_matcher {
    const struct cq_filter *f;
    pcre2_match_data *md;
    pcre2_match_context *mctx; /* f's limits plus this thread's JIT stack */
    pcre2_jit_stack *jit_stack;
    int match_error;   /* first PCRE2 error (< 0) of a match, 0 if none */
    struct cl_buf tmp; /* unescaped where keys and values */
};

void cq_matcher_init(struct cq_matcher *m, const struct cq_filter *f);
void cq_matcher_free(struct cq_matcher *m);
/* 1 if the line passes every filter (h gets its parsed head), 0 if not, -1 if the regex
 * match failed (a PCRE2 limit or error, kept in m->match_error): never "no match". */
int cq_match_line(struct cq_matcher *m, const char *line, size_t len, struct cl_line_head *h);
/* 1 if the line passes q's content filters (grep, where, regex), its time and level not
 * looked at: for a line known to be inside them (a segment wholly inside, scan.c). 0 if
 * not, -1 if the regex match failed, as cq_match_line. */
int cq_match_content(struct cq_matcher *m, const char *line, size_t len);
/* The first occurrence of f->need in hay[0..n) (folded for -i), or NULL; f->need set. */
const char *cq_filter_find(const struct cq_filter *f, const char *hay, size_t n);
/* memmem(hay, n, needle, m), faster for the scan's long buffers (find.c). */
const char *cq_find(const char *hay, size_t n, const char *needle, size_t m);
/* cq_find ignoring ASCII case: lower is the needle folded to lowercase (filter_find.c). */
const char *cq_find_icase(const char *hay, size_t n, const char *lower, size_t m);
/* 1 if p[0..n) has no byte >= 0x80 (so it is valid UTF-8). */
int cq_is_ascii(const char *p, size_t n);
/* Writes the longest literal every match of the compiled PCRE2 pattern re must contain
 * into out (strlen(re) + 1 bytes) and returns its length: 0 (out "") when none is found
 * or the pattern uses what filter_lit.c does not read. */
size_t cq_regex_literal(const char *re, char *out);
/* The message for a failed regex match (PCRE2 error code) of q. */
void cq_regex_error(int code, const struct cl_query *q, char *out, size_t out_len);

/* One match kept for ordering: the line lives in its result's lines buffer. */
struct cq_match {
    int64_t ts;
    uint32_t line_no;
    uint32_t len;
    size_t off;
};

/* What scanning one object produced. */
struct cq_result {
    const struct cq_object *obj;
    struct cl_buf lines; /* matched lines, concatenated (owned) */
    struct cq_match *m;  /* owned */
    size_t n, cap, pos;  /* pos: next match to emit */
    uint64_t bytes_compressed, bytes_scanned, records_scanned, records_matched;
    int failed;
    int stopped; /* the budget stopped the scan midway */
    char reason[160];
};

void cq_result_free(struct cq_result *r);

/* With cl_query.map_objects, objects of at least cq_map_min bytes (the plan's size) are
 * mapped and smaller ones copied into the scanner's reused buffer: mapping sets up and
 * tears down page-table entries for every page, which on some VMs (paravirtualized
 * page tables) cost more than the copy (a full scan here: 19% more CPU mapped,
 * docs/performance.md "Full scan: objects read again"); for a large object the copy's
 * buffer would be resident. Tests set it to 0 to map everything. */
#define CQ_MAP_MIN (16u << 20)
extern size_t cq_map_min;

/* Per-thread scanning state: decompressor, matcher and reusable buffers. */
struct cq_scanner;

/* b: the run's budget, checked while scanning. Free with cq_scanner_free. */
struct cq_scanner *cq_scanner_new(const struct cq_filter *f, struct cq_budget *b);
void cq_scanner_free(struct cq_scanner *s);
/* Reads, decompresses and filters one object into r (zeroed by the caller); keep: store
 * matches (not for count-only). A failure sets r->failed and r->reason; a stop of the
 * budget ends the object early (r->stopped, its results must not be used). */
void cq_scan_object(struct cq_scanner *s, struct cl_store *st, const struct cq_object *o, int keep,
                    struct cq_result *r);

/* The scan threads of one run (scan_pool.c): created once, used for every round of work.
 * The caller is thread 0 and works too. */
#define CQ_MAX_THREADS 256
struct cq_pool;
typedef void (*cq_pool_fn)(void *arg, size_t thread);
/* Starts n - 1 helper threads (fewer if one cannot be started). Free with cq_pool_free. */
struct cq_pool *cq_pool_new(size_t n);
/* Threads in the pool, the caller included (1..n). */
size_t cq_pool_size(const struct cq_pool *p);
/* Runs fn(arg, t) on every thread t of p at once, the caller as t = 0; returns when each
 * call has returned. */
void cq_pool_run(struct cq_pool *p, cq_pool_fn fn, void *arg);
void cq_pool_free(struct cq_pool *p);

/* A count's scan of objs[0..n) (scan_count.c). progress (may be NULL) is called from
 * thread 0 every progress_every objects with the scan's sums so far (objects opened,
 * bytes, records) and the objects finished. */
typedef void (*cq_count_progress_fn)(void *arg, const struct cl_query_stats *scanned, size_t done);
struct cq_count_job {
    struct cl_store *store;
    struct cq_budget *budget;
    const struct cq_object *objs;
    size_t n;
    struct cq_scanner *const *sc; /* one per thread of the pool */
    cq_count_progress_fn progress;
    void *progress_arg;
    size_t progress_every;
};

/* Scans job's objects with every thread of pool, each taking the next object not yet
 * taken until none is left or the budget stops. Adds the scanned objects' counts to st
 * (objects_opened, bytes_compressed, bytes_scanned, records_scanned, records_matched);
 * failed[i] (n slots, zeroed by the caller) gets object i's result if it failed (owned
 * by the caller, not yet in st). Returns how many objects were finished. */
size_t cq_count_scan(const struct cq_count_job *job, struct cq_pool *pool,
                     struct cl_query_stats *st, struct cq_result **failed);

/* The ordered k-way merge of scanned objects' matches (see order.c). */
struct cq_merge {
    enum cl_query_order order;
    size_t remaining; /* records still wanted; SIZE_MAX without a limit */
    struct cq_result **heap;
    size_t n, cap;
};

void cq_merge_init(struct cq_merge *m, enum cl_query_order order, size_t limit);
/* Takes ownership of r: sorts its matches and queues them (frees r if it has none). */
void cq_merge_add(struct cq_merge *m, struct cq_result *r);
/* Emits, in order, every queued match that no unscanned object can precede: all of them
 * if !has_bound, else those with ts > bound (newest) or ts < bound (oldest). Returns 1
 * once the limit is reached or emit asked to stop, else 0. */
int cq_merge_emit(struct cq_merge *m, int has_bound, int64_t bound, cl_query_emit_fn emit,
                  void *arg);
/* Takes ownership of r and emits its matches in line order, without sorting or queueing
 * (cl_query.unordered); counts them against m's limit. Returns 1 once the limit is
 * reached or emit asked to stop, else 0. */
int cq_emit_unordered(struct cq_merge *m, struct cq_result *r, cl_query_emit_fn emit, void *arg);
void cq_merge_free(struct cq_merge *m);

#endif
