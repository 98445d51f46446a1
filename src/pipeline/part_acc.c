/* part_acc.c - the partition accumulator (part_acc.h). */
#include "part_acc.h"

#include "codec.h"
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_part_acc_init(struct cl_part_acc *a)
{
    memset(a, 0, sizeof *a);
    cl_map_pool_init(&a->pool);
}

/* An idle mapping keeps at most this share of the pool's cap (map_buf.c keep_idle). */
#define POOL_SHARES 8

void cl_part_acc_set_pool(struct cl_part_acc *a, size_t cap)
{
    a->pool_cap = cap;
    a->pool.keep_each = cap / POOL_SHARES;
    cl_part_acc_pool_room(a, 0);
}

/* The pool's slack but that of skip (the buffer being released). */
static size_t slack_but(const struct cl_part_acc *a, const struct cl_map_buf *skip)
{
    size_t slack = a->pool.kept;
    for (size_t i = 0; a->pool.lent_live && i < a->n; i++) { /* only lent buffers have any */
        const struct cl_part *pt = a->parts[i];
        slack += &pt->data == skip ? 0 : cl_map_buf_slack(&pt->data);
        slack += &pt->gz == skip ? 0 : cl_map_buf_slack(&pt->gz);
    }
    return slack;
}

void cl_part_acc_pool_room(struct cl_part_acc *a, size_t room)
{
    a->pool_max = CL_MIN(room, a->pool_cap);
    size_t slack = slack_but(a, NULL);
    while (slack > a->pool_max && a->pool.n)
        slack -= cl_map_pool_drop(&a->pool);
    for (size_t i = 0; i < a->n && slack > a->pool_max; i++) {
        slack -= cl_map_buf_trim(&a->parts[i]->gz);
        slack -= cl_map_buf_trim(&a->parts[i]->data);
    }
}

size_t cl_part_acc_slack(const struct cl_part_acc *a)
{
    return slack_but(a, NULL);
}

/* Frees b of a partition of a: its mapping idle in the pool as far as the pool's bound
 * leaves room, so the next partition writes into resident pages (map_buf.h). */
static void release(struct cl_part_acc *a, struct cl_map_buf *b)
{
    size_t slack = a->pool_max ? slack_but(a, b) : 0;
    cl_map_buf_release(b, a->pool_max > slack ? a->pool_max - slack : 0);
}

void cl_part_acc_free(struct cl_part_acc *a)
{
    while (a->n)
        cl_part_acc_remove(a, a->n - 1);
    free(a->parts);
    cl_part_map_free(&a->index);
    cl_map_pool_free(&a->pool);
    memset(a, 0, sizeof *a);
}

struct cl_part *cl_part_acc_find(struct cl_part_acc *a, const char *key)
{
    return cl_part_map_get(&a->index, key);
}

struct cl_part *cl_part_acc_add(struct cl_part_acc *a, const char *key,
                                const struct cl_line_head *h, int64_t now_ms)
{
    struct cl_part *pt = cl_calloc(1, sizeof *pt);
    snprintf(pt->key, sizeof pt->key, "%s", key);
    pt->head = *h;
    /* mapped, not malloc'ed: map_buf.h says why */
    cl_map_buf_init(&pt->data, &a->pool);
    cl_map_buf_init(&pt->gz, &a->pool);
    pt->min_ts = INT64_MAX;
    pt->max_ts = INT64_MIN;
    pt->first_ms = now_ms;
    cl_obj_index_init(&pt->index);
    cl_obj_seg_init(&pt->copied);
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->parts = cl_realloc(a->parts, a->cap * sizeof *a->parts);
    }
    a->parts[a->n++] = pt;
    cl_part_map_put(&a->index, pt->key, pt);
    return pt;
}

static void add_member(struct cl_part *pt, struct cl_acc_member *m)
{
    /* A message's lines arrive together: checking the last member is the common case. */
    if (pt->n_members && pt->members[pt->n_members - 1] == m)
        return;
    for (size_t i = 0; i < pt->n_members; i++)
        if (pt->members[i] == m)
            return;
    if (pt->n_members == pt->cap_members) {
        pt->cap_members = pt->cap_members ? pt->cap_members * 2 : 8;
        pt->members = cl_realloc(pt->members, pt->cap_members * sizeof *pt->members);
    }
    pt->members[pt->n_members++] = m;
    m->pending++;
}

static void count_line(struct cl_part *pt, size_t len, const struct cl_line_head *h,
                       struct cl_acc_member *m)
{
    pt->raw_len += len + 1;
    pt->records++;
    pt->min_ts = CL_MIN(pt->min_ts, h->ts_ms);
    pt->max_ts = CL_MAX(pt->max_ts, h->ts_ms);
    pt->levels[h->level]++;
    add_member(pt, m);
}

void cl_part_acc_count(struct cl_part_acc *a, struct cl_part *pt, size_t len,
                       const struct cl_line_head *h, struct cl_acc_member *m)
{
    (void)a;
    count_line(pt, len, h, m);
    cl_obj_seg_line(cl_obj_index_last(&pt->index), len + 1, h->ts_ms, h->level);
}

