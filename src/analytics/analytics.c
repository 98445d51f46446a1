/* analytics.c - the inline analytics object: services, observe, tick, drain (see
 * analytics.h). Minutes are event time: a record belongs to the minute of its timestamp,
 * and a service's minute closes when a record of a later minute arrives or, once it goes
 * quiet, when the tick sees the pipeline's clock (the newest record time, advanced by
 * the wall clock since) a minute past it. A record older than its service's open minute
 * is counted but not fed to the detectors. */
#include "analytics_int.h"

#include "buf.h"
#include "codec.h"
#include "common.h"
#include "json.h"
#include "log.h"
#include "mask.h"
#include "partition.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KNOWN_CAP (1u << 18) /* 2 MiB: 131072 remembered patterns */
/* The set starts at 32 KiB and doubles up to KNOWN_CAP as it fills (analytics_rows.c):
 * a fixed 2 MiB table had every page written by a few thousand keys spread over it. */
#define KNOWN_START (1u << 12)

void cl_analytics_opts_default(struct cl_analytics_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_services = CL_ANALYTICS_MAX_SERVICES;
    o->max_patterns = CL_ANALYTICS_MAX_PATTERNS;
    o->warmup_ms = CL_ANALYTICS_WARMUP_MS;
}

struct cl_analytics *cl_analytics_new(const struct cl_analytics_opts *o)
{
    struct cl_analytics *a = cl_calloc(1, sizeof *a);
    cl_analytics_opts_default(&a->o);
    if (o)
        a->o = *o;
    if (!a->o.max_services)
        a->o.max_services = CL_ANALYTICS_MAX_SERVICES;
    if (!a->o.max_patterns)
        a->o.max_patterns = CL_ANALYTICS_MAX_PATTERNS;
    if (!a->o.max_new_per_minute)
        a->o.max_new_per_minute = a->o.max_patterns;
    a->rare_id = cl_mask_hash(CL_ANALYTICS_RARE_TEMPLATE, strlen(CL_ANALYTICS_RARE_TEMPLATE));
    pthread_mutex_init(&a->mu, NULL);
    if (a->o.shards > 1) { /* a front: the shards hold everything */
        cl_an_shards_start(a);
        return a;
    }
    a->svcs = cl_calloc(a->o.max_services, sizeof *a->svcs);
    a->n_buckets = 16;
    while (a->n_buckets < 2 * a->o.max_services)
        a->n_buckets *= 2;
    a->buckets = cl_malloc(a->n_buckets * sizeof *a->buckets);
    for (size_t i = 0; i < a->n_buckets; i++)
        a->buckets[i] = -1;
    a->known_cap = KNOWN_START;
    a->known_max = KNOWN_CAP;
    a->known = cl_calloc(a->known_cap, sizeof *a->known);
    if (a->o.async_bytes && cl_an_async_start(a, a->o.async_bytes) != 0)
        a->async = NULL; /* no thread: observe in the caller */
    return a;
}

static void info_free(struct cl_pattern_info *p)
{
    free(p->tmpl);
    free(p->example);
}

static void svc_free(struct cl_analytics *a, struct svc *s)
{
    for (size_t i = 0; i < a->o.max_patterns; i++)
        free(s->pats[i].example);
    free(s->pats);
    free(s->rows);
    cl_miner_free(s->miner);
    free(s);
}

