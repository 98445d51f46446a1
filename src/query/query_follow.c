/* query_follow.c - the newest matches of a query, then (follow) new matches as objects
 * are published: `cloudlog tail -f`'s algorithm, usable by the server too. */
#include "query_follow.h"

#include "catalog.h"
#include "common.h"
#include "record.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR_MS (3600LL * 1000)

/*
 * How cl_query_follow finds new objects. Each poll lists the published keys of the partitions whose
 * hour lies in the follow window (--window before now up to the hour after now): from
 * the catalog when DATA/queue.db exists (one indexed SQL query, published rows only),
 * else by walking the store's listing. Keys not in the seen set are scanned, by running
 * the ordinary query engine over a read-only view of the store that lists only those
 * keys, and then join the seen set; keys whose partition left the window are pruned
 * from it, so memory stays bounded by the window's objects. A seen set rather than the
 * catalog's object ids: ids are assigned when a flush commits but an object becomes
 * visible when it is published, which can happen out of id order (concurrent processor
 * threads, start-up recovery), so "id > last id" could skip an object; the set also
 * works without a catalog and, later, on S3.
 *
 * No record is printed twice: the seen set starts as the window's keys listed before
 * the first query, plus every key that query read (it reads through the same view,
 * which records them). An object published in between and not read is printed by the
 * first poll. Records older than the window that arrive late are not shown.
 */

static int stopped(const struct cl_query_follow *o)
{
    return o->stop && o->stop(o->arg);
}

static void flush(const struct cl_query_follow *o)
{
    if (o->flush)
        o->flush(o->arg);
}

/* -- the first N records ------------------------------------------------------------
 *
 * The engine orders by timestamp, ties by object key and line; tail wants the last N in
 * that order. A newest-first query with limit N finds them except within the oldest
 * timestamp T it returns, where it keeps the *first* of the tied records; so when the
 * limit was reached, the records at exactly T are read again (oldest first, keeping the
 * last m in a ring) and replace the m tied ones. */

struct held_line {
    char *line; /* owned copy */
    size_t len;
    struct cl_line_head h;
};

/* Matches kept in arrival order; with max > 0 a ring of the last max. */
struct held {
    struct held_line *v;
    size_t n, cap, max, seen;
    const struct cl_query_follow *sink; /* for its stop() and keep() */
    int filter;                         /* apply sink->keep */
};

static int on_held(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct held *hd = arg;
    if (stopped(hd->sink))
        return 1;
    if (hd->filter && !hd->sink->keep(hd->sink->arg, line, len, h))
        return 0;
    struct held_line x = {cl_malloc(len + 1), len, *h};
    memcpy(x.line, line, len);
    if (hd->max && hd->n == hd->max) {
        size_t slot = hd->seen % hd->max;
        free(hd->v[slot].line);
        hd->v[slot] = x;
    } else {
        if (hd->n == hd->cap) {
            hd->cap = hd->cap ? hd->cap * 2 : 64;
            hd->v = cl_realloc(hd->v, hd->cap * sizeof *hd->v);
        }
        hd->v[hd->n++] = x;
    }
    hd->seen++;
    return 0;
}

/* The i-th kept match in arrival order. */
static struct held_line *held_at(struct held *hd, size_t i)
{
    return &hd->v[hd->max ? (hd->seen - hd->n + i) % hd->max : i];
}

static void held_free(struct held *hd)
{
    for (size_t i = 0; i < hd->n; i++)
        free(hd->v[i].line);
    free(hd->v);
    memset(hd, 0, sizeof *hd);
}

/* Replaces the records of newest (full, newest first) at its oldest timestamp by the
 * last ones at that time. */
static int fix_ties(const struct cl_query_source *src, const struct cl_query *base,
                    struct held *newest, char *err, size_t err_len)
{
    int64_t t = newest->v[newest->n - 1].h.ts_ms;
    size_t m = 0;
    while (m < newest->n && newest->v[newest->n - 1 - m].h.ts_ms == t)
        m++;
    struct cl_query q = *base;
    q.from_ms = t;
    q.to_ms = t + 1;
    q.order = CL_ORDER_OLDEST;
    q.limit = 0;
    struct held ring = {.max = m, .sink = newest->sink};
    struct cl_query_stats st;
    int rc = cl_query_run(src, &q, on_held, newest->sink->warn, &ring, &st, err, err_len);
    if (rc == CL_OK && ring.n == m) /* else the store changed meanwhile: keep what we have */
        for (size_t i = 0; i < m; i++) {
            struct held_line *dst = &newest->v[newest->n - m + i];
            free(dst->line);
            *dst = *held_at(&ring, i);
            held_at(&ring, i)->line = NULL;
        }
    held_free(&ring);
    return rc;
}

