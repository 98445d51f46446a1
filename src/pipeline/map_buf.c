/* map_buf.c - byte buffers in anonymous mappings of their own (map_buf.h). */
#include "map_buf.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The first mapping's data capacity; later ones double. Only the pages written become
 * resident, so a larger start costs address space only, and saves the mremap calls of
 * growing from 64 KiB (5.4-11.6% of a processor thread's samples end to end, moving the
 * written pages each time). */
#define MAP_BUF_MIN (1024u * 1024)
/* Below this a released mapping is not worth keeping idle: unmapped instead. */
#define MAP_KEEP_MIN (64u * 1024)

static size_t page_size(void)
{
    static size_t page;
    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static size_t page_down(size_t n)
{
    return n / page_size() * page_size();
}

static size_t page_up(size_t n)
{
    return page_down(n + page_size() - 1);
}

static void *map_or_die(void *p, size_t n)
{
    if (p == MAP_FAILED) {
        fprintf(stderr, "cloudlog: out of memory mapping %zu bytes\n", n);
        abort();
    }
    return p;
}

void cl_map_pool_init(struct cl_map_pool *p)
{
    memset(p, 0, sizeof *p);
}

void cl_map_pool_free(struct cl_map_pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        munmap(p->idle[i].base, p->idle[i].map_len);
    cl_map_pool_init(p);
}

void cl_map_buf_init(struct cl_map_buf *b, struct cl_map_pool *pool)
{
    memset(b, 0, sizeof *b);
    b->max = SIZE_MAX;
    b->pool = pool;
}

/* Starts b in the pool's last idle mapping: its resident extent becomes b's. */
static int lend(struct cl_map_buf *b)
{
    struct cl_map_pool *p = b->pool;
    if (!p || !p->n)
        return 0;
    struct cl_map_idle *m = &p->idle[--p->n];
    p->kept -= m->hi - m->lo;
    p->lent++;
    p->lent_live++;
    b->base = m->base;
    b->map_len = m->map_len;
    b->res_lo = m->lo;
    b->res_hi = m->hi;
    return 1;
}

/* A new mapping of front room plus cap bytes. */
static void map_new(struct cl_map_buf *b, size_t cap)
{
    size_t n = CL_MAP_BUF_FRONT + cap;
    b->base =
        map_or_die(mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), n);
    b->map_len = n;
    /* Resident = the pages written, which the buffer budget counts: with transparent huge
     * pages set to "always" (some distributions' default) a touch could make a whole
     * 2 MiB page of a grown mapping resident. The flag moves with mremap and stays with
     * an idle mapping; set it once. Best effort: a kernel built without THP refuses it,
     * and has no huge pages anyway. */
    madvise(b->base, n, MADV_NOHUGEPAGE);
}

/* Gives b a mapping (lent or new) or grows it so that need bytes fit after data. */
static void grow(struct cl_map_buf *b, size_t need)
{
    if (!b->base) {
        if (!lend(b))
            map_new(b, MAP_BUF_MIN);
        b->off = CL_MAP_BUF_FRONT;
        b->data = b->base + b->off;
        b->cap = b->map_len - b->off;
        b->data[0] = '\0'; /* a lent mapping holds an earlier object's bytes */
    }
    if (need <= b->cap)
        return;
    size_t cap = b->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    size_t n = b->off + cap;
    b->base = map_or_die(mremap(b->base, b->map_len, n, MREMAP_MAYMOVE), n);
    b->map_len = n;
    b->data = b->base + b->off;
    b->cap = cap;
}

