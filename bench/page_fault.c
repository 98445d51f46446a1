/* page_fault.c - what a first touch of anonymous memory costs on this machine, against
 * making the same pages present with one madvise(MADV_POPULATE_WRITE) or MAP_POPULATE
 * (docs/performance.md "Page faults of a short query").
 *
 *   build-release/bench/bench_page_fault [PAGES] [ROUNDS]     (default 512 pages, 50 rounds)
 *
 * Prints, per way, the best round's microseconds for mapping, populating and writing one
 * byte per page of PAGES pages, and that per page. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

enum way { TOUCH, MADVISE, MAP_POP, WAYS };

static const char *const way_names[WAYS] = {"first touch (a fault per page)",
                                            "madvise(MADV_POPULATE_WRITE)", "MAP_POPULATE"};

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* One round: maps pages, makes them present the way asked, writes a byte to each, unmaps.
 * Returns its microseconds, or -1 when the mapping failed. */
static double one_round(size_t pages, size_t pg, enum way w)
{
    double t0 = now_us();
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (w == MAP_POP ? MAP_POPULATE : 0);
    char *p = mmap(NULL, pages * pg, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    if (w == MADVISE && madvise(p, pages * pg, MADV_POPULATE_WRITE) != 0)
        perror("madvise(MADV_POPULATE_WRITE)");
    for (size_t i = 0; i < pages; i++)
        ((volatile char *)p)[i * pg] = 1;
    double t = now_us() - t0;
    munmap(p, pages * pg);
    return t;
}

int main(int argc, char **argv)
{
    size_t pages = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
    int rounds = argc > 2 ? atoi(argv[2]) : 50;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    for (int w = 0; w < WAYS; w++) {
        double best = -1;
        for (int r = 0; r < rounds; r++) {
            double t = one_round(pages, pg, (enum way)w);
            if (t >= 0 && (best < 0 || t < best))
                best = t;
        }
        printf("%-32s %zu pages: best %8.1f us, %6.2f us per page\n", way_names[w], pages, best,
               best / (double)pages);
    }
    return 0;
}