void cl_analytics_free(struct cl_analytics *a)
{
    if (!a)
        return;
    if (a->shards) {
        cl_an_shards_free(a);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return;
    }
    cl_an_async_stop(a);
    for (size_t i = 0; i < a->o.max_services; i++)
        if (a->svcs[i])
            svc_free(a, a->svcs[i]);
    for (size_t i = 0; i < a->n_infos; i++)
        info_free(&a->infos[i]);
    free(a->infos);
    free(a->events);
    free(a->orphans);
    for (size_t i = 0; i < a->n_orphan_names; i++)
        free(a->orphan_names[i]);
    free(a->orphan_names);
    free(a->svcs);
    free(a->buckets);
    free(a->known);
    free(a->scratch);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* Takes the lock, counting the times another thread held it (the measurement behind the
 * one-lock design). */
static void lock(struct cl_analytics *a)
{
    if (pthread_mutex_trylock(&a->mu) == 0)
        return;
    pthread_mutex_lock(&a->mu);
    a->contended++;
}

/* ---- services ---- */

static struct svc *svc_find(struct cl_analytics *a, const char *name, size_t len, uint64_t h)
{
    for (int32_t i = a->buckets[h & (a->n_buckets - 1)]; i >= 0; i = a->svcs[i]->next)
        if (a->svcs[i]->name_hash == h && memcmp(a->svcs[i]->name, name, len) == 0 &&
            a->svcs[i]->name[len] == '\0')
            return a->svcs[i];
    return NULL;
}

static void bucket_unlink(struct cl_analytics *a, int32_t idx)
{
    int32_t *p = &a->buckets[a->svcs[idx]->name_hash & (a->n_buckets - 1)];
    while (*p != idx)
        p = &a->svcs[*p]->next;
    *p = a->svcs[idx]->next;
}

/* Evicts the least recently seen service; its pending counts wait for the next drain. */
static size_t evict_service(struct cl_analytics *a)
{
    size_t victim = 0;
    for (size_t i = 1; i < a->o.max_services; i++)
        if (a->svcs[i]->used_ms < a->svcs[victim]->used_ms)
            victim = i;
    struct svc *s = a->svcs[victim];
    if (s->n_rows) { /* its pending counts wait for the next drain, with its name */
        char *name = cl_strdup(s->name);
        a->orphan_names =
            cl_realloc(a->orphan_names, (a->n_orphan_names + 1) * sizeof *a->orphan_names);
        a->orphan_names[a->n_orphan_names++] = name;
        a->orphans = cl_realloc(a->orphans, (a->n_orphans + s->n_rows) * sizeof *a->orphans);
        a->pending_rows -= s->n_rows;
        cl_an_rows_take(s, a->orphans, &a->n_orphans, name, 0);
    }
    bucket_unlink(a, (int32_t)victim);
    svc_free(a, s);
    a->svcs[victim] = NULL;
    a->n_svcs--;
    a->services_evicted++;
    return victim;
}

/* The service of a line (len 1 to 64), created on first sight; NULL when checked is 0
 * and the name is not a valid service (what cl_line_head_parse refuses: a known name was
 * valid when it was created, so the check runs once per service). */
static struct svc *svc_get(struct cl_analytics *a, const char *name, size_t len, int checked,
                           int64_t now_wall)
{
    uint64_t h = cl_mask_hash(name, len);
    struct svc *s = svc_find(a, name, len, h);
    if (s) {
        s->used_ms = now_wall;
        return s;
    }
    if (!checked && !cl_service_valid(name, len))
        return NULL;
    size_t idx = 0;
    if (a->n_svcs == a->o.max_services)
        idx = evict_service(a);
    else
        while (a->svcs[idx])
            idx++;
    s = cl_calloc(1, sizeof *s);
    memcpy(s->name, name, len); /* len <= 64; calloc wrote the NUL */
    s->name_hash = h;
    struct cl_miner_config mc = {.max_clusters = a->o.max_patterns};
    s->miner = cl_miner_new(&mc);
    s->pats = cl_calloc(a->o.max_patterns, sizeof *s->pats);
    cl_anomaly_series_init(&s->rate);
    cl_anomaly_series_init(&s->errors);
    s->novelty.warmup_ms = a->o.warmup_ms;
    s->silence.floor_ms = CL_ANALYTICS_SILENCE_FLOOR_MS;
    s->used_ms = now_wall;
    int32_t *head = &a->buckets[h & (a->n_buckets - 1)];
    s->next = *head;
    *head = (int32_t)idx;
    a->svcs[idx] = s;
    a->n_svcs++;
    return s;
}

void cl_analytics_known(struct cl_analytics *a, const char *service, uint64_t id)
{
    if (a->shards) {
        cl_an_shards_known(a, service, id);
        return;
    }
    struct svc tmp;
    tmp.name_hash = cl_mask_hash(service, strlen(service));
    lock(a);
    cl_an_known_add(a, cl_an_known_key(&tmp, id));
    pthread_mutex_unlock(&a->mu);
}

/* ---- records ---- */

/* A slot's state belongs to the cluster now in it; a reused slot starts over. */
static struct pat *pat_of(struct svc *s, const struct cl_pattern_match *m)
{
    struct pat *p = &s->pats[m->cluster];
    if (!p->used || p->generation != m->generation) {
        char *example = p->example; /* its buffer is reused (no allocation per pattern) */
        size_t cap = p->example_cap;
        memset(p, 0, offsetof(struct pat, rate)); /* rate: at its first minute (rate_ready) */
        p->example = example;
        p->example_cap = cap;
        p->example_len = 0;
        p->used = 1;
        p->generation = m->generation;
    }
    return p;
}

static void set_example(struct pat *p, const char *line, size_t len)
{
    size_t n = CL_MIN(len, (size_t)CL_ANALYTICS_EXAMPLE_MAX);
    if (p->example_cap < n + 1) {
        free(p->example);
        p->example_cap = (n + 1 + 63) & ~(size_t)63; /* kept with the slot: 64-byte steps */
        p->example = cl_malloc(p->example_cap);
    }
    memcpy(p->example, line, n);
    p->example[n] = '\0';
    p->example_len = n;
}

static void rename_pattern(struct cl_analytics *a, struct svc *s, struct pat *p, uint64_t id)
{
    if (p->id && p->id != id) {
        struct cl_pattern_info *r = cl_an_info_push(a);
        memcpy(r->service, s->name, sizeof r->service);
        r->prev_id = p->id;
        r->id = id;
        p->renamed = 1;
    }
    p->id = id;
    p->dirty = 1;
}

/* What every record of s does after its pattern is known (p NULL: over the budget, counted
 * under "<rare>"): the minute, the service's counts and detectors, the count row. */
static void observe_tail(struct cl_analytics *a, struct svc *s, const struct cl_an_line *h,
                         int64_t minute, struct pat *p, uint64_t id, uint32_t slot)
{
    if (s->minute == 0)
        s->minute = minute;
    if (minute > s->minute)
        cl_an_advance(a, s, minute);
    if (minute == s->minute) {
        s->m_records++;
        if (p)
            p->minute_count++;
        if (h->level >= CL_LEVEL_ERROR) {
            s->m_errors++;
            if (p)
                p->minute_errors++;
        }
    }
    cl_an_count(a, s, id, minute, (int)h->level, slot);
    if (p)
        p->records += p->records != UINT32_MAX;
}

static void observe_done(struct cl_analytics *a, struct svc *s, const struct cl_an_line *h,
                         int64_t now_wall)
{
    cl_anomaly_silence_record(&s->silence, h->ts_ms);
    s->silent = 0;
    s->score[3] = 0;
    if (h->ts_ms > a->watermark_ms) {
        a->watermark_ms = h->ts_ms;
        a->watermark_wall = now_wall;
    }
    a->records++;
}

/* A record over its service's budget of new clusters: no cluster, no pattern state, no
 * example, no known-set entry; one count row per minute and level under "<rare>", and
 * that pattern's row (first and last seen) at the next drain. */
static void observe_over_budget(struct cl_analytics *a, struct svc *s, const struct cl_an_line *h,
                                int64_t minute, int64_t now_wall)
{
    /* slot 0: a count row names a slot for hold_singletons; no pattern state has the rare
     * id unless its template is "<rare>" itself, and then the row is that pattern's */
    observe_tail(a, s, h, minute, NULL, a->rare_id, 0);
    cl_anomaly_novelty_check(&s->novelty, h->ts_ms, 0);
    if (!s->rare_pending || h->ts_ms < s->rare_first)
        s->rare_first = h->ts_ms;
    if (!s->rare_pending || h->ts_ms > s->rare_last)
        s->rare_last = h->ts_ms;
    s->rare_pending = 1;
    a->over_budget++;
    observe_done(a, s, h, now_wall);
}

static void observe_line(struct cl_analytics *a, const char *line, size_t len, int64_t now_wall)
{
    struct cl_an_line h;
    const char *msg;
    size_t msg_len;
    if (cl_an_line_head(a, line, len, &h) != 0 ||
        cl_an_line_message(a, line, len, &h, &msg, &msg_len) != 0)
        return;
    struct svc *s = svc_get(a, h.service, h.service_len, h.service_checked, now_wall);
    if (!s)
        return;
    int64_t minute = h.ts_ms / 60000;
    /* A record of a later minute opens a new budget (cl_an_advance resets m_created). */
    int may_create = s->m_created < a->o.max_new_per_minute || minute > s->minute;
    struct cl_pattern_match m; /* the miner's shape cache skips the mask on a hit */
    if (cl_miner_add_or_skip(s->miner, msg, msg_len, may_create, &m) != 0) {
        observe_over_budget(a, s, &h, minute, now_wall);
        return;
    }
    struct pat *p = &s->pats[m.cluster];
    int fresh = !p->used || p->generation != m.generation || p->example_len == 0;
    cl_an_prefetch(a, s, m.id, minute, (int)h.level, fresh ? cl_an_known_key(s, m.id) : 0);
    p = pat_of(s, &m);
    if (p->id != m.id)
        rename_pattern(a, s, p, m.id);
    observe_tail(a, s, &h, minute, p, m.id, m.cluster);
    s->m_created += (uint32_t)m.is_new; /* after the minute's advance: counts in its minute */
    if (fresh) {
        p->first_ms = h.ts_ms;
        set_example(p, line, len);
        uint64_t key = cl_an_known_key(s, m.id);
        int first_seen = !cl_an_known_add(a, key) && m.is_new;
        if (cl_anomaly_novelty_check(&s->novelty, h.ts_ms, first_seen))
            cl_an_new_pattern(a, s, p, cl_miner_template(s->miner, m.cluster, NULL, NULL), h.ts_ms,
                              (int)h.level);
    } else {
        cl_anomaly_novelty_check(&s->novelty, h.ts_ms, 0);
    }
    p->last_ms = CL_MAX(p->last_ms, h.ts_ms);
    p->dirty = 1;
    observe_done(a, s, &h, now_wall);
}

void cl_analytics_observe(struct cl_analytics *a, const char *data, size_t len)
{
    cl_analytics_observe_at(a, data, len, cl_now_ms());
}

void cl_analytics_observe_at(struct cl_analytics *a, const char *data, size_t len, int64_t now_wall)
{
    if (!a)
        return;
    if (a->shards)
        cl_an_shards_observe(a, data, len, now_wall);
    else if (a->async)
        cl_an_async_put(a, data, len, 0, now_wall);
    else
        cl_an_observe_now(a, data, len, now_wall);
}

/* A text buffer larger than this is given back after its member (an observer keeps one). */
#define GZ_TEXT_KEEP ((size_t)4 << 20)

/* Counts a member that did not inflate to its indexed length; warns at the 1st, 2nd, 4th,
 * 8th ... so that a stream of them cannot flood the log. */
static void gz_failed(struct cl_analytics *a, uint64_t raw_len)
{
    lock(a);
    uint64_t n = ++a->gz_failed;
    pthread_mutex_unlock(&a->mu);
    if ((n & (n - 1)) == 0)
        cl_log(CL_LOG_WARN,
               "analytics: a stored gzip member did not inflate to its indexed %llu bytes "
               "(%llu such member(s) so far): its records are not in patterns, and its "
               "message was not written by cloudlog's ingest",
               (unsigned long long)raw_len, (unsigned long long)n);
}

void cl_an_observe_gz_now(struct cl_analytics *a, const void *gz, size_t len, uint64_t raw_len,
                          int64_t now_wall, struct cl_buf *text)
{
    cl_buf_reset(text);
    /* Bounded by the index's length, one byte over: a member that inflates beyond it (a
     * forged message's "bomb") stops there instead of growing the buffer without end, and
     * the extra byte lets a good member's inflate reach its trailer. */
    text->max = raw_len < SIZE_MAX - 1 ? (size_t)raw_len + 1 : SIZE_MAX;
    if (cl_gzip_decompress(gz, len, text) != CL_OK || text->len != raw_len)
        gz_failed(a, raw_len);
    else
        cl_an_observe_now(a, text->data, text->len, now_wall);
    if (text->cap > GZ_TEXT_KEEP)
        cl_buf_free(text);
}

void cl_an_member_at(struct cl_analytics *a, const void *gz, size_t len, uint64_t raw_len,
                     int64_t now_wall)
{
    if (a->async) {
        cl_an_async_put(a, gz, len, raw_len, now_wall);
        return;
    }
    struct cl_buf text; /* synchronous: inflated here, freed before returning */
    cl_buf_init(&text, SIZE_MAX);
    cl_an_observe_gz_now(a, gz, len, raw_len, now_wall, &text);
    cl_buf_free(&text);
}

void cl_analytics_observe_member(struct cl_analytics *a, const char *service, const void *gz,
                                 size_t len, uint64_t raw_len)
{
    cl_analytics_observe_member_at(a, service, gz, len, raw_len, cl_now_ms());
}

void cl_analytics_observe_member_at(struct cl_analytics *a, const char *service, const void *gz,
                                    size_t len, uint64_t raw_len, int64_t now_wall)
{
    if (!a)
        return;
    if (a->shards)
        cl_an_shards_member(a, service, gz, len, raw_len, now_wall);
    else
        cl_an_member_at(a, gz, len, raw_len, now_wall);
}

void cl_an_observe_now(struct cl_analytics *a, const char *data, size_t len, int64_t now_wall)
{
    lock(a);
    for (const char *p = data, *end = data + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n)
            observe_line(a, p, n, now_wall);
        p += n + 1;
    }
    pthread_mutex_unlock(&a->mu);
}

