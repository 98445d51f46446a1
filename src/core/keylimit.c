/* keylimit.c - per-key token buckets and counters, one mutex for the whole table.
 *
 * A table lock is enough: it is held for a few arithmetic operations per request, next to
 * a request that parses a body and waits for an fsync. */
#include "keylimit.h"

#include "common.h"
#include "json_write.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct bucket {
    double tokens; /* may go below 0: debt */
};

struct entry {
    char name[CL_API_KEY_NAME_MAX + 1];
    struct bucket records, bytes;
    int64_t refilled_ms;
    uint64_t requests, throttled, n_records, n_bytes;
    uint64_t emitted[4]; /* the four counters at the last EMF document */
};

struct cl_key_usage {
    pthread_mutex_t mu;
    struct entry *e;
    size_t n;
};

struct cl_key_usage *cl_key_usage_new(void)
{
    struct cl_key_usage *u = cl_calloc(1, sizeof *u);
    pthread_mutex_init(&u->mu, NULL);
    return u;
}

void cl_key_usage_free(struct cl_key_usage *u)
{
    if (!u)
        return;
    pthread_mutex_destroy(&u->mu);
    free(u->e);
    free(u);
}

/* The entry of key (created with full buckets on first use); u->mu held. */
static struct entry *entry_of(struct cl_key_usage *u, const struct cl_api_key_info *key,
                              int64_t now_ms)
{
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->e[i].name, key->name) == 0)
            return &u->e[i];
    u->e = cl_realloc(u->e, (u->n + 1) * sizeof *u->e);
    struct entry *e = &u->e[u->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->name, key->name, sizeof e->name);
    e->records.tokens = key->records_per_s;
    e->bytes.tokens = key->bytes_per_s;
    e->refilled_ms = now_ms;
    return e;
}

/* Adds the tokens earned since the last refill, up to one second's worth (the burst). */
static void refill(struct bucket *b, double rate, double elapsed_s)
{
    if (rate > 0)
        b->tokens = fmin(rate, b->tokens + rate * elapsed_s);
}

static void refill_entry(struct entry *e, const struct cl_api_key_info *key, int64_t now_ms)
{
    double elapsed_s = now_ms > e->refilled_ms ? (double)(now_ms - e->refilled_ms) / 1000.0 : 0;
    refill(&e->records, key->records_per_s, elapsed_s);
    refill(&e->bytes, key->bytes_per_s, elapsed_s);
    e->refilled_ms = CL_MAX(e->refilled_ms, now_ms);
}

/* Seconds until b is out of debt at rate (0 if it is not in debt or unlimited). */
static int wait_s(const struct bucket *b, double rate)
{
    if (rate <= 0 || b->tokens > 0)
        return 0;
    double s = ceil((-b->tokens + rate * 1e-3) / rate);
    return s < 1 ? 1 : s > 3600 ? 3600 : (int)s;
}

int cl_key_usage_admit(struct cl_key_usage *u, const struct cl_api_key_info *key, int64_t now_ms)
{
    if (key->records_per_s <= 0 && key->bytes_per_s <= 0)
        return 0;
    pthread_mutex_lock(&u->mu);
    struct entry *e = entry_of(u, key, now_ms);
    refill_entry(e, key, now_ms);
    int wait = CL_MAX(wait_s(&e->records, key->records_per_s), wait_s(&e->bytes, key->bytes_per_s));
    if (wait)
        e->throttled++;
    pthread_mutex_unlock(&u->mu);
    return wait;
}

void cl_key_usage_record(struct cl_key_usage *u, const struct cl_api_key_info *key, int status,
                         uint64_t records, uint64_t bytes, int64_t now_ms)
{
    pthread_mutex_lock(&u->mu);
    struct entry *e = entry_of(u, key, now_ms);
    refill_entry(e, key, now_ms);
    if (status != 429) /* a refusal was counted by admit and used nothing */
        e->requests++;
    e->n_records += records;
    e->n_bytes += status != 429 ? bytes : 0;
    if (key->records_per_s > 0)
        e->records.tokens -= (double)records;
    if (key->bytes_per_s > 0 && status != 429)
        e->bytes.tokens -= (double)bytes;
    pthread_mutex_unlock(&u->mu);
}

