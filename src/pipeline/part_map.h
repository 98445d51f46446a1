/* part_map.h - a hash map from partition key ("service=S/dt=D/hour=HH") to a pointer,
 * so the processor finds a partition's buffer in O(1) however many it holds.
 *
 * Open addressing with linear probing; deletion shifts the following entries back
 * (no tombstones), so lookups stay short after many flushes. Keys are borrowed: each
 * must stay valid, unchanged, until its entry is removed (the processor keys by the
 * partition's own key field).
 */
#ifndef CL_PART_MAP_H
#define CL_PART_MAP_H

#include <stddef.h>

struct cl_part_map_slot {
    const char *key; /* NULL: empty */
    size_t hash;
    void *value;
};

struct cl_part_map {
    struct cl_part_map_slot *slots; /* cap entries, cap a power of two (owned) */
    size_t cap, n;
};

void cl_part_map_init(struct cl_part_map *m);
/* Frees the table (not the keys or values). */
void cl_part_map_free(struct cl_part_map *m);

/* The value stored under key, or NULL. */
void *cl_part_map_get(const struct cl_part_map *m, const char *key);
/* Stores value under key (which must not be there yet). */
void cl_part_map_put(struct cl_part_map *m, const char *key, void *value);
/* Removes key if present. */
void cl_part_map_del(struct cl_part_map *m, const char *key);

#endif
