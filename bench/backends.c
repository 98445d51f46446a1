/* backends.c - benchmark: one queue backend and one store backend through their interfaces.
 *
 *   bench_backends [--queue URL] [--store URL] [--messages N] [--message-size BYTES]
 *                  [--objects N] [--object-size BYTES] [--label NAME]
 *
 * Queue: sends N messages in batches of 10 (cl_queue_send), then receives (10 per call)
 * and deletes them until all N came back. Store: puts N objects under bench/, lists them,
 * deletes them. The same program runs against the embedded backends (sqlite:, file:) and
 * the AWS ones (SQS, s3://), so bench/run_aws.sh compares them in one run. Prints one line
 * per phase: operations, wall time, rate, MB/s, this process's CPU per operation (user +
 * system, from getrusage) - for a remote backend that is the client's overhead - and the
 * HTTP requests sent and connections opened (cl_http_totals; 0 for local backends).
 * Exits 1 if any operation fails or messages do not all come back within 600 s.
 */
#include "common.h"
#include "http.h"
#include "queue.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define BATCH 10
#define DRAIN_LIMIT_MS (600 * 1000)

struct cfg {
    const char *queue_url, *store_url, *label;
    size_t messages, message_size, objects, object_size;
};

struct phase {
    const char *name;
    int64_t t0_ms;
    double cpu0_ms;
    long req0, conn0;
};

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void phase_start(struct phase *p, const char *name)
{
    p->name = name;
    p->t0_ms = cl_mono_ms();
    p->cpu0_ms = cpu_ms();
    cl_http_totals(&p->req0, &p->conn0);
}

static void phase_report(const struct cfg *c, const struct phase *p, size_t ops, size_t bytes)
{
    double wall = (double)(cl_mono_ms() - p->t0_ms) / 1e3;
    double cpu = cpu_ms() - p->cpu0_ms;
    long req, conn;
    cl_http_totals(&req, &conn);
    if (wall <= 0)
        wall = 1e-3;
    printf("%-12s %-10s %8zu ops %8.2f s %10.1f ops/s %8.2f MB/s %8.3f cpu-ms/op %6ld http "
           "%4ld conn\n",
           c->label, p->name, ops, wall, (double)ops / wall, (double)bytes / wall / 1e6,
           ops ? cpu / (double)ops : 0.0, req - p->req0, conn - p->conn0);
    fflush(stdout);
}

/* Pseudo-random bytes (incompressible, like a gzip body); caller frees. */
static unsigned char *noise(size_t n, uint32_t seed)
{
    unsigned char *b = cl_malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        b[i] = (unsigned char)(seed >> 24);
    }
    return b;
}

static int send_all(struct cl_queue *q, const struct cfg *c, const unsigned char *body)
{
    struct cl_msg_out m[BATCH];
    for (size_t i = 0; i < BATCH; i++) {
        m[i] = (struct cl_msg_out){.body = body, .len = c->message_size};
        m[i].attrs.record_count = 1;
        m[i].attrs.raw_bytes = c->message_size;
        m[i].attrs.min_ts_ms = m[i].attrs.max_ts_ms = cl_now_ms();
        snprintf(m[i].attrs.encoding, sizeof m[i].attrs.encoding, "gzip");
    }
    for (size_t sent = 0; sent < c->messages; sent += BATCH) {
        size_t n = CL_MIN(BATCH, c->messages - sent);
        if (cl_queue_send(q, m, n) != CL_OK) {
            fprintf(stderr, "bench_backends: send failed after %zu messages\n", sent);
            return -1;
        }
    }
    return 0;
}

/* Receives and deletes until every sent message came back; *bytes sums body lengths. */
static int drain_all(struct cl_queue *q, const struct cfg *c, size_t *bytes)
{
    size_t got = 0;
    int64_t deadline = cl_mono_ms() + DRAIN_LIMIT_MS;
    while (got < c->messages && cl_mono_ms() < deadline) {
        struct cl_msg *msgs = NULL;
        size_t n = 0;
        if (cl_queue_receive(q, BATCH, 60, 1000, &msgs, &n) != CL_OK)
            return fprintf(stderr, "bench_backends: receive failed\n"), -1;
        const char *receipts[BATCH];
        int results[BATCH];
        for (size_t i = 0; i < n; i++) {
            receipts[i] = msgs[i].receipt;
            *bytes += msgs[i].len;
        }
        int rc = n ? cl_queue_delete(q, receipts, n, results) : CL_OK;
        cl_msgs_free(msgs, n);
        if (rc != CL_OK)
            return fprintf(stderr, "bench_backends: delete failed\n"), -1;
        got += n;
    }
    if (got < c->messages)
        return fprintf(stderr, "bench_backends: %zu of %zu messages came back\n", got, c->messages),
               -1;
    return 0;
}

