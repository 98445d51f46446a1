/* process.c - the processor's receive side: decode messages into partition buffers.
 *
 * A message is decoded and checked whole before any of its records is buffered, so a
 * corrupt message never leaves part of itself behind: it is released alone, with its
 * error and a backoff, and the rest of its batch proceeds. */
#include "process_int.h"

#include "analytics.h"
#include "breaker.h"
#include "catalog.h"
#include "held_set.h"
#include "common.h"
#include "log.h"
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_process_opts_default(struct cl_process_opts *o)
{
    o->flush_size = 8u << 20;
    o->flush_age_ms = 10000;
    o->buffer_max = 32u << 20;
    o->compression_level = 1;
    o->visibility_s = 60;
    o->retry_base_ms = 1000;
    o->retry_max_ms = 300000;
    o->receive_batch = 10;
    o->max_message_raw = 64u << 20;
    o->metrics = NULL;
    o->breaker = NULL;
    o->analytics = NULL;
}

struct cl_processor *cl_processor_new(struct cl_queue *q, struct cl_store *st,
                                      const struct cl_process_opts *o, struct cl_held_set *held)
{
    struct cl_processor *p = cl_calloc(1, sizeof *p);
    p->own_held_set = held == NULL;
    p->held_set = held ? held : cl_held_set_new();
    p->q = q;
    p->st = st;
    p->o = *o;
    if (!p->o.metrics)
        p->o.metrics = &cl_std_metrics_none;
    p->own_breaker = o->breaker == NULL;
    p->breaker = o->breaker ? o->breaker
                            : cl_breaker_new(o->retry_base_ms, CL_BREAKER_PROBE_MAX_MS,
                                             p->o.metrics->store_circuit_open);
    cl_buf_init(&p->decoded, o->max_message_raw);
    cl_buf_init(&p->gz, SIZE_MAX);
    p->rng = (unsigned)cl_now_ms();
    return p;
}

void cl_processor_free(struct cl_processor *p)
{
    if (!p)
        return;
    while (p->n_parts)
        cl_proc_part_remove(p, p->n_parts - 1);
    while (p->n_held)
        cl_proc_held_remove(p, p->held[p->n_held - 1]);
    free(p->parts);
    cl_part_map_free(&p->part_index);
    free(p->held);
    cl_buf_free(&p->decoded);
    cl_buf_free(&p->gz);
    if (p->own_held_set)
        cl_held_set_free(p->held_set);
    if (p->own_breaker)
        cl_breaker_free(p->breaker);
    cl_proc_unpub_free(p);
    free(p);
}

void cl_processor_counters(const struct cl_processor *p, struct cl_process_counters *c)
{
    *c = p->c;
}

int64_t cl_processor_idle_ms(const struct cl_processor *p)
{
    int64_t now = cl_now_ms(), wait = p->o.flush_age_ms;
    for (size_t i = 0; i < p->n_parts; i++)
        wait = CL_MIN(wait, p->parts[i]->first_ms + p->o.flush_age_ms - now);
    /* Wake up in time to extend visibility: at half the timeout's remaining window. */
    int64_t half = (int64_t)p->o.visibility_s * 500;
    for (size_t i = 0; i < p->n_held; i++)
        wait = CL_MIN(wait, p->held[i]->visible_until_ms - half - now);
    return CL_MAX(wait, 0);
}

/* One line of a decoded message: where it is and which partition it goes to. */
struct line {
    const char *ptr;
    size_t len;
    struct cl_line_head head;
    struct part *part; /* NULL: already stored by an earlier flush (skip) */
};

static struct part *find_part(struct cl_processor *p, const char *key)
{
    return cl_part_map_get(&p->part_index, key);
}

static struct part *new_part(struct cl_processor *p, const char *key, const struct cl_line_head *h)
{
    struct part *pt = cl_calloc(1, sizeof *pt);
    snprintf(pt->key, sizeof pt->key, "%s", key);
    pt->head = *h;
    cl_buf_init(&pt->data, SIZE_MAX);
    pt->min_ts = INT64_MAX;
    pt->max_ts = INT64_MIN;
    pt->first_ms = cl_now_ms();
    if (p->n_parts == p->cap_parts) {
        p->cap_parts = p->cap_parts ? p->cap_parts * 2 : 16;
        p->parts = cl_realloc(p->parts, p->cap_parts * sizeof *p->parts);
    }
    p->parts[p->n_parts++] = pt;
    cl_part_map_put(&p->part_index, pt->key, pt);
    return pt;
}

struct line_vec {
    struct line *v;
    size_t n, cap;
};