/* ---- tick ---- */

/* The second pass may change templates: the ids of the clusters it touched change. */
static void consolidate(struct cl_analytics *a, struct svc *s)
{
    if (cl_miner_consolidate(s->miner) == 0)
        return;
    for (uint32_t i = 0; i < a->o.max_patterns; i++) {
        struct pat *p = &s->pats[i];
        uint64_t id;
        if (!p->used || !cl_miner_alive(s->miner, i, p->generation))
            continue;
        cl_miner_template(s->miner, i, NULL, &id);
        if (id != p->id)
            rename_pattern(a, s, p, id);
    }
}

void cl_analytics_tick(struct cl_analytics *a, int64_t now_ms)
{
    if (!a)
        return;
    if (a->shards) {
        cl_an_shards_tick(a, now_ms);
        return;
    }
    cl_an_tick_at(a, now_ms, -1, 0);
}

double cl_an_tick_at(struct cl_analytics *a, int64_t now_ms, int64_t watermark_ms,
                     int64_t watermark_wall)
{
    lock(a);
    if (watermark_ms < 0) { /* its own, read under the lock */
        watermark_ms = a->watermark_ms;
        watermark_wall = a->watermark_wall;
    }
    /* The pipeline's clock: event time, moving on with the wall clock while nothing comes. */
    int64_t now_event = watermark_ms + CL_MAX(now_ms - watermark_wall, (int64_t)0);
    int run_second_pass = now_ms - a->consolidated_ms >= 60000;
    if (run_second_pass)
        a->consolidated_ms = now_ms;
    for (size_t i = 0; watermark_ms && i < a->o.max_services; i++) {
        struct svc *s = a->svcs[i];
        if (!s)
            continue;
        int64_t due = now_event / 60000 - 1; /* a minute of grace for late records */
        if (s->minute && due > s->minute)
            cl_an_advance(a, s, due);
        cl_an_check_silence(a, s, now_event);
        if (run_second_pass)
            consolidate(a, s);
    }
    double top = cl_an_max_score(a);
    pthread_mutex_unlock(&a->mu);
    return top;
}

