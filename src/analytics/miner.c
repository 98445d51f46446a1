/* miner.c - the online clustering behind miner.h.
 *
 * Layout: clusters live in a fixed array of max_clusters slots. A message is routed by
 * a key made of its token count and its first ROUTE_TOKENS tokens (a masked token routes
 * as "<*>"): the fixed-depth prefix tree of Drain, flattened into one hash table whose
 * buckets chain the clusters of that key. Within the bucket the message joins the most
 * similar cluster of the same key; positions that disagree become "<*>". A doubly linked
 * list orders slots by last use; a new cluster beyond the cap evicts the least recently
 * used one, so memory stays below max_clusters * (sizeof(struct cluster) + template).
 * A slot keeps its two blocks (tokens, template) when its cluster is evicted, and the next
 * cluster in it reuses them when they are large enough: a stream of messages that each
 * create a cluster (every one new) then allocates nothing per message.
 *
 * The shape cache: a message's shape key (cl_mask_shape_key: equal keys, equal masked
 * tokens) names the cluster the last message of that key went to, with the stamp of that
 * cluster's bucket. Every change to a bucket's clusters (a cluster created, evicted,
 * generalized, or changed by the second pass) gives the bucket a new stamp from one
 * counter, so an entry whose stamp is still its bucket's was made with the clusters the
 * message could join exactly as they are now. Then the miner would choose that cluster
 * again, and it would not change: after a message joins a cluster, the cluster's template
 * covers it, its similarity to the message only rose and the others' did not move, so
 * best_cluster picks it; a new cluster's template is the message. The hit then does what
 * a match does without a change (the LRU touch) and skips the mask and the search: the
 * same result as without the cache (test_analytics_shape_cache.c). */
#include "miner.h"

#include "common.h"
#include "mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_TOKENS 2
#define NIL UINT32_MAX

struct cluster {
    uint32_t n;          /* tokens */
    uint32_t generation; /* bumped on eviction so stale (slot, generation) pairs fail */
    uint64_t key;        /* routing key */
    uint64_t *hash;      /* n token hashes; CL_MASK_WILD = "<*>" */
    uint32_t *off, *len; /* each token's text in text */
    char *text;          /* token text, in the block that hash starts (owned via hash) */
    size_t text_len;     /* the masked message the cluster was made from */
    int fresh;           /* no position generalized yet: the template is text itself */
    uint64_t text_id;    /* cl_mask_hash of text, 0: not known (rendered when needed) */
    size_t bytes;        /* size of that block */
    char *tmpl;          /* rendered template (owned), valid unless dirty */
    size_t tmpl_len, tmpl_cap;
    uint64_t id;
    int dirty, live;
    uint32_t bucket_next, lru_prev, lru_next;
    uint32_t head; /* its entry in heads (routed by two tokens), NIL: fewer tokens */
};

/* One entry of the shape cache: 32 bytes. */
struct shape {
    uint64_t key;   /* cl_mask_shape_key; 0: empty */
    uint64_t check; /* its second lane, also compared: a hit needs both (mask.c) */
    uint64_t stamp; /* the stamp of the cluster's bucket when the entry was made */
    uint32_t cluster;
};

struct cl_miner {
    struct cl_miner_config cfg;
    struct cluster *slot;
    uint32_t *bucket; /* heads of the chains; nbuckets is a power of two */
    uint64_t *stamp;  /* per bucket: the clock when its clusters last changed */
    uint64_t clock;
    struct shape *shapes; /* n_shapes entries (a power of two), NULL: off */
    size_t n_shapes;
    uint64_t shape_hits;
    /* How often the key pays (shape_use): lookups and hits in the current window, and
     * while sparse the messages left before the next keyed one. */
    uint32_t win_tries, win_hits, sparse, skip;
    uint32_t nbuckets, free_head, lru_head, lru_tail;
    size_t live, bytes;
    uint64_t evictions;
    /* Live clusters per hash of their first two routing tokens (n_heads entries, a power of
     * two; collisions only add): a message with no cluster there has none of its key, so
     * when it may not create one (cl_miner_add_or_skip) it is not masked. */
    uint32_t *heads;
    size_t n_heads;
    uint64_t head_skips;
    struct cl_masked scratch; /* the message being mined (large: kept off the stack) */
};

