/* inflate.c - bench_inflate: inflate of stored objects by libdeflate (whole object, as the
 * query scan does) and by ISA-L (one shot, and in chunks that stay in L2), each alone and
 * followed by the scan's substring search, in MB of output per CPU second
 * (docs/performance.md, "Full scan: inflate is the per-byte cost").
 *
 * Usage: bench_inflate REPS CHUNK_KIB TEXT FILE.ndjson.gz...
 * e.g.   bench_inflate 3 256 contention $(find STORE/logs -name '*.ndjson.gz' | head -40) */
#include "readfile.h"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OUT_MAX (256u << 20)
#define INPUT_MAX OUT_MAX /* a stored object larger than this is skipped */

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Lines holding text, found as the scan finds them: memmem, then skip to the next line. */
static size_t scan(const char *p, size_t n, const char *text)
{
    const char *end = p + n;
    size_t hits = 0, tl = strlen(text);
    while (p < end) {
        const char *h = memmem(p, (size_t)(end - p), text, tl);
        if (!h)
            break;
        hits++;
        const char *nl = memchr(h, '\n', (size_t)(end - h));
        p = nl ? nl + 1 : end;
    }
    return hits;
}

/* Every gzip member of in (objects are concatenated members) by libdeflate into out. */
static size_t deflate_all(struct libdeflate_decompressor *d, const unsigned char *in, size_t len,
                          char *out)
{
    size_t off = 0, total = 0, ui, uo;
    while (off < len && libdeflate_gzip_decompress_ex(d, in + off, len - off, out + total,
                                                      OUT_MAX - total, &ui, &uo) == 0)
        off += ui, total += uo;
    return total;
}

/* Every member by ISA-L's one-shot inflate. */
static void isal_all(struct inflate_state *st, const unsigned char *in, size_t len, char *out)
{
    size_t off = 0, total = 0;
    while (off < len) {
        isal_inflate_init(st);
        st->crc_flag = ISAL_GZIP;
        st->next_in = (unsigned char *)in + off;
        st->avail_in = (uint32_t)(len - off);
        st->next_out = (unsigned char *)out + total;
        st->avail_out = (uint32_t)(OUT_MAX - total);
        if (isal_inflate_stateless(st) != ISAL_DECOMP_OK || st->avail_in == len - off)
            return;
        total = st->total_out + total;
        off = len - st->avail_in;
    }
}

/* ISA-L's stateful inflate into chunk-sized pieces of out, scanning whole lines of each. */
static size_t isal_chunked(struct inflate_state *st, const unsigned char *in, size_t len, char *out,
                           size_t chunk, const char *text, size_t *hits)
{
    isal_inflate_init(st);
    st->crc_flag = ISAL_GZIP;
    st->next_in = (unsigned char *)in;
    st->avail_in = (uint32_t)len;
    size_t carry = 0, total = 0;
    for (;;) {
        st->next_out = (unsigned char *)out + carry;
        st->avail_out = (uint32_t)chunk;
        if (isal_inflate(st) != ISAL_DECOMP_OK)
            return 0;
        size_t got = chunk - st->avail_out, n = carry + got;
        total += got;
        const char *last = memrchr(out, '\n', n);
        size_t upto = last ? (size_t)(last - out) + 1 : 0;
        *hits += scan(out, upto, text);
        carry = n - upto;
        memmove(out, out + upto, carry);
        if (st->block_state == ISAL_BLOCK_FINISH && st->avail_in > 0) { /* the next member */
            unsigned char *next = st->next_in;
            uint32_t left = st->avail_in;
            isal_inflate_init(st);
            st->crc_flag = ISAL_GZIP;
            st->next_in = next;
            st->avail_in = left;
        } else if (st->block_state == ISAL_BLOCK_FINISH || got == 0) {
            return *hits += scan(out, carry, text), total;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s REPS CHUNK_KIB TEXT FILE...\n", argv[0]);
        return 2;
    }
    int reps = atoi(argv[1]);
    size_t chunk = (size_t)atoi(argv[2]) * 1024;
    const char *text = argv[3];
    char *out = malloc(OUT_MAX);
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    struct inflate_state *st = malloc(sizeof *st);
    double t[4] = {0};
    size_t bytes = 0, hits[2] = {0};
    for (int a = 4; a < argc; a++) {
        size_t len = 0, uo = 0;
        char *text_in = NULL; /* an unreadable or too large file is skipped */
        cl_read_file(argv[a], INPUT_MAX, &text_in, &len);
        const unsigned char *in = (const unsigned char *)text_in;
        for (int r = 0; in && len && r < reps; r++) {
            double t0 = cpu_s();
            uo = deflate_all(d, in, len, out);
            double t1 = cpu_s();
            hits[0] += scan(out, uo, text);
            double t2 = cpu_s();
            isal_all(st, in, len, out);
            double t3 = cpu_s();
            isal_chunked(st, in, len, out, chunk, text, &hits[1]);
            double t4 = cpu_s();
            t[0] += t1 - t0, t[1] += t2 - t0, t[2] += t3 - t2, t[3] += t4 - t3;
            bytes += uo;
        }
        free(text_in);
    }
    printf("%zu MB out, %zu / %zu lines with '%s'\n", bytes / 1000000, hits[0], hits[1], text);
    printf("libdeflate whole            %8.0f MB/s\n", (double)bytes / t[0] / 1e6);
    printf("libdeflate whole + scan     %8.0f MB/s\n", (double)bytes / t[1] / 1e6);
    printf("isal stateless              %8.0f MB/s\n", (double)bytes / t[2] / 1e6);
    printf("isal %zu KiB chunks + scan  %8.0f MB/s\n", chunk / 1024, (double)bytes / t[3] / 1e6);
    libdeflate_free_decompressor(d);
    free(st);
    free(out);
    return 0;
}
