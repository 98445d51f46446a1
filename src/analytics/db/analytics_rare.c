/* analytics_rare.c - the "<rare>" pattern rows (analytics_rare.h). */
#include "analytics_rare.h"

#include "analytics_written.h"
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t cl_an_rare_id(void)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = CL_ANALYTICS_RARE_TEMPLATE; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    return h;
}

static void kept_add(struct cl_an_rare *r, uint64_t key)
{
    size_t i = key & (r->kept_cap - 1);
    while (r->kept[i] && r->kept[i] != key)
        i = (i + 1) & (r->kept_cap - 1);
    r->kept[i] = key;
}

/* A (service, id) that a rename of the batch names, as the writer will move it. */
struct node {
    uint64_t key;
    uint32_t final; /* the node whose id a count written under this one ends under */
    int row;        /* has a pattern row: before the batch, then as the batch goes */
};

struct nodes {
    struct node *v;
    size_t n;
    int32_t *index; /* open addressing over v by key, -1 empty */
    size_t cap;
};

/* The slot of key in t->index: its node's, or the empty one where it goes. */
static int32_t *node_slot(const struct nodes *t, uint64_t key)
{
    size_t i = key & (t->cap - 1);
    while (t->index[i] >= 0 && t->v[t->index[i]].key != key)
        i = (i + 1) & (t->cap - 1);
    return &t->index[i];
}

static struct node *node_of(const struct nodes *t, const char *service, uint64_t id)
{
    int32_t k = *node_slot(t, cl_an_written_key(service, id));
    return k >= 0 ? &t->v[k] : NULL;
}

/* Adds (service, id) unless there, its row as has_row says. Returns 0, or -1 (has_row). */
static int node_add(struct nodes *t, const char *service, uint64_t id, cl_an_has_row_fn has_row,
                    void *ctx)
{
    uint64_t key = cl_an_written_key(service, id);
    int32_t *slot = node_slot(t, key);
    if (*slot >= 0)
        return 0;
    int row = has_row(ctx, service, id);
    if (row < 0)
        return -1;
    *slot = (int32_t)t->n;
    t->v[t->n] = (struct node){key, (uint32_t)t->n, row};
    t->n++;
    return 0;
}

/* Keeps the keys of b's renames whose counts end under an id that has a pattern row once
 * the writer has applied b (its counts first, then its rows and renames in order, a rename
 * moving prev_id's counts and row to id), and b's other upserted keys. Without this, a
 * pattern renamed and then evicted before any row of it was written (no upsert in b) had
 * its counts moved to an id without a row, which no reader shows; now they go to "<rare>".
 * Returns 0, or -1 when has_row failed. */
static int keep_renamed(struct cl_an_rare *r, const struct cl_analytics_batch *b, size_t renames,
                        cl_an_has_row_fn has_row, void *ctx)
{
    struct nodes t = {cl_calloc(2 * renames, sizeof *t.v), 0, NULL, 8};
    while (t.cap < 4 * renames)
        t.cap *= 2;
    t.index = cl_malloc(t.cap * sizeof *t.index);
    memset(t.index, 0xff, t.cap * sizeof *t.index); /* -1 */
    int rc = 0;
    const struct cl_pattern_info *p = b->patterns;
    for (size_t i = 0; i < b->n_patterns && !rc; i++) /* the ids renames name: rows before b */
        if (!p[i].tmpl && (node_add(&t, p[i].service, p[i].id, has_row, ctx) ||
                           node_add(&t, p[i].service, p[i].prev_id, has_row, ctx)))
            rc = -1;
    for (size_t i = 0; i < b->n_patterns && !rc; i++) { /* the rows as the writer goes */
        struct node *to = node_of(&t, p[i].service, p[i].id);
        if (p[i].tmpl) {
            if (to)
                to->row = 1;
            continue;
        }
        struct node *from = node_of(&t, p[i].service, p[i].prev_id);
        to->row |= from->row;
        from->row = 0;
    }
    for (size_t i = b->n_patterns; i-- > 0 && !rc;) /* a count moves along the later renames */
        if (!p[i].tmpl)
            node_of(&t, p[i].service, p[i].prev_id)->final =
                node_of(&t, p[i].service, p[i].id)->final;
    for (size_t i = 0; i < t.n && !rc; i++)
        if (t.v[t.v[i].final].row)
            kept_add(r, t.v[i].key);
    for (size_t i = 0; i < b->n_patterns && !rc; i++)
        if (p[i].tmpl && !node_of(&t, p[i].service, p[i].id))
            kept_add(r, cl_an_written_key(p[i].service, p[i].id));
    free(t.v);
    free(t.index);
    return rc;
}

