/* query_opts.h - the query option set shared by `cloudlog query`, `cloudlog tail` and
 * GET /v1/query: one set of rows (names, defaults, help) and one function that turns
 * their text into a struct cl_query, so both interfaces behave alike and fail with the
 * same messages (docs/query.md). */
#ifndef CL_QUERY_OPTS_H
#define CL_QUERY_OPTS_H

#include "options.h"
#include "query.h"

#include <stddef.h>
#include <stdint.h>

/* The text of a query's options (strings borrowed from argv, environ or the request). */
struct cl_query_opts {
    const char *since, *from, *to;
    struct cl_opt_list services, levels, wheres;
    const char *grep, *regex, *order;
    int icase, limit, count;
};

/* Rows for a struct cl_query_opts (include them with CL_OPT_INCLUDE_ROWS at the offset of
 * the struct), each ended by a row without a name:
 * range: since, from, to; filter: service, level, grep, ignore-case, regex, where;
 * result: limit, order, count. */
extern const struct cl_option cl_query_range_options[];
extern const struct cl_option cl_query_filter_options[];
extern const struct cl_option cl_query_result_options[];

/* Parsed where clauses: v[0..n) point into text (both owned: cl_query_wheres_free). */
struct cl_query_wheres {
    struct cl_query_where *v;
    char *text;
    size_t n;
};

void cl_query_wheres_free(struct cl_query_wheres *w);

/* Fills q from o: the range [from, to) resolved against now_ms (since is an age or time
 * like from, and excludes from; from defaults to now_ms - default_range_ms, to to now,
 * inclusive: now_ms + 1), the filters (w gets the where clauses; free it even after a
 * failure), limit, order and count, then validates q. Messages spell options as
 * prefix + name ("--since" on the command line, "since" over HTTP). Returns 0, or -1
 * with err set. */
int cl_query_opts_build(const struct cl_query_opts *o, const char *prefix, int64_t now_ms,
                        int64_t default_range_ms, struct cl_query *q, struct cl_query_wheres *w,
                        char *err, size_t err_len);

/* The query budget options (docs/query.md "Query budgets"), shared by serve, query and the
 * log_query Lambda, at the given field offsets. Deadline and byte budget take per-command defaults:
 * a daemon protects itself from its clients, a person at a terminal has Ctrl-C. The regex defaults
 * are query.h's CL_QUERY_REGEX_* limits. */
/* clang-format off */
#define CL_QUERY_LIMIT_OPTIONS(timeout_def, bytes_def, timeout, bytes, match, depth, heap)     \
    {"query-timeout", "CLOUDLOG_QUERY_TIMEOUT", CL_OPT_DURATION, (timeout_def), (timeout),        \
     "DURATION", "deadline of one query, 0: none (HTTP: 408 past it)", NULL, 0, 0},               \
    {"query-max-bytes", "CLOUDLOG_QUERY_MAX_BYTES", CL_OPT_SIZE, (bytes_def), (bytes), "SIZE",    \
     "decompressed bytes one query may scan, 0: no budget (HTTP: 503 past it)", NULL, 0, 0},      \
    {"regex-match-limit", "CLOUDLOG_REGEX_MATCH_LIMIT", CL_OPT_INT, "1000000", (match), "N",      \
     "PCRE2 match limit of --regex on one record; a record past it fails the query", NULL, 1,     \
     2147483647},                                                                                 \
    {"regex-depth-limit", "CLOUDLOG_REGEX_DEPTH_LIMIT", CL_OPT_INT, "1000000", (depth), "N",      \
     "PCRE2 backtracking depth limit of --regex on one record", NULL, 1, 2147483647},             \
    {"regex-heap-limit", "CLOUDLOG_REGEX_HEAP_LIMIT", CL_OPT_SIZE, "64MiB", (heap), "SIZE",       \
     "PCRE2 heap limit of --regex on one record (per scan thread)", NULL, 0, 0}
/* clang-format on */

#endif
