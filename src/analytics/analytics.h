/* analytics.h - patterns and anomalies inline in the processor (issue 17).
 *
 * One cl_analytics per process, shared by every processor thread. The processor hands it
 * each message's normalized NDJSON records once (cl_analytics_observe): every record's
 * message gets a pattern from its service's miner (miner.h), counted per minute, pattern
 * and level; per-service minute series (records, error ratio, per-pattern counts) feed the
 * streaming detectors (anomaly.h), and new patterns (after a warm-up) and silent services
 * are reported too. A periodic tick closes idle minutes and runs the miner's second pass;
 * cl_analytics_drain hands the counts, catalog changes and anomalies to whoever persists
 * them (SQLite in the daemon, summary objects on AWS).
 *
 * Thread safety: every function takes the object's one mutex. The miner is not
 * thread-safe; the lock is taken once per message (hundreds of records), while per-thread
 * miners would learn different templates for one service (docs/analytics.md). With
 * async_bytes (the daemon) the processors only copy records into a bounded buffer and one
 * observer thread takes the lock to learn them. */
#ifndef CL_ANALYTICS_H
#define CL_ANALYTICS_H

#include "buf.h"
#include "metrics.h"

#include <stddef.h>
#include <stdint.h>

/* Defaults (docs/analytics.md, "Inline"). */
#define CL_ANALYTICS_MAX_SERVICES 256  /* beyond: the least recently seen service is evicted */
#define CL_ANALYTICS_MAX_PATTERNS 512  /* clusters per service (the miner's LRU cap) */
#define CL_ANALYTICS_WARMUP_MS 3600000 /* a service's first hour reports no new pattern */
#define CL_ANALYTICS_MAX_PENDING 65536 /* count rows between two drains; more are dropped */
#define CL_ANALYTICS_RECENT 256        /* anomalies kept in memory */
#define CL_ANALYTICS_EXAMPLE_MAX 1024  /* bytes of the example record kept per pattern */
#define CL_ANALYTICS_MIN_RATE_DELTA 10 /* a rate anomaly moves at least this many records */
#define CL_ANALYTICS_MIN_ERRORS 5      /* an error-ratio anomaly has at least this many */
#define CL_ANALYTICS_MIN_PATTERN 10    /* a pattern-rate anomaly counts at least this many */
#define CL_ANALYTICS_NEW_PER_MINUTE 5  /* new-pattern reports per service and minute */
#define CL_ANALYTICS_SILENCE_FLOOR_MS 300000 /* never silent for less than 5 minutes */

/* The pattern that counts one-off messages: those of a service's new patterns beyond its
 * budget (cl_analytics_opts.max_new_per_minute) and, in the catalog, patterns evicted
 * before their first write. Its id is the FNV-1a hash of the template, as every id. */
#define CL_ANALYTICS_RARE_TEMPLATE "<rare>"

struct cl_analytics_opts {
    size_t max_services;
    size_t max_patterns;
    int64_t warmup_ms;
    /* 0: cl_analytics_observe learns in the calling thread. N: it copies the records into
     * a buffer of N bytes that one observer thread learns (the caller waits only while
     * the buffer is full); cl_analytics_drain first waits until it is learned. */
    size_t async_bytes;
    /* 0 or 1: one object. N: N shards by service, each an object of its own (lock, observer
     * thread with async_bytes / N of buffer, max_services / N services), so N observer
     * threads mine different services at once (docs/analytics.md "Cost inline, third
     * round"). A service's records are learned as by one object: same patterns and counts. */
    size_t shards;
    /* 1: a drain holds back, for one drain, the catalog row and count of a pattern that has
     * had one record and was never handed over (no rename either): if it is still alive at
     * the next drain it goes then, with its count; if its cluster was evicted meanwhile its
     * count goes with that drain (to "<rare>" in the catalog, like any pattern evicted
     * before its first write). The daemon's drains are a second apart, so a stream of
     * one-off messages (every record a new cluster, evicted within a second) no longer
     * writes a pattern row each (docs/analytics.md "Cost inline, fifth round"). Nothing is
     * held by cl_analytics_drain_final. 0 (the default, the Lambda): nothing is held. */
    int hold_singletons;
    /* New clusters a service may create per minute (event time), 0: max_patterns (the
     * default everywhere). Beyond it, until the service's next minute, a record that
     * matches none of its clusters creates none: it is counted (records, levels, error
     * ratio) under the service's CL_ANALYTICS_RARE_TEMPLATE pattern, as the catalog counts
     * one-off patterns evicted before their first write, and is not reported as a new
     * pattern (docs/analytics.md "Cost inline, seventh round"). A service that creates
     * more clusters in a minute than its cap holds turns its whole cluster set over within
     * that minute; the budget keeps the clusters it has instead. */
    size_t max_new_per_minute;
    /* Borrowed registry handles (NULL: none): the anomaly counter the alarm engine
     * watches and the highest current score. */
    struct cl_metric *anomalies_detected;
    struct cl_metric *anomaly_score;
};

void cl_analytics_opts_default(struct cl_analytics_opts *o);

enum cl_anomaly_kind {
    CL_ANOMALY_RATE,
    CL_ANOMALY_ERROR_RATIO,
    CL_ANOMALY_PATTERN_RATE,
    CL_ANOMALY_NEW_PATTERN,
    CL_ANOMALY_SILENCE,
    CL_ANOMALY_KINDS
};