int cl_an_rare_init(struct cl_an_rare *r, const struct cl_analytics_batch *b,
                    cl_an_has_row_fn has_row, void *ctx)
{
    memset(r, 0, sizeof *r);
    r->kept_cap = 64;
    while (r->kept_cap < 4 * b->n_patterns) /* renames add two keys */
        r->kept_cap *= 2;
    r->kept = cl_calloc(r->kept_cap, sizeof *r->kept);
    size_t renames = 0;
    for (size_t i = 0; i < b->n_patterns; i++)
        renames += !b->patterns[i].tmpl;
    if (renames)
        return keep_renamed(r, b, renames, has_row, ctx);
    for (size_t i = 0; i < b->n_patterns; i++)
        kept_add(r, cl_an_written_key(b->patterns[i].service, b->patterns[i].id));
    return 0;
}

int cl_an_rare_kept(const struct cl_an_rare *r, const char *service, uint64_t id)
{
    return cl_an_rare_kept_key(r, cl_an_written_key(service, id));
}

int cl_an_rare_kept_key(const struct cl_an_rare *r, uint64_t key)
{
    for (size_t i = key & (r->kept_cap - 1); r->kept[i]; i = (i + 1) & (r->kept_cap - 1))
        if (r->kept[i] == key)
            return 1;
    return 0;
}

static size_t fold_hash(const struct cl_pattern_count *c)
{
    uint64_t x = (uint64_t)(uintptr_t)c->service ^ ((uint64_t)c->minute * 0x9e3779b97f4a7c15ULL) ^
                 ((uint64_t)c->level << 56);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    return (size_t)(x ^ (x >> 29));
}

/* The row index of c's (service name pointer, minute, level) in r->index, or where it goes.
 * A service named by two pointers (an evicted service's orphan counts) gets two rows:
 * the writer's upsert adds them. */
static int32_t *fold_slot(struct cl_an_rare *r, const struct cl_pattern_count *c)
{
    size_t i = fold_hash(c) & (r->index_cap - 1);
    for (; r->index[i] >= 0; i = (i + 1) & (r->index_cap - 1)) {
        const struct cl_pattern_count *f = &r->rows[r->index[i]];
        if (f->service == c->service && f->minute == c->minute && f->level == c->level)
            break;
    }
    return &r->index[i];
}

static void index_grow(struct cl_an_rare *r)
{
    free(r->index);
    r->index_cap = r->index_cap ? 2 * r->index_cap : 64;
    r->index = cl_malloc(r->index_cap * sizeof *r->index);
    for (size_t i = 0; i < r->index_cap; i++)
        r->index[i] = -1;
    for (size_t k = 0; k < r->n_rows; k++)
        *fold_slot(r, &r->rows[k]) = (int32_t)k;
}

void cl_an_rare_fold(struct cl_an_rare *r, const struct cl_pattern_count *c)
{
    if (2 * (r->n_rows + 1) > r->index_cap)
        index_grow(r);
    int32_t *slot = fold_slot(r, c);
    if (*slot >= 0) {
        r->rows[*slot].count += c->count;
        return;
    }
    if (r->n_rows == r->cap_rows) {
        r->cap_rows = r->cap_rows ? 2 * r->cap_rows : 16;
        r->rows = cl_realloc(r->rows, r->cap_rows * sizeof *r->rows);
    }
    *slot = (int32_t)r->n_rows;
    r->rows[r->n_rows] = *c;
    r->rows[r->n_rows++].id = cl_an_rare_id();
}

void cl_an_rare_finish(struct cl_an_rare *r)
{
    r->infos = cl_calloc(r->n_rows ? r->n_rows : 1, sizeof *r->infos);
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct cl_pattern_count *f = &r->rows[i];
        struct cl_pattern_info *p = NULL;
        for (size_t k = 0; k < r->n_infos && !p; k++)
            if (strcmp(r->infos[k].service, f->service) == 0)
                p = &r->infos[k];
        if (!p) {
            p = &r->infos[r->n_infos++];
            snprintf(p->service, sizeof p->service, "%s", f->service);
            p->id = cl_an_rare_id();
            p->tmpl = (char *)CL_ANALYTICS_RARE_TEMPLATE; /* borrowed: never freed */
            p->first_ms = p->last_ms = f->minute * 60000;
        }
        p->first_ms = CL_MIN(p->first_ms, f->minute * 60000);
        p->last_ms = CL_MAX(p->last_ms, f->minute * 60000);
    }
}

void cl_an_rare_free(struct cl_an_rare *r)
{
    free(r->kept);
    free(r->rows);
    free(r->index);
    free(r->infos);
    memset(r, 0, sizeof *r);
}
