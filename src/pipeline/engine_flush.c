/* engine_flush.c - the engine's store side: commit due partitions through the commit
 * strategy (those due in one step as one batch where the strategy has commit_batch) and
 * settle their messages under the retry policy (retry.h). */
#include "engine_int.h"

#include "breaker.h"
#include "codec.h"
#include "common.h"
#include "log.h"
#include "phase_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void push_done(struct cl_engine *e, struct cl_engine_msg *m)
{
    if (e->n_done == e->cap_done) {
        e->cap_done = e->cap_done ? e->cap_done * 2 : 16;
        e->done = cl_realloc(e->done, e->cap_done * sizeof *e->done);
    }
    e->done[e->n_done++] = m;
}

void cl_engine_emit_done(struct cl_engine *e)
{
    if (e->n_done == 0)
        return;
    e->sink.stored(e->sink.arg, e->done, e->n_done, e->commit->ops->acks_in_commit);
    for (size_t i = 0; i < e->n_done; i++)
        cl_engine_msg_free(e, e->done[i]);
    e->n_done = 0;
}

/* pt's bytes leave the shared budget's flushing as it settles (or fails), when they also
 * leave used: a flush counting them there until its end had another engine subtract them
 * twice (from used, and as busy) and flush one partition per step while it lasted. */
static void release_reserved(struct cl_engine *e, struct cl_part *pt)
{
    if (!pt->reserved)
        return;
    atomic_fetch_sub(&e->o.budget->flushing, pt->reserved);
    e->reserved -= pt->reserved;
    pt->reserved = 0;
}

/* The partition at index is settled (committed or failed): each member loses one
 * pending partition; one with none left is stored, or failed with its outcome. */
static void settle(struct cl_engine *e, size_t index, const char *error)
{
    struct cl_part *pt = e->acc.parts[index];
    for (size_t i = 0; i < pt->n_members; i++) {
        struct cl_engine_msg *m = (struct cl_engine_msg *)pt->members[i];
        if (--m->acc.pending > 0)
            continue;
        if (m->outcome == CL_ENGINE_STORED) {
            push_done(e, m);
        } else {
            /* error is NULL when its last partition committed but an earlier one failed */
            e->sink.failed(e->sink.arg, m, m->outcome,
                           error ? error : "a partition holding its records was not stored");
            cl_engine_msg_free(e, m);
        }
    }
    release_reserved(e, pt);
    cl_part_acc_remove(&e->acc, index);
    cl_engine_charge(e);
}

void cl_engine_fail_all(struct cl_engine *e, const char *error)
{
    int on_trial = e->o.breaker ? cl_breaker_failure(e->o.breaker, cl_now_ms(), error) : 0;
    cl_log(CL_LOG_WARN, "processor: %s; giving %zu message(s) back%s", error, e->n_held,
           on_trial ? " (counted: the store answered a probe but refused this batch)" : "");
    e->c.failures++;
    e->pass_failed = 1;
    cl_counter_add_at(e->o.metrics->processing_errors, CL_PERR_STORE, 1);
    cl_engine_emit_done(e); /* committed before the failure */
    while (e->acc.n) {
        release_reserved(e, e->acc.parts[e->acc.n - 1]);
        cl_part_acc_remove(&e->acc, e->acc.n - 1);
    }
    cl_engine_charge(e);
    while (e->n_held) {
        struct cl_engine_msg *m = e->held[e->n_held - 1];
        enum cl_engine_outcome why = on_trial ? CL_ENGINE_STORE_FAILED : CL_ENGINE_GIVEN_BACK;
        e->sink.failed(e->sink.arg, m, why, error);
        cl_engine_msg_free(e, m);
    }
}

/* Marks the partition's members failed with why and settles it. */
static void fail_part(struct cl_engine *e, size_t index, enum cl_engine_outcome why,
                      const char *error)
{
    struct cl_part *pt = e->acc.parts[index];
    for (size_t i = 0; i < pt->n_members; i++) {
        struct cl_engine_msg *m = (struct cl_engine_msg *)pt->members[i];
        if (m->outcome == CL_ENGINE_STORED)
            m->outcome = why;
    }
    cl_counter_add_at(e->o.metrics->processing_errors, CL_PERR_STORE, 1);
    settle(e, index, error);
}

/* A failed commit, by the retry policy: under exactly-once every held message goes back
 * (records of a message given back must leave every buffer); else only this partition's
 * messages fail and the other partitions are still committed. Both open the breaker. */
