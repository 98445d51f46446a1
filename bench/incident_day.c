/* incident_day.c - the incident-day benchmark (docs/analytics.md): simulated days of six
 * services (bench/common/incidents.h: daily cycle, noise, templated messages) fed through
 * the processor's inline analytics (analytics.h) in simulated time, 10 s at a time, with a
 * tick after each slice as the daemon's thread would give. Five incidents on the last day;
 * reported: the delay from each incident's start to the first anomaly of its service
 * (within the incident and 30 minutes after), and the false alarms per simulated day (any
 * other anomaly; day 0 is the detectors' warm-up and is reported apart).
 *
 * Usage: bench_incident_day [DAYS [SEED]]   (defaults 4 and 1) */
#include "analytics.h"
#include "common.h"
#include "incidents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEP_MS 10000
#define GRACE_MS (30 * 60000LL)

struct found {
    int64_t delay_ms; /* -1: not detected */
    char what[CL_ANOMALY_TEXT_MAX + 32];
};

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The incident an anomaly of service svc at time t belongs to, or -1. */
static int incident_of(const struct cl_incident_gen *ig, const char *svc, int64_t t)
{
    for (int k = 0; k < CL_INC_COUNT; k++)
        if (!strcmp(ig->inc[k].service, svc) && t >= ig->inc[k].start_ms &&
            t < ig->inc[k].end_ms + GRACE_MS)
            return k;
    return -1;
}

int main(int argc, char **argv)
{
    int days = argc > 1 ? atoi(argv[1]) : 4;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    struct cl_incident_gen ig;
    cl_incident_gen_init(&ig, seed, 1767225600000LL /* 2026-01-01 */, days);
    struct cl_analytics *a = cl_analytics_new(NULL);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    struct found found[CL_INC_COUNT];
    for (int k = 0; k < CL_INC_COUNT; k++)
        found[k].delay_ms = -1;
    int64_t *false_per_day = calloc((size_t)days, sizeof *false_per_day);
    size_t records = 0;
    double t0 = cpu_s();
    int64_t end = ig.start_ms + (int64_t)days * CL_INC_DAY_MS;
    for (int64_t t = ig.start_ms; t < end; t += STEP_MS) {
        cl_buf_reset(&b);
        records += cl_incident_gen_slice(&ig, t, STEP_MS, &b);
        int64_t now = t + STEP_MS;
        cl_analytics_observe_at(a, b.data, b.len, now);
        cl_analytics_tick(a, now);
        struct cl_analytics_batch d;
        cl_analytics_drain(a, &d);
        for (size_t i = 0; i < d.n_anomalies; i++) {
            const struct cl_anomaly_event *e = &d.anomalies[i];
            int k = incident_of(&ig, e->service, now);
            if (k >= 0 && found[k].delay_ms < 0) {
                found[k].delay_ms = now - ig.inc[k].start_ms;
                snprintf(found[k].what, sizeof found[k].what, "[%s] %s",
                         cl_anomaly_kind_name(e->kind), e->text);
            } else if (k < 0) {
                int day = (int)((now - ig.start_ms) / CL_INC_DAY_MS);
                false_per_day[day < days ? day : days - 1]++;
                if (day > 0)
                    printf("false alarm day %d: [%s] %s\n", day, cl_anomaly_kind_name(e->kind),
                           e->text);
            }
        }
        cl_analytics_batch_free(&d);
    }
    double cpu = cpu_s() - t0;
    printf("\n%d simulated days, seed %llu: %zu records, %.2f s CPU (generation included)\n", days,
           (unsigned long long)seed, records, cpu);
    printf(
        "| Incident (last day) | Service | Detected after | First anomaly |\n|---|---|---|---|\n");
    for (int k = 0; k < CL_INC_COUNT; k++) {
        if (found[k].delay_ms < 0)
            printf("| %s | %s | not detected | |\n", ig.inc[k].name, ig.inc[k].service);
        else
            printf("| %s | %s | %.1f min | %.160s |\n", ig.inc[k].name, ig.inc[k].service,
                   found[k].delay_ms / 60000.0, found[k].what);
    }
    int64_t fa = 0;
    for (int day = 1; day < days; day++)
        fa += false_per_day[day];
    printf("\nfalse alarms: %lld during day 0 (warm-up); %lld on days 1..%d = %.2f per day\n",
           (long long)false_per_day[0], (long long)fa, days - 1,
           days > 1 ? (double)fa / (days - 1) : 0.0);
    free(false_per_day);
    cl_buf_free(&b);
    cl_analytics_free(a);
    return 0;
}
