/* ingest_parse.c - single-thread throughput of cl_ingest_parse on realistic NDJSON.
 *
 * Usage: bench_ingest_parse [total_MB=100] [body_KiB=1024]
 * Generates ~250-byte records with bench/common/gen.c (timestamp, level, one of 20
 * services, host, 32-hex trace id, 5-14-word message, two numbers), feeds them in bodies
 * of body_KiB, and reports records/s and MB/s (per CPU-second of the thread) for normalization
 * alone and for the full parse (+ gzip packing).
 */
#include "common.h"
#include "gen.h"
#include "ingest.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Thread CPU time: robust against other load on a shared machine. */
/* Records are stamped within the minute before this instant (2026-11-25T15:04:05Z) and
 * parsed as if they arrived then, so the timestamp window accepts them all. */
#define GEN_NOW_MS 1795619045123LL

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Splits data into bodies of about body_bytes ending on a newline. */
static size_t body_end(const char *data, size_t len, size_t start, size_t body_bytes)
{
    size_t end = start + body_bytes;
    if (end >= len)
        return len;
    const char *nl = memchr(data + end, '\n', len - end);
    return nl ? (size_t)(nl - data) + 1 : len;
}

static double bench_normalize(const struct cl_buf *data, uint64_t *records)
{
    struct cl_norm_opts o = {.default_service = CL_SLICE_LIT("default"),
                             .max_record_bytes = 256 * 1024,
                             .max_depth = 64};
    struct cl_buf out;
    struct cl_record_meta meta;
    char err[256];
    cl_buf_init(&out, SIZE_MAX / 2);
    double t0 = cpu_s();
    for (size_t pos = 0; pos < data->len;) {
        const char *nl = memchr(data->data + pos, '\n', data->len - pos);
        size_t end = (size_t)(nl - data->data);
        if (cl_record_normalize(data->data + pos, end - pos, &o, &out, &meta, err, sizeof err))
            fprintf(stderr, "rejected: %s\n", err);
        (*records)++;
        if (out.len > (1 << 20))
            cl_buf_reset(&out);
        pos = end + 1;
    }
    double s = cpu_s() - t0;
    cl_buf_free(&out);
    return s;
}

static double bench_parse(const struct cl_buf *data, size_t body_bytes, uint64_t *records,
                          uint64_t *gz_bytes)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    struct cl_ingest_parse_result res;
    cl_ingest_parse_result_init(&res);
    double t0 = cpu_s();
    for (size_t pos = 0; pos < data->len;) {
        size_t end = body_end(data->data, data->len, pos, body_bytes);
        struct cl_ingest_batch batch;
        cl_ingest_batch_init(&batch);
        cl_ingest_parse(data->data + pos, end - pos, NULL, GEN_NOW_MS, &lim, &batch, &res);
        *records += res.accepted;
        for (size_t i = 0; i < batch.n_msgs; i++)
            *gz_bytes += batch.msgs[i].len;
        cl_ingest_batch_free(&batch);
        pos = end;
    }
    double s = cpu_s() - t0;
    cl_ingest_parse_result_free(&res);
    return s;
}

int main(int argc, char **argv)
{
    int arg_mb = argc > 1 ? atoi(argv[1]) : 100;
    int kib = argc > 2 ? atoi(argv[2]) : 1024;
    if (argc > 3 || arg_mb <= 0 || kib <= 0) {
        fprintf(stderr, "usage: bench_ingest_parse [MB of records (100)] [KiB per body (1024)]\n");
        return 2;
    }
    size_t total = (size_t)arg_mb << 20;
    size_t body_bytes = (size_t)kib << 10;
    struct cl_buf data;
    cl_buf_init(&data, SIZE_MAX / 2);
    struct cl_gen g;
    cl_gen_init(&g, 1);
    uint64_t generated = 0;
    while (data.len < total) {
        if (cl_gen_record(&g, &data, GEN_NOW_MS) != CL_OK)
            break;
        generated++;
    }
    double mb = (double)data.len / 1e6;
    printf("input: %.1f MB, %llu records, %.0f bytes/record, bodies of %zu KiB\n", mb,
           (unsigned long long)generated, (double)data.len / (double)generated, body_bytes >> 10);

    uint64_t n_norm = 0;
    double s = bench_normalize(&data, &n_norm);
    printf("normalize only:         %6.2f s  %8.0f records/s  %7.1f MB/s\n", s, (double)n_norm / s,
           mb / s);

    uint64_t n_parse = 0, gz = 0;
    s = bench_parse(&data, body_bytes, &n_parse, &gz);
    printf("cl_ingest_parse (gzip): %6.2f s  %8.0f records/s  %7.1f MB/s  ratio %.2f\n", s,
           (double)n_parse / s, mb / s, (double)data.len / (double)(gz ? gz : 1));
    if (n_parse != generated || n_norm != generated)
        fprintf(stderr, "warning: %llu/%llu records accepted\n", (unsigned long long)n_parse,
                (unsigned long long)generated);
    cl_buf_free(&data);
    return 0;
}