/* Emits newest (newest first; ties in ascending order) oldest first. */
static void print_held(struct held *hd, const struct cl_query_follow *o)
{
    size_t end = hd->n;
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && hd->v[start - 1].h.ts_ms == hd->v[end - 1].h.ts_ms)
            start--;
        for (size_t i = start; i < end; i++)
            if (o->emit(o->arg, hd->v[i].line, hd->v[i].len, &hd->v[i].h) != 0)
                return;
        end = start;
    }
}

/* cl_query_newest with o->keep: the last o->lines kept records of a full oldest-first
 * scan, emitted in that order. */
static int newest_kept(const struct cl_query_source *src, const struct cl_query *base,
                       const struct cl_query_follow *o, char *err, size_t err_len)
{
    struct cl_query q = *base;
    q.order = CL_ORDER_OLDEST;
    q.limit = 0;
    struct held ring = {.max = (size_t)o->lines, .sink = o, .filter = 1};
    struct cl_query_stats st;
    int rc = cl_query_run(src, &q, on_held, o->warn, &ring, &st, err, err_len);
    for (size_t i = 0; rc == CL_OK && !stopped(o) && i < ring.n; i++) {
        struct held_line *x = held_at(&ring, i);
        if (o->emit(o->arg, x->line, x->len, &x->h) != 0)
            break;
    }
    held_free(&ring);
    return rc;
}

int cl_query_newest(const struct cl_query_source *src, const struct cl_query *base,
                    const struct cl_query_follow *o, char *err, size_t err_len)
{
    if (o->keep && o->lines > 0)
        return newest_kept(src, base, o, err, err_len);
    struct cl_query q = *base;
    size_t n = (size_t)o->lines;
    q.order = CL_ORDER_NEWEST;
    q.limit = n;
    struct held hd = {.sink = o};
    struct cl_query_stats st;
    if (n == 0)
        return CL_OK;
    int rc = cl_query_run(src, &q, on_held, o->warn, &hd, &st, err, err_len);
    if (rc == CL_OK && hd.n == n && !stopped(o))
        rc = fix_ties(src, base, &hd, err, err_len);
    if (rc == CL_OK && !stopped(o))
        print_held(&hd, o);
    held_free(&hd);
    return rc;
}

/* -- sets of object keys ------------------------------------------------------------ */

struct keyset {
    char **v; /* owned strings; sorted and unique after ks_sort */
    size_t n, cap;
};

static void ks_push(struct keyset *s, char *key)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = cl_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = key;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void ks_sort(struct keyset *s)
{
    if (s->n < 2)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_key);
    size_t w = 1;
    for (size_t i = 1; i < s->n; i++) {
        if (strcmp(s->v[i], s->v[w - 1]) == 0)
            free(s->v[i]);
        else
            s->v[w++] = s->v[i];
    }
    s->n = w;
}

static int ks_has(const struct keyset *s, const char *key)
{
    return s->n && bsearch(&key, s->v, s->n, sizeof *s->v, cmp_key) != NULL;
}

/* Moves every key of from into to (from is left empty) and sorts to. */
static void ks_move_all(struct keyset *to, struct keyset *from)
{
    for (size_t i = 0; i < from->n; i++)
        ks_push(to, from->v[i]);
    from->n = 0;
    ks_sort(to);
}

