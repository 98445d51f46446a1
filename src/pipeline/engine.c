/* engine.c - the engine's receive side: decode messages whole, route their records to
 * partitions, hold the messages until every partition holding their records is
 * committed (engine_flush.c). */
#include "engine_int.h"

#include "analytics.h"
#include "breaker.h"
#include "codec.h"
#include "common.h"
#include "log.h"
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many resident bytes one engine keeps in released partition mappings
 * (part_acc.h), so that the next partitions write into pages already faulted in; within
 * that, only the room the buffer budget leaves (cl_engine_charge). */
#define CL_ENGINE_POOL_MAX (8u << 20)
/* ... plus this much whatever the budget leaves: while the budget binds (end to end under
 * load: the partitions at 3/4 to all of it) it leaves nearly none, and the pages a flush
 * releases would all be given back (docs/performance.md, "Partition buffers reused"). The
 * buffers then hold at most the budget plus this much per engine. */
#define CL_ENGINE_POOL_FREE (1u << 20)

struct cl_engine *cl_engine_new(const struct cl_engine_opts *o, struct cl_commit *commit,
                                const struct cl_engine_sink *sink)
{
    struct cl_engine *e = cl_calloc(1, sizeof *e);
    e->o = *o;
    if (!e->o.metrics)
        e->o.metrics = &cl_std_metrics_none;
    e->commit = commit;
    e->sink = *sink;
    cl_part_acc_init(&e->acc);
    cl_part_acc_set_pool(&e->acc, CL_ENGINE_POOL_MAX);
    cl_buf_init(&e->decoded, o->max_message_raw);
    return e;
}

void cl_engine_msg_free(struct cl_engine *e, struct cl_engine_msg *m)
{
    size_t last = e->n_held - 1;
    e->held[m->slot] = e->held[last];
    e->held[m->slot]->slot = m->slot;
    e->n_held--;
    free(m->id);
    free(m->receipt);
    free(m);
}

static void charge_delta(atomic_size_t *v, size_t was, size_t now)
{
    if (now > was)
        atomic_fetch_add(v, now - was);
    else if (now < was)
        atomic_fetch_sub(v, was - now);
}

/* The pool's slack lives in what the budget leaves: max less the partitions' bytes and
 * the other engines' slack. Released pages then cost no resident memory the budget
 * would not have allowed the partitions themselves, and the peak stays where it was. */
static void charge_slack(struct cl_engine *e)
{
    struct cl_buffer_budget *b = e->o.budget;
    size_t max = b ? b->max : e->o.buffer_max;
    size_t used = b ? atomic_load(&b->used) : e->acc.buffered;
    size_t all = b ? atomic_load(&b->slack) : 0;
    size_t others = all > e->slack_charged ? all - e->slack_charged : 0;
    size_t room = max > used + others ? max - used - others : 0;
    cl_part_acc_pool_room(&e->acc, room + CL_ENGINE_POOL_FREE);
    size_t now = cl_part_acc_slack(&e->acc);
    if (b)
        charge_delta(&b->slack, e->slack_charged, now);
    e->slack_charged = now;
}

void cl_engine_charge(struct cl_engine *e)
{
    size_t now = e->acc.buffered;
    if (e->o.budget && now != e->charged) {
        charge_delta(&e->o.budget->used, e->charged, now);
        e->charged = now;
    }
    charge_slack(e);
}

int cl_engine_over_budget(const struct cl_engine *e)
{
    if (e->o.budget)
        return atomic_load(&e->o.budget->used) > e->o.budget->max;
    return e->acc.buffered > e->o.buffer_max;
}

void cl_engine_free(struct cl_engine *e)
{
    if (!e)
        return;
    cl_part_acc_free(&e->acc);
    cl_engine_charge(e);
    while (e->n_held)
        cl_engine_msg_free(e, e->held[e->n_held - 1]);
    free(e->held);
    free(e->done);
    cl_buf_free(&e->decoded);
    free(e);
}

void cl_engine_set_deadline(struct cl_engine *e, int64_t deadline_ms, int64_t reserve_ms)
{
    e->deadline_ms = deadline_ms;
    e->reserve_ms = reserve_ms;
}

void cl_engine_tick(struct cl_engine *e, int64_t now_ms)
{
    if (e->commit->ops->tick)
        e->commit->ops->tick(e->commit->impl, now_ms);
    /* An engine with nothing buffered gives its pool back, and a busy one re-reads the
     * room the budget leaves: an idle engine charges nothing else, and its pool would
     * otherwise keep up to the cap while another engine fills the budget (review). */
    if (e->acc.n == 0)
        cl_part_acc_pool_room(&e->acc, 0);
    charge_slack(e);
}

