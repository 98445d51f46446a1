/* lambda_batch.c - bench_lambda_batch: the processing work of one SQS event, done by the
 * Lambda processor's cl_batch_process and by the embedded processor (cl_processor over a
 * local SQLite queue), in the same run, into local file: stores.
 *
 * Usage: bench_lambda_batch MSG_DIR WORK_DIR [REPEAT]
 * MSG_DIR holds the event's messages as bench/lambda_bench.py writes them: NNN.gz (the
 * compressed batch) and NNN.attrs ("count raw_bytes min_ts_ms max_ts_ms"). Prints one
 * line per runtime: "batch_process ms=<median> objects=<n>" and
 * "embedded ms=<median> objects=<n>" (the embedded time covers receive, decode, flush
 * with its catalog transaction and fsync, publish, delete; the send is not timed). */
#include "batch_process.h"
#include "cl_limits.h"
#include "common.h"
#include "readfile.h"
#include "process.h"
#include "queue.h"
#include "store.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_MSGS 64
#define MSG_FILE_MAX CL_LAMBDA_MAX_EVENT /* one SQS message is far smaller */

struct msgs {
    struct cl_msg_out out[MAX_MSGS];
    char ids[MAX_MSGS][16];
    size_t n;
};

static int load(const char *dir, struct msgs *m)
{
    char path[1024];
    for (m->n = 0; m->n < MAX_MSGS; m->n++) {
        size_t i = m->n, len;
        snprintf(path, sizeof path, "%s/%03zu.gz", dir, i);
        char *body;
        if (cl_read_file(path, MSG_FILE_MAX, &body, &len) != CL_OK)
            break;
        snprintf(path, sizeof path, "%s/%03zu.attrs", dir, i);
        FILE *f = fopen(path, "r");
        struct cl_msg_attrs *a = &m->out[i].attrs;
        unsigned long long raw;
        long long lo, hi;
        if (!f || fscanf(f, "%u %llu %lld %lld", &a->record_count, &raw, &lo, &hi) != 4) {
            fprintf(stderr, "bench_lambda_batch: bad %s\n", path);
            return -1;
        }
        fclose(f);
        a->raw_bytes = raw;
        a->min_ts_ms = lo;
        a->max_ts_ms = hi;
        snprintf(a->encoding, sizeof a->encoding, "gzip");
        m->out[i].body = body;
        m->out[i].len = len;
        snprintf(m->ids[i], sizeof m->ids[i], "msg-%03zu", i);
    }
    return m->n ? 0 : -1;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double run_batch(const struct msgs *m, const char *work, size_t *objects)
{
    char dir[1024], err[256];
    snprintf(dir, sizeof dir, "%s/batch", work);
    struct cl_store st;
    if (cl_store_open(&st, dir, err, sizeof err) != CL_OK) {
        fprintf(stderr, "bench_lambda_batch: %s\n", err);
        exit(1);
    }
    struct cl_bp_message in[MAX_MSGS];
    for (size_t i = 0; i < m->n; i++)
        in[i] = (struct cl_bp_message){.id = m->ids[i],
                                       .body = m->out[i].body,
                                       .len = m->out[i].len,
                                       .attrs = m->out[i].attrs};
    struct cl_bp_opts o;
    cl_bp_opts_default(&o);
    struct cl_bp_result res;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cl_batch_process(&st, in, m->n, &o, &res);
    double ms = ms_since(&t0);
    *objects = res.n_keys;
    if (res.failed)
        fprintf(stderr, "bench_lambda_batch: %zu message(s) failed\n", res.failed);
    cl_bp_result_free(&res);
    cl_store_close(&st);
    return ms;
}

static double run_embedded(const struct msgs *m, const char *work, int round, size_t *objects)
{
    char qpath[1024], sdir[1024], err[256];
    snprintf(qpath, sizeof qpath, "%s/queue-%d.db", work, round);
    snprintf(sdir, sizeof sdir, "%s/embedded-%d", work, round);
    struct cl_queue q;
    struct cl_queue_opts qo;
    cl_queue_opts_default(&qo);
    struct cl_store st;
    if (cl_queue_open(&q, qpath, &qo, err, sizeof err) != CL_OK ||
        cl_store_open(&st, sdir, err, sizeof err) != CL_OK) {
        fprintf(stderr, "bench_lambda_batch: %s\n", err);
        exit(1);
    }
    if (cl_queue_send(&q, m->out, m->n) != CL_OK) {
        fprintf(stderr, "bench_lambda_batch: queue send failed\n");
        exit(1);
    }
    struct cl_process_opts po;
    cl_process_opts_default(&po);
    po.flush_size = SIZE_MAX / 4; /* one object per partition, as the Lambda writes */
    po.buffer_max = SIZE_MAX / 4;
    struct cl_processor *p = cl_processor_new(&q, &st, &po, NULL);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t got = 0;
    for (int i = 0; i < 1000 && got < m->n; i++)
        got += cl_processor_step(p, 100);
    cl_processor_flush_all(p);
    double ms = ms_since(&t0);
    struct cl_process_counters c;
    cl_processor_counters(p, &c);
    *objects = c.objects_written;
    cl_processor_free(p);
    cl_store_close(&st);
    cl_queue_close(&q);
    return ms;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_lambda_batch MSG_DIR WORK_DIR [REPEAT]\n");
        return 2;
    }
    int repeat = argc > 3 ? atoi(argv[3]) : 5;
    if (repeat < 1 || repeat > 100)
        repeat = 5;
    struct msgs m;
    if (load(argv[1], &m) != 0) {
        fprintf(stderr, "bench_lambda_batch: no messages in %s\n", argv[1]);
        return 1;
    }
    mkdir(argv[2], 0755);
    double tb[100], te[100];
    size_t ob = 0, oe = 0;
    for (int r = 0; r < repeat; r++) {
        tb[r] = run_batch(&m, argv[2], &ob);
        te[r] = run_embedded(&m, argv[2], r, &oe);
    }
    qsort(tb, (size_t)repeat, sizeof *tb, cmp_double);
    qsort(te, (size_t)repeat, sizeof *te, cmp_double);
    printf("batch_process ms=%.1f objects=%zu\n", tb[repeat / 2], ob);
    printf("embedded ms=%.1f objects=%zu\n", te[repeat / 2], oe);
    for (size_t i = 0; i < m.n; i++)
        free((void *)m.out[i].body);
    return 0;
}
