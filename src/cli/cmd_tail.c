/* cmd_tail.c - `cloudlog tail`: the newest matching records, then (-f) new ones as published. */
#include "cli_common.h"
#include "cli_source.h"
#include "commands.h"
#include "query_output.h"

#include "catalog.h"
#include "common.h"
#include "query.h"
#include "record.h"
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CMD "cloudlog tail"
#define HOUR_MS (3600LL * 1000)

/*
 * How -f finds new objects. Each poll lists the published keys of the partitions whose
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

struct tail_cfg {
    const char *data_dir, *store_url, *endpoint_url, *since, *grep, *regex, *format;
    struct cl_opt_list services, levels, wheres;
    int icase, lines, follow;
    int64_t interval_ms, window_ms;
};

#define OFF(f) offsetof(struct tail_cfg, f)

static const char *const formats[] = {"json", "text", "csv", NULL};

static const struct cl_option tail_options[] = {
    {"data", "CLOUDLOG_DATA", CL_OPT_STR, "./data", OFF(data_dir), "DIR",
     "data directory of the daemon (holds logs/ and queue.db)", NULL, 0, 0},
    {"store", "CLOUDLOG_STORE", CL_OPT_STR, NULL, OFF(store_url), "URL",
     "read this store instead of DATA/logs: " CL_STORE_URL_FORMS " (no catalog: "
     "pruning by partition keys only)",
     NULL, 0, 0},
    CL_CLI_ENDPOINT_OPTION(OFF(endpoint_url)),
    {"lines", "CLOUDLOG_TAIL_LINES", CL_OPT_INT, "10", OFF(lines), "N",
     "print the N newest matching records first (also -n N); 0: none", NULL, 0, INT_MAX},
    {"follow", "CLOUDLOG_TAIL_FOLLOW", CL_OPT_FLAG, "0", OFF(follow), NULL,
     "then keep printing matching records as objects are published (also -f)", NULL, 0, 0},
    {"since", "CLOUDLOG_SINCE", CL_OPT_STR, "24h", OFF(since), "AGE|TIME",
     "the first N records are looked for from this long ago (15m, 2h, 3d) or time on", NULL, 0, 0},
    {"service", "CLOUDLOG_SERVICE", CL_OPT_LIST, NULL, OFF(services), "GLOB",
     "service name or glob (api, web-*); repeat for several", NULL, 0, 0},
    {"level", "CLOUDLOG_LEVEL", CL_OPT_LIST, NULL, OFF(levels), "LEVEL",
     "level (error) or level and above (warn+); repeat for several", NULL, 0, 0},
    {"grep", "CLOUDLOG_GREP", CL_OPT_STR, NULL, OFF(grep), "TEXT",
     "records whose JSON line contains TEXT", NULL, 0, 0},
    {"ignore-case", "CLOUDLOG_IGNORE_CASE", CL_OPT_FLAG, "0", OFF(icase), NULL,
     "--grep ignores ASCII case (also -i)", NULL, 0, 0},
    {"regex", "CLOUDLOG_REGEX", CL_OPT_STR, NULL, OFF(regex), "RE",
     "records whose JSON line matches the PCRE2 pattern RE", NULL, 0, 0},
    {"where", "CLOUDLOG_WHERE", CL_OPT_LIST, NULL, OFF(wheres), "FIELD=VALUE",
     "top-level field equals VALUE (string decoded, else JSON text); repeat: all must hold", NULL,
     0, 0},
    {"format", "CLOUDLOG_FORMAT", CL_OPT_STR, "json", OFF(format), "FMT", "output format", formats,
     0, 0},
    {"interval", "CLOUDLOG_TAIL_INTERVAL", CL_OPT_DURATION, "1s", OFF(interval_ms), "DURATION",
     "with -f: how often to look for newly published objects (at least 10ms)", NULL, 0, 0},
    {"window", "CLOUDLOG_TAIL_WINDOW", CL_OPT_DURATION, "2h", OFF(window_ms), "DURATION",
     "with -f: watch partitions up to this far back (late records older than that are "
     "not shown)",
     NULL, 0, 0},
};

static const char tail_summary[] =
    "Prints the N most recent records (default 10; from the last 24 h, see --since) that\n"
    "pass every filter, oldest first, as stored (json), as text (coloured by level on a\n"
    "terminal unless NO_COLOR is set) or as csv. Filters are those of `cloudlog query`.\n"
    "With -f it then polls every --interval for objects the daemon published since the\n"
    "last poll and prints their matching records in timestamp order, each record once;\n"
    "records that arrive later than --window behind now are not shown. Stops with exit\n"
    "status 0 on SIGINT, SIGTERM or when the reader of stdout goes away (| head).";

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* store reads in scan threads must not see EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout shows as EPIPE on write */
}