/* ---- drain ---- */

/* Whether a drain may hold back a pattern's first row (hold_singletons, analytics.h): one
 * record, never handed over, its id never moved (so its one count row has its id). */
static int hold_back(const struct pat *p)
{
    return !p->held && !p->handed && !p->renamed && p->records == 1;
}

/* Hands over the rows of s's live patterns that changed, and those held back by the last
 * drain; with hold, holds back the singletons (their count rows stay: cl_an_rows_take). */
static void push_upserts(struct cl_analytics *a, struct svc *s, int hold)
{
    if (s->rare_pending) { /* the budget's "<rare>" row: its counts are in s's rows */
        struct cl_pattern_info *u = cl_an_info_push(a);
        memcpy(u->service, s->name, sizeof u->service);
        u->id = a->rare_id;
        u->tmpl = cl_strdup(CL_ANALYTICS_RARE_TEMPLATE);
        u->first_ms = s->rare_first;
        u->last_ms = s->rare_last;
        s->rare_pending = 0;
    }
    for (uint32_t i = 0; i < a->o.max_patterns; i++) {
        struct pat *p = &s->pats[i];
        if (!p->used)
            continue;
        if (!cl_miner_alive(s->miner, i, p->generation)) {
            p->held = 0; /* evicted: its count goes with this drain */
            continue;
        }
        if (!p->dirty && !p->held)
            continue;
        if (hold && hold_back(p)) {
            p->held = 1;
            continue;
        }
        size_t len;
        const char *t = cl_miner_template(s->miner, i, &len, NULL);
        struct cl_pattern_info *u = cl_an_info_push(a);
        memcpy(u->service, s->name, sizeof u->service);
        u->id = p->id;
        u->tmpl = cl_strdup(t);
        u->example = p->example_len ? cl_strdup(p->example) : NULL;
        u->first_ms = p->first_ms;
        u->last_ms = p->last_ms;
        p->dirty = 0;
        p->held = 0;
        p->handed = 1;
    }
}