void cl_pattern_id_format(uint64_t id, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)id);
}

struct cl_miner *cl_miner_new(const struct cl_miner_config *cfg)
{
    struct cl_miner *m = cl_calloc(1, sizeof *m);
    m->cfg.max_clusters =
        cfg && cfg->max_clusters ? cfg->max_clusters : CL_MINER_DEFAULT_MAX_CLUSTERS;
    m->cfg.similarity = cfg && cfg->similarity > 0 ? cfg->similarity : CL_MINER_DEFAULT_SIMILARITY;
    m->slot = cl_calloc(m->cfg.max_clusters, sizeof *m->slot);
    m->nbuckets = 16;
    while (m->nbuckets < 2 * m->cfg.max_clusters)
        m->nbuckets *= 2;
    m->bucket = cl_malloc(m->nbuckets * sizeof *m->bucket);
    for (uint32_t i = 0; i < m->nbuckets; i++)
        m->bucket[i] = NIL;
    m->stamp = cl_calloc(m->nbuckets, sizeof *m->stamp);
    for (size_t i = 0; i < m->cfg.max_clusters; i++)
        m->slot[i].bucket_next = i + 1 < m->cfg.max_clusters ? (uint32_t)i + 1 : NIL;
    m->free_head = 0;
    m->lru_head = m->lru_tail = NIL;
    m->n_heads = 4 * (size_t)m->nbuckets;
    m->heads = cl_calloc(m->n_heads, sizeof *m->heads);
    m->bytes = sizeof *m + m->cfg.max_clusters * sizeof *m->slot + m->nbuckets * 12 +
               m->n_heads * sizeof *m->heads;
    cl_miner_set_shape_cache(m, 1);
    return m;
}

void cl_miner_set_shape_cache(struct cl_miner *m, int on)
{
    if (on && !m->shapes) { /* two entries a cluster, at most CL_MINER_SHAPE_CACHE */
        m->n_shapes = 8;
        while (m->n_shapes < CL_MINER_SHAPE_CACHE && m->n_shapes < 2 * m->cfg.max_clusters)
            m->n_shapes *= 2;
        m->shapes = cl_calloc(m->n_shapes, sizeof *m->shapes);
        m->bytes += m->n_shapes * sizeof *m->shapes;
    } else if (!on && m->shapes) {
        free(m->shapes);
        m->shapes = NULL;
        m->bytes -= m->n_shapes * sizeof *m->shapes;
    }
}

uint64_t cl_miner_shape_hits(const struct cl_miner *m)
{
    return m->shape_hits;
}

uint64_t cl_miner_head_skips(const struct cl_miner *m)
{
    return m->head_skips;
}

/* The clusters of the bucket of routing key key changed (shape cache entries expire). */
static void bump(struct cl_miner *m, uint64_t key)
{
    m->stamp[key & (m->nbuckets - 1)] = ++m->clock;
}

/* The cluster leaves its slot; the slot keeps its blocks for the next one. */
static void cluster_release(struct cluster *c)
{
    c->live = 0;
    c->generation++;
}

void cl_miner_free(struct cl_miner *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cfg.max_clusters; i++) {
        free(m->slot[i].hash); /* the start of the token block */
        free(m->slot[i].tmpl);
    }
    free(m->slot);
    free(m->bucket);
    free(m->stamp);
    free(m->shapes);
    free(m->heads);
    free(m);
}

/* ---- routing ---- */

/* The heads entry of two routing tokens (route_key's values: CL_MASK_WILD when masked). */
static uint32_t head_of(const struct cl_miner *m, uint64_t t0, uint64_t t1)
{
    uint64_t x = t0 * 0x9e3779b97f4a7c15ULL ^ (t1 + 0x632be59bd9b4e019ULL);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    return (uint32_t)(x & (m->n_heads - 1));
}