static int push_line(void *arg, const char *ptr, size_t len, const struct cl_line_head *h)
{
    struct line_vec *lv = arg;
    if (lv->n == lv->cap)
        lv->v = cl_realloc(lv->v, (lv->cap *= 2) * sizeof *lv->v);
    lv->v[lv->n++] = (struct line){.ptr = ptr, .len = len, .head = *h};
    return 0;
}

/* Splits the decoded message into lines and reads each head. Returns 0, or -1 with
 * err set if any line is not a normalized record. *lines is caller-freed. */
static int split_lines(const struct cl_buf *d, struct line **lines, size_t *n, char *err,
                       size_t err_len)
{
    struct line_vec lv = {cl_malloc(64 * sizeof *lv.v), 0, 64};
    if (cl_msg_lines(d, push_line, &lv, err, err_len) != 0) {
        free(lv.v);
        return -1;
    }
    *lines = lv.v;
    *n = lv.n;
    return 0;
}

/* A message's distinct partitions, so each is looked up once per message. */
struct route {
    char key[CL_PARTITION_MAX];
    struct part *part; /* NULL: stored by an earlier flush */
};

static struct part *route_of(struct cl_processor *p, int64_t msg_id, int has_progress,
                             const struct cl_line_head *h, struct route *routes, size_t *n,
                             int *err)
{
    char key[CL_PARTITION_MAX];
    cl_partition_key(h, key);
    for (size_t i = *n; i-- > 0;)
        if (strcmp(routes[i].key, key) == 0)
            return routes[i].part;
    int done = 0;
    if (has_progress &&
        cl_catalog_partition_done(cl_queue_catalog(p->q), msg_id, key, &done) != CL_OK)
        *err = 1;
    struct part *pt = done ? NULL : find_part(p, key);
    if (!done && !pt)
        pt = new_part(p, key, h);
    memcpy(routes[*n].key, key, sizeof key);
    routes[(*n)++].part = pt;
    return pt;
}

/* Decides each line's buffer: the partition's existing buffer, a new one, or none when
 * the progress table says this message's records for it are already stored. */
static int route_lines(struct cl_processor *p, int64_t msg_id, struct line *lines, size_t n)
{
    int has_progress = 0, err = 0;
    if (cl_catalog_message_has_progress(cl_queue_catalog(p->q), msg_id, &has_progress) != CL_OK)
        return -1;
    struct route *routes = cl_malloc(CL_MAX(n, 1) * sizeof *routes);
    size_t n_routes = 0;
    for (size_t i = 0; i < n && !err; i++)
        lines[i].part = route_of(p, msg_id, has_progress, &lines[i].head, routes, &n_routes, &err);
    free(routes);
    return err ? -1 : 0;
}

static void add_contributor(struct part *pt, struct held *h)
{
    if (pt->n_contrib && pt->contrib[pt->n_contrib - 1] == h)
        return;
    for (size_t i = 0; i < pt->n_contrib; i++)
        if (pt->contrib[i] == h)
            return;
    if (pt->n_contrib == pt->cap_contrib) {
        pt->cap_contrib = pt->cap_contrib ? pt->cap_contrib * 2 : 8;
        pt->contrib = cl_realloc(pt->contrib, pt->cap_contrib * sizeof *pt->contrib);
    }
    pt->contrib[pt->n_contrib++] = h;
    h->pending++;
}

static void append_line(struct cl_processor *p, struct line *l, struct held *h)
{
    struct part *pt = l->part;
    cl_buf_append(&pt->data, l->ptr, l->len);
    cl_buf_append_char(&pt->data, '\n');
    p->buffered += l->len + 1;
    pt->records++;
    pt->min_ts = CL_MIN(pt->min_ts, l->head.ts_ms);
    pt->max_ts = CL_MAX(pt->max_ts, l->head.ts_ms);
    pt->levels[l->head.level]++;
    add_contributor(pt, h);
}

static struct held *hold(struct cl_processor *p, const struct cl_msg *m)
{
    struct held *h = cl_calloc(1, sizeof *h);
    h->id = strtoll(m->id, NULL, 10);
    h->receipt = cl_strdup(m->receipt);
    h->receive_count = m->receive_count;
    h->sent_ms = m->sent_ms;
    h->visible_until_ms = cl_now_ms() + (int64_t)p->o.visibility_s * 1000;
    if (p->n_held == p->cap_held) {
        p->cap_held = p->cap_held ? p->cap_held * 2 : 64;
        p->held = cl_realloc(p->held, p->cap_held * sizeof *p->held);
    }
    h->slot = p->n_held;
    p->held[p->n_held++] = h;
    return h;
}

/* A message with nothing left to store (empty, or stored before a crash) is deleted. */
static void delete_now(struct cl_processor *p, const struct cl_msg *m)
{
    const char *r = m->receipt;
    int result;
    if (cl_queue_delete(p->q, &r, 1, &result) == CL_OK)
        p->c.messages_deleted++;
}

