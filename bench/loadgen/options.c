/* options.c - bench_loadgen's command line: a table of options, URL parsing, loopback check. */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
          "  --body-dir DIR    send the files of DIR as bodies, each holding --batch records\n"
          "                    (sorted by name; --gzip compresses them; --pool is their count)\n"
          "  --content-type T  Content-Type of the bodies (default application/x-ndjson)\n"
          "  --seed N          PRNG seed (default 1)\n"
          "  --templated       messages from 48 application-log templates with variable\n"
          "                    fields (default: 5-14 random words, nearly all distinct)\n"
          "  --pool N          distinct pre-built bodies (default 64, bounded to 512 MiB)\n"
          "  --rate R          offer at most R requests/s in all (default: closed loop, no limit)\n"
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

/* How an option's argument is stored into struct opts. */
enum kind { K_URL, K_INT, K_LLONG, K_DOUBLE, K_U64, K_STR, K_FLAG, K_HELP };

struct optdef {
    const char *name;
    enum kind kind;
    size_t off;    /* field in struct opts */
    double lo, hi; /* accepted range for K_INT, K_LLONG and K_DOUBLE */
};

#define F(field) offsetof(struct opts, field)

/* In the order getopt_long sees them (it resolves abbreviations in table order). */
static const struct optdef OPTS[] = {
    {"url", K_URL, F(url), 0, 0},
    {"connections", K_INT, F(connections), 1, 10000},
    {"threads", K_INT, F(threads), 1, 256},
    {"duration", K_DOUBLE, F(duration), 0.1, 86400},
    {"requests", K_LLONG, F(requests), 1, 1e15},
    {"warmup", K_DOUBLE, F(warmup), 0, 3600},
    {"batch", K_INT, F(batch), 1, 1000000},
    {"gzip", K_FLAG, F(gzip), 0, 0},
    {"gzip-level", K_INT, F(gzip_level), 1, 9},
    {"api-key", K_STR, F(api_key), 0, 0},
    {"body-dir", K_STR, F(body_dir), 0, 0},
    {"content-type", K_STR, F(content_type), 0, 0},
    {"seed", K_U64, F(seed), 0, 0},
    {"templated", K_FLAG, F(templated), 0, 0},
    {"pool", K_INT, F(pool), 1, 4096},
    {"rate", K_DOUBLE, F(rate), 0.001, 1e7},
    {"timeout", K_DOUBLE, F(timeout), 0.01, 3600},
    {"server-pid", K_INT, F(server_pid), 1, 1 << 30},
    {"json", K_FLAG, F(json), 0, 0},
    {"verbose", K_FLAG, F(verbose), 0, 0},
    {"help", K_HELP, 0, 0, 0},
};

#define N_OPTS ((int)(sizeof(OPTS) / sizeof(OPTS[0])))
#define OPT_VAL_BASE 256

/* Stores one option's argument (optarg) as its table entry says. */
static void apply_opt(struct opts *o, const struct optdef *d, const char *arg)
{
    char *field = (char *)o + d->off;
    switch (d->kind) {
    case K_URL:
        if (strlen(arg) >= sizeof(o->url))
            die("--url too long");
        strcpy(o->url, arg);
        break;
    case K_INT:
        *(int *)field = (int)parse_num(d->name, arg, d->lo, d->hi);
        break;
    case K_LLONG:
        *(long long *)field = (long long)parse_num(d->name, arg, d->lo, d->hi);
        break;
    case K_DOUBLE:
        *(double *)field = parse_num(d->name, arg, d->lo, d->hi);
        if (d->off == F(duration))
            o->duration_set = true;
        break;
    case K_U64:
        *(uint64_t *)field = parse_u64(d->name, arg);
        break;
    case K_STR:
        *(const char **)field = arg;
        break;
    case K_FLAG:
        *(bool *)field = true;
        break;
    case K_HELP:
        usage(stdout);
        exit(0);
    }
}

/* Applies the defaults that depend on other options, then resolves the URL. */
static void finish_opts(struct opts *o)
{
    if (o->requests && !o->duration_set)
        o->duration = 300;
    if (!o->threads)
        o->threads = default_threads(o->connections);
    if (o->threads > o->connections)
        o->threads = o->connections;
    parse_url(o);
    resolve_loopback(o);
}

void parse_opts(int argc, char **argv, struct opts *o)
{
    struct option longopts[N_OPTS + 1];
    for (int i = 0; i < N_OPTS; i++) {
        bool has_arg = OPTS[i].kind != K_FLAG && OPTS[i].kind != K_HELP;
        longopts[i] = (struct option){OPTS[i].name, has_arg, NULL, OPT_VAL_BASE + i};
    }
    longopts[N_OPTS] = (struct option){0};
    *o = (struct opts){.connections = 16,
                       .duration = 10,
                       .batch = 1000,
                       .gzip_level = 6,
                       .seed = 1,
                       .timeout = 10,
                       .pool = 64};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c < OPT_VAL_BASE || c >= OPT_VAL_BASE + N_OPTS) {
            usage(stderr);
            exit(2);
        }
        apply_opt(o, &OPTS[c - OPT_VAL_BASE], optarg);
    }
    if (optind != argc || !o->url[0]) {
        usage(stderr);
        exit(2);
    }
    finish_opts(o);
}