static uint64_t route_tok(const struct cl_masked *k, size_t i)
{
    return k->tok[i].masked ? CL_MASK_WILD : k->tok[i].hash;
}

static uint64_t route_key(const struct cl_masked *k)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ k->n;
    for (size_t i = 0; i < k->n && i < ROUTE_TOKENS; i++) {
        uint64_t t = k->tok[i].masked ? CL_MASK_WILD : k->tok[i].hash;
        h = (h ^ t) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h;
}

/* Share of positions where template and message agree; a template wildcard agrees with
 * a masked message token. *params counts the template's wildcards (tie-break). */
static double similarity(const struct cluster *c, const struct cl_masked *k, int *params)
{
    uint32_t same = 0, wild = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        uint64_t t = c->hash[i];
        if (t == CL_MASK_WILD) {
            wild++;
            same += k->tok[i].hash == CL_MASK_WILD;
        } else if (t == k->tok[i].hash) {
            same++;
        } else if (k->tok[i].word) {
            /* Two different plain words ("bytes"/"values", "Active"/"Inactive") name
             * different events; a word that is a value (a user name) becomes "<*>" by
             * cl_miner_consolidate once it takes several values. */
            *params = 0;
            return 0;
        }
    }
    *params = (int)wild;
    return c->n ? (double)same / c->n : 1.0;
}

/* The most similar cluster of k's key at or above the threshold, or NIL. */
static uint32_t best_cluster(const struct cl_miner *m, const struct cl_masked *k, uint64_t key)
{
    uint32_t best = NIL;
    double best_sim = -1;
    int best_params = -1;
    for (uint32_t s = m->bucket[key & (m->nbuckets - 1)]; s != NIL; s = m->slot[s].bucket_next) {
        const struct cluster *c = &m->slot[s];
        if (c->key != key || c->n != k->n)
            continue;
        int params;
        double sim = similarity(c, k, &params);
        if (sim > best_sim || (sim == best_sim && params > best_params)) {
            best = s;
            best_sim = sim;
            best_params = params;
        }
    }
    return best_sim >= m->cfg.similarity ? best : NIL;
}

/* ---- LRU list and buckets ---- */

static void lru_unlink(struct cl_miner *m, uint32_t s)
{
    struct cluster *c = &m->slot[s];
    if (c->lru_prev != NIL)
        m->slot[c->lru_prev].lru_next = c->lru_next;
    else
        m->lru_head = c->lru_next;
    if (c->lru_next != NIL)
        m->slot[c->lru_next].lru_prev = c->lru_prev;
    else
        m->lru_tail = c->lru_prev;
}

static void lru_push_front(struct cl_miner *m, uint32_t s)
{
    struct cluster *c = &m->slot[s];
    c->lru_prev = NIL;
    c->lru_next = m->lru_head;
    if (m->lru_head != NIL)
        m->slot[m->lru_head].lru_prev = s;
    m->lru_head = s;
    if (m->lru_tail == NIL)
        m->lru_tail = s;
}

static void bucket_unlink(struct cl_miner *m, uint32_t s)
{
    uint32_t *p = &m->bucket[m->slot[s].key & (m->nbuckets - 1)];
    while (*p != s)
        p = &m->slot[*p].bucket_next;
    *p = m->slot[s].bucket_next;
}

static void evict_lru(struct cl_miner *m)
{
    uint32_t s = m->lru_tail;
    lru_unlink(m, s);
    bucket_unlink(m, s);
    bump(m, m->slot[s].key);
    if (m->slot[s].head != NIL)
        m->heads[m->slot[s].head]--;
    cluster_release(&m->slot[s]);
    m->slot[s].bucket_next = m->free_head;
    m->free_head = s;
    m->live--;
    m->evictions++;
}

/* ---- clusters ---- */

/* Blocks are kept by their slot and only grow, so sizes rounded up to 64 bytes let the
 * next clusters in a slot reuse its blocks sooner (fewer mallocs per new cluster). */
static size_t block_size(size_t need)
{
    return (need + 63) & ~(size_t)63;
}