static void drain(struct cl_analytics *a, struct cl_analytics_batch *out, int final)
{
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    if (a->shards) {
        cl_an_shards_drain(a, out, final);
        return;
    }
    /* A row's slot is 16 bits (the daemon's cap is 65,536 patterns). */
    int hold = a->o.hold_singletons && !final && a->o.max_patterns <= 65536;
    size_t kept = 0;
    cl_an_async_flush(a);
    lock(a);
    /* One block for every row (the pending count is exact), names once per service. */
    out->n_counts = a->n_orphans;
    out->counts = cl_realloc(a->orphans, CL_MAX(a->n_orphans + a->pending_rows, (size_t)1) *
                                             sizeof *out->counts);
    out->services =
        cl_realloc(a->orphan_names, (a->n_orphan_names + a->n_svcs + 1) * sizeof *out->services);
    out->n_services = a->n_orphan_names;
    a->orphans = NULL;
    a->n_orphans = 0;
    a->orphan_names = NULL;
    a->n_orphan_names = 0;
    for (size_t i = 0; i < a->o.max_services; i++)
        if (a->svcs[i]) {
            push_upserts(a, a->svcs[i], hold); /* first: it decides what is held */
            if (a->svcs[i]->n_rows) {
                char *name = cl_strdup(a->svcs[i]->name);
                out->services[out->n_services++] = name;
                kept += cl_an_rows_take(a->svcs[i], out->counts, &out->n_counts, name, hold);
            }
        }
    a->pending_rows = kept;
    out->patterns = a->infos;
    out->n_patterns = a->n_infos;
    a->infos = NULL;
    a->n_infos = a->cap_infos = 0;
    out->anomalies = a->events;
    out->n_anomalies = a->n_events;
    a->events = NULL;
    a->n_events = a->cap_events = 0;
    out->dropped = a->dropped;
    a->dropped = 0;
    pthread_mutex_unlock(&a->mu);
}