int64_t cl_engine_due_in_ms(const struct cl_engine *e, int64_t now_ms)
{
    int64_t wait = e->o.flush_age_ms;
    for (size_t i = 0; i < e->acc.n; i++)
        wait = CL_MIN(wait, e->acc.parts[i]->first_ms + e->o.flush_age_ms - now_ms);
    return CL_MAX(wait, 0);
}

struct cl_engine_msg *const *cl_engine_held(const struct cl_engine *e, size_t *n)
{
    *n = e->n_held;
    return e->held;
}

void cl_engine_counters(const struct cl_engine *e, struct cl_engine_counters *c)
{
    *c = e->c;
}

/* One line of a decoded message: where it is and which partition it goes to. */
struct line {
    const char *ptr;
    size_t len;
    struct cl_line_head head;
    struct cl_part *part; /* NULL: already stored by an earlier delivery (skip) */
};

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

/* A decoded message: its lines and its gzip members (both caller-freed). */
struct decoded {
    struct line_vec lv;
    struct cl_gzip_member *members;
    size_t n_members;
};

/* Decodes m into e->decoded and splits it into lines, checking every line's head before
 * any is used. Returns 0, or -1 with err set (nothing to free). */
static int decode(struct cl_engine *e, const struct cl_engine_in *m, struct decoded *d, char *err,
                  size_t err_len)
{
    if (!m->body) {
        snprintf(err, err_len, "body is not valid base64");
        return -1;
    }
    if (cl_msg_decode_members(&m->attrs, m->body, m->len, &e->decoded, &d->members, &d->n_members,
                              err, err_len) != 0)
        return -1;
    d->lv = (struct line_vec){cl_malloc(64 * sizeof *d->lv.v), 0, 64};
    if (cl_msg_lines(&e->decoded, push_line, &d->lv, err, err_len) != 0) {
        free(d->lv.v);
        free(d->members);
        return -1;
    }
    return 0;
}

/* 1 if a and b name the same partition. Compared field by field: formatting the key of
 * every line (snprintf) was 4.6% of a drain's CPU. */
static int same_partition(const struct cl_line_head *a, const struct cl_line_head *b)
{
    return a->hour == b->hour && memcmp(a->dt, b->dt, sizeof a->dt) == 0 &&
           strcmp(a->service, b->service) == 0;
}

struct cl_part *cl_engine_route(struct cl_engine *e, const char *msg_id, int has_progress,
                                const struct cl_line_head *h, struct cl_engine_route *routes,
                                size_t *n, int *err)
{
    for (size_t i = *n; i-- > 0;)
        if (same_partition(routes[i].head, h))
            return routes[i].part;
    char key[CL_PARTITION_MAX];
    cl_partition_key(h, key);
    int done = 0;
    if (has_progress &&
        e->commit->ops->partition_done(e->commit->impl, msg_id, key, &done) != CL_OK)
        *err = 1;
    struct cl_part *pt = done ? NULL : cl_part_acc_find(&e->acc, key);
    if (!done && !pt)
        pt = cl_part_acc_add(&e->acc, key, h, cl_now_ms());
    routes[*n].head = h;
    routes[(*n)++].part = pt;
    return pt;
}

/* Decides each line's partition, or none when the strategy's progress says this
 * message's records for it are stored already. Returns 0, or -1 if progress cannot
 * be read. */
int cl_engine_has_progress(struct cl_engine *e, const char *msg_id, int *has_progress)
{
    const struct cl_commit_ops *ops = e->commit->ops;
    *has_progress = 0;
    for (size_t i = 0; i < e->pf_n; i++)
        if (strcmp(e->pf_ids[i], msg_id) == 0) {
            *has_progress = e->pf_has[i];
            return 0;
        }
    if (ops->has_progress && ops->has_progress(e->commit->impl, msg_id, has_progress) != CL_OK)
        return -1;
    return 0;
}

