/* loadgen.c - loopback-only HTTP/1.1 load generator for POST /v1/logs: throughput, latency, CPU. */
#include "buf.h"
#include "common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/*
 * HOW IT WORKS
 * Before the clock starts, a seeded PRNG fills a pool of distinct NDJSON request bodies
 * (optionally gzip-compressed) with their request heads. Worker threads then each drive
 * a share of the keep-alive connections with non-blocking sockets and a level-triggered
 * epoll loop; a connection is a small state machine:
 *
 *   CLOSED --connect--> CONNECTING --writable--> SENDING --all sent--> READING
 *   READING --response--> SENDING (next request) | WAIT (503/429 Retry-After) | CLOSED
 *   any --error/timeout--> CLOSED (reconnect after a short backoff);  DONE (--requests met)
 *
 * Latency is send start to last response byte, in microseconds, kept in a log-linear
 * histogram (16 sub-buckets per power of two, < 7% error). Only requests that start
 * after the warm-up are measured. The run ends at the deadline even if the server hangs.
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
    uint64_t seed;
    double warmup;
    double timeout;
    int pool;
    int server_pid;
    bool json;
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

/* ---------------------------------------------------------------- utilities */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void sleep_until(int64_t t_ns)
{
    struct timespec ts = {.tv_sec = t_ns / NS_PER_S, .tv_nsec = t_ns % NS_PER_S};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void buf_add(struct cl_buf *b, const char *s, size_t n)
{
    if (cl_buf_append(b, s, n) != CL_OK)
        die("buffer limit exceeded");
}

static void buf_printf(struct cl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void buf_printf(struct cl_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        die("formatted text too long");
    buf_add(b, tmp, (size_t)n);
}

/* splitmix64: tiny, fast, and good enough for synthetic data. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((rng_next(s) >> 32) * n) >> 32);
}

/* ---------------------------------------------------------------- options */

static void usage(FILE *f)
{
    fputs("usage: bench_loadgen --url http://127.0.0.1:PORT/v1/logs [options]\n"
          "  --connections C   keep-alive connections (default 16)\n"
          "  --threads T       worker threads (default: half the cores, at least 1)\n"
          "  --duration S      measured seconds (default 10)\n"
          "  --requests N      stop after N requests (duration becomes a cap, default 300)\n"
          "  --warmup S        unmeasured seconds before the run (default 0)\n"
          "  --batch R         records per request (default 1000)\n"
          "  --gzip            gzip bodies (Content-Encoding: gzip)\n"
          "  --gzip-level L    zlib level for --gzip (default 6)\n"
          "  --api-key K       sent as Authorization: Bearer K\n"
          "  --seed N          PRNG seed (default 1)\n"
          "  --pool N          distinct pre-built bodies (default 64, bounded to 512 MiB)\n"
          "  --timeout S       per-request/connect timeout (default 10)\n"
          "  --server-pid PID  sample the server's CPU and RSS from /proc\n"
          "  --json            print one JSON summary line instead of text\n"
          "  --verbose         report each connection failure on stderr\n"
          "Only loopback addresses (127.0.0.0/8, ::1) are accepted.\n",
          f);
}

static double parse_num(const char *name, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi)
        die("bad value for --%s: '%s' (expected %g..%g)", name, s, lo, hi);
    return v;
}

static uint64_t parse_u64(const char *name, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-')
        die("bad value for --%s: '%s' (expected an unsigned integer)", name, s);
    return (uint64_t)v;
}

static void copy_part(char *dst, size_t cap, const char *src, size_t n, const char *what)
{
    if (n == 0 || n >= cap)
        die("bad %s in URL", what);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Splits http://HOST[:PORT][/PATH]; IPv6 hosts in brackets. */
static void parse_url(struct opts *o)
{
    const char *p = o->url;
    if (strpbrk(p, "\"\\ \t\r\n"))
        die("--url must not contain quotes, backslashes or whitespace");
    if (strncmp(p, "http://", 7) != 0)
        die("--url must start with http:// (got '%s')", o->url);
    p += 7;
    const char *after;
    if (*p == '[') {
        const char *rb = strchr(p, ']');
        if (!rb)
            die("unterminated '[' in URL");
        copy_part(o->host, sizeof(o->host), p + 1, (size_t)(rb - p - 1), "host");
        after = rb + 1;
    } else {
        size_t n = strcspn(p, ":/");
        copy_part(o->host, sizeof(o->host), p, n, "host");
        after = p + n;
    }
    strcpy(o->port, "80");
    if (*after == ':') {
        size_t n = strspn(after + 1, "0123456789");
        copy_part(o->port, 6, after + 1, n, "port");
        after += 1 + n;
    }
    if (*after == '\0')
        strcpy(o->path, "/v1/logs");
    else if (*after == '/')
        copy_part(o->path, sizeof(o->path), after, strlen(after), "path");
    else
        die("bad URL '%s'", o->url);
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* Resolves the URL's host; refuses it unless every address it names is loopback. */
static void resolve_loopback(struct opts *o)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int rc = getaddrinfo(o->host, o->port, &hints, &res);
    if (rc != 0)
        die("cannot resolve '%s': %s", o->host, gai_strerror(rc));
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (!is_loopback(ai->ai_addr))
            die("refusing non-loopback address for '%s' (loopback only)", o->host);
    }
    memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
    o->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
}

static int default_threads(int connections)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int t = cores > 1 ? (int)(cores / 2) : 1;
    return t < connections ? t : connections;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
    enum {
        O_URL = 256,
        O_CONN,
        O_THR,
        O_DUR,
        O_REQ,
        O_WARM,
        O_BATCH,
        O_GZIP,
        O_GZLVL,
        O_KEY,
        O_SEED,
        O_POOL,
        O_TMO,
        O_PID,
        O_JSON,
        O_VERBOSE,
        O_HELP
    };
    static const struct option longopts[] = {
        {"url", 1, 0, O_URL},         {"connections", 1, 0, O_CONN}, {"threads", 1, 0, O_THR},
        {"duration", 1, 0, O_DUR},    {"requests", 1, 0, O_REQ},     {"warmup", 1, 0, O_WARM},
        {"batch", 1, 0, O_BATCH},     {"gzip", 0, 0, O_GZIP},        {"gzip-level", 1, 0, O_GZLVL},
        {"api-key", 1, 0, O_KEY},     {"seed", 1, 0, O_SEED},        {"pool", 1, 0, O_POOL},
        {"timeout", 1, 0, O_TMO},     {"server-pid", 1, 0, O_PID},   {"json", 0, 0, O_JSON},
        {"verbose", 0, 0, O_VERBOSE}, {"help", 0, 0, O_HELP},        {0, 0, 0, 0}};
    *o = (struct opts){.connections = 16,
                       .duration = 10,
                       .batch = 1000,
                       .gzip_level = 6,
                       .seed = 1,
                       .timeout = 10,
                       .pool = 64};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_URL:
            if (strlen(optarg) >= sizeof(o->url))
                die("--url too long");
            strcpy(o->url, optarg);
            break;
        case O_CONN:
            o->connections = (int)parse_num("connections", optarg, 1, 10000);
            break;
        case O_THR:
            o->threads = (int)parse_num("threads", optarg, 1, 256);
            break;
        case O_DUR:
            o->duration = parse_num("duration", optarg, 0.1, 86400);
            o->duration_set = true;
            break;
        case O_REQ:
            o->requests = (long long)parse_num("requests", optarg, 1, 1e15);
            break;
        case O_WARM:
            o->warmup = parse_num("warmup", optarg, 0, 3600);
            break;
        case O_BATCH:
            o->batch = (int)parse_num("batch", optarg, 1, 1000000);
            break;
        case O_GZIP:
            o->gzip = true;
            break;
        case O_GZLVL:
            o->gzip_level = (int)parse_num("gzip-level", optarg, 1, 9);
            break;
        case O_KEY:
            o->api_key = optarg;
            break;
        case O_SEED:
            o->seed = parse_u64("seed", optarg);
            break;
        case O_POOL:
            o->pool = (int)parse_num("pool", optarg, 1, 4096);
            break;
        case O_TMO:
            o->timeout = parse_num("timeout", optarg, 0.01, 3600);
            break;
        case O_PID:
            o->server_pid = (int)parse_num("server-pid", optarg, 1, 1 << 30);
            break;
        case O_JSON:
            o->json = true;
            break;
        case O_VERBOSE:
            o->verbose = true;
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc || !o->url[0]) {
        usage(stderr);
        exit(2);
    }
    if (o->requests && !o->duration_set)
        o->duration = 300;
    if (!o->threads)
        o->threads = default_threads(o->connections);
    if (o->threads > o->connections)
        o->threads = o->connections;
    parse_url(o);
    resolve_loopback(o);
}

