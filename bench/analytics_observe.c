/* analytics_observe.c - CPU cost of the inline analytics per record (docs/analytics.md
 * "Cost inline"), without the daemon: the loadgen's records (bench/common/gen.c, random
 * words, so almost every message is a new pattern: the worst case) are normalized once,
 * then handed to cl_analytics_observe_at in messages of BATCH lines, with a tick and a
 * drain every DRAIN_EVERY records (as the daemon's analytics thread does every second).
 * Usage: bench_analytics_observe [RECORDS [BATCH [SHARDS [MESSAGES]]]] (default 1,000,000,
 * 1,000, 1 and words; SHARDS > 1: the object split by service, learned synchronously,
 * analytics.h; MESSAGES templated: the loadgen's --templated messages, 48 application-log
 * templates with numbers, IPs, hex ids, paths and durations, as services log). The
 * thread CPU time per record does not depend on the machine's load; for instruction
 * counts run it under valgrind --tool=callgrind. It also prints the miners' bytes and what the
 * process's RSS grew by from before cl_analytics_new (now and at its peak). */
#include "analytics.h"
#include "gen.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DRAIN_EVERY 100000 /* records between two drains (the daemon: one a second) */

/* A field of /proc/self/status in KiB ("VmRSS:", "VmHWM:"), 0 when unreadable. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char l[256];
    long v = 0;
    while (f && fgets(l, sizeof l, f))
        if (strncmp(l, field, strlen(field)) == 0)
            v = atol(l + strlen(field));
    if (f)
        fclose(f);
    return v;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns the normalized NDJSON of n generated records (owned by the caller). */
static struct cl_buf normalized(long n, int64_t now_ms, unsigned templated)
{
    struct cl_gen g;
    cl_gen_init(&g, 1);
    g.templated = templated;
    return cl_gen_normalized(&g, n, now_ms, 0);
}

int main(int argc, char **argv)
{
    long records = argc > 1 ? atol(argv[1]) : 1000000L;
    long batch = argc > 2 ? atol(argv[2]) : 1000L;
    int templated = argc > 4 && strcmp(argv[4], "templated") == 0;
    int64_t now_ms = 1796000000000LL;
    struct cl_buf in = normalized(records, now_ms, (unsigned)templated);
    long rss0 = status_kib("VmRSS:");
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    o.shards = argc > 3 ? (size_t)atol(argv[3]) : 1;
    struct cl_analytics *a = cl_analytics_new(&o);
    double t0 = cpu_s();
    const char *p = in.data, *end = in.data + in.len;
    for (long r = 0; p < end;) {
        const char *q = p;
        for (long k = 0; k < batch && q < end; k++, r++) {
            q = memchr(q, '\n', (size_t)(end - q)) + 1;
            if (r % DRAIN_EVERY == DRAIN_EVERY - 1) {
                struct cl_analytics_batch b;
                cl_analytics_tick(a, now_ms);
                cl_analytics_drain(a, &b);
                cl_analytics_batch_free(&b);
            }
        }
        cl_analytics_observe_at(a, p, (size_t)(q - p), now_ms);
        p = q;
    }
    double t = cpu_s() - t0;
    struct cl_analytics_stats st;
    cl_analytics_stats(a, &st);
    printf(
        "messages=%s records=%ld batch=%ld cpu_s=%.3f us_per_record=%.3f services=%zu patterns=%zu "
        "evicted=%llu miner_mib=%.1f rss_mib=+%.1f peak_mib=+%.1f\n",
        templated ? "templated" : "words", records, batch, t, t * 1e6 / (double)records,
        st.services, st.patterns, (unsigned long long)st.patterns_evicted,
        (double)st.miner_bytes / 1048576.0, (double)(status_kib("VmRSS:") - rss0) / 1024.0,
        (double)(status_kib("VmHWM:") - rss0) / 1024.0);
    cl_analytics_free(a);
    cl_buf_free(&in);
    return 0;
}