static int commit_failed(struct cl_engine *e, size_t index, int rc)
{
    char err[256];
    snprintf(err, sizeof err, "cannot store object for %s: %s", e->acc.parts[index]->key,
             cl_strerror(rc));
    if (e->commit->ops->acks_in_commit) {
        cl_engine_fail_all(e, err);
        return rc;
    }
    cl_log(CL_LOG_WARN, "processor: %s (%zu message(s))", err, e->acc.parts[index]->n_members);
    e->c.failures++;
    if (!e->pass_failed && e->o.breaker)
        cl_breaker_failure(e->o.breaker, cl_now_ms(), err);
    e->pass_failed = 1;
    fail_part(e, index, CL_ENGINE_STORE_FAILED, err);
    return CL_OK;
}

static void count_object(struct cl_engine *e, const struct cl_part *pt, const char *key,
                         size_t obj_len, int published)
{
    const struct cl_std_metrics *m = e->o.metrics;
    e->c.objects_written++;
    e->c.records_stored += pt->records;
    e->c.bytes_stored += obj_len;
    cl_counter_add(m->objects_written, 1);
    cl_counter_add(m->processed_log_count, pt->records);
    cl_counter_add(m->stored_bytes, obj_len);
    if (e->sink.committed)
        e->sink.committed(e->sink.arg, key);
    if (!published)
        return;
    int64_t now = cl_now_ms();
    for (size_t i = 0; i < pt->n_members; i++) {
        const struct cl_engine_msg *msg = (const struct cl_engine_msg *)pt->members[i];
        if (msg->sent_ms > 0)
            cl_histogram_observe(m->end_to_end_latency,
                                 (uint64_t)CL_MAX(now - msg->sent_ms, 0) * 1000);
    }
}

/* After a commit that deletes (acks_in_commit): which finished messages it deleted. */
static void mark_deleted(struct cl_engine *e, struct cl_engine_msg *const *m, const int *results,
                         size_t n)
{
    for (size_t i = 0; e->commit->ops->acks_in_commit && i < n; i++)
        m[i]->deleted = results[i] == CL_OK;
}

/* Compresses and commits the partition at index. */
static int commit_part(struct cl_engine *e, size_t index)
{
    struct cl_part *pt = e->acc.parts[index];
    const char **ids = cl_malloc(pt->n_members * sizeof *ids);
    const char **finished = cl_malloc(pt->n_members * sizeof *finished);
    int *results = cl_malloc(pt->n_members * sizeof *results);
    struct cl_engine_msg **fin_msgs = cl_malloc(pt->n_members * sizeof *fin_msgs);
    size_t n_finished = 0;
    for (size_t i = 0; i < pt->n_members; i++) {
        struct cl_engine_msg *m = (struct cl_engine_msg *)pt->members[i];
        ids[i] = m->id;
        if (m->acc.pending == 1) {
            fin_msgs[n_finished] = m;
            finished[n_finished++] = m->receipt;
        }
    }
    /* The object: the gzip members as they came, then the copied lines compressed as one
     * more member (a multi-member gzip file, RFC 1952 2.2). */
    int prev = cl_phase_enter(CL_PHASE_SEAL);
    int rc = cl_part_acc_seal(&e->acc, pt, e->o.compression_level);
    cl_phase_enter(prev);
    char key[CL_COMMIT_KEY_MAX];
    int published = 0;
    if (rc == CL_OK) {
        struct cl_commit_object o = {pt,       pt->gz.data, pt->gz.len, ids, pt->n_members,
                                     finished, n_finished,  results};
        rc = e->commit->ops->commit(e->commit->impl, &o, key, sizeof key, &published);
    }
    if (rc == CL_OK)
        mark_deleted(e, fin_msgs, results, n_finished);
    free(ids);
    free(finished);
    free(results);
    free(fin_msgs);
    if (rc != CL_OK)
        return commit_failed(e, index, rc);
    if (!e->pass_failed && e->o.breaker)
        cl_breaker_success(e->o.breaker);
    count_object(e, pt, key, pt->gz.len, published);
    settle(e, index, NULL);
    return CL_OK;
}

/* Flushes the partition at index: committed, or failed by the deadline or the store. */
static int flush_part(struct cl_engine *e, size_t index)
{
    if (e->acc.parts[index]->records == 0) {
        settle(e, index, NULL);
        return CL_OK;
    }
    if (e->deadline_ms && e->deadline_ms - cl_now_ms() < e->reserve_ms) {
        fail_part(e, index, CL_ENGINE_DEADLINE, "not written before its deadline");
        return CL_OK;
    }
    return commit_part(e, index);
}