static void ks_free(struct keyset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* -- the follow window -------------------------------------------------------------- */

/* Partition hours [lo, hi] as "YYYY-MM-DDTHH" (they compare like times), and the
 * matching time range [from_ms, to_ms). */
struct window {
    int64_t from_ms, to_ms;
    char lo[14], hi[14];
};

static void hour_text(int64_t ms, char out[14])
{
    char ts[25];
    cl_format_timestamp(ms, ts);
    memcpy(out, ts, 13);
    out[13] = '\0';
}

/* From the hour holding now - width to the hour after now's (slightly fast clocks). */
static void window_at(int64_t now_ms, int64_t width_ms, struct window *w)
{
    int64_t h0 = (now_ms - width_ms) / HOUR_MS, h1 = now_ms / HOUR_MS + 1;
    w->from_ms = h0 * HOUR_MS;
    w->to_ms = (h1 + 1) * HOUR_MS;
    hour_text(w->from_ms, w->lo);
    hour_text(h1 * HOUR_MS, w->hi);
}

/* 1 if key is "service=S/dt=YYYY-MM-DD/hour=HH/…" with that hour inside w. */
static int in_window(const char *key, const struct window *w)
{
    const char *d = strstr(key, "/dt=");
    char h[14];
    if (strncmp(key, "service=", 8) != 0 || !d || strlen(d) < 23 ||
        strncmp(d + 14, "/hour=", 6) != 0 || d[22] != '/')
        return 0;
    memcpy(h, d + 4, 10);
    h[10] = 'T';
    memcpy(h + 11, d + 20, 2);
    h[13] = '\0';
    return strcmp(h, w->lo) >= 0 && strcmp(h, w->hi) <= 0;
}

/* Drops the keys whose partition left the window. */
static void ks_prune(struct keyset *s, const struct window *w)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (in_window(s->v[i], w))
            s->v[k++] = s->v[i];
        else
            free(s->v[i]);
    }
    s->n = k;
}

struct discover_ctx {
    const struct window *w;
    struct keyset *out;
};

static int on_catalog_row(void *arg, const struct cl_catalog_object *c)
{
    struct discover_ctx *x = arg;
    if (in_window(c->key, x->w))
        ks_push(x->out, cl_strdup(c->key));
    return 0;
}

static int on_store_key(void *arg, const char *key, uint64_t size)
{
    struct discover_ctx *x = arg;
    (void)size;
    if (in_window(key, x->w))
        ks_push(x->out, cl_strdup(key));
    return 0;
}

/* Adds the published keys of w's partitions to out and sorts it. */
static int discover(const struct cl_query_source *src, const struct window *w, struct keyset *out)
{
    struct discover_ctx x = {w, out};
    int rc;
    if (src->catalog) {
        char a[11], b[11];
        snprintf(a, sizeof a, "%.10s", w->lo);
        snprintf(b, sizeof b, "%.10s", w->hi);
        rc = cl_catalog_objects(src->catalog, a, b, on_catalog_row, &x);
    } else {
        rc = cl_store_list(src->store, "service=", on_store_key, &x);
    }
    ks_sort(out);
    return rc;
}

/* -- a read-only view of the store -------------------------------------------------- */

struct view {
    struct cl_store *real;
    const struct keyset *only; /* list only these keys (sorted); NULL: the real listing */
    int record;                /* remember the keys read in got */
    struct keyset got;
    pthread_mutex_t mu; /* scan threads read concurrently */
};

static int view_get(void *impl, const char *key, struct cl_buf *out)
{
    struct view *v = impl;
    if (v->record) {
        pthread_mutex_lock(&v->mu);
        ks_push(&v->got, cl_strdup(key));
        pthread_mutex_unlock(&v->mu);
    }
    return cl_store_get(v->real, key, out);
}

static int view_list(void *impl, const char *prefix,
                     int (*fn)(void *arg, const char *key, uint64_t size), void *arg)
{
    struct view *v = impl;
    if (!v->only)
        return cl_store_list(v->real, prefix, fn, arg);
    size_t len = strlen(prefix);
    for (size_t i = 0; i < v->only->n; i++) {
        int rc = strncmp(v->only->v[i], prefix, len) == 0 ? fn(arg, v->only->v[i], 0) : 0;
        if (rc)
            return rc;
    }
    return CL_OK;
}

static int view_put(void *impl, const char *key, const void *data, size_t len)
{
    (void)impl, (void)key, (void)data, (void)len;
    return CL_ERR_UNSUPPORTED;
}

