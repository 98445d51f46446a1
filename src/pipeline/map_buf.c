/* map_buf.c - byte buffers in anonymous mappings of their own (map_buf.h). */
#include "map_buf.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The first mapping of a buffer; later ones double. A partition buffer usually holds
 * several 3-4 KB members, and only the pages written become resident. */
#define MAP_BUF_MIN (64u * 1024)

static void *map_or_die(void *p, size_t n)
{
    if (p == MAP_FAILED) {
        fprintf(stderr, "cloudlog: out of memory mapping %zu bytes\n", n);
        abort();
    }
    return p;
}

void cl_map_buf_init(struct cl_buf *b)
{
    memset(b, 0, sizeof *b);
    b->max = SIZE_MAX;
}

static void grow(struct cl_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : MAP_BUF_MIN;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    void *p = b->cap ? mremap(b->data, b->cap, cap, MREMAP_MAYMOVE)
                     : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    b->data = map_or_die(p, cap);
    /* Resident = the pages written, which the buffer budget counts: with transparent huge
     * pages set to "always" (some distributions' default) a touch could make a whole
     * 2 MiB page of a grown mapping resident. The flag moves with mremap; set it once.
     * Best effort: a kernel built without THP refuses it, and has no huge pages anyway. */
    if (!b->cap)
        madvise(b->data, cap, MADV_NOHUGEPAGE);
    b->cap = cap;
}

void cl_map_buf_append(struct cl_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) /* +1 keeps room for the NUL */
        grow(b, b->len + n + 1);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cl_map_buf_free(struct cl_buf *b)
{
    if (b->cap)
        munmap(b->data, b->cap);
    cl_map_buf_init(b);
}
