/* parse.c - per-record JSON parse + re-serialize throughput: jansson, json-c, our scanner. */
#include "common.h"
#include "gen.h"
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse/dom.h"

#define TARGET_BYTES (100u * 1000 * 1000)
#define RUNS 3

/* The input: NDJSON in one buffer, plus where each record starts and ends. */
struct corpus {
    char *buf;
    size_t len;
    size_t *start, *end;
    size_t n;
};

/* Every record is stamped within the minute before this instant (2026-11-25T15:04:05Z). */
#define BASE_MS 1795619045123LL
#define SEED 1
#define QUOTE_ONE_IN 40 /* a quoted word now and then, so some records carry escapes */

static void corpus_build(struct corpus *c)
{
    size_t ncap = TARGET_BYTES / 150;
    struct cl_buf b;
    struct cl_gen g;
    cl_buf_init(&b, TARGET_BYTES + 4096);
    cl_gen_init(&g, SEED);
    g.quote_one_in = QUOTE_ONE_IN;
    c->start = cl_malloc(ncap * sizeof(size_t));
    c->end = cl_malloc(ncap * sizeof(size_t));
    c->n = 0;
    while (b.len < TARGET_BYTES && c->n < ncap) {
        size_t at = b.len;
        if (cl_gen_record(&g, &b, BASE_MS) != CL_OK)
            break;
        c->start[c->n] = at;
        c->end[c->n] = b.len - 1; /* without the newline */
        c->n++;
    }
    c->buf = cl_buf_take(&b, &c->len);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One parser: parses the record, reads level and message, writes compact JSON to out and
 * returns its length (0 on failure). */
typedef size_t (*parse_fn)(const char *rec, size_t len, char *out, size_t cap);

static size_t sink; /* keeps the compiler from discarding field reads */

#ifdef CL_HAVE_JANSSON
static size_t parse_jansson(const char *rec, size_t len, char *out, size_t cap)
{
    return cl_bench_jansson(rec, len, out, cap, &sink);
}
#endif

#ifdef CL_HAVE_JSONC
static size_t parse_jsonc(const char *rec, size_t len, char *out, size_t cap)
{
    return cl_bench_jsonc(rec, len, out, cap, &sink);
}
#endif

static int key_is(const struct cl_json_value *k, const char *name, size_t n)
{
    return k->len == n + 2 && memcmp(k->ptr + 1, name, n) == 0;
}

/* Ours: one validating pass over the members, copying key and compacted value bytes. */
static size_t parse_ours(const char *rec, size_t len, char *out, size_t cap)
{
    struct cl_json_reader r;
    struct cl_json_value k, v, lvl = {0}, msg = {0};
    char field[512];
    int rc, members = 0;
    char *o = out;
    cl_json_reader_init(&r, rec, len, CL_JSON_DEFAULT_MAX_DEPTH);
    if (cap < len + 2 || cl_json_object_open(&r))
        return 0;
    *o++ = '{';
    while ((rc = cl_json_object_next(&r, &k, &v)) == 1) {
        if (members++)
            *o++ = ',';
        memcpy(o, k.ptr, k.len);
        o += k.len;
        *o++ = ':';
        o += cl_json_compact(&v, o);
        if (key_is(&k, "level", 5))
            lvl = v;
        else if (key_is(&k, "message", 7))
            msg = v;
    }
    if (rc < 0 || !cl_json_at_end(&r))
        return 0;
    *o++ = '}';
    if (lvl.type == CL_JSON_STRING && lvl.len <= sizeof(field))
        sink += cl_json_unescape(&lvl, field);
    if (msg.type == CL_JSON_STRING && msg.len <= sizeof(field))
        sink += cl_json_unescape(&msg, field);
    return (size_t)(o - out);
}

/* Ours, validation only: what the ingest path pays before it normalizes anything. */
static size_t validate_ours(const char *rec, size_t len, char *out, size_t cap)
{
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, rec, len, CL_JSON_DEFAULT_MAX_DEPTH);
    if (cl_json_scan_value(&r, &v) || !cl_json_at_end(&r))
        return 0;
    return v.len;
}

/* Runs fn over every record; returns seconds, or -1 if a record failed. */
static double run_once(const struct corpus *c, parse_fn fn, char *out, size_t out_cap)
{
    size_t o = 0;
    double t0 = now_s();
    for (size_t i = 0; i < c->n; i++) {
        size_t len = c->end[i] - c->start[i];
        size_t n = fn(c->buf + c->start[i], len, out + o, out_cap - o);
        if (n == 0) {
            printf("record %zu failed: %.*s\n", i, (int)len, c->buf + c->start[i]);
            return -1;
        }
        o += n;
        out[o++] = '\n';
    }
    return now_s() - t0;
}

static void bench(const struct corpus *c, const char *name, parse_fn fn, char *out, size_t cap)
{
    double best = 0;
    for (int i = 0; i < RUNS; i++) {
        double t = run_once(c, fn, out, cap);
        if (t < 0) {
            printf("%-36s FAILED to parse a record\n", name);
            return;
        }
        if (i == 0 || t < best)
            best = t;
    }
    printf("%-36s %10.0f records/s %8.1f MB/s\n", name, (double)c->n / best,
           (double)c->len / best / 1e6);
}

int main(void)
{
    struct corpus c;
    corpus_build(&c);
    size_t cap = 2 * c.len +
                 4096; /* DOM dumps can be longer (jansson prints 12.345 as 12.345000000000001) */
    char *out = cl_malloc(cap);
    printf("corpus: %zu records, %.1f MB, %.1f bytes/record; best of %d, one thread\n", c.n,
           (double)c.len / 1e6, (double)c.len / (double)c.n, RUNS);
    bench(&c, "ours: object_next + compact copy", parse_ours, out, cap);
    if (memcmp(out, c.buf, c.len) != 0)
        printf("warning: our output differs from the (compact) input\n");
    bench(&c, "ours: scan_value only (validate)", validate_ours, out, cap);
#ifdef CL_HAVE_JANSSON
    bench(&c, "jansson: loadb + 2 fields + dumpb", parse_jansson, out, cap);
#endif
#ifdef CL_HAVE_JSONC
    cl_bench_jsonc_init();
    bench(&c, "json-c: parse_ex + 2 fields + dump", parse_jsonc, out, cap);
    cl_bench_jsonc_done();
#endif
    printf("(sink %zu)\n", sink);
    free(out);
    free(c.buf);
    free(c.start);
    free(c.end);
    return 0;
}
