/* pb_arena.c - protobuf-c allocations from chunks released at once (pb_arena.h). */
#include "pb_arena.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>

#define PB_CHUNK_BYTES ((size_t)64 << 10)

struct cl_pb_chunk {
    struct cl_pb_chunk *prev;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

/* Allocates size bytes, max_align_t aligned; NULL when malloc fails (protobuf-c then
 * fails the unpack). Owned by the arena. */
static void *arena_alloc(void *data, size_t size)
{
    struct cl_pb_arena *a = data;
    size_t need = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    struct cl_pb_chunk *c = a->head;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > PB_CHUNK_BYTES ? need : PB_CHUNK_BYTES;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->prev = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    return p;
}

/* Single allocations are never released alone: cl_pb_arena_free releases them all. */
static void arena_free_one(void *data, void *p)
{
    (void)data, (void)p;
}

void cl_pb_arena_init(struct cl_pb_arena *a)
{
    a->alloc.alloc = arena_alloc;
    a->alloc.free = arena_free_one;
    a->alloc.allocator_data = a;
    a->head = NULL;
}

void cl_pb_arena_free(struct cl_pb_arena *a)
{
    while (a->head) {
        struct cl_pb_chunk *prev = a->head->prev;
        free(a->head);
        a->head = prev;
    }
}