static void render_family(struct cl_key_usage *u, struct cl_buf *out, const char *name,
                          const char *help, size_t field)
{
    cl_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < u->n; i++) {
        uint64_t v;
        memcpy(&v, (const char *)&u->e[i] + field, sizeof v);
        /* names are [A-Za-z0-9._-]: nothing to escape in a label value */
        cl_buf_printf(out, "%s{key=\"%s\"} %llu\n", name, u->e[i].name, (unsigned long long)v);
    }
}

void cl_key_usage_render_prom(struct cl_key_usage *u, struct cl_buf *out)
{
    pthread_mutex_lock(&u->mu);
    if (u->n) {
        render_family(u, out, "cloudlog_key_requests_total",
                      "Ingest requests answered per API key (429s not included).",
                      offsetof(struct entry, requests));
        render_family(u, out, "cloudlog_key_throttled_total",
                      "Ingest requests refused with 429 by the key's rate limits.",
                      offsetof(struct entry, throttled));
        render_family(u, out, "cloudlog_key_records_total", "Records accepted per API key.",
                      offsetof(struct entry, n_records));
        render_family(u, out, "cloudlog_key_bytes_total",
                      "Request body bytes received per API key (429s not included).",
                      offsetof(struct entry, n_bytes));
    }
    pthread_mutex_unlock(&u->mu);
}

void cl_key_usage_each(struct cl_key_usage *u,
                       void (*fn)(void *arg, const char *name, uint64_t requests,
                                  uint64_t throttled, uint64_t records, uint64_t bytes),
                       void *arg)
{
    pthread_mutex_lock(&u->mu);
    for (size_t i = 0; i < u->n; i++)
        fn(arg, u->e[i].name, u->e[i].requests, u->e[i].throttled, u->e[i].n_records,
           u->e[i].n_bytes);
    pthread_mutex_unlock(&u->mu);
}

/* One EMF document for entry e: the counters' deltas since the last one. */
static void emf_entry(struct entry *e, const char *ns, int64_t now_ms, struct cl_buf *out)
{
    static const char *const names[4] = {"KeyRequests", "KeyThrottled", "KeyRecords", "KeyBytes"};
    const uint64_t now[4] = {e->requests, e->throttled, e->n_records, e->n_bytes};
    cl_buf_printf(out, "{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{\"Namespace\":",
                  (long long)now_ms);
    cl_json_write_string(out, ns, strlen(ns));
    cl_buf_append_str(out, ",\"Dimensions\":[[\"ApiKey\"]],\"Metrics\":[");
    for (int i = 0; i < 4; i++)
        cl_buf_printf(out, "%s{\"Name\":\"%s\",\"Unit\":\"%s\"}", i ? "," : "", names[i],
                      i == 3 ? "Bytes" : "Count");
    cl_buf_printf(out, "]}]},\"ApiKey\":\"%s\"", e->name);
    for (int i = 0; i < 4; i++) {
        cl_buf_printf(out, ",\"%s\":%llu", names[i], (unsigned long long)(now[i] - e->emitted[i]));
        e->emitted[i] = now[i];
    }
    cl_buf_append_str(out, "}\n");
}

void cl_key_usage_emf(struct cl_key_usage *u, const char *ns, int64_t now_ms, struct cl_buf *out)
{
    pthread_mutex_lock(&u->mu);
    for (size_t i = 0; i < u->n; i++) {
        struct entry *e = &u->e[i];
        if (e->requests != e->emitted[0] || e->throttled != e->emitted[1] ||
            e->n_records != e->emitted[2] || e->n_bytes != e->emitted[3])
            emf_entry(e, ns, now_ms, out);
    }
    pthread_mutex_unlock(&u->mu);
}