static int decode(struct cl_processor *p, const struct cl_msg *m, char *err, size_t err_len)
{
    return cl_msg_decode(&m->attrs, m->body, m->len, &p->decoded, err, err_len);
}

/* Received again while this process still holds it (its visibility ran out): only
 * the new receipt is kept, by the holder; the records are already buffered. */
static int already_held(struct cl_processor *p, const struct cl_msg *m, int64_t id)
{
    const void *owner = cl_held_set_claim(p->held_set, id, p);
    if (!owner)
        return 0;
    for (size_t i = 0; owner == p && i < p->n_held; i++) {
        struct held *h = p->held[i];
        if (h->id == id) {
            free(h->receipt);
            h->receipt = cl_strdup(m->receipt);
            h->receive_count = m->receive_count;
            h->visible_until_ms = cl_now_ms() + (int64_t)p->o.visibility_s * 1000;
        }
    }
    cl_log(CL_LOG_WARN,
           "processor: message %s received again while held (visibility timeout "
           "%ds too short for the flush age?)",
           m->id, p->o.visibility_s);
    return 1;
}

/* A message that can never be decoded is poison: to the DLQ at once with the reason
 * (where the queue cannot, as SQS, it is released and its redrive policy moves it). */
static void reject_poison(struct cl_processor *p, const struct cl_msg *m, const char *err)
{
    cl_log(CL_LOG_WARN, "processor: message %s: %s", m->id, err);
    p->c.failures++;
    cl_counter_add_at(p->o.metrics->processing_errors, CL_PERR_DECODE, 1);
    if (cl_queue_dead_letter(p->q, m->receipt, err) == CL_ERR_UNSUPPORTED)
        cl_proc_release(p, m->receipt, m->receive_count, err);
}

/* Buffers one message's records, or releases it with an error. */
static void take_message(struct cl_processor *p, const struct cl_msg *m)
{
    char err[200];
    struct line *lines = NULL;
    size_t n = 0;
    int64_t id = strtoll(m->id, NULL, 10);
    p->c.messages_received++;
    if (already_held(p, m, id))
        return;
    if (decode(p, m, err, sizeof err) != 0 ||
        split_lines(&p->decoded, &lines, &n, err, sizeof err) != 0) {
        reject_poison(p, m, err);
        cl_held_set_release(p->held_set, id, p);
        return;
    }
    if (route_lines(p, id, lines, n) != 0) {
        /* The queue file failed, not the message: give everything back uncounted. */
        cl_counter_add_at(p->o.metrics->processing_errors, CL_PERR_CATALOG, 1);
        cl_queue_release(p->q, m->receipt, 0, "cannot read the progress table");
        cl_held_set_release(p->held_set, id, p);
        free(lines);
        cl_proc_fail_all(p, "cannot read the progress table");
        return;
    }
    struct held *h = hold(p, m);
    /* Patterns and anomalies (issue 17): once per message taken, before its records are
     * buffered; a message received again while held is not seen again. */
    cl_analytics_observe(p->o.analytics, p->decoded.data, p->decoded.len);
    for (size_t i = 0; i < n; i++)
        if (lines[i].part)
            append_line(p, &lines[i], h);
    free(lines);
    if (h->pending == 0) {
        delete_now(p, m);
        cl_proc_held_remove(p, h);
    }
}

size_t cl_processor_step(struct cl_processor *p, int wait_ms)
{
    struct cl_msg *msgs = NULL;
    size_t n = 0;
    cl_proc_retry_publish(p, cl_now_ms());
    if (cl_breaker_gate(p->breaker, p->st, p->q, &p->rng, wait_ms)) {
        cl_proc_extend_visibility(p, cl_now_ms());
        return 0;
    }
    int rc = cl_queue_receive(p->q, p->o.receive_batch, p->o.visibility_s, wait_ms, &msgs, &n);
    if (rc != CL_OK && rc != CL_ERR_NOT_FOUND) {
        cl_log(CL_LOG_WARN, "processor: receive failed: %s", cl_strerror(rc));
        cl_counter_add_at(p->o.metrics->processing_errors, CL_PERR_RECEIVE, 1);
    }
    for (size_t i = 0; i < n; i++)
        take_message(p, &msgs[i]);
    cl_msgs_free(msgs, n);
    int64_t now = cl_now_ms();
    cl_proc_flush_due(p, now);
    cl_proc_extend_visibility(p, now);
    return n;
}

void cl_processor_flush_all(struct cl_processor *p)
{
    while (p->n_parts)
        if (cl_proc_flush_part(p, 0) != CL_OK)
            return; /* cl_proc_fail_all already released everything */
}
