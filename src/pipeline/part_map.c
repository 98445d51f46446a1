/* part_map.c - partition key -> pointer hash map (see part_map.h). */
#include "part_map.h"

#include "common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: keys are short ASCII paths; any reasonable spread will do. */
static size_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)(h ^ (h >> 32));
}

void cl_part_map_init(struct cl_part_map *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->n = 0;
}

void cl_part_map_free(struct cl_part_map *m)
{
    free(m->slots);
    cl_part_map_init(m);
}

/* The slot holding key, or the empty slot where it would go. cap must be > 0. */
static struct cl_part_map_slot *probe(const struct cl_part_map *m, const char *key, size_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct cl_part_map_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
            return s;
    }
}

void *cl_part_map_get(const struct cl_part_map *m, const char *key)
{
    if (m->n == 0)
        return NULL;
    struct cl_part_map_slot *s = probe(m, key, hash_key(key));
    return s->key ? s->value : NULL;
}

/* Doubles the table (at least 16 slots) and re-inserts every entry. */
static void grow(struct cl_part_map *m)
{
    struct cl_part_map old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->slots = cl_calloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *probe(m, old.slots[i].key, old.slots[i].hash) = old.slots[i];
    free(old.slots);
}

void cl_part_map_put(struct cl_part_map *m, const char *key, void *value)
{
    if ((m->n + 1) * 4 > m->cap * 3) /* keep the load at most 3/4 */
        grow(m);
    size_t h = hash_key(key);
    struct cl_part_map_slot *s = probe(m, key, h);
    if (!s->key)
        m->n++;
    *s = (struct cl_part_map_slot){.key = key, .hash = h, .value = value};
}

void cl_part_map_del(struct cl_part_map *m, const char *key)
{
    if (m->n == 0)
        return;
    size_t mask = m->cap - 1;
    struct cl_part_map_slot *s = probe(m, key, hash_key(key));
    if (!s->key)
        return;
    size_t hole = (size_t)(s - m->slots);
    /* Backward-shift deletion: move back every later entry of the probe run whose home
     * slot is not between the hole and its current slot (cyclically). */
    for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
        size_t home = m->slots[i].hash & mask;
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole].key = NULL;
    m->n--;
}
