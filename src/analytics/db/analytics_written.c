/* analytics_written.c - the writer's cache of pattern rows (analytics_written.h): one slot
 * per key hash (a newer row replaces an older one in its slot), key 0 = empty. */
#include "analytics_written.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>

struct slot {
    uint64_t key;
    int64_t first_ms;
    int64_t last_minute;
};

struct cl_an_written {
    struct slot s[CL_ANALYTICS_WRITTEN_SLOTS];
    uint64_t rows[CL_ANALYTICS_ROWS_BITS / 64]; /* Bloom filter of pattern rows */
};

uint64_t cl_an_service_hash(const char *service)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)service; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return h;
}

uint64_t cl_an_written_key_h(uint64_t service_hash, uint64_t id)
{
    uint64_t h = service_hash ^ id * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    return h ? h : 1;
}

/* FNV-1a of the service mixed with the id; never 0. */
uint64_t cl_an_written_key(const char *service, uint64_t id)
{
    return cl_an_written_key_h(cl_an_service_hash(service), id);
}

static struct slot *slot_of(struct cl_an_written *w, uint64_t key)
{
    return &w->s[key & (CL_ANALYTICS_WRITTEN_SLOTS - 1)];
}

struct cl_an_written *cl_an_written_new(void)
{
    return cl_calloc(1, sizeof(struct cl_an_written));
}

void cl_an_written_free(struct cl_an_written *w)
{
    free(w);
}

int cl_an_written_covers(const struct cl_an_written *w, const char *service, uint64_t id,
                         int64_t first_ms, int64_t last_ms)
{
    uint64_t key = cl_an_written_key(service, id);
    const struct slot *s = &w->s[key & (CL_ANALYTICS_WRITTEN_SLOTS - 1)];
    return s->key == key && s->first_ms <= first_ms && s->last_minute >= last_ms / 60000;
}

int cl_an_written_has_key(const struct cl_an_written *w, uint64_t key)
{
    return w->s[key & (CL_ANALYTICS_WRITTEN_SLOTS - 1)].key == key;
}

int cl_an_written_has(const struct cl_an_written *w, const char *service, uint64_t id)
{
    return cl_an_written_has_key(w, cl_an_written_key(service, id));
}

void cl_an_written_note(struct cl_an_written *w, const char *service, uint64_t id, int64_t first_ms,
                        int64_t last_ms)
{
    uint64_t key = cl_an_written_key(service, id);
    struct slot *s = slot_of(w, key);
    if (s->key == key) { /* the row holds the min and the max of what was written */
        first_ms = CL_MIN(first_ms, s->first_ms);
        last_ms = CL_MAX(last_ms, s->last_minute * 60000);
    }
    *s = (struct slot){key, first_ms, last_ms / 60000};
}

void cl_an_written_forget(struct cl_an_written *w, const char *service, uint64_t id)
{
    uint64_t key = cl_an_written_key(service, id);
    struct slot *s = slot_of(w, key);
    if (s->key == key)
        s->key = 0;
}

/* Probe k of a key: 23 bits of a multiplied key (one multiplier per probe). */
static uint32_t probe(uint64_t key, int k)
{
    static const uint64_t mul[4] = {0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL,
                                    0x94d049bb133111ebULL, 0xd6e8feb86659fd93ULL};
    return (uint32_t)((key * mul[k]) >> 41);
}

void cl_an_rows_add(struct cl_an_written *w, const char *service, uint64_t id)
{
    uint64_t key = cl_an_written_key(service, id);
    for (int k = 0; k < 4; k++) {
        uint32_t b = probe(key, k);
        w->rows[b / 64] |= 1ULL << (b % 64);
    }
}

int cl_an_rows_may_have(const struct cl_an_written *w, const char *service, uint64_t id)
{
    return cl_an_rows_may_have_key(w, cl_an_written_key(service, id));
}

int cl_an_rows_may_have_key(const struct cl_an_written *w, uint64_t key)
{
    for (int k = 0; k < 4; k++) {
        uint32_t b = probe(key, k);
        if (!(w->rows[b / 64] & (1ULL << (b % 64))))
            return 0;
    }
    return 1;
}

void cl_an_written_clear(struct cl_an_written *w)
{
    memset(w->s, 0, sizeof w->s); /* the filter stays: rows only come, or go unnoticed */
}