static int view_del(void *impl, const char *key)
{
    (void)impl, (void)key;
    return CL_ERR_UNSUPPORTED;
}

static int view_move(void *impl, const char *from, const char *to)
{
    (void)impl, (void)from, (void)to;
    return CL_ERR_UNSUPPORTED;
}

static void view_close(void *impl)
{
    (void)impl;
}

static const struct cl_store_ops view_ops = {.name = "tail-view",
                                             .put = view_put,
                                             .get = view_get,
                                             .list = view_list,
                                             .del = view_del,
                                             .move = view_move,
                                             .close = view_close};

/* -- following ---------------------------------------------------------------------- */

struct follower {
    const struct cl_query_source *src;
    struct cl_query q; /* filters; range and order set per poll */
    const struct cl_query_follow *sink;
    int emit_stopped; /* the sink's emit asked to stop */
    struct keyset seen;
    struct view view;
};

static int on_new_record(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct follower *f = arg;
    if (stopped(f->sink))
        return 1;
    f->emit_stopped |= f->sink->emit(f->sink->arg, line, len, h) != 0;
    return f->emit_stopped;
}

/* Runs q over just the keys in fresh, oldest first. */
static int scan_fresh(struct follower *f, const struct keyset *fresh, const struct window *w,
                      char *err, size_t err_len)
{
    struct cl_store vs = {&view_ops, &f->view};
    struct cl_query_source src = {&vs, NULL};
    struct cl_query q = f->q;
    q.from_ms = w->from_ms;
    q.to_ms = w->to_ms;
    q.order = CL_ORDER_OLDEST;
    q.limit = 0;
    f->view.only = fresh;
    struct cl_query_stats st;
    int rc = cl_query_run(&src, &q, on_new_record, f->sink->warn, f, &st, err, err_len);
    f->view.only = NULL;
    return rc;
}

/* One poll: emits the matches of the objects published since the last one. */
static int poll_once(struct follower *f, char *err, size_t err_len)
{
    struct window w;
    window_at(cl_now_ms(), f->sink->window_ms, &w);
    struct keyset found = {0}, fresh = {0};
    int rc = discover(f->src, &w, &found);
    for (size_t i = 0; i < found.n; i++) {
        if (!ks_has(&f->seen, found.v[i])) {
            ks_push(&fresh, found.v[i]);
            found.v[i] = NULL;
        }
    }
    if (rc == CL_OK && fresh.n > 0)
        rc = scan_fresh(f, &fresh, &w, err, err_len);
    flush(f->sink);
    ks_move_all(&f->seen, &fresh); /* even after a failure: never printed twice */
    ks_prune(&f->seen, &w);
    ks_free(&found);
    ks_free(&fresh);
    return rc;
}

/* Sleeps ms, or less once stop() asks to stop. */
static void nap(const struct cl_query_follow *o, int64_t ms)
{
    int64_t end = cl_now_ms() + ms;
    for (int64_t left = ms; left > 0 && !stopped(o); left = end - cl_now_ms()) {
        int64_t step = left < 50 ? left : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int cl_query_follow(const struct cl_query_source *src, const struct cl_query *q,
                    const struct cl_query_follow *o, char *err, size_t err_len)
{
    struct follower f = {.src = src, .q = *q, .sink = o};
    f.view.real = src->store;
    pthread_mutex_init(&f.view.mu, NULL);
    struct window w;
    window_at(cl_now_ms(), o->window_ms, &w);
    int rc = discover(src, &w, &f.seen);
    if (rc == CL_OK && o->lines > 0) {
        struct cl_store vs = {&view_ops, &f.view};
        struct cl_query_source vsrc = {&vs, src->catalog};
        f.view.record = 1;
        rc = cl_query_newest(&vsrc, q, o, err, err_len);
        f.view.record = 0;
        ks_move_all(&f.seen, &f.view.got);
        ks_prune(&f.seen, &w);
    }
    flush(o);
    while (rc == CL_OK && !stopped(o) && !f.emit_stopped) {
        nap(o, o->interval_ms);
        if (!stopped(o))
            rc = poll_once(&f, err, err_len);
    }
    ks_free(&f.seen);
    ks_free(&f.view.got);
    pthread_mutex_destroy(&f.view.mu);
    return rc;
}