/* The arrays of one batch commit (batch_objects fills them, batch_free frees them). */
struct batch {
    struct cl_commit_object *objs;
    const char **ids, **finished;    /* slices per object */
    struct cl_engine_msg **fin_msgs; /* finished[i]'s message */
    int *results;
    size_t n_finished;
};

/* Describes each partition as an object of one batch. A message is finished by the last
 * partition of the batch holding its records, if the batch holds all its pending ones. */
static void batch_objects(struct cl_part *const *parts, size_t n, struct batch *b)
{
    size_t total = 0;
    for (size_t j = 0; j < n; j++)
        total += parts[j]->n_members;
    b->objs = cl_malloc(n * sizeof *b->objs);
    b->ids = cl_malloc(CL_MAX(total, 1) * sizeof *b->ids);
    b->finished = cl_malloc(CL_MAX(total, 1) * sizeof *b->finished);
    b->results = cl_malloc(CL_MAX(total, 1) * sizeof *b->results);
    b->fin_msgs = cl_malloc(CL_MAX(total, 1) * sizeof *b->fin_msgs);
    size_t at = 0, fin = 0;
    for (size_t j = 0; j < n; j++) {
        const struct cl_part *pt = parts[j];
        size_t at0 = at, fin0 = fin;
        for (size_t i = 0; i < pt->n_members; i++) {
            struct cl_engine_msg *m = (struct cl_engine_msg *)pt->members[i];
            b->ids[at++] = m->id;
            if (++m->acc.batch_hits == m->acc.pending) {
                b->fin_msgs[fin] = m;
                b->finished[fin++] = m->receipt;
            }
        }
        b->objs[j] =
            (struct cl_commit_object){pt,       pt->gz.data,        pt->gz.len, b->ids + at0,
                                      at - at0, b->finished + fin0, fin - fin0, b->results + fin0};
    }
    b->n_finished = fin;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < parts[j]->n_members; i++)
            ((struct cl_engine_msg *)parts[j]->members[i])->acc.batch_hits = 0;
}

static void batch_free(struct batch *b)
{
    free(b->objs);
    free(b->ids);
    free(b->finished);
    free(b->results);
    free(b->fin_msgs);
}

/* Commits parts (none empty) through the strategy's commit_batch: one catalog transaction
 * and one sync per directory for all, instead of each partition's own. */
static int commit_batch(struct cl_engine *e, struct cl_part *const *parts, size_t n)
{
    int rc = CL_OK;
    int prev = cl_phase_enter(CL_PHASE_SEAL);
    for (size_t j = 0; j < n && rc == CL_OK; j++)
        rc = cl_part_acc_seal(&e->acc, parts[j], e->o.compression_level);
    cl_phase_enter(prev);
    char(*keys)[CL_COMMIT_KEY_MAX] = cl_malloc(n * sizeof *keys);
    int *published = cl_calloc(n, sizeof *published);
    if (rc == CL_OK) {
        struct batch b;
        batch_objects(parts, n, &b);
        rc = e->commit->ops->commit_batch(e->commit->impl, b.objs, n, keys, published);
        if (rc == CL_OK)
            mark_deleted(e, b.fin_msgs, b.results, b.n_finished);
        batch_free(&b);
    }
    for (size_t j = 0; j < n; j++) {
        size_t index = cl_part_acc_index(&e->acc, parts[j]);
        if (index == e->acc.n) /* dropped by a failure of this batch */
            continue;
        if (rc != CL_OK) {
            commit_failed(e, index, rc);
            continue;
        }
        if (!e->pass_failed && e->o.breaker)
            cl_breaker_success(e->o.breaker);
        count_object(e, parts[j], keys[j], parts[j]->gz.len, published[j]);
        settle(e, index, NULL);
    }
    free(keys);
    free(published);
    return rc == CL_OK || !e->commit->ops->acks_in_commit ? CL_OK : rc;
}

/* Flushes parts: as one batch where the strategy can (and no deadline applies), else one
 * by one. */
