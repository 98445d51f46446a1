/* gen.c - deterministic synthetic NDJSON log records shared by the benchmarks. */
#include "gen.h"

#include "common.h"
#include "record.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const SERVICES[] = {"api-gateway", "auth",     "billing",        "cart",
                                       "catalog",     "checkout", "email",          "frontend",
                                       "inventory",   "ledger",   "notifications",  "orders",
                                       "payments",    "pricing",  "recommendation", "search",
                                       "sessions",    "shipping", "user-profile",   "web"};

static const char *const WORDS[] = {
    "request",    "completed", "failed",     "user",      "session",  "cache",    "miss",
    "hit",        "database",  "query",      "timeout",   "retry",    "upstream", "response",
    "received",   "sent",      "order",      "payment",   "token",    "expired",  "refreshed",
    "connection", "pool",      "exhausted",  "handler",   "started",  "stopped",  "queue",
    "message",    "processed", "batch",      "flushed",   "record",   "invalid",  "field",
    "missing",    "config",    "reloaded",   "worker",    "shard",    "replica",  "lag",
    "latency",    "high",      "low",        "backend",   "healthy",  "degraded", "item",
    "added",      "removed",   "checkout",   "inventory", "reserved", "released", "webhook",
    "delivered",  "rejected",  "accepted",   "rate",      "limit",    "exceeded", "slow",
    "lock",       "acquired",  "contention", "snapshot",  "written",  "read",     "bytes",
    "from",       "to",        "for",        "with",      "after",    "while",    "the",
    "a",          "in",        "on",         "of",        "and",      "client",   "server"};

static const int STATUSES[] = {200, 200, 200, 200, 200, 200, 201, 204,
                               301, 304, 400, 401, 404, 429, 500, 503};

void cl_gen_init(struct cl_gen *g, uint64_t seed)
{
    *g = (struct cl_gen){.state = seed};
}