/* -- output ------------------------------------------------------------------------- */

struct tail_out {
    struct cl_qout out;
    int failed;      /* a write failed: nothing more is written */
    int write_errno; /* its errno (EPIPE: the reader went away) */
};

static void out_fail(struct tail_out *o)
{
    o->failed = 1;
    o->write_errno = errno ? errno : EIO;
}

static int out_record(struct tail_out *o, const char *line, size_t len,
                      const struct cl_line_head *h)
{
    if (o->failed)
        return -1;
    errno = 0;
    if (cl_qout_record(&o->out, line, len, h) != 0)
        out_fail(o);
    return o->failed ? -1 : 0;
}

static void out_flush(struct tail_out *o)
{
    errno = 0;
    if (!o->failed && (fflush(o->out.f) != 0 || ferror(o->out.f)))
        out_fail(o);
}

static void on_warn(void *arg, const char *key, const char *reason)
{
    (void)arg;
    fprintf(stderr, "%s: skipping %s: %s\n", CMD, key, reason);
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
};

static int on_held(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct held *hd = arg;
    if (stop_signal)
        return 1;
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
    struct held ring = {.max = m};
    struct cl_query_stats st;
    int rc = cl_query_run(src, &q, on_held, on_warn, &ring, &st, err, err_len);
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

/* Prints newest (newest first; ties in ascending order) oldest first. */
static void print_held(struct held *hd, struct tail_out *o)
{
    size_t end = hd->n;
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && hd->v[start - 1].h.ts_ms == hd->v[end - 1].h.ts_ms)
            start--;
        for (size_t i = start; i < end; i++)
            if (out_record(o, hd->v[i].line, hd->v[i].len, &hd->v[i].h) != 0)
                return;
        end = start;
    }
}

/* Prints the newest n matches of q's range, oldest first. Returns CL_OK or an error. */
static int print_newest(const struct cl_query_source *src, const struct cl_query *base, int n,
                        struct tail_out *o, char *err, size_t err_len)
{
    struct cl_query q = *base;
    q.order = CL_ORDER_NEWEST;
    q.limit = (size_t)n;
    struct held hd = {0};
    struct cl_query_stats st;
    int rc = cl_query_run(src, &q, on_held, on_warn, &hd, &st, err, err_len);
    if (rc == CL_OK && hd.n == (size_t)n && !stop_signal)
        rc = fix_ties(src, base, &hd, err, err_len);
    if (rc == CL_OK && !stop_signal)
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

static const struct cl_store_ops view_ops = {
    "tail-view", view_put, view_get, view_list, view_del, view_move, NULL, view_close,
};

/* -- following ---------------------------------------------------------------------- */

struct follower {
    const struct cl_query_source *src;
    struct cl_query q; /* filters; range and order set per poll */
    int64_t window_ms;
    struct keyset seen;
    struct view view;
};

static int on_new_record(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    if (stop_signal)
        return 1;
    return out_record(arg, line, len, h) != 0;
}

/* Runs q over just the keys in fresh, oldest first. */
static int scan_fresh(struct follower *f, const struct keyset *fresh, const struct window *w,
                      struct tail_out *o, char *err, size_t err_len)
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
    int rc = cl_query_run(&src, &q, on_new_record, on_warn, o, &st, err, err_len);
    f->view.only = NULL;
    return rc;
}