static int route_lines(struct cl_engine *e, const char *msg_id, struct line *lines, size_t n)
{
    int has_progress, err = 0;
    if (cl_engine_has_progress(e, msg_id, &has_progress) != 0)
        return -1;
    struct cl_engine_route *routes = cl_malloc(CL_MAX(n, 1) * sizeof *routes);
    size_t n_routes = 0;
    for (size_t i = 0; i < n && !err; i++)
        lines[i].part =
            cl_engine_route(e, msg_id, has_progress, &lines[i].head, routes, &n_routes, &err);
    free(routes);
    return err ? -1 : 0;
}

struct cl_engine_msg *cl_engine_hold(struct cl_engine *e, const struct cl_engine_in *in)
{
    struct cl_engine_msg *m = cl_calloc(1, sizeof *m);
    m->id = cl_strdup(in->id);
    m->receipt = cl_strdup(in->receipt ? in->receipt : "");
    m->receive_count = in->receive_count;
    m->sent_ms = in->sent_ms;
    m->index = in->index;
    if (e->n_held == e->cap_held) {
        e->cap_held = e->cap_held ? e->cap_held * 2 : 64;
        e->held = cl_realloc(e->held, e->cap_held * sizeof *e->held);
    }
    m->slot = e->n_held;
    e->held[e->n_held++] = m;
    return m;
}

/* Tells the sink about a message the engine does not hold. */
void cl_engine_fail_unheld(struct cl_engine *e, const struct cl_engine_in *in,
                           enum cl_engine_outcome why, const char *error)
{
    struct cl_engine_msg m = {.id = (char *)in->id,
                              .receipt = (char *)in->receipt,
                              .receive_count = in->receive_count,
                              .sent_ms = in->sent_ms,
                              .index = in->index,
                              .outcome = why};
    e->sink.failed(e->sink.arg, &m, why, error);
}

/* 1 if member k holds exactly lines [lo, hi), all routed to one partition: then its
 * compressed bytes can join that partition's object as they are. */
static int member_whole(const struct cl_engine *e, const struct cl_gzip_member *k,
                        const struct line *v, size_t lo, size_t hi)
{
    if (lo == hi || v[lo].ptr != e->decoded.data + k->raw_off)
        return 0;
    const struct line *last = &v[hi - 1];
    if (last->ptr + last->len + 1 != e->decoded.data + k->raw_off + k->raw_len)
        return 0; /* the member does not end with its last line's '\n' */
    for (size_t j = lo + 1; j < hi; j++)
        if (v[j].part != v[lo].part)
            return 0;
    return 1;
}

void cl_engine_observe(struct cl_engine *e, struct cl_observed_run *r, const char *ptr, size_t len)
{
    if (r->start && ptr == r->end + 1) { /* the next line: extend the run */
        r->end = ptr + len;
        return;
    }
    if (r->start)
        cl_analytics_observe(e->o.analytics, r->start, (size_t)(r->end - r->start));
    *r = (struct cl_observed_run){ptr, ptr + len};
}

void cl_engine_observe_end(struct cl_engine *e, struct cl_observed_run *r)
{
    if (r->start)
        cl_analytics_observe(e->o.analytics, r->start, (size_t)(r->end - r->start));
}

/* Buffers the routed lines of message m, member by member: a member of one partition
 * is kept compressed, the lines of any other are copied. */
static void buffer_lines(struct cl_engine *e, const struct cl_engine_in *in, struct decoded *d,
                         struct cl_engine_msg *m)
{
    const struct line *v = d->lv.v;
    struct cl_observed_run run = {NULL, NULL};
    size_t li = 0;
    for (size_t k = 0; k < d->n_members; k++) {
        const struct cl_gzip_member *mb = &d->members[k];
        size_t lo = li, end = mb->raw_off + mb->raw_len;
        while (li < d->lv.n && (size_t)(v[li].ptr - e->decoded.data) < end)
            li++;
        int whole = member_whole(e, mb, v, lo, li);
        if (whole && v[lo].part)
            cl_part_acc_append_gz(&e->acc, v[lo].part, (const char *)in->body + mb->gz_off,
                                  mb->gz_len);
        for (size_t j = lo; j < li; j++) {
            if (!v[j].part)
                continue; /* stored by an earlier delivery */
            /* Every record enters a partition here and only here: analytics observes it
             * here, for the daemon and the Lambda alike. */
            if (e->o.analytics)
                cl_engine_observe(e, &run, v[j].ptr, v[j].len);
            if (whole)
                cl_part_acc_count(&e->acc, v[j].part, v[j].len, &v[j].head, &m->acc);
            else
                cl_part_acc_append(&e->acc, v[j].part, v[j].ptr, v[j].len, &v[j].head, &m->acc);
        }
    }
    cl_engine_observe_end(e, &run);
}

