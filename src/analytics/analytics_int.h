/* analytics_int.h - state shared by analytics*.c (not for other modules). */
#ifndef CL_ANALYTICS_INT_H
#define CL_ANALYTICS_INT_H

#include "analytics.h"
#include "anomaly.h"
#include "miner.h"
#include "partition.h"
#include "record.h"

#include <pthread.h>

struct cl_an_async; /* analytics_async.c */

/* What analytics reads from one normalized line (analytics_line.c). */
struct cl_an_line {
    int64_t ts_ms;
    enum cl_level level;
    const char *service; /* in the line (not NUL-terminated) or in head.service */
    size_t service_len;
    int service_checked;      /* 0: cl_service_valid still to run (on a new service) */
    const char *rest;         /* the line after the service, NULL: not the normalized layout */
    struct cl_line_head head; /* the general parse's storage */
};

/* Per miner slot: what the catalog and the detectors know of the cluster in it. */
struct pat {
    uint32_t generation; /* the cluster's generation when this state was made */
    int used, dirty;     /* dirty: the catalog has not seen its latest state */
    uint64_t id;         /* the id last reported for it */
    int64_t first_ms, last_ms;
    char *example;                   /* owned; kept (with its capacity) when the slot is reused */
    size_t example_cap, example_len; /* example_len 0: no record seen yet */
    uint32_t minute_count, minute_errors;
    uint32_t records;              /* since the state was made (saturates) */
    uint8_t handed, held, renamed; /* handed: a drain took its row; held: the last drain
                                    * held it back (hold_singletons); renamed: its id moved */
    uint8_t rate_ready;            /* rate is initialized (at its first closed minute) */
    double score;                  /* last closed minute's score */
    /* Records per minute. Last, and initialized only when a minute closes on the pattern:
     * a pattern evicted within its first minute (one-off messages) never touches these
     * 480 bytes (docs/analytics.md "Cost inline, fifth round"). */
    struct cl_anomaly_series rate;
};

/* One pending count row: (id, minute, level) of one service. */
struct count_row { /* 24 bytes */
    uint64_t id;
    int64_t minute;
    int16_t level;  /* -1: empty */
    uint16_t slot;  /* the miner slot of the pattern counted (hold_singletons) */
    uint32_t count; /* rows are emptied at every drain (a second), far below 2^32 */
};

struct svc {
    char name[65];
    uint64_t name_hash;
    int32_t next; /* bucket chain */
    struct cl_miner *miner;
    struct pat *pats; /* max_patterns, indexed by miner slot */
    int64_t minute;   /* the open minute (Unix minute), 0: none yet */
    uint32_t m_records, m_errors, m_new;
    uint32_t m_created;            /* clusters created in the open minute (the budget) */
    int rare_pending;              /* over-budget records since the last drain: */
    int64_t rare_first, rare_last; /* their first and last record times */
    struct cl_anomaly_series rate, errors;
    struct cl_anomaly_silence silence;
    struct cl_anomaly_novelty novelty;
    int silent;             /* a silence was reported and no record came since */
    double score[4];        /* rate, error_ratio, pattern_rate, silence */
    int64_t used_ms;        /* wall clock of the last record (service LRU) */
    struct count_row *rows; /* pending counts: open addressing, cap_rows a power of two */
    size_t n_rows, cap_rows;
};

struct cl_analytics {
    pthread_mutex_t mu;
    struct cl_analytics_opts o;
    struct svc **svcs; /* max_services slots, NULL = free */
    size_t n_svcs;
    int32_t *buckets; /* 2 * max_services heads */
    size_t n_buckets;
    uint64_t *known; /* open-addressing set of service hash ^ id; 0 = empty */
    size_t known_cap, known_n;
    size_t known_max;                 /* known_cap doubles up to this as the set fills */
    size_t pending_rows;              /* over every service */
    struct cl_pattern_count *orphans; /* counts of evicted services, awaiting a drain */
    size_t n_orphans;
    char **orphan_names; /* owned: their services' names, which the orphans point to */
    size_t n_orphan_names;
    struct cl_pattern_info *infos; /* renames (in order), then upserts at drain */
    size_t n_infos, cap_infos;
    struct cl_anomaly_event *events; /* pending for the drain */
    size_t n_events, cap_events;
    struct cl_anomaly_event recent[CL_ANALYTICS_RECENT]; /* ring */
    size_t recent_next, recent_n;
    int64_t watermark_ms;   /* newest record time seen */
    int64_t watermark_wall; /* wall clock when it last advanced */
    int64_t consolidated_ms;
    uint64_t dropped, services_evicted, records, contended;
    uint64_t gz_failed;   /* members that did not inflate (cl_an_observe_gz_now) */
    uint64_t over_budget; /* records counted under "<rare>" by the new-cluster budget */
    uint64_t rare_id;     /* the id of CL_ANALYTICS_RARE_TEMPLATE */
    char ts_day[10];      /* the day of the last full timestamp parse (analytics_line.c) */
    int64_t ts_day_ms;
    int ts_day_ms_valid;
    char *scratch; /* one unescaped message */
    size_t scratch_cap;
    struct cl_an_async *async;    /* the observer thread, NULL: observe in the caller */
    struct cl_analytics **shards; /* != NULL: a front of n_shards objects (analytics_shard.c) */
    size_t n_shards;
};

