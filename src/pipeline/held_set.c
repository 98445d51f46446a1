/* held_set.c - a mutex-guarded open-addressing hash map from message id to owner. */
#include "held_set.h"

#include "common.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    char *id;          /* owned; NULL: empty */
    const void *owner; /* NULL with an id: a tombstone */
};

struct cl_held_set {
    pthread_mutex_t mu;
    struct slot *slots;
    size_t cap, used; /* used counts live entries and tombstones */
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
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i].id);
    free(s->slots);
    free(s);
}

static size_t hash(const char *id, size_t cap)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* Finds id's slot, or the empty slot where it would go. */
static struct slot *find(struct slot *slots, size_t cap, const char *id)
{
    for (size_t i = hash(id, cap);; i = (i + 1) & (cap - 1))
        if (!slots[i].id || strcmp(slots[i].id, id) == 0)
            return &slots[i];
}

/* Rebuilds the table at four times the live size (dropping tombstones). */
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
            *find(s->slots, s->cap, old[i].id) = old[i];
            s->used++;
        } else {
            free(old[i].id);
        }
    }
    free(old);
}

const void *cl_held_set_claim(struct cl_held_set *s, const char *id, const void *owner)
{
    pthread_mutex_lock(&s->mu);
    if ((s->used + 1) * 2 > s->cap)
        rehash(s);
    struct slot *sl = find(s->slots, s->cap, id);
    const void *current = sl->owner;
    if (!current) {
        if (!sl->id) {
            sl->id = cl_strdup(id);
            s->used++;
        }
        sl->owner = owner;
    }
    pthread_mutex_unlock(&s->mu);
    return current;
}

void cl_held_set_release(struct cl_held_set *s, const char *id, const void *owner)
{
    pthread_mutex_lock(&s->mu);
    struct slot *sl = find(s->slots, s->cap, id);
    if (sl->id && sl->owner == owner)
        sl->owner = NULL; /* tombstone: keeps probe chains intact */
    pthread_mutex_unlock(&s->mu);
}