void cl_part_acc_count_member(struct cl_part_acc *a, struct cl_part *pt,
                              const struct cl_msg_member *mb, struct cl_acc_member *m)
{
    (void)a;
    pt->raw_len += mb->raw_len;
    pt->records += mb->records;
    pt->min_ts = CL_MIN(pt->min_ts, mb->min_ts_ms);
    pt->max_ts = CL_MAX(pt->max_ts, mb->max_ts_ms);
    for (int l = 0; l < CL_LEVEL_COUNT; l++)
        pt->levels[l] += mb->levels[l];
    add_member(pt, m);
    cl_obj_seg_add(cl_obj_index_last(&pt->index), mb->raw_len, mb->records, mb->min_ts_ms,
                   mb->max_ts_ms, mb->levels);
}

void cl_part_acc_append(struct cl_part_acc *a, struct cl_part *pt, const char *line, size_t len,
                        const struct cl_line_head *h, struct cl_acc_member *m)
{
    cl_map_buf_append(&pt->data, line, len);
    cl_map_buf_append(&pt->data, "\n", 1);
    a->buffered += len + 1;
    count_line(pt, len, h, m);
    cl_obj_seg_line(&pt->copied, len + 1, h->ts_ms, h->level);
}

void cl_part_acc_append_gz(struct cl_part_acc *a, struct cl_part *pt, const void *gz, size_t len)
{
    cl_map_buf_append(&pt->gz, gz, len);
    a->buffered += len;
    cl_obj_index_member(&pt->index, len);
}

/* Puts the index member in front of pt->gz, into the mapping's front room (the body does
 * not move), and DuckDB's padding after it. Without an index (it could not be built) the
 * object is still read whole. */
static void prepend_index(struct cl_part *pt)
{
    struct cl_buf head, pad;
    if (cl_obj_index_frame(&pt->index, pt->gz.data, pt->gz.len, &head, &pad) == CL_OK) {
        cl_map_buf_append(&pt->gz, pad.data, pad.len);
        cl_map_buf_prepend(&pt->gz, head.data, head.len);
    }
    cl_buf_free(&head);
    cl_buf_free(&pad);
}

int cl_part_acc_seal(struct cl_part_acc *a, struct cl_part *pt, int level)
{
    if (pt->sealed)
        return CL_OK;
    size_t held = pt->data.len + pt->gz.len;
    if (pt->data.len) {
        /* compressed into the heap, then appended: the codec grows a cl_buf with realloc */
        struct cl_buf z;
        cl_buf_init(&z, SIZE_MAX);
        int rc = cl_gzip_compress(pt->data.data, pt->data.len, level, &z);
        if (rc != CL_OK) {
            cl_buf_free(&z);
            return rc;
        }
        cl_map_buf_append(&pt->gz, z.data, z.len);
        pt->copied.gz_len = z.len;
        *cl_obj_index_member(&pt->index, 0) = pt->copied;
        cl_buf_free(&z);
        release(a, &pt->data);
    }
    prepend_index(pt);
    a->buffered = a->buffered - held + pt->gz.len;
    pt->sealed = 1;
    return CL_OK;
}

size_t cl_part_acc_index(const struct cl_part_acc *a, const struct cl_part *pt)
{
    size_t i = 0;
    while (i < a->n && a->parts[i] != pt)
        i++;
    return i;
}

void cl_part_acc_remove(struct cl_part_acc *a, size_t index)
{
    struct cl_part *pt = a->parts[index];
    cl_part_map_del(&a->index, pt->key);
    a->buffered -= pt->data.len + pt->gz.len;
    /* its bytes leave the budget: room for its pages until the engine says otherwise */
    a->pool_max = CL_MIN(a->pool_max + pt->data.len + pt->gz.len, a->pool_cap);
    release(a, &pt->data);
    release(a, &pt->gz);
    free(pt->members);
    cl_obj_index_free(&pt->index);
    free(pt);
    /* order kept: a batch commits its partitions in key order (cl_part_acc_sort) */
    memmove(&a->parts[index], &a->parts[index + 1], (--a->n - index) * sizeof *a->parts);
}

size_t cl_part_acc_largest(const struct cl_part_acc *a)
{
    size_t best = 0;
    for (size_t i = 1; i < a->n; i++)
        if (a->parts[i]->data.len + a->parts[i]->gz.len >
            a->parts[best]->data.len + a->parts[best]->gz.len)
            best = i;
    return best;
}

static int cmp_part(const void *x, const void *y)
{
    return strcmp((*(struct cl_part *const *)x)->key, (*(struct cl_part *const *)y)->key);
}

void cl_part_acc_sort(struct cl_part_acc *a)
{
    if (a->n > 1) /* qsort's array must not be NULL, even for no element */
        qsort(a->parts, a->n, sizeof *a->parts, cmp_part);
}
