/* analytics_db.h - the pattern catalog, per-minute counts and anomalies in SQLite
 * (DATA/analytics.db, beside the queue file and its object catalog), and the reads behind
 * `cloudlog patterns`, `cloudlog anomalies`, /v1/patterns, /v1/anomalies and Loki's
 * /loki/api/v1/patterns. Derived data: deleting the file loses history, nothing else.
 *
 * One writer (the daemon's analytics thread); readers open their own connection (WAL). */
#ifndef CL_ANALYTICS_DB_H
#define CL_ANALYTICS_DB_H

#include "analytics.h"
#include "buf.h"

#include <stddef.h>
#include <stdint.h>

#define CL_ANALYTICS_DB_NAME "analytics.db"
#define CL_ANALYTICS_RETENTION_MS (14LL * 86400000) /* counts and patterns kept 14 days */
#define CL_ANALYTICS_ANOMALY_RETENTION_MS (30LL * 86400000)

struct cl_analytics_db;

/* Opens (creating the schema unless readonly) path. Returns 0 and *out (owned by the
 * caller: cl_analytics_db_close), or -1 with err set. */
int cl_analytics_db_open(const char *path, int readonly, struct cl_analytics_db **out, char *err,
                         size_t err_len);
void cl_analytics_db_close(struct cl_analytics_db *db);

/* Writes a drained batch in one transaction: counts, then renames in order, then pattern
 * upserts, then anomalies; deletes what is past retention at most once an hour.
 * Returns 0 or -1 with err set. */
int cl_analytics_db_apply(struct cl_analytics_db *db, const struct cl_analytics_batch *b,
                          int64_t now_ms, char *err, size_t err_len);

/* Tells a every pattern of the catalog (cl_analytics_known). Returns how many, or -1. */
long cl_analytics_db_load_known(struct cl_analytics_db *db, struct cl_analytics *a);

struct cl_pattern_query {
    const char *service; /* NULL: every service */
    int64_t from_ms, to_ms;
    int level_min, level_max; /* 0..5 (enum cl_level) */
    size_t limit;
    int new_only; /* only patterns first seen in [from, to), newest first */
};

/* A pattern over a window. Strings owned (cl_pattern_rows_free). */
struct cl_pattern_row {
    char service[65];
    uint64_t id;
    char *tmpl, *example;
    int64_t first_ms, last_ms;
    uint64_t count;  /* in the window */
    uint64_t recent; /* in the window's second half (the trend) */
    uint64_t errors; /* error and fatal records in the window */
};

int cl_analytics_db_patterns(struct cl_analytics_db *db, const struct cl_pattern_query *q,
                             struct cl_pattern_row **rows, size_t *n);
void cl_pattern_rows_free(struct cl_pattern_row *rows, size_t n);

/* Anomalies at or after since_ms (service NULL: all), newest first, at most limit. */
int cl_analytics_db_anomalies(struct cl_analytics_db *db, int64_t since_ms, const char *service,
                              size_t limit, struct cl_anomaly_event **rows, size_t *n);

/* Per-step sums of one pattern's counts in [from, to): calls fn(arg, step_start_ms, count)
 * in time order. step_ms is a multiple of a minute (at least one). */
int cl_analytics_db_samples(struct cl_analytics_db *db, const char *service, uint64_t id,
                            int level_min, int64_t from_ms, int64_t to_ms, int64_t step_ms,
                            void (*fn)(void *arg, int64_t ts_ms, uint64_t count), void *arg);

/* JSON renderings (analytics_json.c), appended to out. */
void cl_patterns_render_json(const struct cl_pattern_row *rows, size_t n,
                             const struct cl_pattern_query *q, struct cl_buf *out);
void cl_anomalies_render_json(const struct cl_anomaly_event *rows, size_t n, struct cl_buf *out);
/* "rising x2.5", "falling x0.3", "steady", "new" from a row's window halves. */
void cl_pattern_trend(const struct cl_pattern_row *r, const struct cl_pattern_query *q, char *out,
                      size_t n);

#endif
