/* loadgen.h - private declarations shared by the bench_loadgen translation units. */
#ifndef CL_BENCH_LOADGEN_H
#define CL_BENCH_LOADGEN_H

#include "buf.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * HOW IT WORKS
 * Before the clock starts, a seeded PRNG fills a pool of distinct NDJSON request bodies
 * (optionally gzip-compressed) with their request heads; or, with --body-dir, the pool is
 * the files of a directory as they are (a shipper protocol's bodies, bench/proto_bench.py). Worker
 * threads then each drive a share of the keep-alive connections with non-blocking sockets and a
 * level-triggered epoll loop; a connection is a small state machine:
 *
 *   CLOSED --connect--> CONNECTING --writable--> SENDING --all sent--> READING
 *   READING --response--> SENDING (next request) | WAIT (503/429 Retry-After) | CLOSED
 *   any --error/timeout--> CLOSED (reconnect after a short backoff);  DONE (--requests met)
 * With --rate R each connection starts a request at most every C/R seconds (C connections,
 * staggered), waiting in WAIT until due; a connection that falls behind does not catch up.
 *
 * Latency is send start to last response byte, in microseconds, kept in a log-linear
 * histogram (16 sub-buckets per power of two, < 7% error). Only requests that start
 * after the warm-up are measured. The run ends at the deadline even if the server hangs.
 *
 * Files: main.c (run, summary), options.c, bodies.c (request pool), conn.c (connection
 * state machine), response.c (HTTP response parsing), worker.c, histogram.c,
 * server_stats.c (/proc and rusage samples), report.c (text and --json output), util.c.
 */

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL
#define RESP_MAX ((size_t)4 << 20)
#define HEAD_MAX ((size_t)64 << 10)
#define POOL_MAX_BYTES ((size_t)512 << 20)
#define ERROR_BACKOFF_NS (50 * NS_PER_MS)
#define CONNECT_BACKOFF_NS (100 * NS_PER_MS)
#define THROTTLE_BACKOFF_NS (100 * NS_PER_MS)

struct opts {
    char url[1024];
    char host[256];
    char port[8];
    char path[768];
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int connections;
    int threads;
    double duration;
    bool duration_set;
    long long requests;
    int batch;
    bool gzip;
    int gzip_level;
    const char *api_key;
    const char *body_dir;     /* bodies read from files instead of generated (--body-dir) */
    const char *content_type; /* default application/x-ndjson */
    uint64_t seed;
    double warmup;
    double timeout;
    int pool;
    double rate; /* requests/s over all connections; 0: as fast as responses come */
    int server_pid;
    bool json;
    bool templated; /* --templated: messages from templates (gen.h) */
    bool verbose;
};

/* One pre-built request: head (request line + headers) and body. */
struct body {
    char *head;
    size_t head_len;
    char *data;
    size_t len;     /* bytes on the wire (compressed with --gzip) */
    size_t raw_len; /* uncompressed NDJSON bytes */
    long records;
};

/* Log-linear latency histogram (values in microseconds). */
#define H_SUB_BITS 5
#define H_HALF (1 << (H_SUB_BITS - 1))
#define H_BUCKETS (64 * H_HALF)

struct hist {
    uint64_t counts[H_BUCKETS];
    uint64_t total;
    uint64_t max;
    double sum;
};

struct stats {
    uint64_t ok, non2xx, st503, st429, status_other;
    uint64_t accepted, rejected, no_accepted_field;
    uint64_t raw_bytes, wire_bytes;
    uint64_t errors, timeouts, connect_errors, reconnects, warmup, unfinished;
    struct hist lat;
};

struct run {
    const struct opts *o;
    const struct body *pool;
    int64_t start_ns, measure_ns, end_ns;
    atomic_llong issued;
};

enum cstate { C_CLOSED, C_CONNECTING, C_SENDING, C_READING, C_WAIT, C_DONE };

struct worker;

struct conn {
    int fd;
    uint32_t events;
    enum cstate st;
    struct worker *w;
    const struct body *body;
    size_t sent;
    int64_t t_start, deadline, wake;
    int64_t next_due; /* with --rate: when this connection may start its next request */
    char *rbuf;
    size_t rlen, rcap;
};

struct worker {
    pthread_t th;
    int ep;
    int nconns;
    struct conn *conns;
    unsigned next_body;
    struct run *run;
    int64_t last_done;
    struct stats st;
};

/* A parsed response head plus where the whole message ends. */
struct resp {
    int status;
    bool close, chunked;
    long long clen;
    int retry_after;
    size_t head_len, end;
};

/* CPU time of this process and (with --server-pid) of the server at one instant. */
struct sample {
    int64_t t_ns;
    double client_cpu_s;
    bool server_ok;
    double server_cpu_s;
};

struct summary {
    struct stats st;
    double window_s;
    double client_cpu_pct;
    double server_cpu_pct; /* < 0 when not sampled */
    long server_hwm_kb, server_rss_kb;
};

/* util.c */
int64_t now_ns(void);
void sleep_until(int64_t t_ns);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void buf_add(struct cl_buf *b, const char *s, size_t n);
void buf_printf(struct cl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* options.c: parses argv into o (exits on --help or a bad option) and resolves the URL. */
void parse_opts(int argc, char **argv, struct opts *o);

/* bodies.c: the pool of pre-built requests; build_pool may lower o->pool to fit memory. */
struct body *build_pool(struct opts *o);
void free_pool(struct body *pool, int n);

/* histogram.c */
void hist_add(struct hist *h, uint64_t v);
void hist_merge(struct hist *dst, const struct hist *src);
uint64_t hist_percentile(const struct hist *h, double pct);

/* response.c: 1 when a whole response is in buf (r->end set), 0 if incomplete, -1 if bad. */
int parse_response(const char *buf, size_t len, bool eof, struct resp *r);
/* Reads the integer after "key": in a flat JSON text. */
bool json_int(const char *b, size_t n, const char *key, long long *out);

/* conn.c: connection state machine, driven by a worker. */
void conn_connect(struct conn *c, int64_t now);
void conn_close(struct conn *c);
void conn_on_event(struct conn *c, uint32_t ev, int64_t now);
/* Fires due timers; returns the time this connection next needs attention. */
int64_t conn_timers(struct conn *c, int64_t now);

/* worker.c */
struct worker *start_workers(struct run *run);
void stats_merge(struct stats *d, const struct stats *s);

/* server_stats.c */
void take_sample(const struct opts *o, struct sample *s);
/* Reads a "Key:   N kB" line from /proc/PID/status; -1 if unavailable. */
long proc_status_kb(int pid, const char *key);

/* report.c */
void print_text(const struct opts *o, const struct summary *m);
void print_json(const struct opts *o, const struct summary *m);

#endif