static void render(struct cl_miner *m, struct cluster *c)
{
    /* A token (1 byte or more) becomes at most "<*>", so the template is at most the
     * masked text plus 2 bytes a token. */
    size_t need = block_size(c->text_len + 2 * (size_t)c->n + 1);
    if (c->tmpl_cap < need) {
        m->bytes += need - c->tmpl_cap;
        free(c->tmpl);
        c->tmpl = cl_malloc(need);
        c->tmpl_cap = need;
    }
    size_t p = 0;
    if (c->fresh) { /* the masked text is the template (mask.h: one space between tokens) */
        memcpy(c->tmpl, c->text, c->text_len);
        p = c->text_len;
    }
    for (uint32_t i = 0; !c->fresh && i < c->n; i++) {
        if (i)
            c->tmpl[p++] = ' ';
        if (c->hash[i] == CL_MASK_WILD) {
            memcpy(c->tmpl + p, "<*>", 3);
            p += 3;
        } else {
            memcpy(c->tmpl + p, c->text + c->off[i], c->len[i]);
            p += c->len[i];
        }
    }
    c->tmpl[p] = '\0';
    c->tmpl_len = p;
    c->id = c->fresh && c->text_id ? c->text_id : cl_mask_hash(c->tmpl, p);
    c->dirty = 0;
}

static uint32_t cluster_create(struct cl_miner *m, const struct cl_masked *k, uint64_t key)
{
    if (m->free_head == NIL)
        evict_lru(m);
    uint32_t s = m->free_head;
    struct cluster *c = &m->slot[s];
    m->free_head = c->bucket_next;
    size_t n = k->n;
    c->n = (uint32_t)n;
    c->key = key;
    size_t need = block_size(n * (8 + 4 + 4) + k->text_len + 1);
    if (c->bytes < need) { /* the slot's block from an evicted cluster is too small */
        m->bytes += need - c->bytes;
        free(c->hash);
        c->hash = cl_malloc(need);
        c->bytes = need;
    }
    c->off = (uint32_t *)(void *)(c->hash + n);
    c->len = c->off + n;
    char *text = (char *)(c->len + n);
    memcpy(text, k->text, k->text_len);
    text[k->text_len] = '\0';
    for (size_t i = 0; i < n; i++) {
        c->hash[i] = k->tok[i].hash;
        c->off[i] = k->tok[i].off;
        c->len[i] = k->tok[i].len;
    }
    c->text = text;
    c->text_len = k->text_len;
    c->head = n >= 2 ? head_of(m, route_tok(k, 0), route_tok(k, 1)) : NIL;
    if (c->head != NIL)
        m->heads[c->head]++;
    c->fresh = 1;
    c->text_id = k->text_hash_ok ? k->text_hash : 0;
    c->dirty = 1;
    c->live = 1;
    uint32_t *head = &m->bucket[key & (m->nbuckets - 1)];
    c->bucket_next = *head;
    *head = s;
    bump(m, key);
    lru_push_front(m, s);
    m->live++;
    return s;
}

/* Turns every position where the message differs into "<*>"; returns whether any did. */
static int generalize(struct cluster *c, const struct cl_masked *k)
{
    int changed = 0;
    for (uint32_t i = 0; i < c->n; i++)
        if (c->hash[i] != CL_MASK_WILD && c->hash[i] != k->tok[i].hash) {
            c->hash[i] = CL_MASK_WILD;
            c->fresh = 0;
            changed = 1;
        }
    return changed;
}

static void fill_match(struct cl_miner *m, uint32_t s, struct cl_pattern_match *out)
{
    struct cluster *c = &m->slot[s];
    if (c->dirty)
        render(m, c);
    out->id = c->id;
    out->cluster = s;
    out->generation = c->generation;
}

/* Whether to key this message. The key costs about 340 instructions a message, wasted when
 * the cache never hits (a stream of one-off messages: every message masked anyway). So
 * after a window of SHAPE_WINDOW keyed messages with fewer than SHAPE_MIN_HITS hits only
 * every SHAPE_SPARSE-th message is keyed, until a window of those hits again. A message
 * not keyed is mined in full, as without the cache: results never depend on it. */