/* "rate", "error_ratio", "pattern_rate", "new_pattern", "silence". */
const char *cl_anomaly_kind_name(enum cl_anomaly_kind k);

#define CL_ANOMALY_TEXT_MAX 768
#define CL_ANOMALY_PATTERNS 3

/* One anomaly: a series left its band (or a pattern appeared, a service went quiet). */
struct cl_anomaly_event {
    int64_t ts_ms; /* start of the minute (silence: when it was noticed) */
    char service[65];
    enum cl_anomaly_kind kind;
    double observed, expected, lo, hi, score;
    uint64_t patterns[CL_ANOMALY_PATTERNS]; /* involved, 0 = none */
    char text[CL_ANOMALY_TEXT_MAX];         /* the sentence a person reads */
};

/* Records of one minute of one pattern and level. */
struct cl_pattern_count {
    const char *service; /* owned by the batch (its services) */
    uint64_t id;
    int64_t minute; /* Unix minute (ms / 60000) */
    int level;
    uint64_t count;
};

/* A pattern as the catalog keeps it. */
struct cl_pattern_info {
    char service[65];
    uint64_t id;
    uint64_t prev_id; /* != 0: its template generalized from prev_id; fold prev_id into id */
    char *tmpl;       /* owned */
    char *example;    /* owned: the first record seen, cut at CL_ANALYTICS_EXAMPLE_MAX */
    int64_t first_ms, last_ms;
};

/* What a drain hands over (owned by the caller: cl_analytics_batch_free). */
struct cl_analytics_batch {
    struct cl_pattern_count *counts;
    size_t n_counts;
    struct cl_pattern_info *patterns; /* in order: renames must be applied in order */
    size_t n_patterns;
    struct cl_anomaly_event *anomalies;
    size_t n_anomalies;
    uint64_t dropped; /* count rows dropped since the last drain (CL_ANALYTICS_MAX_PENDING) */
    char **services;  /* owned: the names the counts point to (one per service, not per row) */
    size_t n_services;
};

struct cl_analytics;

/* Returns a new object (owned by the caller: cl_analytics_free). o NULL = defaults. */
struct cl_analytics *cl_analytics_new(const struct cl_analytics_opts *o);
void cl_analytics_free(struct cl_analytics *a);

/* Marks (service, id) as a pattern seen before (loaded from the catalog at start-up), so
 * it is not reported as new after a restart. */
void cl_analytics_known(struct cl_analytics *a, const char *service, uint64_t id);

/* Learns every record of data[0..len), normalized NDJSON lines (cl_record_normalize's
 * output); lines that do not parse are skipped. NULL a does nothing. With async_bytes the
 * records are copied and learned by the observer thread (before the next drain). */
void cl_analytics_observe(struct cl_analytics *a, const char *data, size_t len);

/* The same with the wall clock given (simulations, bench/incident_day.c: pass the same
 * clock to cl_analytics_tick). */
void cl_analytics_observe_at(struct cl_analytics *a, const char *data, size_t len,
                             int64_t now_wall);

/* Learns the records of one gzip member (RFC 1952) whose content is raw_len bytes of
 * normalized NDJSON lines, every one of them of service (a member of a message's member
 * index, message.h). The same as cl_analytics_observe on the inflated text, but with
 * async_bytes the member is copied compressed and the observer thread inflates it (the
 * caller does neither). A member that does not inflate to raw_len bytes is skipped
 * (cl_analytics_stats' gz_failed). NULL a does nothing. */
void cl_analytics_observe_member(struct cl_analytics *a, const char *service, const void *gz,
                                 size_t len, uint64_t raw_len);
void cl_analytics_observe_member_at(struct cl_analytics *a, const char *service, const void *gz,
                                    size_t len, uint64_t raw_len, int64_t now_wall);

/* Periodic (about once a second): closes the minutes of services that went quiet,
 * reports silences, and runs the miners' second pass every minute. now_ms: wall clock. */
void cl_analytics_tick(struct cl_analytics *a, int64_t now_ms);

/* Moves everything pending into *out (but what hold_singletons holds back). */
void cl_analytics_drain(struct cl_analytics *a, struct cl_analytics_batch *out);
/* The same, holding nothing back: the last drain before the object is freed. */
void cl_analytics_drain_final(struct cl_analytics *a, struct cl_analytics_batch *out);
void cl_analytics_batch_free(struct cl_analytics_batch *b);

/* Prometheus lines of the per-series anomaly scores:
 * cloudlog_anomaly_score{service="S",series="rate|error_ratio|pattern_rate|silence"}. */
void cl_analytics_render_prom(struct cl_analytics *a, struct cl_buf *out);

/* Copies up to max of the most recent anomalies (newest first); returns how many. */
size_t cl_analytics_recent(struct cl_analytics *a, struct cl_anomaly_event *out, size_t max);

/* Statistics: services tracked, patterns live, memory held by miners (bytes), services
 * and clusters evicted. */
struct cl_analytics_stats {
    size_t services, patterns, miner_bytes;
    uint64_t services_evicted, patterns_evicted, records, lock_contended;
    uint64_t queue_waits; /* observe calls that found the observer thread's buffer full */
    uint64_t gz_failed;   /* members (cl_analytics_observe_member) that did not inflate */
    uint64_t over_budget; /* records counted under "<rare>" by the new-cluster budget */
};
void cl_analytics_stats(struct cl_analytics *a, struct cl_analytics_stats *st);

#endif