void cl_map_buf_append(struct cl_map_buf *b, const void *p, size_t n)
{
    if (!b->base || b->len + n + 1 > b->cap) /* +1 keeps room for the NUL */
        grow(b, b->len + n + 1);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cl_map_buf_prepend(struct cl_map_buf *b, const void *p, size_t n)
{
    if (!b->base)
        grow(b, n + 1);
    if (n > b->off) { /* no room (cannot happen for an index member): move the data up */
        size_t len = b->len;
        grow(b, len + n + 1);
        memmove(b->data + n, b->data, len + 1);
        memcpy(b->data, p, n);
        b->len += n;
        return;
    }
    b->off -= n;
    b->data -= n;
    b->cap += n;
    b->len += n;
    memcpy(b->data, p, n);
}

/* The resident extent [*lo, *hi) of b's mapping (offsets, whole pages): what an earlier
 * use left and what this one wrote. */
static void extent(const struct cl_map_buf *b, size_t *lo, size_t *hi)
{
    size_t end = b->off + b->len + 1; /* with the NUL */
    int lent = b->res_hi > b->res_lo;
    *lo = page_down(lent ? CL_MIN(b->res_lo, b->off) : b->off);
    *hi = page_up(lent ? CL_MAX(b->res_hi, end) : end);
}

size_t cl_map_buf_slack(const struct cl_map_buf *b)
{
    if (!b->base || b->res_hi <= b->res_lo)
        return 0;
    size_t end = b->off + b->len + 1, slack = 0;
    if (b->res_hi > end)
        slack += b->res_hi - CL_MAX(end, b->res_lo);
    if (b->off > b->res_lo)
        slack += CL_MIN(b->off, b->res_hi) - b->res_lo;
    return slack;
}

size_t cl_map_buf_trim(struct cl_map_buf *b)
{
    size_t slack = cl_map_buf_slack(b);
    if (!slack)
        return 0;
    size_t end = page_up(b->off + b->len + 1), front = page_down(b->off);
    if (b->res_hi > end)
        madvise(b->base + end, b->res_hi - end, MADV_DONTNEED);
    if (front > b->res_lo)
        madvise(b->base + b->res_lo, front - b->res_lo, MADV_DONTNEED);
    b->res_lo = b->res_hi = 0; /* resident now: what it wrote, as a new mapping */
    b->pool->lent_live--;
    return slack;
}

size_t cl_map_pool_drop(struct cl_map_pool *p)
{
    if (!p->n)
        return 0;
    struct cl_map_idle m = p->idle[0];
    memmove(&p->idle[0], &p->idle[1], --p->n * sizeof *p->idle);
    munmap(m.base, m.map_len);
    p->kept -= m.hi - m.lo;
    p->unmapped++;
    return m.hi - m.lo;
}

/* Leaves b's mapping idle in its pool, resident in [lo, lo + room) at most (the pages
 * over it given back). 0 when it is not kept (the caller unmaps it). */
static int keep_idle(struct cl_map_buf *b, size_t room)
{
    struct cl_map_pool *p = b->pool;
    size_t lo, hi;
    extent(b, &lo, &hi);
    /* Several small idle mappings serve more new buffers than one large one: a new
     * partition writes its lent pages only as fast as it grows, and until then they count
     * in the slack its pool may hold. */
    room = page_down(p && p->keep_each ? CL_MIN(room, p->keep_each) : room);
    if (!p || p->n == CL_MAP_POOL_SLOTS || room < MAP_KEEP_MIN)
        return 0;
    if (hi - lo > room) {
        madvise(b->base + lo + room, hi - lo - room, MADV_DONTNEED);
        hi = lo + room;
        p->trimmed++;
    }
    p->idle[p->n++] = (struct cl_map_idle){b->base, b->map_len, lo, hi};
    p->kept += hi - lo;
    p->released++;
    return 1;
}

void cl_map_buf_release(struct cl_map_buf *b, size_t room)
{
    struct cl_map_pool *pool = b->pool;
    if (pool && b->res_hi > b->res_lo)
        pool->lent_live--;
    if (b->base && !keep_idle(b, room)) {
        munmap(b->base, b->map_len);
        if (pool)
            pool->unmapped++;
    }
    cl_map_buf_init(b, pool);
}

void cl_map_buf_free(struct cl_map_buf *b)
{
    cl_map_buf_release(b, 0);
}