#define SHAPE_WINDOW 256
#define SHAPE_MIN_HITS 8
#define SHAPE_SPARSE 16

static int shape_use(struct cl_miner *m)
{
    if (m->skip) {
        m->skip--;
        return 0;
    }
    if (m->sparse)
        m->skip = SHAPE_SPARSE - 1;
    return 1;
}

/* Counts one keyed message (hit or not) in the window; decides at the window's end. */
static void shape_note(struct cl_miner *m, int hit)
{
    m->win_hits += (uint32_t)hit;
    if (++m->win_tries < SHAPE_WINDOW)
        return;
    m->sparse = m->win_hits < SHAPE_MIN_HITS;
    if (!m->sparse)
        m->skip = 0;
    m->win_tries = m->win_hits = 0;
}

/* The cluster of the cache entry for skey when the entry still holds (file comment). */
static struct shape *shape_hit(struct cl_miner *m, uint64_t skey, uint64_t check)
{
    struct shape *e = &m->shapes[skey & (m->n_shapes - 1)];
    if (e->key == skey && e->check == check &&
        m->stamp[m->slot[e->cluster].key & (m->nbuckets - 1)] == e->stamp)
        return e;
    return NULL;
}

void cl_miner_add(struct cl_miner *m, const char *msg, size_t len, struct cl_pattern_match *out)
{
    cl_miner_add_or_skip(m, msg, len, 1, out);
}

int cl_miner_add_or_skip(struct cl_miner *m, const char *msg, size_t len, int create,
                         struct cl_pattern_match *out)
{
    uint64_t check = 0, skey = m->shapes && shape_use(m) ? cl_mask_shape_key(msg, len, &check) : 0;
    struct shape *e = skey ? shape_hit(m, skey, check) : NULL;
    if (skey)
        shape_note(m, e != NULL);
    if (e) { /* what a match that changes nothing does */
        memset(out, 0, sizeof *out);
        lru_unlink(m, e->cluster);
        lru_push_front(m, e->cluster);
        fill_match(m, e->cluster, out);
        m->shape_hits++;
        return 0;
    }
    uint64_t head[2];
    if (!create && cl_mask_plain_head(msg, len, head) && !m->heads[head_of(m, head[0], head[1])]) {
        /* no live cluster routes by these two tokens: mask and search would find none */
        memset(out, 0, sizeof *out);
        m->head_skips++;
        return -1;
    }
    struct cl_masked *k = &m->scratch;
    cl_mask_message(msg, len, k);
    uint64_t key = route_key(k);
    uint32_t s = best_cluster(m, k, key);
    memset(out, 0, sizeof *out);
    if (s == NIL && !create)
        return -1; /* nothing learned: the miner is as it was (no cache entry either) */
    if (s == NIL) {
        s = cluster_create(m, k, key);
        out->is_new = 1;
    } else {
        struct cluster *c = &m->slot[s];
        if (c->dirty)
            render(m, c);
        uint64_t before = c->id;
        if (generalize(c, k)) {
            c->dirty = 1;
            out->prev_id = before;
            bump(m, c->key);
        }
        lru_unlink(m, s);
        lru_push_front(m, s);
    }
    fill_match(m, s, out);
    if (skey) {
        e = &m->shapes[skey & (m->n_shapes - 1)];
        *e = (struct shape){skey, check, m->stamp[key & (m->nbuckets - 1)], s};
    }
    return 0;
}

int cl_miner_match(struct cl_miner *m, const char *msg, size_t len, struct cl_pattern_match *out)
{
    struct cl_masked *k = &m->scratch;
    cl_mask_message(msg, len, k);
    uint32_t s = best_cluster(m, k, route_key(k));
    memset(out, 0, sizeof *out);
    if (s == NIL)
        return -1;
    fill_match(m, s, out);
    return 0;
}

void cl_miner_touch(struct cl_miner *m, uint32_t cluster)
{
    lru_unlink(m, cluster);
    lru_push_front(m, cluster);
}

