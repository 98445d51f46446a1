/* queue.c - benchmark: concurrent durable sends of ~64 KiB blobs into the SQLite queue. */
#include "common.h"
#include "queue.h"
#include "queue_sqlite.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct run_cfg {
    int threads;
    int seconds;
    size_t size;
    int durable;
};

struct sender {
    struct cl_queue *q;
    const struct run_cfg *cfg;
    int64_t deadline_ms;
    uint64_t sent;
    int64_t lat_sum_ms, lat_max_ms;
    int failed;
};

static void *sender_main(void *p)
{
    struct sender *s = p;
    unsigned char *body = cl_malloc(s->cfg->size);
    for (size_t i = 0; i < s->cfg->size; i++)
        body[i] = (unsigned char)(i * 2654435761u >> 13);
    struct cl_msg_out m = {.body = body, .len = s->cfg->size};
    m.attrs.record_count = 250;
    m.attrs.raw_bytes = s->cfg->size * 4;
    snprintf(m.attrs.encoding, sizeof m.attrs.encoding, "gzip");
    while (cl_mono_ms() < s->deadline_ms) {
        int64_t t0 = cl_mono_ms();
        if (cl_queue_send(s->q, &m, 1) != CL_OK) {
            s->failed = 1;
            break;
        }
        int64_t lat = cl_mono_ms() - t0;
        s->lat_sum_ms += lat;
        s->lat_max_ms = CL_MAX(s->lat_max_ms, lat);
        s->sent++;
    }
    free(body);
    return NULL;
}

static void remove_db(const char *path)
{
    char p[600];
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < CL_ARRAY_LEN(suffixes); i++) {
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

static int run(const char *path, const struct run_cfg *cfg)
{
    struct cl_queue q;
    struct cl_queue_opts o;
    char err[256];
    cl_queue_opts_default(&o);
    o.durability_full = cfg->durable;
    remove_db(path);
    if (cl_queue_open(&q, path, &o, err, sizeof err) != CL_OK) {
        fprintf(stderr, "bench_queue: %s\n", err);
        return 1;
    }
    struct sender *s = cl_calloc((size_t)cfg->threads, sizeof *s);
    pthread_t *th = cl_calloc((size_t)cfg->threads, sizeof *th);
    int64_t start = cl_mono_ms();
    for (int i = 0; i < cfg->threads; i++) {
        s[i] = (struct sender){.q = &q, .cfg = cfg, .deadline_ms = start + cfg->seconds * 1000};
        pthread_create(&th[i], NULL, sender_main, &s[i]);
    }
    uint64_t sent = 0;
    int64_t lat_sum = 0, lat_max = 0;
    int failed = 0;
    for (int i = 0; i < cfg->threads; i++) {
        pthread_join(th[i], NULL);
        sent += s[i].sent;
        lat_sum += s[i].lat_sum_ms;
        lat_max = CL_MAX(lat_max, s[i].lat_max_ms);
        failed |= s[i].failed;
    }
    double secs = (double)(cl_mono_ms() - start) / 1000.0;
    struct cl_queue_sqlite_counters c;
    cl_queue_sqlite_counters(&q, &c);
    cl_queue_close(&q);
    remove_db(path);
    printf("%-7s %7d %9zu %10.0f %9.1f %10.0f %12.1f %8.2f %7lld%s\n",
           cfg->durable ? "FULL" : "NORMAL", cfg->threads, cfg->size, (double)sent / secs,
           (double)sent * (double)cfg->size / secs / 1048576.0, (double)c.send_commits / secs,
           c.send_commits ? (double)sent / (double)c.send_commits : 0.0,
           sent ? (double)lat_sum / (double)sent : 0.0, (long long)lat_max,
           failed ? "  (send failed)" : "");
    free(s);
    free(th);
    return failed;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_queue [-t THREADS[,THREADS...]] [-s SECONDS] [-b BYTES] "
                    "[-n (synchronous=NORMAL)] [-d DIR]\n"
                    "defaults: -t 1,8 -s 3 -b 65536, synchronous=FULL, DIR=$CL_TMPDIR or /tmp\n");
}

int main(int argc, char **argv)
{
    const char *threads = "1,8";
    const char *dir = getenv("CL_TMPDIR");
    struct run_cfg cfg = {.seconds = 3, .size = 65536, .durable = 1};
    int opt;
    while ((opt = getopt(argc, argv, "t:s:b:nd:h")) != -1) {
        switch (opt) {
        case 't':
            threads = optarg;
            break;
        case 's':
            cfg.seconds = atoi(optarg);
            break;
        case 'b':
            cfg.size = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'n':
            cfg.durable = 0;
            break;
        case 'd':
            dir = optarg;
            break;
        default:
            usage();
            return opt == 'h' ? 0 : 2;
        }
    }
    char path[512];
    snprintf(path, sizeof path, "%s/bench_queue_%d.db", dir && *dir ? dir : "/tmp", (int)getpid());
    printf("%-7s %7s %9s %10s %9s %10s %12s %8s %7s\n", "sync", "threads", "bytes", "msgs/s",
           "MiB/s", "commits/s", "msgs/commit", "lat_ms", "max_ms");
    int rc = 0;
    for (const char *p = threads; *p;) {
        cfg.threads = atoi(p);
        if (cfg.threads < 1 || cfg.seconds < 1 || cfg.size < 1) {
            usage();
            return 2;
        }
        rc |= run(path, &cfg);
        p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p);
    }
    return rc;
}
