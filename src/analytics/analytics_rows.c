/* analytics_rows.c - the pending per-minute counts of each service (an open-addressing
 * table keyed by pattern, minute and level, emptied at every drain), the catalog changes
 * awaiting a drain, and the set of patterns known from earlier runs. */
#include "analytics_int.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>

static uint64_t row_hash(uint64_t id, int64_t minute, int level)
{
    uint64_t x = id ^ ((uint64_t)minute * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)level << 56);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    return x ^ (x >> 29);
}

static struct count_row *row_slot(struct count_row *rows, size_t cap, uint64_t id, int64_t minute,
                                  int level)
{
    size_t i = row_hash(id, minute, level) & (cap - 1);
    while (rows[i].level >= 0 &&
           (rows[i].id != id || rows[i].minute != minute || rows[i].level != level))
        i = (i + 1) & (cap - 1);
    return &rows[i];
}

static void rows_grow(struct svc *s)
{
    size_t cap = s->cap_rows ? s->cap_rows * 2 : 64;
    struct count_row *rows = cl_malloc(cap * sizeof *rows);
    for (size_t i = 0; i < cap; i++)
        rows[i].level = -1;
    for (size_t i = 0; i < s->cap_rows; i++)
        if (s->rows[i].level >= 0)
            *row_slot(rows, cap, s->rows[i].id, s->rows[i].minute, s->rows[i].level) = s->rows[i];
    free(s->rows);
    s->rows = rows;
    s->cap_rows = cap;
}

void cl_an_prefetch(const struct cl_analytics *a, const struct svc *s, uint64_t id, int64_t minute,
                    int level, uint64_t known_key)
{
    if (s->cap_rows)
        __builtin_prefetch(&s->rows[row_hash(id, minute, level) & (s->cap_rows - 1)], 1);
    if (known_key)
        __builtin_prefetch(&a->known[known_key & (a->known_cap - 1)], 1);
}

void cl_an_count(struct cl_analytics *a, struct svc *s, uint64_t id, int64_t minute, int level,
                 uint32_t slot)
{
    if (s->n_rows * 2 >= s->cap_rows) {
        if (a->pending_rows >= CL_ANALYTICS_MAX_PENDING) {
            a->dropped++;
            return;
        }
        rows_grow(s);
    }
    struct count_row *r = row_slot(s->rows, s->cap_rows, id, minute, level);
    if (r->level < 0) {
        if (a->pending_rows >= CL_ANALYTICS_MAX_PENDING) {
            a->dropped++;
            return;
        }
        *r = (struct count_row){id, minute, (int16_t)level, (uint16_t)slot, 0};
        s->n_rows++;
        a->pending_rows++;
    }
    r->count++;
}

/* Whether r counts a pattern the drain holds back (its slot's state says held, same id). */
static int row_held(const struct svc *s, const struct count_row *r)
{
    const struct pat *p = &s->pats[r->slot];
    return p->held && p->id == r->id;
}

/* Held rows are set aside while the table empties, then put back at their hashed places
 * (left where they were, the emptied slots around them would break their probe chains).
 * The buffer is allocated only when a row is held (owned here, freed before returning). */
size_t cl_an_rows_take(struct svc *s, struct cl_pattern_count *out, size_t *n, const char *name,
                       int keep_held)
{
    struct count_row *held = NULL;
    size_t kept = 0, cap = 0;
    for (size_t i = 0; s->n_rows && i < s->cap_rows; i++) {
        struct count_row *r = &s->rows[i];
        if (r->level < 0)
            continue;
        if (keep_held && row_held(s, r)) {
            if (kept == cap) {
                cap = cap ? 2 * cap : 64;
                held = cl_realloc(held, cap * sizeof *held);
            }
            held[kept++] = *r;
        } else {
            out[(*n)++] = (struct cl_pattern_count){name, r->id, r->minute, r->level, r->count};
        }
        r->level = -1;
    }
    for (size_t i = 0; i < kept; i++)
        *row_slot(s->rows, s->cap_rows, held[i].id, held[i].minute, held[i].level) = held[i];
    s->n_rows = kept;
    free(held);
    return kept;
}

struct cl_pattern_info *cl_an_info_push(struct cl_analytics *a)
{
    if (a->n_infos == a->cap_infos) {
        a->cap_infos = a->cap_infos ? a->cap_infos * 2 : 64;
        a->infos = cl_realloc(a->infos, a->cap_infos * sizeof *a->infos);
    }
    struct cl_pattern_info *p = &a->infos[a->n_infos++];
    memset(p, 0, sizeof *p);
    return p;
}

uint64_t cl_an_known_key(const struct svc *s, uint64_t id)
{
    uint64_t k = s->name_hash ^ (id * 0x9e3779b97f4a7c15ULL);
    return k ? k : 1;
}

/* Doubles the known set (rehashing every key): what it would hold stays the same. */
static void known_grow(struct cl_analytics *a)
{
    size_t cap = a->known_cap * 2;
    uint64_t *t = cl_calloc(cap, sizeof *t);
    for (size_t i = 0; i < a->known_cap; i++) {
        uint64_t k = a->known[i];
        if (!k)
            continue;
        size_t j = k & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = k;
    }
    free(a->known);
    a->known = t;
    a->known_cap = cap;
}

/* One probe sequence finds the key or the empty slot it goes to. The set stops growing at
 * half its largest capacity (known_max): a pattern not remembered is at worst reported as
 * new once more. Below that the table doubles when half full, so a few thousand keys
 * touch a few pages, not all of known_max's. */
int cl_an_known_add(struct cl_analytics *a, uint64_t key)
{
    size_t i = key & (a->known_cap - 1);
    for (; a->known[i]; i = (i + 1) & (a->known_cap - 1))
        if (a->known[i] == key)
            return 1;
    if (a->known_n * 2 >= a->known_max)
        return 0;
    if ((a->known_n + 1) * 2 > a->known_cap) {
        known_grow(a);
        for (i = key & (a->known_cap - 1); a->known[i]; i = (i + 1) & (a->known_cap - 1))
            ;
    }
    a->known[i] = key;
    a->known_n++;
    return 0;
}