/* splitmix64: tiny, fast, and good enough for synthetic data. */
uint64_t cl_gen_next(struct cl_gen *g)
{
    uint64_t z = (g->state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint32_t cl_gen_below(struct cl_gen *g, uint32_t n)
{
    return (uint32_t)(((cl_gen_next(g) >> 32) * n) >> 32);
}

static const char *gen_level(struct cl_gen *g)
{
    uint32_t r = cl_gen_below(g, 100);
    if (r < 70)
        return "info";
    if (r < 85)
        return "debug";
    if (r < 97)
        return "warn";
    return "error";
}

static int gen_timestamp(struct cl_buf *b, int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    return cl_buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* Application-log templates; each % directive is a variable field (gen_field). */
static const char *const TEMPLATES[] = {
    "Connection to %i:%d timed out after %m ms",
    "Connection to %i:%d established",
    "Connection from %i closed by peer",
    "User %u logged in from %i",
    "User %u logged out",
    "Failed password for %u from %i port %d",
    "GET %p returned %s in %m ms",
    "POST %p returned %s in %m ms",
    "PUT %p returned %s in %m ms",
    "DELETE %p returned %s in %m ms",
    "Cache miss for key session:%h",
    "Cache hit for key user:%d",
    "Evicted %d entries from cache in %m ms",
    "Order %d placed by %u total %d.%d USD",
    "Order %d shipped to warehouse %d",
    "Payment %h authorized for order %d",
    "Payment %h declined for order %d: insufficient funds",
    "Refund %h issued for order %d",
    "Query on table orders took %m ms rows=%d",
    "Query on table users took %m ms rows=%d",
    "Slow query detected: %m ms on shard %d",
    "Transaction %h committed in %m ms",
    "Transaction %h rolled back after %m ms",
    "Retrying request %h attempt %d of 5",
    "Upstream %i:%d returned %s",
    "Circuit breaker opened for upstream %i after %d failures",
    "Circuit breaker closed for upstream %i",
    "Worker %d started processing batch %h",
    "Worker %d finished batch %h with %d records in %m ms",
    "Queue depth is %d messages on partition %d",
    "Message %h acknowledged after %m ms",
    "Message %h moved to dead letter queue after %d attempts",
    "Token for %u expired at %d",
    "Token refreshed for %u",
    "Session %h created for %u",
    "Session %h expired after %d s idle",
    "Config reloaded from %p in %m ms",
    "Health check passed in %m ms",
    "Health check failed for %i: connection refused",
    "Disk usage at %d percent on volume %p",
    "Memory usage %d MiB of %d MiB",
    "GC pause of %m ms freed %d MiB",
    "Rate limit exceeded for client %i: %d requests in 60 s",
    "Webhook delivered to %p in %m ms status %s",
    "Webhook delivery to %p failed: timeout after %m ms",
    "Inventory for item %d reserved quantity %d",
    "Inventory for item %d released quantity %d",
    "Email sent to %u@example.com in %m ms",
};

static const char *const USERS[] = {"alice", "bob",    "carol", "dave", "erin",    "frank",
                                    "grace", "heidi",  "ivan",  "judy", "mallory", "oscar",
                                    "peggy", "rupert", "sybil", "trent"};

/* Appends one variable field of a template: %d number, %i IPv4, %h hex id, %u user, %p
 * path, %m duration in ms, %s HTTP status. */
static int gen_field(struct cl_gen *g, struct cl_buf *b, char kind)
{
    switch (kind) {
    case 'd':
        return cl_buf_printf(b, "%u", cl_gen_below(g, 100000));
    case 'i':
        return cl_buf_printf(b, "10.%u.%u.%u", cl_gen_below(g, 256), cl_gen_below(g, 256),
                             cl_gen_below(g, 256));
    case 'h':
        return cl_buf_printf(b, "%08" PRIx64, cl_gen_next(g) >> 32);
    case 'u':
        return cl_buf_append_str(b, USERS[cl_gen_below(g, CL_ARRAY_LEN(USERS))]);
    case 'p':
        return cl_buf_printf(b, "/api/v%u/items/%u", 1 + cl_gen_below(g, 3),
                             cl_gen_below(g, 10000));
    case 'm': {
        uint32_t us = cl_gen_below(g, 2000000);
        return cl_buf_printf(b, "%u.%03u", us / 1000, us % 1000);
    }
    default:
        return cl_buf_printf(b, "%d", STATUSES[cl_gen_below(g, CL_ARRAY_LEN(STATUSES))]);
    }
}

static int gen_templated_message(struct cl_gen *g, struct cl_buf *b)
{
    const char *t = TEMPLATES[cl_gen_below(g, CL_ARRAY_LEN(TEMPLATES))];
    int rc = CL_OK;
    for (const char *p = t; *p && rc == CL_OK; p++) {
        const char *pct = strchr(p, '%');
        size_t n = pct ? (size_t)(pct - p) : strlen(p);
        rc = cl_buf_append(b, p, n);
        if (!pct || rc != CL_OK)
            break;
        rc = gen_field(g, b, pct[1]);
        p = pct + 1;
    }
    return rc;
}

static int gen_message(struct cl_gen *g, struct cl_buf *b)
{
    if (g->templated)
        return gen_templated_message(g, b);
    int rc = CL_OK;
    uint32_t words = 5 + cl_gen_below(g, 10);
    for (uint32_t i = 0; i < words && rc == CL_OK; i++) {
        bool quoted = g->quote_one_in && cl_gen_below(g, g->quote_one_in) == 0;
        const char *w = WORDS[cl_gen_below(g, CL_ARRAY_LEN(WORDS))];
        rc = cl_buf_printf(b, "%s%s%s%s", i ? " " : "", quoted ? "\\\"" : "", w,
                           quoted ? "\\\"" : "");
    }
    return rc;
}

/* Everything after the message; the random draws happen in the same order as always. */
static int gen_tail(struct cl_gen *g, struct cl_buf *b)
{
    uint32_t dur = cl_gen_below(g, 250000);
    int status = STATUSES[cl_gen_below(g, CL_ARRAY_LEN(STATUSES))];
    return cl_buf_printf(b, "\",\"duration_ms\":%u.%u,\"status\":%d}\n", dur / 100, dur % 100,
                         status);
}

int cl_gen_record(struct cl_gen *g, struct cl_buf *b, int64_t now_ms)
{
    size_t start = b->len;
    int rc = cl_buf_append_str(b, "{\"timestamp\":\"");
    if (rc == CL_OK)
        rc = gen_timestamp(b, now_ms - cl_gen_below(g, 60000));
    const char *level = gen_level(g);
    const char *service = SERVICES[cl_gen_below(g, CL_ARRAY_LEN(SERVICES))];
    uint32_t h1 = cl_gen_below(g, 256), h2 = cl_gen_below(g, 256);
    uint64_t t1 = cl_gen_next(g), t2 = cl_gen_next(g);
    if (rc == CL_OK)
        rc = cl_buf_printf(
            b,
            "\",\"level\":\"%s\",\"service\":\"%s\",\"host\":\"ip-10-0-%u-%u.ec2.internal\","
            "\"trace_id\":\"%016" PRIx64 "%016" PRIx64 "\",\"message\":\"",
            level, service, h1, h2, t1, t2);
    if (rc == CL_OK)
        rc = gen_message(g, b);
    if (rc == CL_OK)
        rc = gen_tail(g, b);
    if (rc != CL_OK)
        cl_buf_truncate(b, start);
    return rc;
}

struct cl_buf cl_gen_normalized(struct cl_gen *g, long n, int64_t now_ms, int64_t step_ms)
{
    struct cl_buf raw, out;
    cl_buf_init(&raw, 1 << 20);
    cl_buf_init(&out, (size_t)1 << 34);
    for (long i = 0; i < n; i++) {
        int64_t t = now_ms + i * step_ms;
        struct cl_norm_opts no = {.received_ms = t,
                                  .default_service = {"default", 7},
                                  .max_record_bytes = 262144,
                                  .max_depth = 32};
        cl_buf_truncate(&raw, 0);
        if (cl_gen_record(g, &raw, t) != CL_OK)
            exit(1);
        struct cl_record_meta meta;
        char err[128];
        if (cl_record_normalize(raw.data, raw.len - 1, &no, &out, &meta, err, sizeof err) !=
            CL_OK) {
            fprintf(stderr, "normalize: %s\n", err);
            exit(1);
        }
    }
    cl_buf_free(&raw);
    return out;
}