static int bench_queue(const struct cfg *c)
{
    struct cl_queue q;
    struct cl_queue_opts o;
    char err[512];
    cl_queue_opts_default(&o);
    if (cl_queue_open(&q, c->queue_url, &o, err, sizeof err) != CL_OK) {
        fprintf(stderr, "bench_backends: %s: %s\n", c->queue_url, err);
        return -1;
    }
    unsigned char *body = noise(c->message_size, 7);
    struct phase p;
    size_t bytes = 0;
    phase_start(&p, "send");
    int rc = send_all(&q, c, body);
    if (rc == 0)
        phase_report(c, &p, c->messages, c->messages * c->message_size);
    phase_start(&p, "recv+del");
    if (rc == 0 && (rc = drain_all(&q, c, &bytes)) == 0)
        phase_report(c, &p, c->messages, bytes);
    free(body);
    cl_queue_close(&q);
    return rc;
}

static int count_key(void *arg, const char *key, uint64_t size)
{
    (void)key;
    (void)size;
    ++*(size_t *)arg;
    return 0;
}

static int bench_store(const struct cfg *c)
{
    struct cl_store s;
    char err[512], key[64];
    if (cl_store_open(&s, c->store_url, err, sizeof err) != CL_OK) {
        fprintf(stderr, "bench_backends: %s: %s\n", c->store_url, err);
        return -1;
    }
    unsigned char *data = noise(c->object_size, 11);
    struct phase p;
    int rc = 0;
    phase_start(&p, "put");
    for (size_t i = 0; rc == 0 && i < c->objects; i++) {
        snprintf(key, sizeof key, "bench/obj-%06zu.bin", i);
        rc = cl_store_put(&s, key, data, c->object_size);
    }
    if (rc == 0)
        phase_report(c, &p, c->objects, c->objects * c->object_size);
    size_t listed = 0;
    phase_start(&p, "list");
    if (rc == 0 && (rc = cl_store_list(&s, "bench/", count_key, &listed)) == CL_OK)
        phase_report(c, &p, listed, 0);
    if (rc == 0 && listed != c->objects) {
        fprintf(stderr, "bench_backends: listed %zu of %zu\n", listed, c->objects);
        rc = -1;
    }
    phase_start(&p, "delete");
    for (size_t i = 0; rc == 0 && i < c->objects; i++) {
        snprintf(key, sizeof key, "bench/obj-%06zu.bin", i);
        rc = cl_store_delete(&s, key);
    }
    if (rc == 0)
        phase_report(c, &p, c->objects, 0);
    else
        fprintf(stderr, "bench_backends: store operation failed (%d)\n", rc);
    free(data);
    cl_store_close(&s);
    return rc == 0 ? 0 : -1;
}

static size_t size_arg(const char *v, const char *name)
{
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n == 0) {
        fprintf(stderr, "bench_backends: %s needs a positive integer, got '%s'\n", name, v);
        exit(2);
    }
    return (size_t)n;
}

static void usage(FILE *f)
{
    fputs("usage: bench_backends [--queue URL] [--store URL] [--messages N]\n"
          "                      [--message-size BYTES] [--objects N] [--object-size BYTES]\n"
          "                      [--label NAME]\n",
          f);
}

static void parse_args(int argc, char **argv, struct cfg *c)
{
    *c = (struct cfg){.label = "backends",
                      .messages = 2000,
                      .message_size = 16384,
                      .objects = 200,
                      .object_size = 1 << 20};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            usage(stdout), exit(0);
        if (!v)
            usage(stderr), exit(2);
        i++;
        if (!strcmp(a, "--queue"))
            c->queue_url = v;
        else if (!strcmp(a, "--store"))
            c->store_url = v;
        else if (!strcmp(a, "--label"))
            c->label = v;
        else if (!strcmp(a, "--messages"))
            c->messages = size_arg(v, a);
        else if (!strcmp(a, "--message-size"))
            c->message_size = size_arg(v, a);
        else if (!strcmp(a, "--objects"))
            c->objects = size_arg(v, a);
        else if (!strcmp(a, "--object-size"))
            c->object_size = size_arg(v, a);
        else
            usage(stderr), exit(2);
    }
}

int main(int argc, char **argv)
{
    struct cfg c;
    parse_args(argc, argv, &c);
    int rc = 0;
    if (c.queue_url && bench_queue(&c) != 0)
        rc = 1;
    if (c.store_url && bench_store(&c) != 0)
        rc = 1;
    return rc;
}