void cl_analytics_drain(struct cl_analytics *a, struct cl_analytics_batch *out)
{
    drain(a, out, 0);
}

void cl_analytics_drain_final(struct cl_analytics *a, struct cl_analytics_batch *out)
{
    drain(a, out, 1);
}

void cl_analytics_batch_free(struct cl_analytics_batch *b)
{
    for (size_t i = 0; i < b->n_patterns; i++)
        info_free(&b->patterns[i]);
    free(b->patterns);
    free(b->counts);
    for (size_t i = 0; i < b->n_services; i++)
        free(b->services[i]);
    free(b->services);
    free(b->anomalies);
    memset(b, 0, sizeof *b);
}

/* ---- reading ---- */

static const char *const score_series[] = {"rate", "error_ratio", "pattern_rate", "silence"};

void cl_analytics_render_prom(struct cl_analytics *a, struct cl_buf *out)
{
    if (!a)
        return;
    cl_buf_printf(out, "# HELP cloudlog_anomaly_score Anomaly score of the last closed minute "
                       "(0 expected, 0.5 and more an anomaly) per service and series.\n"
                       "# TYPE cloudlog_anomaly_score gauge\n");
    if (a->shards)
        cl_an_shards_render(a, out);
    else
        cl_an_render_scores(a, out);
}