int cl_miner_alive(const struct cl_miner *m, uint32_t cluster, uint32_t generation)
{
    return cluster < m->cfg.max_clusters && m->slot[cluster].live &&
           m->slot[cluster].generation == generation;
}

const char *cl_miner_template(struct cl_miner *m, uint32_t cluster, size_t *len, uint64_t *id)
{
    struct cluster *c = &m->slot[cluster];
    if (c->dirty)
        render(m, c);
    if (len)
        *len = c->tmpl_len;
    if (id)
        *id = c->id;
    return c->tmpl;
}

size_t cl_miner_count(const struct cl_miner *m)
{
    return m->live;
}

uint64_t cl_miner_evictions(const struct cl_miner *m)
{
    return m->evictions;
}

size_t cl_miner_memory(const struct cl_miner *m)
{
    return m->bytes;
}

/* ---- second pass: positions that take many values ---- */

struct sig {
    uint64_t sig; /* hash of the template with position pos left out */
    uint32_t slot, pos;
};

static uint64_t mix(uint64_t pos, uint64_t h)
{
    uint64_t x = h ^ (pos * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    return x;
}

static int sig_cmp(const void *a, const void *b)
{
    const struct sig *x = a, *y = b;
    if (x->sig != y->sig)
        return x->sig < y->sig ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Whether clusters a and b agree everywhere but at pos. */
static int same_but(const struct cluster *a, const struct cluster *b, uint32_t pos)
{
    if (a->n != b->n)
        return 0;
    for (uint32_t i = 0; i < a->n; i++)
        if (i != pos && a->hash[i] != b->hash[i])
            return 0;
    return 1;
}

/* Generalizes pos in the run v[0..n) when its clusters hold at least
 * CL_MINER_VARIABLE_VALUES distinct constants there. Returns the clusters changed. */
static size_t merge_run(struct cl_miner *m, const struct sig *v, size_t n)
{
    uint32_t pos = v[0].pos;
    struct cluster *first = &m->slot[v[0].slot];
    size_t distinct = 0, changed = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cluster *c = &m->slot[v[i].slot];
        if (!same_but(first, c, pos))
            return 0;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = m->slot[v[j].slot].hash[pos] == c->hash[pos];
        distinct += !seen;
    }
    uint32_t constants = 0;
    for (uint32_t i = 0; i < first->n; i++)
        constants += i != pos && first->hash[i] != CL_MASK_WILD;
    if (distinct < CL_MINER_VARIABLE_VALUES || constants < CL_MINER_VARIABLE_CONTEXT)
        return 0;
    for (size_t i = 0; i < n; i++) {
        struct cluster *c = &m->slot[v[i].slot];
        c->hash[pos] = CL_MASK_WILD;
        c->fresh = 0;
        c->dirty = 1;
        bump(m, c->key);
        changed++;
    }
    return changed;
}

size_t cl_miner_consolidate(struct cl_miner *m)
{
    size_t cap = 0, n = 0, changed = 0;
    for (size_t s = 0; s < m->cfg.max_clusters; s++)
        if (m->slot[s].live)
            cap += m->slot[s].n;
    if (cap == 0)
        return 0;
    struct sig *v = cl_malloc(cap * sizeof *v);
    for (uint32_t s = 0; s < m->cfg.max_clusters; s++) {
        const struct cluster *c = &m->slot[s];
        if (!c->live)
            continue;
        uint64_t full = mix(UINT64_MAX, c->n);
        for (uint32_t i = 0; i < c->n; i++)
            full += mix(i, c->hash[i]);
        for (uint32_t i = 0; i < c->n; i++)
            if (c->hash[i] != CL_MASK_WILD)
                v[n++] = (struct sig){full - mix(i, c->hash[i]) + mix(i, 1), s, i};
    }
    qsort(v, n, sizeof *v, sig_cmp);
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && v[b].sig == v[a].sig; b++)
            ;
        if (b - a >= CL_MINER_VARIABLE_VALUES)
            changed += merge_run(m, v + a, b - a);
    }
    free(v);
    return changed;
}
