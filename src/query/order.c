/* order.c - ordered, bounded emission of matches from objects whose time ranges overlap.
 *
 * HOW IT WORKS. Objects are scanned in plan order: by max_ts descending for newest first
 * (min_ts ascending for oldest first), bounds from the catalog or, without one, the
 * partition's hour. Records inside an object are in arrival order, so each scanned
 * object's matches are sorted (ts, then line order) and the object joins a heap keyed by
 * its next match. After each batch the engine passes the bound of the next unscanned
 * object B (its max_ts, or min_ts for oldest): every unscanned object only holds records
 * with ts <= B (>= B), so a queued match with ts > B (< B) can no longer be preceded and
 * is emitted; matches at exactly B wait, because an unscanned object with a smaller key
 * may hold a record at B and ties are ordered by object key, then line. When no object
 * is left, everything queued is emitted.
 *
 * Memory: with a limit of k still wanted, each object keeps at most its k best matches
 * and the scan stops once k are emitted, which happens as soon as the k-th best queued
 * match beats the next object's bound. Without a limit only matches inside the
 * overlap of the objects' ranges wait in memory; objects are freed once drained.
 */
#include "query_int.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>

void cq_merge_init(struct cq_merge *m, enum cl_query_order order, size_t limit)
{
    memset(m, 0, sizeof *m);
    m->order = order;
    m->remaining = limit ? limit : SIZE_MAX;
}

static int cmp_match_oldest(const void *a, const void *b)
{
    const struct cq_match *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->line_no < y->line_no ? -1 : x->line_no > y->line_no;
}

static int cmp_match_newest(const void *a, const void *b)
{
    const struct cq_match *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts > y->ts ? -1 : 1;
    return x->line_no < y->line_no ? -1 : x->line_no > y->line_no;
}

/* <0 if a's next match goes before b's. */
static int cmp_heads(const struct cq_merge *m, const struct cq_result *a, const struct cq_result *b)
{
    const struct cq_match *x = &a->m[a->pos], *y = &b->m[b->pos];
    if (x->ts != y->ts)
        return (m->order == CL_ORDER_OLDEST) == (x->ts < y->ts) ? -1 : 1;
    return strcmp(a->obj->key, b->obj->key);
}

static void sift_up(struct cq_merge *m, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (cmp_heads(m, m->heap[i], m->heap[parent]) >= 0)
            break;
        struct cq_result *t = m->heap[i];
        m->heap[i] = m->heap[parent];
        m->heap[parent] = t;
        i = parent;
    }
}

static void sift_down(struct cq_merge *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < m->n && cmp_heads(m, m->heap[l], m->heap[best]) < 0)
            best = l;
        if (r < m->n && cmp_heads(m, m->heap[r], m->heap[best]) < 0)
            best = r;
        if (best == i)
            return;
        struct cq_result *t = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = t;
        i = best;
    }
}

/* 1 if v[0..n) is already in cmp's order. */
static int in_order(const struct cq_match *v, size_t n, int (*cmp)(const void *, const void *))
{
    for (size_t i = 1; i < n; i++)
        if (cmp(&v[i - 1], &v[i]) > 0)
            return 0;
    return 1;
}

static void reverse(struct cq_match *v, size_t n)
{
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        struct cq_match t = v[i];
        v[i] = v[j - 1];
        v[j - 1] = t;
    }
}

/* Sorts an object's matches for m's order. Records arrive in time order, so the line
 * order is usually the wanted one (oldest first) or its reverse (newest first: reversed,
 * and each run of equal timestamps turned back to line order): two linear passes
 * instead of qsort's n log n, which are checked, and qsort does the rest. */
static void sort_matches(const struct cq_merge *m, struct cq_match *v, size_t n)
{
    int (*cmp)(const void *, const void *) =
        m->order == CL_ORDER_OLDEST ? cmp_match_oldest : cmp_match_newest;
    if (in_order(v, n, cmp))
        return;
    if (m->order != CL_ORDER_OLDEST) {
        reverse(v, n);
        for (size_t i = 0, j; i < n; i = j) {
            for (j = i + 1; j < n && v[j].ts == v[i].ts;)
                j++;
            reverse(v + i, j - i);
        }
        if (in_order(v, n, cmp))
            return;
    }
    qsort(v, n, sizeof *v, cmp);
}

void cq_merge_add(struct cq_merge *m, struct cq_result *r)
{
    if (r->n == 0) {
        cq_result_free(r);
        return;
    }
    sort_matches(m, r->m, r->n);
    if (r->n > m->remaining)
        r->n = m->remaining; /* the rest can never be emitted */
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->heap = cl_realloc(m->heap, m->cap * sizeof *m->heap);
    }
    m->heap[m->n++] = r;
    sift_up(m, m->n - 1);
}

/* 1 if ts can be emitted before every unscanned object. */
static int beyond(const struct cq_merge *m, int has_bound, int64_t bound, int64_t ts)
{
    if (!has_bound)
        return 1;
    return m->order == CL_ORDER_OLDEST ? ts < bound : ts > bound;
}

int cq_merge_emit(struct cq_merge *m, int has_bound, int64_t bound, cl_query_emit_fn emit,
                  void *arg)
{
    while (m->remaining > 0 && m->n > 0) {
        struct cq_result *r = m->heap[0];
        const struct cq_match *x = &r->m[r->pos];
        if (!beyond(m, has_bound, bound, x->ts))
            return 0;
        const char *line = r->lines.data + x->off;
        struct cl_line_head h;
        (void)cl_line_head_parse(line, x->len, &h); /* parsed once already: cannot fail */
        m->remaining--;
        if (emit && emit(arg, line, x->len, &h))
            return 1;
        if (++r->pos < r->n) {
            sift_down(m, 0);
            continue;
        }
        cq_result_free(r);
        m->heap[0] = m->heap[--m->n];
        if (m->n)
            sift_down(m, 0);
    }
    return m->remaining == 0;
}

int cq_emit_unordered(struct cq_merge *m, struct cq_result *r, cl_query_emit_fn emit, void *arg)
{
    int stop = 0;
    for (size_t i = 0; i < r->n && !stop; i++) {
        const struct cq_match *x = &r->m[i];
        const char *line = r->lines.data + x->off;
        struct cl_line_head h;
        (void)cl_line_head_parse(line, x->len, &h); /* parsed once already: cannot fail */
        m->remaining--;
        stop = (emit && emit(arg, line, x->len, &h)) || m->remaining == 0;
    }
    cq_result_free(r);
    return stop;
}

void cq_merge_free(struct cq_merge *m)
{
    for (size_t i = 0; i < m->n; i++)
        cq_result_free(m->heap[i]);
    free(m->heap);
    memset(m, 0, sizeof *m);
}
