/* metrics.h - the metrics registry every runtime shares: counters, gauges, histograms.
 *
 * Metrics are registered at start-up only (registration is not thread-safe and never
 * frees); after that, updates are lock-free relaxed atomics, safe from any thread and
 * cheap enough for the hot path (one atomic add per call, never per record). Readers
 * (the Prometheus renderer, the EMF writer) take per-series atomic loads, so a scrape
 * is not one consistent snapshot across metrics; within a histogram the count is the
 * sum of its buckets, so _count always equals the +Inf bucket.
 *
 * Labels: a counter may have one label with a small fixed set of values (up to
 * CL_METRIC_MAX_LABELS), each its own series, updated by index.
 *
 * Histograms share one fixed log-scale (1-2-5) bucket layout over integer
 * observations; the latency histograms observe microseconds (CL_UNIT_MICROSECONDS),
 * which the renderers turn into seconds (Prometheus) or milliseconds (EMF).
 *
 * Update functions accept a NULL metric and do nothing, so code shared with runtimes
 * that keep no metrics passes cl_std_metrics_none's NULL handles.
 */
#ifndef CL_METRICS_H
#define CL_METRICS_H

#include "buf.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CL_METRIC_MAX_LABELS 8
#define CL_HIST_BOUNDS 22 /* finite upper bounds; one more bucket for +Inf */

enum cl_metric_type { CL_METRIC_COUNTER, CL_METRIC_GAUGE, CL_METRIC_HISTOGRAM };

enum cl_metric_unit {
    CL_UNIT_COUNT,
    CL_UNIT_BYTES,
    CL_UNIT_SECONDS,
    CL_UNIT_MICROSECONDS /* histograms of latency: shown as seconds / milliseconds */
};

/* Upper bounds (inclusive, "le") of the histogram buckets, in the observed unit:
 * 100, 200, 500, 1000, ... 1e9 (for microseconds: 0.1 ms to 1000 s). */
extern const uint64_t cl_hist_bounds[CL_HIST_BOUNDS];

struct cl_metric {
    const char *name; /* CloudWatch-style CamelCase, e.g. "IngestedLogCount" */
    const char *help;
    enum cl_metric_type type;
    enum cl_metric_unit unit;
    const char *label;                              /* snake_case name, NULL if none */
    const char *label_values[CL_METRIC_MAX_LABELS]; /* borrowed, static strings */
    size_t n_series;                                /* 1, or the number of label values */
    /* counters: one value per series; gauges: [0] holds a double's bits */
    atomic_uint_least64_t v[CL_METRIC_MAX_LABELS];
    atomic_uint_least64_t buckets[CL_HIST_BOUNDS + 1]; /* histograms: not cumulative */
    atomic_uint_least64_t sum;                         /* histograms */
};

struct cl_metrics;

/* Creates an empty registry. Caller frees with cl_metrics_free (after every thread that
 * updates its metrics has stopped). */
struct cl_metrics *cl_metrics_new(void);
void cl_metrics_free(struct cl_metrics *r);

/* Registration (start-up only). Strings are borrowed and must outlive the registry.
 * label_values is a NULL-terminated list (at most CL_METRIC_MAX_LABELS) or NULL. */
struct cl_metric *cl_metrics_counter(struct cl_metrics *r, const char *name,
                                     enum cl_metric_unit unit, const char *help, const char *label,
                                     const char *const *label_values);
struct cl_metric *cl_metrics_gauge(struct cl_metrics *r, const char *name, enum cl_metric_unit unit,
                                   const char *help);
struct cl_metric *cl_metrics_histogram(struct cl_metrics *r, const char *name,
                                       enum cl_metric_unit unit, const char *help);

/* A collector refreshes sampled gauges (e.g. queue depth) right before a render or an
 * EMF write; it may run on several threads at once. */
void cl_metrics_on_collect(struct cl_metrics *r, void (*fn)(void *arg), void *arg);
void cl_metrics_collect(struct cl_metrics *r);

size_t cl_metrics_len(const struct cl_metrics *r);
const struct cl_metric *cl_metrics_at(const struct cl_metrics *r, size_t i);