/* One poll: prints the matches of the objects published since the last one. */
static int poll_once(struct follower *f, struct tail_out *o, char *err, size_t err_len)
{
    struct window w;
    window_at(cl_now_ms(), f->window_ms, &w);
    struct keyset found = {0}, fresh = {0};
    int rc = discover(f->src, &w, &found);
    for (size_t i = 0; i < found.n; i++) {
        if (!ks_has(&f->seen, found.v[i])) {
            ks_push(&fresh, found.v[i]);
            found.v[i] = NULL;
        }
    }
    if (rc == CL_OK && fresh.n > 0)
        rc = scan_fresh(f, &fresh, &w, o, err, err_len);
    out_flush(o);
    ks_move_all(&f->seen, &fresh); /* even after a failure: never printed twice */
    ks_prune(&f->seen, &w);
    ks_free(&found);
    ks_free(&fresh);
    return rc;
}

/* Sleeps ms, or less once a signal asked to stop. */
static void nap(int64_t ms)
{
    int64_t end = cl_now_ms() + ms;
    for (int64_t left = ms; left > 0 && !stop_signal; left = end - cl_now_ms()) {
        int64_t step = left < 50 ? left : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The first records, then polls until a signal, a write error or a store error. */
static int follow(const struct cl_query_source *src, const struct tail_cfg *c,
                  const struct cl_query *q, struct tail_out *o, char *err, size_t err_len)
{
    struct follower f = {.src = src, .q = *q, .window_ms = c->window_ms};
    f.view.real = src->store;
    pthread_mutex_init(&f.view.mu, NULL);
    struct window w;
    window_at(cl_now_ms(), c->window_ms, &w);
    int rc = discover(src, &w, &f.seen);
    if (rc == CL_OK && c->lines > 0) {
        struct cl_store vs = {&view_ops, &f.view};
        struct cl_query_source vsrc = {&vs, src->catalog};
        f.view.record = 1;
        rc = print_newest(&vsrc, q, c->lines, o, err, err_len);
        f.view.record = 0;
        ks_move_all(&f.seen, &f.view.got);
        ks_prune(&f.seen, &w);
    }
    out_flush(o);
    while (rc == CL_OK && !stop_signal && !o->failed) {
        nap(c->interval_ms);
        if (!stop_signal)
            rc = poll_once(&f, o, err, err_len);
    }
    ks_free(&f.seen);
    ks_free(&f.view.got);
    pthread_mutex_destroy(&f.view.mu);
    return rc;
}

/* -- the command -------------------------------------------------------------------- */

/* Fills q from c (range [since, now)); w keeps the where clauses. Returns 0 or 2. */
static int build_query(const struct tail_cfg *c, struct cl_query *q, struct cl_cli_wheres *w)
{
    int64_t now = cl_now_ms();
    memset(q, 0, sizeof *q);
    q->to_ms = now;
    if (cl_query_parse_time(c->since, now, &q->from_ms) || q->from_ms >= now) {
        fprintf(stderr, "%s: bad --since '%s' (expected 15m, 2h, 3d or a past RFC 3339 time)\n",
                CMD, c->since);
        return 2;
    }
    if (c->interval_ms < 10) {
        fprintf(stderr, "%s: --interval must be at least 10ms\n", CMD);
        return 2;
    }
    int rc = cl_cli_parse_levels(CMD, &c->levels, &q->level_mask);
    if (!rc)
        rc = cl_cli_parse_wheres(CMD, &c->wheres, w);
    q->where = w->v;
    q->n_where = w->n;
    q->services = c->services.v;
    q->n_services = c->services.n;
    q->grep = c->grep;
    q->grep_icase = c->icase;
    q->regex = c->regex;
    char err[512] = "";
    if (!rc && cl_query_validate(q, err, sizeof err) != CL_OK) {
        fprintf(stderr, "%s: %s\n", CMD, err);
        rc = 2;
    }
    return rc;
}

/* The exit status once the output is done. */
static int finish(struct tail_out *o, int rc, const char *err)
{
    out_flush(o);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: %s\n", CMD, err[0] ? err : cl_strerror(rc));
        return rc == CL_ERR_INVAL ? 2 : 1;
    }
    if (o->failed && o->write_errno != EPIPE) {
        fprintf(stderr, "%s: writing to stdout failed: %s\n", CMD, strerror(o->write_errno));
        return 1;
    }
    return 0;
}

static int run(const struct tail_cfg *c, const struct cl_query *q)
{
    struct cl_cli_source s;
    if (cl_cli_source_open(CMD, c->data_dir, c->store_url, c->endpoint_url, &s))
        return 1;
    install_signals();
    const char *nc = getenv("NO_COLOR");
    int color = isatty(STDOUT_FILENO) && !(nc && nc[0]);
    enum cl_qout_format fmt = strcmp(c->format, "text") == 0  ? CL_QOUT_TEXT
                              : strcmp(c->format, "csv") == 0 ? CL_QOUT_CSV
                                                              : CL_QOUT_JSON;
    struct tail_out o = {0};
    cl_qout_init(&o.out, fmt, color, stdout);
    char err[512] = "";
    int rc = CL_OK;
    errno = 0;
    if (cl_qout_header(&o.out) != 0)
        out_fail(&o);
    else if (c->follow)
        rc = follow(&s.src, c, q, &o, err, sizeof err);
    else if (c->lines > 0)
        rc = print_newest(&s.src, q, c->lines, &o, err, sizeof err);
    int status = finish(&o, rc, err);
    cl_qout_free(&o.out);
    cl_cli_source_close(&s);
    return status;
}

/* Copies argv spelling -f, -i, -n N and -nN as long options; owned[] gets what it
 * allocated (the caller frees both). */
static char **expand_short(int argc, char **argv, char **owned)
{
    char **v = cl_calloc((size_t)argc + 1, sizeof *v);
    int only_positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        only_positional |= strcmp(a, "--") == 0;
        v[i] = argv[i];
        if (only_positional)
            continue;
        if (strcmp(a, "-f") == 0)
            v[i] = "--follow";
        else if (strcmp(a, "-i") == 0)
            v[i] = "--ignore-case";
        else if (strcmp(a, "-n") == 0)
            v[i] = "--lines";
        else if (strncmp(a, "-n", 2) == 0) {
            owned[i] = cl_malloc(strlen(a) + 8);
            sprintf(owned[i], "--lines=%s", a + 2);
            v[i] = owned[i];
        }
    }
    return v;
}

int cl_cmd_tail(int argc, char **argv)
{
    struct tail_cfg cfg = {0};
    struct cl_query q;
    struct cl_cli_wheres w = {0};
    size_t n_pos;
    char **owned = cl_calloc((size_t)argc + 1, sizeof *owned);
    char **args = expand_short(argc, argv, owned);
    int rc = cl_cli_options(CMD, CMD " [-f] [-n N] [OPTIONS]", tail_summary, tail_options,
                            CL_ARRAY_LEN(tail_options), &cfg, argc, args, NULL, 0, &n_pos);
    if (rc < 0) { /* options parsed (else: after --help or a usage error) */
        rc = build_query(&cfg, &q, &w);
        if (rc == 0)
            rc = run(&cfg, &q);
    }
    cl_cli_wheres_free(&w);
    cl_options_free(tail_options, CL_ARRAY_LEN(tail_options), &cfg);
    for (int i = 0; i < argc; i++)
        free(owned[i]);
    free(owned);
    free(args);
    return rc;
}
