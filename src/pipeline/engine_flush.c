/* engine_flush.c - the engine's store side: commit due partitions through the commit
 * strategy and settle their messages under the retry policy (retry.h). */
#include "engine_int.h"

#include "breaker.h"
#include "codec.h"
#include "common.h"
#include "log.h"

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
    while (e->acc.n)
        cl_part_acc_remove(&e->acc, e->acc.n - 1);
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

/* Compresses and commits the partition at index. */
static int commit_part(struct cl_engine *e, size_t index)
{
    struct cl_part *pt = e->acc.parts[index];
    const char **ids = cl_malloc(pt->n_members * sizeof *ids);
    const char **finished = cl_malloc(pt->n_members * sizeof *finished);
    int *results = cl_malloc(pt->n_members * sizeof *results);
    size_t n_finished = 0;
    for (size_t i = 0; i < pt->n_members; i++) {
        const struct cl_engine_msg *m = (const struct cl_engine_msg *)pt->members[i];
        ids[i] = m->id;
        if (m->acc.pending == 1)
            finished[n_finished++] = m->receipt;
    }
    /* The object: the gzip members as they came, then the copied lines compressed as one
     * more member (a multi-member gzip file, RFC 1952 2.2). */
    const struct cl_buf *obj = &pt->gz;
    int rc = CL_OK;
    if (pt->data.len) {
        cl_buf_reset(&e->gz);
        cl_buf_append(&e->gz, pt->gz.data, pt->gz.len);
        rc = cl_gzip_compress(pt->data.data, pt->data.len, e->o.compression_level, &e->gz);
        obj = &e->gz;
    }
    char key[CL_PARTITION_MAX + 64];
    int published = 0;
    if (rc == CL_OK) {
        struct cl_commit_object o = {pt,       obj->data,  obj->len, ids, pt->n_members,
                                     finished, n_finished, results};
        rc = e->commit->ops->commit(e->commit->impl, &o, key, sizeof key, &published);
    }
    free(ids);
    free(finished);
    free(results);
    if (rc != CL_OK)
        return commit_failed(e, index, rc);
    if (!e->pass_failed && e->o.breaker)
        cl_breaker_success(e->o.breaker);
    count_object(e, pt, key, obj->len, published);
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

int cl_engine_flush_due(struct cl_engine *e, int64_t now)
{
    int rc = CL_OK;
    e->pass_failed = 0;
    for (size_t i = 0; i < e->acc.n && rc == CL_OK;) {
        struct cl_part *pt = e->acc.parts[i];
        if (pt->raw_len >= e->o.flush_size || now - pt->first_ms >= e->o.flush_age_ms)
            rc = flush_part(e, i); /* index i now holds the next partition */
        else
            i++;
    }
    while (rc == CL_OK && e->acc.n && cl_engine_over_budget(e))
        rc = flush_part(e, cl_part_acc_largest(&e->acc));
    cl_engine_emit_done(e);
    return rc;
}

int cl_engine_flush_all(struct cl_engine *e)
{
    int rc = CL_OK;
    e->pass_failed = 0;
    cl_part_acc_sort(&e->acc);
    while (rc == CL_OK && e->acc.n)
        rc = flush_part(e, 0);
    cl_engine_emit_done(e);
    return rc;
}