/* analytics.c: learns the lines of data under the lock, in the calling thread. */
void cl_an_observe_now(struct cl_analytics *a, const char *data, size_t len, int64_t now_wall);
/* analytics.c: inflates one gzip member of raw_len bytes of lines into text (the caller's
 * buffer, reset first), then learns them as cl_an_observe_now; a member that does not
 * inflate to raw_len bytes is counted in a->gz_failed and skipped. */
void cl_an_observe_gz_now(struct cl_analytics *a, const void *gz, size_t len, uint64_t raw_len,
                          int64_t now_wall, struct cl_buf *text);
/* analytics.c: hands one member to a (one object: its observer thread, or learned here). */
void cl_an_member_at(struct cl_analytics *a, const void *gz, size_t len, uint64_t raw_len,
                     int64_t now_wall);

/* analytics_line.c: the head of a normalized line (0, or -1: not one) and its message (in
 * place, or unescaped into a->scratch). */
int cl_an_line_head(struct cl_analytics *a, const char *line, size_t len, struct cl_an_line *o);
int cl_an_line_message(struct cl_analytics *a, const char *line, size_t len,
                       const struct cl_an_line *h, const char **msg, size_t *msg_len);
/* analytics_line.c: the service of a line (*name in the line or in h), without reading
 * its time: 0, or -1 when it has none (analytics_shard.c routes by it). */
int cl_an_line_service(const char *line, size_t len, struct cl_line_head *h, const char **name,
                       size_t *name_len);

/* analytics.c: the tick with the pipeline's clock given (watermark_ms at wall clock
 * watermark_wall; watermark_ms < 0: a's own); returns the highest score of a's services. */
double cl_an_tick_at(struct cl_analytics *a, int64_t now_ms, int64_t watermark_ms,
                     int64_t watermark_wall);
/* analytics.c: the cloudlog_anomaly_score lines of a's services (no HELP/TYPE header). */
void cl_an_render_scores(struct cl_analytics *a, struct cl_buf *out);

/* analytics_shard.c: the front over a->o.shards objects, one service always in one. */
void cl_an_shards_start(struct cl_analytics *a);
void cl_an_shards_free(struct cl_analytics *a);
void cl_an_shards_observe(struct cl_analytics *a, const char *data, size_t len, int64_t now_wall);
void cl_an_shards_member(struct cl_analytics *a, const char *service, const void *gz, size_t len,
                         uint64_t raw_len, int64_t now_wall);
void cl_an_shards_known(struct cl_analytics *a, const char *service, uint64_t id);
void cl_an_shards_tick(struct cl_analytics *a, int64_t now_ms);
void cl_an_shards_drain(struct cl_analytics *a, struct cl_analytics_batch *out, int final);
void cl_an_shards_render(struct cl_analytics *a, struct cl_buf *out);
size_t cl_an_shards_recent(struct cl_analytics *a, struct cl_anomaly_event *out, size_t max);
void cl_an_shards_stats(struct cl_analytics *a, struct cl_analytics_stats *st);

/* analytics_async.c */
int cl_an_async_start(struct cl_analytics *a, size_t bytes);
/* raw_len 0: data is lines; else one gzip member of raw_len bytes of lines */
void cl_an_async_put(struct cl_analytics *a, const char *data, size_t len, uint64_t raw_len,
                     int64_t now_wall);
void cl_an_async_flush(struct cl_analytics *a); /* returns once every put is learned */
uint64_t cl_an_async_waits(const struct cl_analytics *a);
void cl_an_async_stop(struct cl_analytics *a); /* learns what is left, joins, frees */
void cl_an_async_free(struct cl_an_async *q);

/* analytics_detect.c */
void cl_an_close_minute(struct cl_analytics *a, struct svc *s);
void cl_an_advance(struct cl_analytics *a, struct svc *s, int64_t minute);
void cl_an_new_pattern(struct cl_analytics *a, struct svc *s, struct pat *p, const char *tmpl,
                       int64_t ts_ms, int level);
void cl_an_check_silence(struct cl_analytics *a, struct svc *s, int64_t now_ms);
void cl_an_emit(struct cl_analytics *a, const struct cl_anomaly_event *e);
double cl_an_max_score(const struct cl_analytics *a); /* over a's services, under its lock */

/* analytics_rows.c */
void cl_an_count(struct cl_analytics *a, struct svc *s, uint64_t id, int64_t minute, int level,
                 uint32_t slot);
/* Starts loading the cache lines cl_an_count and cl_an_known_add will touch for these
 * keys (both are random probes into tables of megabytes: cache misses). */
void cl_an_prefetch(const struct cl_analytics *a, const struct svc *s, uint64_t id, int64_t minute,
                    int level, uint64_t known_key);
/* Moves s's pending rows to out[*n...] (room for them: the caller's), naming name; with
 * keep_held, the rows of patterns a drain holds back (struct pat.held) stay. Returns the
 * rows that stayed. */
size_t cl_an_rows_take(struct svc *s, struct cl_pattern_count *out, size_t *n, const char *name,
                       int keep_held);
struct cl_pattern_info *cl_an_info_push(struct cl_analytics *a);
/* Adds key to the known set; returns whether it was there already. */
int cl_an_known_add(struct cl_analytics *a, uint64_t key);
uint64_t cl_an_known_key(const struct svc *s, uint64_t id);

#endif
