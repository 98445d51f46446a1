/* proto_decode.c - single-thread cost of a shipper protocol's bodies, without HTTP: the
 * decoder alone (records handed to a counting sink) and the whole ingest parse (decoder +
 * normalizer + gzip packing, cl_ingest_parse_decoded; cl_ingest_parse for native NDJSON).
 *
 * Usage: bench_proto_decode ROUTE CONTENT_TYPE DIR [ROUNDS=20]
 *   ROUTE: logs, loki, es or hec (the route's path decides the format as in the daemon);
 *   DIR: body files as bench/proto_encode.js writes them (DIR/<protocol>/NNNN).
 * ROUNDS=show prints the first body's records as the decoder hands them on.
 * Reports records per CPU-second of the thread (robust on a shared machine). Run it under
 * `perf record -g` to see where a protocol's time goes (docs/performance.md).
 */
#include "common.h"
#include "ingest.h"
#include "ingest_format.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BODIES 1024

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct bodies {
    struct cl_buf b[MAX_BODIES];
    size_t n;
};

static void read_dir(const char *dir, struct bodies *out)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        perror(dir);
        exit(2);
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        FILE *f = names[i]->d_name[0] != '.' && out->n < MAX_BODIES ? fopen(path, "rb") : NULL;
        if (f) {
            struct cl_buf *b = &out->b[out->n++];
            char chunk[65536];
            size_t k;
            cl_buf_init(b, SIZE_MAX / 2);
            while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
                cl_buf_append(b, chunk, k);
            fclose(f);
        }
        free(names[i]);
    }
    free(names);
}

static void count_record(void *arg, const char *json, size_t len)
{
    (void)json, (void)len;
    ++*(uint64_t *)arg;
}

static void print_record(void *arg, const char *json, size_t len)
{
    (void)arg;
    printf("%.*s\n", (int)len, json);
}

static void count_reject(void *arg, const char *why)
{
    (void)arg;
    fprintf(stderr, "rejected: %s\n", why);
}

static enum cl_ingest_route route_named(const char *name)
{
    static const struct {
        const char *name;
        enum cl_ingest_route route;
    } routes[] = {{"logs", CL_ROUTE_LOGS},
                  {"loki", CL_ROUTE_LOKI},
                  {"es", CL_ROUTE_ES_BULK},
                  {"hec", CL_ROUTE_HEC_EVENT}};
    for (size_t i = 0; i < CL_ARRAY_LEN(routes); i++)
        if (strcmp(name, routes[i].name) == 0)
            return routes[i].route;
    fprintf(stderr, "unknown route %s (logs, loki, es, hec)\n", name);
    exit(2);
}

/* Decoder alone: records per CPU-second (0 for native NDJSON, which has none). Not
 * inlined: bench/proto_instr.py reads its inclusive callgrind count by name. */
__attribute__((noinline)) static double decode_only(cl_proto_decode_fn fn, const struct bodies *bs,
                                                    int rounds)
{
    struct cl_proto_opts o = {64, 256 * 1024, "", (size_t)64 << 20, NULL};
    uint64_t records = 0;
    struct cl_proto_sink sink = {count_record, count_reject, &records, NULL};
    char err[256];
    double t0 = cpu_s();
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < bs->n; i++)
            if (fn(bs->b[i].data, bs->b[i].len, &o, &sink, err, sizeof err) != 0)
                fprintf(stderr, "body error: %s\n", err);
    return (double)records / (cpu_s() - t0);
}

/* The whole parse: records per CPU-second; *rejected counts the records refused. */
__attribute__((noinline)) static double full_parse(cl_proto_decode_fn fn, const struct bodies *bs,
                                                   int rounds, uint64_t *rejected)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    uint64_t records = 0;
    double t0 = cpu_s();
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < bs->n; i++) {
            struct cl_ingest_batch batch;
            struct cl_ingest_parse_result res;
            cl_ingest_batch_init(&batch);
            cl_ingest_parse_result_init(&res);
            int64_t now = cl_now_ms();
            if (fn)
                cl_ingest_parse_decoded(fn, "", bs->b[i].data, bs->b[i].len, NULL, now, &lim,
                                        &batch, &res);
            else
                cl_ingest_parse(bs->b[i].data, bs->b[i].len, NULL, now, &lim, &batch, &res);
            records += res.accepted;
            *rejected += res.rejected;
            cl_ingest_parse_result_free(&res);
            cl_ingest_batch_free(&batch);
        }
    return (double)records / (cpu_s() - t0);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_proto_decode ROUTE CONTENT_TYPE DIR [ROUNDS=20]\n");
        return 2;
    }
    int show = argc > 4 && strcmp(argv[4], "show") == 0;
    int rounds = argc > 4 && !show ? atoi(argv[4]) : 20;
    static struct bodies bs;
    read_dir(argv[3], &bs);
    if (bs.n == 0) {
        fprintf(stderr, "%s: no bodies\n", argv[3]);
        return 2;
    }
    enum cl_ingest_format f = cl_ingest_format_of(route_named(argv[1]), argv[2]);
    f = cl_ingest_format_refine(f, bs.b[0].data, bs.b[0].len);
    cl_proto_decode_fn fn = cl_ingest_decoder(f);
    if (!fn && f != CL_FMT_JSON) {
        fprintf(stderr, "format %d has no decoder here\n", (int)f);
        return 2;
    }
    if (show && fn) {
        struct cl_proto_opts o = {64, 256 * 1024, "", (size_t)64 << 20, NULL};
        struct cl_proto_sink sink = {print_record, count_reject, NULL, NULL};
        char err[256];
        return fn(bs.b[0].data, bs.b[0].len, &o, &sink, err, sizeof err) != 0;
    }
    uint64_t rejected = 0;
    double dec = fn ? decode_only(fn, &bs, rounds) : 0;
    double full = full_parse(fn, &bs, rounds, &rejected);
    printf("{\"format\":%d,\"bodies\":%zu,\"decode_rec_per_cpu_s\":%.0f,"
           "\"parse_rec_per_cpu_s\":%.0f,\"rejected\":%llu}\n",
           (int)f, bs.n, dec, full, (unsigned long long)rejected);
    for (size_t i = 0; i < bs.n; i++)
        cl_buf_free(&bs.b[i]);
    return 0;
}