void cl_engine_taken(struct cl_engine *e, struct cl_engine_msg *m)
{
    cl_engine_charge(e);
    if (m->acc.pending == 0) { /* empty, or every partition stored before */
        e->sink.stored(e->sink.arg, &m, 1, 0);
        cl_engine_msg_free(e, m);
    }
}

int cl_engine_progress_failed(struct cl_engine *e, const struct cl_engine_in *in)
{
    /* The catalog failed, not the message: give everything back uncounted. */
    cl_counter_add_at(e->o.metrics->processing_errors, CL_PERR_CATALOG, 1);
    cl_engine_fail_unheld(e, in, CL_ENGINE_GIVEN_BACK, "cannot read the progress table");
    cl_engine_fail_all(e, "cannot read the progress table");
    return CL_ERR_IO;
}

/* Buffers one message's records from its lines (a message without a usable member
 * index, or whose index analytics could not use). Returns CL_OK, or an error after a
 * systemic failure. */
static int take_lines(struct cl_engine *e, const struct cl_engine_in *in)
{
    char err[200];
    struct decoded d;
    if (decode(e, in, &d, err, sizeof err) != 0) {
        cl_log(CL_LOG_WARN, "processor: message %s: %s", in->id, err);
        e->c.failures++;
        cl_counter_add_at(e->o.metrics->processing_errors, CL_PERR_DECODE, 1);
        cl_engine_fail_unheld(e, in, CL_ENGINE_POISON, err);
        return CL_OK;
    }
    int rc = route_lines(e, in->id, d.lv.v, d.lv.n);
    if (rc == 0) {
        struct cl_engine_msg *m = cl_engine_hold(e, in);
        buffer_lines(e, in, &d, m);
        cl_engine_taken(e, m);
    }
    free(d.lv.v);
    free(d.members);
    return rc == 0 ? CL_OK : cl_engine_progress_failed(e, in);
}

/* Buffers one message's records: by its member index when it has a usable one
 * (engine_index.c), else from its lines. */
static int take_one(struct cl_engine *e, const struct cl_engine_in *in)
{
    int rc = cl_engine_take_indexed(e, in);
    return rc == CL_ENGINE_NO_INDEX ? take_lines(e, in) : rc;
}

/* Message indexes ordered by message id. Caller frees. */
static size_t *order_by_id(const struct cl_engine_in *msgs, size_t n)
{
    size_t *order = cl_malloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    /* insertion sort: a receive holds 10 messages, an SQS event at most 10,000 */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(msgs[order[j - 1]].id, msgs[order[j]].id) > 0; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    return order;
}

/* Asks the strategy once for the progress of all n messages (has_progress_many), so a
 * receive of 10 messages takes the queue's lock once, not 10 times, between the ingest
 * workers' group commits. On failure nothing is kept: each message asks again alone, and
 * fails there as before. */
static void prefetch_progress(struct cl_engine *e, const struct cl_engine_in *msgs, size_t n)
{
    const struct cl_commit_ops *ops = e->commit->ops;
    if (!ops->has_progress_many || n < 2)
        return;
    e->pf_ids = cl_malloc(n * sizeof *e->pf_ids);
    e->pf_has = cl_malloc(n * sizeof *e->pf_has);
    for (size_t i = 0; i < n; i++)
        e->pf_ids[i] = msgs[i].id;
    if (ops->has_progress_many(e->commit->impl, e->pf_ids, n, e->pf_has) == CL_OK)
        e->pf_n = n;
}

static void forget_progress(struct cl_engine *e)
{
    free(e->pf_ids);
    free(e->pf_has);
    e->pf_ids = NULL;
    e->pf_has = NULL;
    e->pf_n = 0;
}

int cl_engine_take(struct cl_engine *e, const struct cl_engine_in *msgs, size_t n)
{
    size_t *order = order_by_id(msgs, n);
    prefetch_progress(e, msgs, n);
    int rc = CL_OK;
    size_t k = 0;
    for (; k < n && rc == CL_OK; k++)
        rc = take_one(e, &msgs[order[k]]);
    /* After a systemic failure the rest of the batch goes back untouched. */
    for (; k < n; k++)
        cl_engine_fail_unheld(e, &msgs[order[k]], CL_ENGINE_GIVEN_BACK, "a systemic failure");
    forget_progress(e);
    free(order);
    return rc;
}