/* Updates (any thread, NULL m ignored). */
void cl_counter_add(struct cl_metric *m, uint64_t n);
void cl_counter_add_at(struct cl_metric *m, size_t series, uint64_t n);
void cl_gauge_set(struct cl_metric *m, double v);
void cl_histogram_observe(struct cl_metric *m, uint64_t v);

/* Reads. */
uint64_t cl_counter_get(const struct cl_metric *m, size_t series);
uint64_t cl_counter_total(const struct cl_metric *m); /* sum over series */
double cl_gauge_get(const struct cl_metric *m);

struct cl_hist_snapshot {
    uint64_t buckets[CL_HIST_BOUNDS + 1]; /* not cumulative; last is +Inf */
    uint64_t count;                       /* sum of buckets */
    uint64_t sum;
};
void cl_histogram_snapshot(const struct cl_metric *m, struct cl_hist_snapshot *s);

/* Value at quantile q in [0, 1] of a snapshot, interpolated linearly inside its bucket
 * (as Prometheus' histogram_quantile); the +Inf bucket yields the largest bound.
 * 0 if the snapshot is empty. */
double cl_hist_quantile(const struct cl_hist_snapshot *s, double q);

/* Microseconds from CLOCK_MONOTONIC, for latency observations. */
int64_t cl_mono_us(void);

/* Prometheus text exposition format 0.0.4 of every metric, after running the
 * collectors. Names: "cloudlog_" + snake_case(name) + unit suffix (+ "_total" for
 * counters); microsecond histograms are shown in seconds. Appends to out. */
void cl_metrics_render_prom(struct cl_metrics *r, struct cl_buf *out);

/* The Prometheus name of m into out (at most n bytes, NUL-terminated). */
void cl_metric_prom_name(const struct cl_metric *m, char *out, size_t n);

/* ---- The metrics shared by every runtime (issue 5) ---- */

enum cl_status_class { CL_STATUS_2XX, CL_STATUS_4XX, CL_STATUS_5XX };

/* ProcessingErrors reasons. */
enum cl_proc_error {
    CL_PERR_RECEIVE, /* receiving from the queue failed */
    CL_PERR_DECODE,  /* a message could not be decoded (corrupt, bad encoding) */
    CL_PERR_CATALOG, /* reading the exactly-once progress table failed */
    CL_PERR_STORE,   /* writing or committing an object failed (batch retried) */
    CL_PERR_PUBLISH  /* moving a committed object into place failed (recovery redoes it) */
};

struct cl_std_metrics {
    struct cl_metric *ingested_log_count, *rejected_log_count, *ingested_bytes;
    struct cl_metric *ingest_requests; /* series: enum cl_status_class */
    struct cl_metric *ingest_latency;  /* microseconds */
    struct cl_metric *queue_depth, *queue_in_flight, *oldest_message_age, *dlq_depth;
    /* the daemon's start-up findings (run_marker.h, recover.c) */
    struct cl_metric *recent_unclean_restarts, *catalog_objects_missing;
    struct cl_metric *processed_log_count;
    struct cl_metric *processing_errors; /* series: enum cl_proc_error */
    struct cl_metric *objects_written, *stored_bytes;
    struct cl_metric *end_to_end_latency; /* microseconds */
    struct cl_metric *retries, *redriven;
    /* embedded queue file damaged at start-up and moved aside (daemon_quarantine.c) */
    struct cl_metric *queue_quarantined, *queue_quarantine_pending;
    struct cl_metric *store_circuit_open; /* 1 while the processor's breaker is open */
};

/* All handles NULL: for code run without a registry. */
extern const struct cl_std_metrics cl_std_metrics_none;

/* Registers the shared metrics in r and fills m's handles. */
void cl_std_metrics_register(struct cl_metrics *r, struct cl_std_metrics *m);
/* Only the ingest stage's metrics, or only the processing stage's (the other handles are
 * NULL): for the Lambda functions, which run one stage each and own no queue gauges. */
void cl_std_metrics_register_ingest(struct cl_metrics *r, struct cl_std_metrics *m);
void cl_std_metrics_register_process(struct cl_metrics *r, struct cl_std_metrics *m);

/* The status-class series for an HTTP status. */
enum cl_status_class cl_status_class_of(int status);

#endif
