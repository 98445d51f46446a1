/* held_set.c - a mutex-guarded open-addressing hash map from message id to owner. */
#include "held_set.h"

#include "common.h"

#include <pthread.h>
#include <stdlib.h>

struct slot {
    int64_t id; /* 0: empty (message ids start at 1) */
    const void *owner;
};

struct cl_held_set {
    pthread_mutex_t mu;
    struct slot *slots;
    size_t cap, used; /* used counts live entries and tombstones (owner NULL) */
};

struct cl_held_set *cl_held_set_new(void)
{
    struct cl_held_set *s = cl_calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->cap = 1024;
    s->slots = cl_calloc(s->cap, sizeof *s->slots);
    return s;
}

void cl_held_set_free(struct cl_held_set *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->slots);
    free(s);
}

static size_t hash(int64_t id, size_t cap)
{
    uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 17) & (cap - 1);
}

/* Finds id's slot, or the empty slot where it would go. */
static struct slot *find(struct cl_held_set *s, int64_t id)
{
    for (size_t i = hash(id, s->cap);; i = (i + 1) & (s->cap - 1))
        if (s->slots[i].id == id || s->slots[i].id == 0)
            return &s->slots[i];
}

/* Rebuilds the table at twice the live size (dropping tombstones). */
static void rehash(struct cl_held_set *s)
{
    struct slot *old = s->slots;
    size_t old_cap = s->cap, live = 0;
    for (size_t i = 0; i < old_cap; i++)
        live += old[i].owner != NULL;
    s->cap = 1024;
    while (s->cap < live * 4)
        s->cap *= 2;
    s->slots = cl_calloc(s->cap, sizeof *s->slots);
    s->used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].owner) {
            *find(s, old[i].id) = old[i];
            s->used++;
        }
    }
    free(old);
}

const void *cl_held_set_claim(struct cl_held_set *s, int64_t id, const void *owner)
{
    pthread_mutex_lock(&s->mu);
    if ((s->used + 1) * 2 > s->cap)
        rehash(s);
    struct slot *sl = find(s, id);
    const void *current = sl->owner;
    if (!current) {
        if (sl->id == 0)
            s->used++;
        sl->id = id;
        sl->owner = owner;
    }
    pthread_mutex_unlock(&s->mu);
    return current;
}

void cl_held_set_release(struct cl_held_set *s, int64_t id, const void *owner)
{
    pthread_mutex_lock(&s->mu);
    struct slot *sl = find(s, id);
    if (sl->id == id && sl->owner == owner)
        sl->owner = NULL; /* tombstone: keeps probe chains intact */
    pthread_mutex_unlock(&s->mu);
}