/* ---------------------------------------------------------------- synthetic records */

static const char *const SERVICES[] = {"api-gateway", "auth",     "billing",        "cart",
                                       "catalog",     "checkout", "email",          "frontend",
                                       "inventory",   "ledger",   "notifications",  "orders",
                                       "payments",    "pricing",  "recommendation", "search",
                                       "sessions",    "shipping", "user-profile",   "web"};

static const char *const WORDS[] = {
    "request",    "completed", "failed",     "user",      "session",  "cache",    "miss",
    "hit",        "database",  "query",      "timeout",   "retry",    "upstream", "response",
    "received",   "sent",      "order",      "payment",   "token",    "expired",  "refreshed",
    "connection", "pool",      "exhausted",  "handler",   "started",  "stopped",  "queue",
    "message",    "processed", "batch",      "flushed",   "record",   "invalid",  "field",
    "missing",    "config",    "reloaded",   "worker",    "shard",    "replica",  "lag",
    "latency",    "high",      "low",        "backend",   "healthy",  "degraded", "item",
    "added",      "removed",   "checkout",   "inventory", "reserved", "released", "webhook",
    "delivered",  "rejected",  "accepted",   "rate",      "limit",    "exceeded", "slow",
    "lock",       "acquired",  "contention", "snapshot",  "written",  "read",     "bytes",
    "from",       "to",        "for",        "with",      "after",    "while",    "the",
    "a",          "in",        "on",         "of",        "and",      "client",   "server"};

