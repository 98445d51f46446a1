/* analytics.c - CPU cost of the streaming anomaly detector per point (docs/analytics.md).
 * Usage: bench_analytics [POINTS] (default 20,000,000 points over 1,000 series). */
#include "anomaly.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SERIES 1000

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long points = argc > 1 ? atol(argv[1]) : 20000000L;
    static struct cl_anomaly_series s[SERIES];
    for (int i = 0; i < SERIES; i++)
        cl_anomaly_series_init(&s[i]);
    unsigned long long rng = 1;
    double sum = 0, t0 = cpu_s();
    for (long p = 0; p < points; p++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        double v = 100 + (double)(rng >> 40) / (1 << 20);
        sum += cl_anomaly_score(&s[p % SERIES], (p / SERIES) * 60000LL, v, NULL);
    }
    double t = cpu_s() - t0;
    printf("points=%ld series=%d cpu_s=%.3f ns_per_point=%.1f bytes_per_series=%zu (sum %.1f)\n",
           points, SERIES, t, t * 1e9 / (double)points, sizeof s[0], sum);
    return 0;
}
