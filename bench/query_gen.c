/* query_gen.c - bench_query_gen: posts a synthetic store for the query benchmark.
 *
 *   bench_query_gen --addr 127.0.0.1:PORT --records N [--span-hours H] [--end-ms MS]
 *                   [--batch R] [--seed S]
 *
 * Posts N records (the shared generator's records, bench/common/gen.c: 20 services, level
 * mix, 5-14-word messages) to POST /v1/logs, R records per request, one request at a time
 * over loopback. Unlike bench_loadgen, whose records all fall in the minute before it
 * starts, the timestamps here advance evenly over the H hours ending at MS (default now),
 * in order and with the generator's own jitter of up to a minute, so the store spans H
 * hours and a 15-minute query is selective. Records arrive in time order, as a live
 * system's would. Exits 1 when a request fails, is not answered 2xx or has a record rejected.
 * Prints "posted N records, B bytes in T s" on stderr. */
#include "buf.h"
#include "common.h"
#include "gen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *msg)
{
    fprintf(stderr, "bench_query_gen: %s\n", msg);
    exit(1);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write to the daemon failed");
        p += w;
        n -= (size_t)w;
    }
}

/* One POST with Connection: close; returns the 2xx status, or 0 when the request failed or
 * a record was rejected. */
static int post(const struct sockaddr_in *sa, const char *host, const char *body, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket failed");
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0)
        die("connect failed");
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "POST /v1/logs HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-ndjson\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      host, len);
    write_all(fd, head, (size_t)hn);
    write_all(fd, body, len);
    char resp[4096];
    size_t got = 0;
    for (;;) { /* read to EOF; keep the first bytes for the status line */
        char tmp[4096];
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t keep = sizeof resp - 1 - got;
        if ((size_t)r < keep)
            keep = (size_t)r;
        memcpy(resp + got, tmp, keep);
        got += keep;
    }
    close(fd);
    resp[got] = '\0';
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    if (status < 200 || status > 299 || !strstr(resp, "\"rejected\":0")) {
        fprintf(stderr, "bench_query_gen: response: %.300s\n", resp);
        return 0;
    }
    return status;
}

int main(int argc, char **argv)
{
    const char *addr = NULL;
    int64_t records = 0, end = 0;
    double span_h = 24;
    long batch = 10000;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i += 2) { /* every option takes one value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("every option takes a value (see the comment at the top of query_gen.c)");
        if (!strcmp(a, "--addr"))
            addr = v;
        else if (!strcmp(a, "--records"))
            records = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--span-hours"))
            span_h = strtod(v, NULL);
        else if (!strcmp(a, "--end-ms"))
            end = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--batch"))
            batch = strtol(v, NULL, 10);
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else
            die("unknown option");
    }
    if (!addr || records <= 0 || batch <= 0 || batch > 30000 || !(span_h > 0))
        die("usage: bench_query_gen --addr 127.0.0.1:PORT --records N [--span-hours H] "
            "[--end-ms MS] [--batch R (<= 30000)] [--seed S]");
    if (end == 0)
        end = now_ms();

    char host[64];
    snprintf(host, sizeof host, "%s", addr);
    char *colon = strrchr(host, ':');
    if (!colon)
        die("--addr must be IPv4:PORT");
    *colon = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || (ntohl(sa.sin_addr.s_addr) >> 24) != 127)
        die("--addr must be a loopback IPv4 address (127.0.0.0/8)");

    struct cl_gen g;
    cl_gen_init(&g, seed);
    struct cl_buf b;
    cl_buf_init(&b, (size_t)batch * 1024);
    int64_t span_ms = (int64_t)(span_h * 3600e3);
    /* gen stamps a record within the minute before the time it is given; +60 s keeps the
     * first records inside the span. */
    int64_t start = end - span_ms + 60000;
    uint64_t bytes = 0;
    double t0 = mono_s();
    for (int64_t i = 0; i < records;) {
        cl_buf_reset(&b);
        for (long k = 0; k < batch && i < records; k++, i++) {
            int64_t t = start + (int64_t)((double)(span_ms - 60000) * (double)i / (double)records);
            if (cl_gen_record(&g, &b, t) != CL_OK || cl_buf_append_char(&b, '\n') != CL_OK)
                die("record buffer full");
        }
        if (post(&sa, addr, b.data, b.len) == 0)
            die("POST /v1/logs failed or rejected records");
        bytes += b.len;
    }
    fprintf(stderr, "bench_query_gen: posted %" PRId64 " records, %" PRIu64 " bytes in %.1f s\n",
            records, bytes, mono_s() - t0);
    cl_buf_free(&b);
    return 0;
}