static int flush_parts(struct cl_engine *e, struct cl_part **parts, size_t n)
{
    int batch = e->commit->ops->commit_batch && !e->deadline_ms;
    size_t kept = 0;
    int rc = CL_OK;
    for (size_t j = 0; j < n && rc == CL_OK; j++) {
        size_t index = cl_part_acc_index(&e->acc, parts[j]);
        if (batch && parts[j]->records > 0)
            parts[kept++] = parts[j];
        else if (index < e->acc.n)
            rc = flush_part(e, index);
    }
    if (rc == CL_OK && kept)
        rc = kept == 1 ? flush_part(e, cl_part_acc_index(&e->acc, parts[0]))
                       : commit_batch(e, parts, kept);
    return rc;
}

static int by_size_desc(const void *x, const void *y)
{
    const struct cl_part *a = *(struct cl_part *const *)x, *b = *(struct cl_part *const *)y;
    size_t sa = a->data.len + a->gz.len, sb = b->data.len + b->gz.len;
    return sa < sb ? 1 : sa > sb ? -1 : 0;
}

/* The bytes over the low mark (3/4 of the budget) that no flush under way is freeing
 * already. With a shared budget another engine's flush counts: without that, two engines
 * over the budget at once each freed the whole excess, the buffers fell to half the
 * budget, and the objects were smaller for the same peak (docs/performance.md, "What the
 * buffer budget holds"). Those bytes still count towards the budget itself, as they stay
 * resident until committed. */
static size_t excess_to_free(const struct cl_engine *e)
{
    size_t max = e->o.budget ? e->o.budget->max : e->o.buffer_max;
    size_t used = e->o.budget ? atomic_load(&e->o.budget->used) : e->acc.buffered;
    size_t busy = e->o.budget ? atomic_load(&e->o.budget->flushing) : 0;
    size_t low = max / 4 * 3;
    return used > low + busy ? used - low - busy : 0;
}

/* The partitions to flush at now (caller frees); the bytes each holds are counted in the
 * shared budget's flushing (its reserved) until it settles. Those due by size
 * or age, then, if the budget is exceeded, the largest others until what stays would be
 * under 3/4 of it (less what other flushes free), so that one batch makes room for a
 * while instead of one partition per step; at least one when over the budget. */
static struct cl_part **pick_due(struct cl_engine *e, int64_t now, size_t *n)
{
    struct cl_part **out = cl_malloc(CL_MAX(e->acc.n, 1) * sizeof *out);
    struct cl_part **rest = cl_malloc(CL_MAX(e->acc.n, 1) * sizeof *rest);
    size_t n_rest = 0, freed = 0;
    *n = 0;
    for (size_t i = 0; i < e->acc.n; i++) {
        struct cl_part *pt = e->acc.parts[i];
        if (pt->raw_len >= e->o.flush_size || now - pt->first_ms >= e->o.flush_age_ms) {
            out[(*n)++] = pt;
            freed += pt->data.len + pt->gz.len;
        } else {
            rest[n_rest++] = pt;
        }
    }
    if (cl_engine_over_budget(e)) {
        size_t excess = CL_MAX(excess_to_free(e), 1);
        qsort(rest, n_rest, sizeof *rest, by_size_desc);
        for (size_t i = 0; i < n_rest && freed < excess; i++) {
            out[(*n)++] = rest[i];
            freed += rest[i]->data.len + rest[i]->gz.len;
        }
    }
    free(rest);
    for (size_t i = 0; e->o.budget && i < *n; i++) {
        out[i]->reserved = out[i]->data.len + out[i]->gz.len;
        e->reserved += out[i]->reserved;
    }
    if (e->o.budget && freed)
        atomic_fetch_add(&e->o.budget->flushing, freed);
    return out;
}

int cl_engine_flush_due(struct cl_engine *e, int64_t now)
{
    e->pass_failed = 0;
    size_t n;
    struct cl_part **due = pick_due(e, now, &n);
    int rc = n ? flush_parts(e, due, n) : CL_OK;
    for (size_t i = 0; e->reserved && i < e->acc.n; i++) /* due but not flushed (an error) */
        release_reserved(e, e->acc.parts[i]);
    free(due);
    cl_engine_emit_done(e);
    return rc;
}

int cl_engine_flush_all(struct cl_engine *e)
{
    e->pass_failed = 0;
    cl_part_acc_sort(&e->acc);
    size_t n = e->acc.n;
    struct cl_part **all = cl_malloc(CL_MAX(n, 1) * sizeof *all);
    int rc = CL_OK;
    if (n) { /* parts is NULL before the first partition: memcpy must not see it */
        memcpy(all, e->acc.parts, n * sizeof *all);
        rc = flush_parts(e, all, n);
    }
    free(all);
    cl_engine_emit_done(e);
    return rc;
}
