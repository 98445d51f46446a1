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
};

/* FNV-1a of the service mixed with the id; never 0. */
static uint64_t key_of(const char *service, uint64_t id)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)service; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    h ^= id * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    return h ? h : 1;
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
    uint64_t key = key_of(service, id);
    const struct slot *s = &w->s[key & (CL_ANALYTICS_WRITTEN_SLOTS - 1)];
    return s->key == key && s->first_ms <= first_ms && s->last_minute >= last_ms / 60000;
}

void cl_an_written_note(struct cl_an_written *w, const char *service, uint64_t id, int64_t first_ms,
                        int64_t last_ms)
{
    uint64_t key = key_of(service, id);
    struct slot *s = slot_of(w, key);
    if (s->key == key) { /* the row holds the min and the max of what was written */
        first_ms = CL_MIN(first_ms, s->first_ms);
        last_ms = CL_MAX(last_ms, s->last_minute * 60000);
    }
    *s = (struct slot){key, first_ms, last_ms / 60000};
}

void cl_an_written_forget(struct cl_an_written *w, const char *service, uint64_t id)
{
    uint64_t key = key_of(service, id);
    struct slot *s = slot_of(w, key);
    if (s->key == key)
        s->key = 0;
}

void cl_an_written_clear(struct cl_an_written *w)
{
    memset(w, 0, sizeof *w);
}