static const int STATUSES[] = {200, 200, 200, 200, 200, 200, 201, 204,
                               301, 304, 400, 401, 404, 429, 500, 503};

static const char *gen_level(uint64_t *rng)
{
    uint32_t r = rng_below(rng, 100);
    if (r < 70)
        return "info";
    if (r < 85)
        return "debug";
    if (r < 97)
        return "warn";
    return "error";
}

static void gen_timestamp(struct cl_buf *b, int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
               tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static void gen_message(struct cl_buf *b, uint64_t *rng)
{
    uint32_t words = 5 + rng_below(rng, 10);
    for (uint32_t i = 0; i < words; i++) {
        const char *w = WORDS[rng_below(rng, CL_ARRAY_LEN(WORDS))];
        if (i)
            buf_add(b, " ", 1);
        buf_add(b, w, strlen(w));
    }
}

/* Appends one NDJSON record (~200-300 bytes) stamped within the minute before now_ms. */
static void gen_record(struct cl_buf *b, uint64_t *rng, int64_t now_ms)
{
    buf_add(b, "{\"timestamp\":\"", 14);
    gen_timestamp(b, now_ms - rng_below(rng, 60000));
    const char *level = gen_level(rng);
    const char *service = SERVICES[rng_below(rng, CL_ARRAY_LEN(SERVICES))];
    uint32_t h1 = rng_below(rng, 256), h2 = rng_below(rng, 256);
    uint64_t t1 = rng_next(rng), t2 = rng_next(rng);
    buf_printf(b,
               "\",\"level\":\"%s\",\"service\":\"%s\",\"host\":\"ip-10-0-%u-%u.ec2.internal\","
               "\"trace_id\":\"%016" PRIx64 "%016" PRIx64 "\",\"message\":\"",
               level, service, h1, h2, t1, t2);
    gen_message(b, rng);
    uint32_t dur = rng_below(rng, 250000);
    int status = STATUSES[rng_below(rng, CL_ARRAY_LEN(STATUSES))];
    buf_printf(b, "\",\"duration_ms\":%u.%u,\"status\":%d}\n", dur / 100, dur % 100, status);
}

/* Returns a heap gzip stream of in[0..n); the caller frees it. */
static char *gzip_bytes(const char *in, size_t n, int level, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2 failed");
    uLong cap = deflateBound(&z, (uLong)n);
    char *out = cl_malloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        die("deflate failed");
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

static void build_head(const struct opts *o, struct body *bd)
{
    struct cl_buf h;
    cl_buf_init(&h, HEAD_MAX);
    bool v6 = strchr(o->host, ':') != NULL;
    buf_printf(&h, "POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n", o->path, v6 ? "[" : "", o->host,
               v6 ? "]" : "", o->port);
    buf_printf(&h,
               "User-Agent: cloudlog-loadgen/1\r\nContent-Type: application/x-ndjson\r\n"
               "Content-Length: %zu\r\nConnection: keep-alive\r\n",
               bd->len);
    if (o->gzip)
        buf_printf(&h, "Content-Encoding: gzip\r\n");
    if (o->api_key)
        buf_printf(&h, "Authorization: Bearer %s\r\n", o->api_key);
    buf_add(&h, "\r\n", 2);
    bd->head = cl_buf_take(&h, &bd->head_len);
}

static void build_body(const struct opts *o, struct body *bd, uint64_t *rng, int64_t now_ms)
{
    struct cl_buf b;
    cl_buf_init(&b, (size_t)1 << 31);
    for (int i = 0; i < o->batch; i++)
        gen_record(&b, rng, now_ms);
    bd->records = o->batch;
    bd->raw_len = b.len;
    if (o->gzip) {
        bd->data = gzip_bytes(b.data, b.len, o->gzip_level, &bd->len);
        cl_buf_free(&b);
    } else {
        bd->data = cl_buf_take(&b, &bd->len);
    }
    build_head(o, bd);
}

/* Builds the pool of distinct bodies, capped so it stays under POOL_MAX_BYTES. */
static struct body *build_pool(struct opts *o)
{
    size_t per_body = (size_t)o->batch * 300;
    size_t fit = POOL_MAX_BYTES / per_body;
    if ((size_t)o->pool > fit)
        o->pool = fit > 1 ? (int)fit : 1;
    struct body *pool = cl_calloc((size_t)o->pool, sizeof(*pool));
    uint64_t rng = o->seed;
    int64_t now_ms = cl_now_ms();
    for (int i = 0; i < o->pool; i++)
        build_body(o, &pool[i], &rng, now_ms);
    return pool;
}

static void free_pool(struct body *pool, int n)
{
    for (int i = 0; i < n; i++) {
        free(pool[i].head);
        free(pool[i].data);
    }
    free(pool);
}

/* ---------------------------------------------------------------- latency histogram */

#define H_SUB_BITS 5
#define H_HALF (1 << (H_SUB_BITS - 1))
#define H_BUCKETS (64 * H_HALF)

struct hist {
    uint64_t counts[H_BUCKETS];
    uint64_t total;
    uint64_t max;
    double sum;
};

static int hist_index(uint64_t v)
{
    if (v < (1u << H_SUB_BITS))
        return (int)v;
    int shift = (63 - __builtin_clzll(v)) - (H_SUB_BITS - 1);
    return shift * H_HALF + (int)(v >> shift);
}

/* Highest value that falls into bucket idx. */
static uint64_t hist_upper(int idx)
{
    if (idx < (1 << H_SUB_BITS))
        return (uint64_t)idx;
    int shift = idx / H_HALF - 1;
    uint64_t mant = (uint64_t)(idx - shift * H_HALF);
    return ((mant + 1) << shift) - 1;
}

static void hist_add(struct hist *h, uint64_t v)
{
    h->counts[hist_index(v)]++;
    h->total++;
    h->sum += (double)v;
    if (v > h->max)
        h->max = v;
}

static void hist_merge(struct hist *dst, const struct hist *src)
{
    for (int i = 0; i < H_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}

static uint64_t hist_percentile(const struct hist *h, double pct)
{
    if (!h->total)
        return 0;
    uint64_t rank = (uint64_t)((pct / 100.0) * (double)h->total + 0.999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < H_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            return CL_MIN(hist_upper(i), h->max);
    }
    return h->max;
}

/* ---------------------------------------------------------------- run state */

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
enum fail_kind { F_ERROR, F_TIMEOUT, F_CONNECT };

struct worker;

struct conn {
    int fd;
    uint32_t events;
    enum cstate st;
    struct worker *w;
    const struct body *body;
    size_t sent;
    int64_t t_start, deadline, wake;
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

/* ---------------------------------------------------------------- HTTP response parsing */

static void parse_header_line(const char *line, size_t n, struct resp *r)
{
    const char *colon = memchr(line, ':', n);
    if (!colon)
        return;
    size_t name_len = (size_t)(colon - line);
    char val[128];
    const char *v = colon + 1, *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    size_t vn = CL_MIN((size_t)(e - v), sizeof(val) - 1);
    memcpy(val, v, vn);
    val[vn] = '\0';
    if (name_len == 14 && !strncasecmp(line, "content-length", 14))
        r->clen = strtoll(val, NULL, 10);
    else if (name_len == 17 && !strncasecmp(line, "transfer-encoding", 17))
        r->chunked = strcasestr(val, "chunked") != NULL;
    else if (name_len == 10 && !strncasecmp(line, "connection", 10))
        r->close = strcasestr(val, "close")        ? true
                   : strcasestr(val, "keep-alive") ? false
                                                   : r->close;
    else if (name_len == 11 && !strncasecmp(line, "retry-after", 11) &&
             isdigit((unsigned char)val[0]))
        r->retry_after = (int)CL_MIN(strtol(val, NULL, 10), 3600L);
}

/* Returns 1 with r filled when the head is complete, 0 when more bytes are needed, -1 if bad. */
static int parse_head(const char *buf, size_t len, struct resp *r)
{
    const char *eoh = memmem(buf, len, "\r\n\r\n", 4);
    if (!eoh)
        return len > HEAD_MAX ? -1 : 0;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (!isdigit((unsigned char)buf[i]))
            return -1;
    *r = (struct resp){.status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0'),
                       .close = buf[7] == '0',
                       .clen = -1,
                       .retry_after = -1,
                       .head_len = (size_t)(eoh - buf) + 4};
    const char *line = (const char *)memchr(buf, '\n', len) + 1;
    while (line < eoh + 2) {
        const char *eol = memmem(line, (size_t)(eoh + 2 - line), "\r\n", 2);
        parse_header_line(line, (size_t)(eol - line), r);
        line = eol + 2;
    }
    return 1;
}

/* Finds the end of a chunked body starting at pos; same return convention as parse_head. */
static int chunked_end(const char *buf, size_t len, size_t pos, size_t *end)
{
    for (;;) {
        const char *eol = memmem(buf + pos, len - pos, "\r\n", 2);
        if (!eol)
            return 0;
        if (!isxdigit((unsigned char)buf[pos]))
            return -1;
        unsigned long n = strtoul(buf + pos, NULL, 16);
        pos = (size_t)(eol - buf) + 2;
        if (n == 0)
            break;
        if (n > RESP_MAX)
            return -1;
        if (len - pos < n + 2)
            return 0;
        pos += n + 2;
    }
    for (;;) { /* trailer lines up to the empty one */
        const char *eol = memmem(buf + pos, len - pos, "\r\n", 2);
        if (!eol)
            return 0;
        bool empty = eol == buf + pos;
        pos = (size_t)(eol - buf) + 2;
        if (empty) {
            *end = pos;
            return 1;
        }
    }
}

/* Returns 1 when a whole response is in buf (r->end set), 0 if incomplete, -1 if malformed. */
static int parse_response(const char *buf, size_t len, bool eof, struct resp *r)
{
    int rc = parse_head(buf, len, r);
    if (rc <= 0)
        return rc;
    if (r->status < 200 || r->status == 204 || r->status == 304) {
        r->end = r->head_len;
        return r->status < 200 ? -1 : 1; /* we never send Expect, so 1xx is a protocol error */
    }
    if (r->chunked)
        return chunked_end(buf, len, r->head_len, &r->end);
    if (r->clen >= 0) {
        if ((size_t)r->clen > RESP_MAX)
            return -1;
        if (len - r->head_len < (size_t)r->clen)
            return 0;
        r->end = r->head_len + (size_t)r->clen;
        return 1;
    }
    r->close = true; /* delimited by connection close */
    r->end = len;
    return eof ? 1 : 0;
}

/* Reads the integer after "key": in a JSON text (no full parse: the server's body is flat). */
static bool json_int(const char *b, size_t n, const char *key, long long *out)
{
    size_t kn = strlen(key);
    const char *k = memmem(b, n, key, kn);
    if (!k)
        return false;
    const char *p = k + kn, *e = b + n;
    while (p < e && (*p == ' ' || *p == ':' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    long long v = 0;
    const char *digits = p;
    while (p < e && isdigit((unsigned char)*p) && v < (1LL << 50))
        v = v * 10 + (*p++ - '0');
    if (p == digits)
        return false;
    *out = v;
    return true;
}

/* ---------------------------------------------------------------- connections */

static void conn_connect(struct conn *c, int64_t now);
static void conn_start_request(struct conn *c, int64_t now);

static bool measuring(const struct conn *c, int64_t t)
{
    return t >= c->w->run->measure_ns;
}

static void set_events(struct conn *c, uint32_t ev)
{
    if (c->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(c->w->ep, EPOLL_CTL_MOD, c->fd, &e) != 0)
        die("epoll_ctl: %s", strerror(errno));
    c->events = ev;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    c->rlen = 0;
}

/* Counts a failure, drops the connection and schedules a reconnect. */
static void conn_fail(struct conn *c, int64_t now, enum fail_kind kind, const char *why)
{
    struct stats *s = &c->w->st;
    if (c->w->run->o->verbose)
        fprintf(stderr, "loadgen: connection %d: %s (%s)\n", c->fd, why,
                errno ? strerror(errno) : "no errno");
    if (measuring(c, now)) {
        if (kind == F_TIMEOUT)
            s->timeouts++;
        else if (kind == F_CONNECT)
            s->connect_errors++;
        else
            s->errors++;
    }
    conn_close(c);
    c->st = C_CLOSED;
    c->wake = now + (kind == F_CONNECT ? CONNECT_BACKOFF_NS : ERROR_BACKOFF_NS);
}

static void conn_connect(struct conn *c, int64_t now)
{
    const struct opts *o = c->w->run->o;
    c->fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, c->fd, &e) != 0)
        die("epoll_ctl: %s", strerror(errno));
    c->events = EPOLLOUT;
    c->deadline = now + (int64_t)(o->timeout * NS_PER_S);
    if (connect(c->fd, (const struct sockaddr *)&o->addr, o->addr_len) == 0) {
        conn_start_request(c, now);
    } else if (errno == EINPROGRESS) {
        c->st = C_CONNECTING;
    } else {
        conn_fail(c, now, F_CONNECT, "connect");
    }
}

static void conn_send(struct conn *c, int64_t now)
{
    const struct body *b = c->body;
    size_t total = b->head_len + b->len;
    while (c->sent < total) {
        struct iovec iov[2];
        int n = 0;
        if (c->sent < b->head_len) {
            iov[n++] = (struct iovec){b->head + c->sent, b->head_len - c->sent};
            iov[n++] = (struct iovec){b->data, b->len};
        } else {
            size_t off = c->sent - b->head_len;
            iov[n++] = (struct iovec){b->data + off, b->len - off};
        }
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t k = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(c, EPOLLOUT | EPOLLIN);
            return;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            conn_fail(c, now, F_ERROR, "send");
            return;
        }
        c->sent += (size_t)k;
    }
    c->st = C_READING;
    set_events(c, EPOLLIN);
}

static void conn_start_request(struct conn *c, int64_t now)
{
    struct run *run = c->w->run;
    if (c->fd < 0) {
        conn_connect(c, now);
        return;
    }
    if (run->o->requests && atomic_fetch_add(&run->issued, 1) >= run->o->requests) {
        conn_close(c);
        c->st = C_DONE;
        return;
    }
    c->body = &run->pool[c->w->next_body++ % (unsigned)run->o->pool];
    c->sent = 0;
    c->rlen = 0;
    c->t_start = now;
    c->deadline = now + (int64_t)(run->o->timeout * NS_PER_S);
    c->st = C_SENDING;
    conn_send(c, now);
}

static void record_response(struct conn *c, const struct resp *r, int64_t now)
{
    struct stats *s = &c->w->st;
    c->w->last_done = now;
    if (!measuring(c, c->t_start)) {
        s->warmup++;
        return;
    }
    hist_add(&s->lat, (uint64_t)(now - c->t_start) / 1000);
    s->wire_bytes += c->body->head_len + c->body->len;
    if (r->status / 100 != 2) {
        s->non2xx++;
        s->st503 += r->status == 503;
        s->st429 += r->status == 429;
        s->status_other += r->status != 503 && r->status != 429;
        return;
    }
    s->ok++;
    s->raw_bytes += c->body->raw_len;
    const char *b = c->rbuf + r->head_len;
    size_t n = r->end - r->head_len;
    long long v;
    if (json_int(b, n, "\"accepted\"", &v)) {
        s->accepted += (uint64_t)v;
    } else {
        s->no_accepted_field++;
    }
    if (json_int(b, n, "\"rejected\"", &v))
        s->rejected += (uint64_t)v;
}

static void conn_on_response(struct conn *c, const struct resp *r, int64_t now)
{
    record_response(c, r, now);
    bool reuse = !r->close && c->sent == c->body->head_len + c->body->len && r->end == c->rlen;
    if (!reuse) {
        if (measuring(c, now))
            c->w->st.reconnects++;
        conn_close(c);
    }
    c->rlen = 0;
    if (r->status == 503 || r->status == 429) {
        c->st = reuse ? C_WAIT : C_CLOSED;
        c->wake = now + (r->retry_after >= 0 ? r->retry_after * NS_PER_S : THROTTLE_BACKOFF_NS);
        if (reuse)
            set_events(c, EPOLLIN); /* notice the server closing the idle connection */
        return;
    }
    conn_start_request(c, now);
}

/* Reads what is available; returns true if the peer closed (EOF), false otherwise. */
static bool conn_fill(struct conn *c, bool *failed)
{
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            if (c->rcap >= RESP_MAX + HEAD_MAX) {
                *failed = true;
                return false;
            }
            c->rcap *= 2;
            c->rbuf = cl_realloc(c->rbuf, c->rcap);
        }
        size_t room = c->rcap - c->rlen;
        ssize_t k = recv(c->fd, c->rbuf + c->rlen, room, 0);
        if (k > 0) {
            c->rlen += (size_t)k;
            if ((size_t)k < room)
                return false; /* short read: the socket is drained */
            continue;
        }
        if (k == 0)
            return true;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            *failed = true;
        return false;
    }
}

static void conn_read(struct conn *c, int64_t now)
{
    bool failed = false;
    bool eof = conn_fill(c, &failed);
    if (c->st == C_WAIT) { /* idle connection closed or sent junk: reconnect at wake */
        if (eof || failed || c->rlen) {
            conn_close(c);
            c->st = C_CLOSED;
            if (measuring(c, now))
                c->w->st.reconnects++;
        }
        return;
    }
    if (failed) {
        conn_fail(c, now, F_ERROR, "recv");
        return;
    }
    struct resp r;
    int rc = parse_response(c->rbuf, c->rlen, eof, &r);
    if (rc == 1)
        conn_on_response(c, &r, now);
    else if (rc < 0 || eof) {
        errno = 0;
        conn_fail(c, now, F_ERROR, rc < 0 ? "malformed response" : "closed by server");
    }
}

static void conn_on_event(struct conn *c, uint32_t ev, int64_t now)
{
    if (c->st == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        errno = err;
        if (err)
            conn_fail(c, now, F_CONNECT, "connect");
        else
            conn_start_request(c, now);
        return;
    }
    if (c->fd >= 0 && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        conn_read(c, now);
    if (c->st == C_SENDING && (ev & EPOLLOUT))
        conn_send(c, now);
}

/* Fires due timers; returns the time this connection next needs attention. */
static int64_t conn_timers(struct conn *c, int64_t now)
{
    switch (c->st) {
    case C_CONNECTING:
    case C_SENDING:
    case C_READING:
        if (now >= c->deadline) {
            errno = 0;
            conn_fail(c, now, c->st == C_CONNECTING ? F_CONNECT : F_TIMEOUT, "timeout");
        }
        break;
    case C_CLOSED:
        if (now >= c->wake)
            conn_connect(c, now);
        break;
    case C_WAIT:
        if (now >= c->wake)
            conn_start_request(c, now);
        break;
    case C_DONE:
        return INT64_MAX;
    }
    if (c->st == C_CLOSED || c->st == C_WAIT)
        return c->wake;
    return c->st == C_DONE ? INT64_MAX : c->deadline;
}

/* ---------------------------------------------------------------- workers */

static bool worker_finished(const struct worker *w)
{
    for (int i = 0; i < w->nconns; i++)
        if (w->conns[i].st != C_DONE)
            return false;
    return true;
}

static int64_t worker_tick(struct worker *w, int64_t now)
{
    int64_t next = w->run->end_ns;
    for (int i = 0; i < w->nconns; i++) {
        int64_t t = conn_timers(&w->conns[i], now);
        if (t < next)
            next = t;
    }
    return next;
}

static void worker_finish(struct worker *w)
{
    for (int i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        if (c->st == C_SENDING || c->st == C_READING)
            w->st.unfinished++;
        conn_close(c);
        free(c->rbuf);
    }
    close(w->ep);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[64];
    int64_t now = now_ns();
    for (int i = 0; i < w->nconns; i++)
        conn_connect(&w->conns[i], now);
    for (;;) {
        now = now_ns();
        if (now >= w->run->end_ns || worker_finished(w))
            break;
        int64_t next = worker_tick(w, now);
        int64_t wait_ms = next <= now ? 0 : (next - now + NS_PER_MS - 1) / NS_PER_MS;
        int n = epoll_wait(w->ep, evs, (int)CL_ARRAY_LEN(evs), (int)CL_MIN(wait_ms, 1000));
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        now = now_ns();
        for (int k = 0; k < n; k++)
            conn_on_event(evs[k].data.ptr, evs[k].events, now);
    }
    worker_finish(w);
    return NULL;
}

static struct worker *start_workers(struct run *run)
{
    const struct opts *o = run->o;
    struct worker *ws = cl_calloc((size_t)o->threads, sizeof(*ws));
    for (int t = 0; t < o->threads; t++) {
        struct worker *w = &ws[t];
        w->run = run;
        w->nconns = o->connections / o->threads + (t < o->connections % o->threads);
        w->conns = cl_calloc((size_t)w->nconns, sizeof(*w->conns));
        w->next_body = (unsigned)t * 7919u;
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (w->ep < 0)
            die("epoll_create1: %s", strerror(errno));
        for (int i = 0; i < w->nconns; i++) {
            w->conns[i] = (struct conn){.fd = -1, .w = w, .rcap = 16384};
            w->conns[i].rbuf = cl_malloc(w->conns[i].rcap);
        }
        if (pthread_create(&w->th, NULL, worker_main, w) != 0)
            die("pthread_create failed");
    }
    return ws;
}

static void stats_merge(struct stats *d, const struct stats *s)
{
    d->ok += s->ok;
    d->non2xx += s->non2xx;
    d->st503 += s->st503;
    d->st429 += s->st429;
    d->status_other += s->status_other;
    d->accepted += s->accepted;
    d->rejected += s->rejected;
    d->no_accepted_field += s->no_accepted_field;
    d->raw_bytes += s->raw_bytes;
    d->wire_bytes += s->wire_bytes;
    d->errors += s->errors;
    d->timeouts += s->timeouts;
    d->connect_errors += s->connect_errors;
    d->reconnects += s->reconnects;
    d->warmup += s->warmup;
    d->unfinished += s->unfinished;
    hist_merge(&d->lat, &s->lat);
}

/* ---------------------------------------------------------------- CPU and memory samples */

struct sample {
    int64_t t_ns;
    double client_cpu_s;
    bool server_ok;
    double server_cpu_s;
};

static bool proc_cpu_seconds(int pid, double *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* comm may contain spaces and parentheses */
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return false;
    *out = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    return true;
}

/* Reads a "Key:   N kB" line from /proc/PID/status; -1 if unavailable. */
static long proc_status_kb(int pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    size_t kn = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, key, kn) && line[kn] == ':') {
            kb = strtol(line + kn + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static void take_sample(const struct opts *o, struct sample *s)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    s->t_ns = now_ns();
    s->client_cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    s->server_ok = o->server_pid && proc_cpu_seconds(o->server_pid, &s->server_cpu_s);
}

/* ---------------------------------------------------------------- report */

struct summary {
    struct stats st;
    double window_s;
    double client_cpu_pct;
    double server_cpu_pct; /* < 0 when not sampled */
    long server_hwm_kb, server_rss_kb;
};

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static double per_s(const struct summary *m, double v)
{
    return m->window_s > 0 ? v / m->window_s : 0;
}

static void print_text(const struct opts *o, const struct summary *m)
{
    const struct stats *s = &m->st;
    const struct hist *h = &s->lat;
    printf("loadgen: %s  connections=%d threads=%d batch=%d gzip=%s window=%.2fs warmup=%.1fs\n",
           o->url, o->connections, o->threads, o->batch, o->gzip ? "yes" : "no", m->window_s,
           o->warmup);
    printf("requests:   %" PRIu64 " 2xx, %" PRIu64 " 503, %" PRIu64 " 429, %" PRIu64
           " other non-2xx; %" PRIu64 " errors, %" PRIu64 " timeouts, %" PRIu64
           " connect errors, %" PRIu64 " reconnects, %" PRIu64 " unfinished at end\n",
           s->ok, s->st503, s->st429, s->status_other, s->errors, s->timeouts, s->connect_errors,
           s->reconnects, s->unfinished);
    printf("throughput: %.1f req/s  %.0f accepted events/s  %.1f MB/s uncompressed  "
           "(%.1f MB/s on the wire; %" PRIu64 " accepted, %" PRIu64 " rejected)\n",
           per_s(m, (double)(s->ok + s->non2xx)), per_s(m, (double)s->accepted),
           per_s(m, (double)s->raw_bytes) / 1e6, per_s(m, (double)s->wire_bytes) / 1e6, s->accepted,
           s->rejected);
    printf("latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n",
           ms(hist_percentile(h, 50)), ms(hist_percentile(h, 90)), ms(hist_percentile(h, 99)),
           ms(hist_percentile(h, 99.9)), ms(h->max),
           h->total ? h->sum / (double)h->total / 1e3 : 0);
    printf("client cpu: %.1f%% of one core\n", m->client_cpu_pct);
    if (m->server_cpu_pct >= 0)
        printf("server cpu: %.1f%% of one core  peak RSS %.1f MiB  RSS %.1f MiB\n",
               m->server_cpu_pct, (double)m->server_hwm_kb / 1024, (double)m->server_rss_kb / 1024);
    else if (o->server_pid)
        printf("server cpu: n/a (pid %d not readable)\n", o->server_pid);
    if (s->no_accepted_field)
        printf("note: %" PRIu64 " 2xx responses had no \"accepted\" field\n", s->no_accepted_field);
}

static void print_json(const struct opts *o, const struct summary *m)
{
    const struct stats *s = &m->st;
    const struct hist *h = &s->lat;
    printf("{\"url\":\"%s\",\"connections\":%d,\"threads\":%d,\"batch\":%d,\"gzip\":%s,"
           "\"window_s\":%.3f,\"ok\":%" PRIu64 ",\"status_503\":%" PRIu64 ",\"status_429\":%" PRIu64
           ",\"status_other\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"timeouts\":%" PRIu64
           ",\"connect_errors\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"unfinished\":%" PRIu64
           ",\"accepted\":%" PRIu64 ",\"rejected\":%" PRIu64 ",",
           o->url, o->connections, o->threads, o->batch, o->gzip ? "true" : "false", m->window_s,
           s->ok, s->st503, s->st429, s->status_other, s->errors, s->timeouts, s->connect_errors,
           s->reconnects, s->unfinished, s->accepted, s->rejected);
    printf("\"req_per_s\":%.1f,\"events_per_s\":%.0f,\"mb_per_s\":%.2f,\"wire_mb_per_s\":%.2f,",
           per_s(m, (double)(s->ok + s->non2xx)), per_s(m, (double)s->accepted),
           per_s(m, (double)s->raw_bytes) / 1e6, per_s(m, (double)s->wire_bytes) / 1e6);
    printf("\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,",
           ms(hist_percentile(h, 50)), ms(hist_percentile(h, 90)), ms(hist_percentile(h, 99)),
           ms(hist_percentile(h, 99.9)), ms(h->max));
    printf("\"client_cpu_pct\":%.1f", m->client_cpu_pct);
    if (m->server_cpu_pct >= 0)
        printf(",\"server_cpu_pct\":%.1f,\"server_peak_rss_mib\":%.1f,\"server_rss_mib\":%.1f",
               m->server_cpu_pct, (double)m->server_hwm_kb / 1024, (double)m->server_rss_kb / 1024);
    printf("}\n");
}

static void summarize(const struct opts *o, struct worker *ws, const struct sample *a,
                      const struct sample *b, struct summary *m)
{
    *m = (struct summary){.server_cpu_pct = -1};
    int64_t last = 0;
    for (int t = 0; t < o->threads; t++) {
        stats_merge(&m->st, &ws[t].st);
        last = CL_MAX(last, ws[t].last_done);
    }
    int64_t end = o->requests && last > a->t_ns ? CL_MIN(last, b->t_ns) : b->t_ns;
    m->window_s = (double)(end - a->t_ns) / 1e9;
    double wall = (double)(b->t_ns - a->t_ns) / 1e9;
    if (wall > 0) {
        m->client_cpu_pct = 100 * (b->client_cpu_s - a->client_cpu_s) / wall;
        if (a->server_ok && b->server_ok)
            m->server_cpu_pct = 100 * (b->server_cpu_s - a->server_cpu_s) / wall;
    }
    if (o->server_pid) {
        m->server_hwm_kb = proc_status_kb(o->server_pid, "VmHWM");
        m->server_rss_kb = proc_status_kb(o->server_pid, "VmRSS");
    }
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_opts(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);
    if (o.server_pid && kill(o.server_pid, 0) != 0)
        fprintf(stderr, "loadgen: warning: --server-pid %d: %s\n", o.server_pid, strerror(errno));

    struct body *pool = build_pool(&o);
    struct run run = {.o = &o, .pool = pool};
    run.start_ns = now_ns();
    run.measure_ns = run.start_ns + (int64_t)(o.warmup * NS_PER_S);
    run.end_ns = run.measure_ns + (int64_t)(o.duration * NS_PER_S);

    struct sample a, b;
    struct worker *ws = start_workers(&run);
    sleep_until(run.measure_ns);
    take_sample(&o, &a);
    for (int t = 0; t < o.threads; t++)
        pthread_join(ws[t].th, NULL);
    take_sample(&o, &b);

    struct summary m;
    summarize(&o, ws, &a, &b, &m);
    if (o.json)
        print_json(&o, &m);
    else
        print_text(&o, &m);
    for (int t = 0; t < o.threads; t++)
        free(ws[t].conns);
    free(ws);
    free_pool(pool, o.pool);
    return m.st.ok ? 0 : 1;
}
