/* analytics_shard.c - analytics split by service over several shards (cl_analytics_opts.shards,
 * docs/analytics.md "Cost inline, third round"): each shard is a whole cl_analytics of its
 * own (lock, services, miners, known set, observer thread), and every record goes to the
 * shard of its service. Services share nothing but the known set, whose keys carry the
 * service, so a service's records are learned in the same order by the same code as with
 * one object: the same patterns, ids and counts (unit test test_analytics_shard.c). What
 * it buys: with an observer thread per shard the mining of different services runs on
 * different cores, where one observer thread was the drain's bottleneck.
 *
 * What is not per service is made global here: the pipeline's clock (the newest record
 * time over every shard, handed to each shard's tick), the highest-score gauge (set at
 * each tick), and the drain, stats and recent anomalies (concatenated or merged). */
#include "analytics_int.h"

#include "common.h"
#include "mask.h"

#include <stdlib.h>
#include <string.h>

void cl_an_shards_start(struct cl_analytics *a)
{
    struct cl_analytics_opts o = a->o;
    size_t n = o.shards;
    o.shards = 0;
    o.max_services = (o.max_services + n - 1) / n;
    o.async_bytes = o.async_bytes ? CL_MAX(o.async_bytes / n, (size_t)65536) : 0;
    o.anomaly_score = NULL; /* the highest score over every shard: set at the tick, here */
    a->shards = cl_calloc(n, sizeof *a->shards);
    a->n_shards = n;
    for (size_t i = 0; i < n; i++)
        a->shards[i] = cl_analytics_new(&o);
}

void cl_an_shards_free(struct cl_analytics *a)
{
    for (size_t i = 0; i < a->n_shards; i++)
        cl_analytics_free(a->shards[i]);
    free(a->shards);
}

static struct cl_analytics *shard_of(const struct cl_analytics *a, const char *name, size_t len)
{
    /* cl_mask_hash is the service's bucket hash too; its high bits pick the shard */
    return a->shards[(cl_mask_hash(name, len) >> 40) % a->n_shards];
}

/* The last service routed: consecutive lines of one service (a member's) hash it once. */
struct last_service {
    char name[65];
    size_t len;
    struct cl_analytics *shard; /* NULL: none yet */
};

/* The shard of a line: its service's, else (no service: skipped there) the run's. */
static struct cl_analytics *line_shard(const struct cl_analytics *a, const char *line, size_t n,
                                       struct last_service *last, struct cl_analytics *run)
{
    struct cl_line_head h;
    const char *name;
    size_t len;
    if (n == 0 || cl_an_line_service(line, n, &h, &name, &len) != 0)
        return run ? run : a->shards[0];
    if (!last->shard || len != last->len || memcmp(name, last->name, len) != 0) {
        last->shard = shard_of(a, name, len);
        memcpy(last->name, name, len); /* len <= 64 */
        last->len = len;
    }
    return last->shard;
}

/* Hands each shard its services' lines, consecutive lines of one shard as one run. */
void cl_an_shards_observe(struct cl_analytics *a, const char *data, size_t len, int64_t now_wall)
{
    struct cl_analytics *run_shard = NULL;
    struct last_service last = {.shard = NULL};
    const char *run = data, *end = data + len;
    for (const char *p = data; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct cl_analytics *s = line_shard(a, p, n, &last, run_shard);
        if (s != run_shard) {
            if (run_shard && p > run)
                cl_analytics_observe_at(run_shard, run, (size_t)(p - 1 - run), now_wall);
            run_shard = s;
            run = p;
        }
        p += n + 1;
    }
    if (run_shard && end > run)
        cl_analytics_observe_at(run_shard, run, (size_t)(end - run), now_wall);
}

/* A member's lines are all of its service (the message's member index: ingest splits a
 * message by service and hour), so its service's shard learns it whole, as it would
 * learn those lines routed one by one. */
void cl_an_shards_member(struct cl_analytics *a, const char *service, const void *gz, size_t len,
                         uint64_t raw_len, int64_t now_wall)
{
    cl_an_member_at(shard_of(a, service, strlen(service)), gz, len, raw_len, now_wall);
}