void cl_an_render_scores(struct cl_analytics *a, struct cl_buf *out)
{
    lock(a);
    for (size_t i = 0; i < a->o.max_services; i++) {
        const struct svc *s = a->svcs[i];
        for (size_t k = 0; s && k < CL_ARRAY_LEN(score_series); k++)
            cl_buf_printf(out, "cloudlog_anomaly_score{service=\"%s\",series=\"%s\"} %.4f\n",
                          s->name, score_series[k], s->score[k]);
    }
    pthread_mutex_unlock(&a->mu);
}

size_t cl_analytics_recent(struct cl_analytics *a, struct cl_anomaly_event *out, size_t max)
{
    if (!a)
        return 0;
    if (a->shards)
        return cl_an_shards_recent(a, out, max);
    lock(a);
    size_t n = CL_MIN(max, a->recent_n);
    for (size_t i = 0; i < n; i++)
        out[i] = a->recent[(a->recent_next + CL_ANALYTICS_RECENT - 1 - i) % CL_ANALYTICS_RECENT];
    pthread_mutex_unlock(&a->mu);
    return n;
}

void cl_analytics_stats(struct cl_analytics *a, struct cl_analytics_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!a)
        return;
    if (a->shards) {
        cl_an_shards_stats(a, st);
        return;
    }
    lock(a);
    st->services = a->n_svcs;
    st->services_evicted = a->services_evicted;
    st->records = a->records;
    st->lock_contended = a->contended;
    st->queue_waits = cl_an_async_waits(a);
    st->gz_failed = a->gz_failed;
    st->over_budget = a->over_budget;
    for (size_t i = 0; i < a->o.max_services; i++)
        if (a->svcs[i]) {
            st->patterns += cl_miner_count(a->svcs[i]->miner);
            st->miner_bytes += cl_miner_memory(a->svcs[i]->miner);
            st->patterns_evicted += cl_miner_evictions(a->svcs[i]->miner);
        }
    pthread_mutex_unlock(&a->mu);
}
