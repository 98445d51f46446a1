/* analytics_db.c - the cost of the analytics catalog's writer (cl_analytics_db_apply, the
 * daemon's one transaction a second into DATA/analytics.db; docs/analytics.md "Cost inline:
 * the catalog writer"), without the daemon. The loadgen's records (bench/common/gen.c,
 * 20 services; "words": 5-14 random words, every record a pattern of its own, the worst
 * case; "templated": 48 application-log templates) are normalized with timestamps STEP_MS
 * apart, learned by one analytics object in the calling thread, and every DRAIN_EVERY
 * records ticked, drained and written into a new catalog in a temporary directory. As in
 * the daemon, a drain holds back one-record patterns for one drain (hold_singletons,
 * analytics.h; HOLD=0 in the environment: not), and the last drain holds nothing back.
 *
 * Usage: bench_analytics_db [words|templated [RECORDS [DRAIN_EVERY [STEP_MS]]]]
 *        (defaults: words, 200,000, 20,000 and 10 ms, as bench/analytics_cost.py stamps)
 * Prints the rows written (count rows, pattern upserts, renames) and the writer's thread
 * CPU per record and per count row. For instruction counts, which do not move with the
 * machine's load: bench/analytics_db.sh (callgrind, --toggle-collect=cl_analytics_db_apply). */
#include "analytics.h"
#include "analytics_db.h"
#include "gen.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BASE_MS 1796000000000LL

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns the normalized NDJSON of n generated records, stamped step_ms apart from
 * BASE_MS on (owned by the caller). */
static struct cl_buf normalized(long n, int templated, int64_t step_ms)
{
    struct cl_gen g;
    cl_gen_init(&g, 1);
    g.templated = (unsigned)templated;
    return cl_gen_normalized(&g, n, BASE_MS, step_ms);
}

struct totals {
    unsigned long long counts, upserts, renames, anomalies, dropped;
    double cpu;
};

/* Drains a and writes the batch into db, adding to t. */
static void write_batch(struct cl_analytics *a, struct cl_analytics_db *db, int64_t now_ms,
                        int final, struct totals *t)
{
    struct cl_analytics_batch b;
    char err[256];
    cl_analytics_tick(a, now_ms);
    if (final)
        cl_analytics_drain_final(a, &b);
    else
        cl_analytics_drain(a, &b);
    t->counts += b.n_counts;
    for (size_t i = 0; i < b.n_patterns; i++)
        *(b.patterns[i].tmpl ? &t->upserts : &t->renames) += 1;
    t->anomalies += b.n_anomalies;
    t->dropped += b.dropped;
    double t0 = cpu_s();
    if (cl_analytics_db_apply(db, &b, now_ms, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    t->cpu += cpu_s() - t0;
    cl_analytics_batch_free(&b);
}

int main(int argc, char **argv)
{
    int templated = argc > 1 && strcmp(argv[1], "templated") == 0;
    long records = argc > 2 ? atol(argv[2]) : 200000L;
    long every = argc > 3 ? atol(argv[3]) : 20000L;
    int64_t step_ms = argc > 4 ? atol(argv[4]) : 10;
    if (records < 1 || every < 1 || step_ms < 0) {
        fprintf(stderr, "usage: %s [words|templated [RECORDS [DRAIN_EVERY [STEP_MS]]]]\n", argv[0]);
        return 2;
    }
    struct cl_buf in = normalized(records, templated, step_ms);
    char dir[] = "/tmp/cl-bench-andb-XXXXXX", path[64], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/%s", dir, CL_ANALYTICS_DB_NAME);
    struct cl_analytics_db *db;
    if (cl_analytics_db_open(path, 0, &db, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    const char *hold = getenv("HOLD");
    o.hold_singletons = !hold || strcmp(hold, "0") != 0;
    struct cl_analytics *a = cl_analytics_new(&o);
    struct totals t = {0};
    const char *p = in.data, *end = in.data + in.len;
    for (long r = 0; p < end; r += every) {
        const char *q = p;
        for (long k = 0; k < every && q < end; k++)
            q = memchr(q, '\n', (size_t)(end - q)) + 1;
        int64_t now_ms = BASE_MS + (r + every) * step_ms;
        cl_analytics_observe_at(a, p, (size_t)(q - p), now_ms);
        write_batch(a, db, now_ms, q == end, &t);
        p = q;
    }
    cl_analytics_free(a);
    cl_analytics_db_close(db); /* checkpoints the WAL into the file */
    struct stat st;
    long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    printf("messages=%s records=%ld drain_every=%ld count_rows=%llu upserts=%llu renames=%llu "
           "anomalies=%llu dropped=%llu writer_cpu_s=%.3f us_per_record=%.3f us_per_row=%.3f "
           "db_bytes=%lld\n",
           templated ? "templated" : "words", records, every, t.counts, t.upserts, t.renames,
           t.anomalies, t.dropped, t.cpu, t.cpu * 1e6 / (double)records,
           t.counts ? t.cpu * 1e6 / (double)t.counts : 0.0, bytes);
    static const char *const files[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char f[80];
        snprintf(f, sizeof f, "%s%s", path, files[i]);
        unlink(f);
    }
    rmdir(dir);
    cl_buf_free(&in);
    return 0;
}