void cl_an_shards_known(struct cl_analytics *a, const char *service, uint64_t id)
{
    cl_analytics_known(shard_of(a, service, strlen(service)), service, id);
}

/* The pipeline's clock is the newest record time over every service (and the wall clock
 * when it last advanced), as with one object: the shard that holds it says both. */
void cl_an_shards_tick(struct cl_analytics *a, int64_t now_ms)
{
    int64_t wm = 0, wall = 0;
    for (size_t i = 0; i < a->n_shards; i++) {
        struct cl_analytics *s = a->shards[i];
        pthread_mutex_lock(&s->mu);
        if (s->watermark_ms > wm || (s->watermark_ms == wm && s->watermark_wall < wall)) {
            wm = s->watermark_ms;
            wall = s->watermark_wall;
        }
        pthread_mutex_unlock(&s->mu);
    }
    double top = 0;
    for (size_t i = 0; i < a->n_shards; i++) {
        double sc = cl_an_tick_at(a->shards[i], now_ms, wm, wall);
        top = sc > top ? sc : top;
    }
    cl_gauge_set(a->o.anomaly_score, top);
}

/* Appends n items of size sz from src to *dst (holding *dn), taking src's ownership. */
static void *append(void *dst, size_t *dn, void *src, size_t n, size_t sz)
{
    if (n == 0) {
        free(src);
        return dst;
    }
    dst = cl_realloc(dst, (*dn + n) * sz);
    memcpy((char *)dst + *dn * sz, src, n * sz);
    *dn += n;
    free(src);
    return dst;
}

void cl_an_shards_drain(struct cl_analytics *a, struct cl_analytics_batch *out, int final)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < a->n_shards; i++) {
        struct cl_analytics_batch b;
        if (final)
            cl_analytics_drain_final(a->shards[i], &b);
        else
            cl_analytics_drain(a->shards[i], &b);
        /* the rows point to names the services array owns: moving the pointers keeps them */
        out->counts = append(out->counts, &out->n_counts, b.counts, b.n_counts, sizeof *b.counts);
        out->services =
            append(out->services, &out->n_services, b.services, b.n_services, sizeof *b.services);
        out->patterns =
            append(out->patterns, &out->n_patterns, b.patterns, b.n_patterns, sizeof *b.patterns);
        out->anomalies = append(out->anomalies, &out->n_anomalies, b.anomalies, b.n_anomalies,
                                sizeof *b.anomalies);
        out->dropped += b.dropped;
    }
}

void cl_an_shards_render(struct cl_analytics *a, struct cl_buf *out)
{
    for (size_t i = 0; i < a->n_shards; i++)
        cl_an_render_scores(a->shards[i], out);
}

/* Newest first over every shard: each shard's list is newest first, so a merge by time. */
size_t cl_an_shards_recent(struct cl_analytics *a, struct cl_anomaly_event *out, size_t max)
{
    size_t n = 0;
    struct cl_anomaly_event *tmp = cl_malloc(CL_MAX(max, (size_t)1) * sizeof *tmp);
    for (size_t i = 0; i < a->n_shards; i++) {
        size_t got = cl_analytics_recent(a->shards[i], tmp, max), k = 0, j = 0, m = 0;
        struct cl_anomaly_event *merged = cl_malloc(CL_MAX(max, (size_t)1) * sizeof *merged);
        while (m < max && (k < n || j < got))
            merged[m++] = j >= got || (k < n && out[k].ts_ms >= tmp[j].ts_ms) ? out[k++] : tmp[j++];
        memcpy(out, merged, m * sizeof *out);
        n = m;
        free(merged);
    }
    free(tmp);
    return n;
}

void cl_an_shards_stats(struct cl_analytics *a, struct cl_analytics_stats *st)
{
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < a->n_shards; i++) {
        struct cl_analytics_stats s;
        cl_analytics_stats(a->shards[i], &s);
        st->services += s.services;
        st->patterns += s.patterns;
        st->miner_bytes += s.miner_bytes;
        st->services_evicted += s.services_evicted;
        st->patterns_evicted += s.patterns_evicted;
        st->records += s.records;
        st->lock_contended += s.lock_contended;
        st->queue_waits += s.queue_waits;
        st->gz_failed += s.gz_failed;
        st->over_budget += s.over_budget;
    }
}
