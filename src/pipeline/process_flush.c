/* process_flush.c - the processor's store side: flush partitions exactly once, release
 * messages for retry with backoff, keep held messages invisible.
 *
 * Flush of one partition (see catalog.h for why this order is crash-safe):
 *   compress -> put under _staging/<id> -> one transaction: catalog row + progress rows
 *   + delete the messages now stored in every partition -> move to the final key ->
 *   mark published.
 * Any failure before the transaction commits is systemic (the store or the queue file,
 * never one message's fault): every held message of this worker goes back to the queue
 * without counting its receive and the circuit breaker opens (breaker.h); partitions
 * stored earlier are skipped later thanks to the progress rows. A failed move after the
 * commit is retried at run time. */
#include "process_int.h"

#include "breaker.h"
#include "catalog.h"
#include "codec.h"
#include "held_set.h"
#include "common.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_proc_held_remove(struct cl_processor *p, struct held *h)
{
    size_t last = p->n_held - 1;
    p->held[h->slot] = p->held[last];
    p->held[h->slot]->slot = h->slot;
    p->n_held--;
    cl_held_set_release(p->held_set, h->id, p);
    free(h->receipt);
    free(h);
}

void cl_proc_part_remove(struct cl_processor *p, size_t index)
{
    struct part *pt = p->parts[index];
    cl_part_map_del(&p->part_index, pt->key);
    p->buffered -= pt->data.len;
    cl_buf_free(&pt->data);
    free(pt->contrib);
    free(pt);
    p->parts[index] = p->parts[--p->n_parts];
}

/* Backoff for a message received receive_count times: base * 2^(count-1), capped, with
 * jitter in [50%, 100%] so retries of a failed batch spread out. Rounded up to whole
 * seconds, the queue's visibility unit. */
static int backoff_s(struct cl_processor *p, uint32_t receive_count)
{
    int64_t ms = p->o.retry_base_ms;
    for (uint32_t i = 1; i < receive_count && ms < p->o.retry_max_ms; i++)
        ms *= 2;
    ms = CL_MIN(ms, p->o.retry_max_ms);
    ms = ms / 2 + (int64_t)(rand_r(&p->rng) % (unsigned)(ms / 2 + 1));
    return (int)((ms + 999) / 1000);
}

void cl_proc_release(struct cl_processor *p, const char *receipt, uint32_t receive_count,
                     const char *error)
{
    int rc = cl_queue_change_visibility(p->q, receipt, backoff_s(p, receive_count), error);
    cl_counter_add(p->o.metrics->retries, 1);
    if (rc != CL_OK && rc != CL_ERR_STALE)
        cl_log(CL_LOG_WARN, "processor: cannot release message %s: %s", receipt, cl_strerror(rc));
}

/* Gives a message back without counting its receive: the failure was not its own.
 * Visible at once: nobody receives while the breaker is open anyway. */
static void give_back(struct cl_processor *p, const struct held *h, const char *error)
{
    int rc = cl_queue_release(p->q, h->receipt, 0, error);
    cl_counter_add(p->o.metrics->retries, 1);
    if (rc != CL_OK && rc != CL_ERR_STALE)
        cl_log(CL_LOG_WARN, "processor: cannot give back message %s: %s", h->receipt,
               cl_strerror(rc));
}

void cl_proc_fail_all(struct cl_processor *p, const char *error)
{
    int on_trial = cl_breaker_failure(p->breaker, cl_now_ms(), error);
    cl_log(CL_LOG_WARN, "processor: %s; giving %zu message(s) back%s", error, p->n_held,
           on_trial ? " (counted: the store answered a probe but refused this batch)" : "");
    p->c.failures++;
    cl_counter_add_at(p->o.metrics->processing_errors, CL_PERR_STORE, 1);
    while (p->n_parts)
        cl_proc_part_remove(p, p->n_parts - 1);
    while (p->n_held) {
        struct held *h = p->held[p->n_held - 1];
        if (on_trial)
            cl_proc_release(p, h->receipt, h->receive_count, error);
        else
            give_back(p, h, error);
        cl_proc_held_remove(p, h);
    }
}

void cl_proc_extend_visibility(struct cl_processor *p, int64_t now)
{
    int64_t window = (int64_t)p->o.visibility_s * 1000;
    for (size_t i = 0; i < p->n_held; i++) {
        struct held *h = p->held[i];
        if (h->visible_until_ms - now > window / 2)
            continue;
        int rc = cl_queue_change_visibility(p->q, h->receipt, p->o.visibility_s, NULL);
        if (rc == CL_OK)
            h->visible_until_ms = now + window;
        else
            cl_log(CL_LOG_WARN, "processor: cannot extend visibility of %s: %s", h->receipt,
                   cl_strerror(rc));
    }
}

static void fill_object(const struct part *pt, struct cl_catalog_object *o, const char *key,
                        const char *staging, size_t gz_len)
{
    memset(o, 0, sizeof *o);
    o->key = key;
    o->staging_key = staging;
    o->service = pt->head.service;
    o->dt = pt->head.dt;
    o->hour = pt->head.hour;
    o->records = pt->records;
    o->bytes = gz_len;
    o->raw_bytes = pt->data.len;
    o->min_ts_ms = pt->min_ts;
    o->max_ts_ms = pt->max_ts;
    for (int l = 0; l < CL_CATALOG_LEVELS; l++)
        o->level_counts[l] = pt->levels[l];
}

/* Commits the catalog entry; deletes contributors stored in every partition now. */
static int commit_object(struct cl_processor *p, struct part *pt, const char *key,
                         const char *staging, int64_t *object_id)
{
    struct cl_catalog_object o;
    fill_object(pt, &o, key, staging, p->gz.len);
    int64_t *ids = cl_malloc(pt->n_contrib * sizeof *ids);
    const char **receipts = cl_malloc(pt->n_contrib * sizeof *receipts);
    int *results = cl_malloc(pt->n_contrib * sizeof *results);
    size_t n_del = 0;
    for (size_t i = 0; i < pt->n_contrib; i++) {
        ids[i] = pt->contrib[i]->id;
        if (pt->contrib[i]->pending == 1)
            receipts[n_del++] = pt->contrib[i]->receipt;
    }
    struct cl_catalog_flush f = {&o, ids, pt->n_contrib, receipts, n_del, object_id};
    int rc = cl_catalog_commit_flush(cl_queue_catalog(p->q), &f, results);
    if (rc == CL_OK)
        p->c.messages_deleted += n_del;
    free(ids);
    free(receipts);
    free(results);
    return rc;
}

/* After the commit: contributors lose one pending partition; finished ones go. */
static void settle_contributors(struct cl_processor *p, struct part *pt)
{
    for (size_t i = 0; i < pt->n_contrib; i++) {
        struct held *h = pt->contrib[i];
        if (--h->pending == 0)
            cl_proc_held_remove(p, h);
    }
    pt->n_contrib = 0;
}

/* Moves a committed object into place. A move that finds the staging object gone but
 * the final one present was done by an earlier attempt whose mark failed. */
static int move_and_mark(struct cl_processor *p, const char *staging, const char *key, int64_t id)
{
    int rc = cl_store_move(p->st, staging, key);
    if (rc == CL_ERR_NOT_FOUND) {
        struct cl_buf probe;
        cl_buf_init(&probe, 1u << 30);
        rc = cl_store_get(p->st, key, &probe);
        cl_buf_free(&probe);
    }
    if (rc == CL_OK)
        rc = cl_catalog_mark_published(cl_queue_catalog(p->q), id);
    return rc;
}

static void remember_unpublished(struct cl_processor *p, const char *staging, const char *key,
                                 int64_t id)
{
    if (p->n_unpub == p->cap_unpub) {
        p->cap_unpub = p->cap_unpub ? p->cap_unpub * 2 : 8;
        p->unpub = cl_realloc(p->unpub, p->cap_unpub * sizeof *p->unpub);
    }
    p->unpub[p->n_unpub++] =
        (struct unpublished){.object_id = id, .staging = cl_strdup(staging), .key = cl_strdup(key)};
    if (p->n_unpub == 1)
        p->unpub_next_ms = cl_now_ms() + p->o.retry_base_ms;
}

/* Committed, so its records must become visible without a restart: a failed move is
 * kept and retried by cl_proc_retry_publish (start-up recovery covers a crash). */
static int publish(struct cl_processor *p, const char *staging, const char *key, int64_t id)
{
    int rc = move_and_mark(p, staging, key, id);
    if (rc != CL_OK) {
        cl_log(CL_LOG_ERROR, "processor: cannot publish %s: %s (retried)", key, cl_strerror(rc));
        cl_counter_add_at(p->o.metrics->processing_errors, CL_PERR_PUBLISH, 1);
        remember_unpublished(p, staging, key, id);
    }
    return rc;
}

void cl_proc_unpub_free(struct cl_processor *p)
{
    for (size_t i = 0; i < p->n_unpub; i++) {
        free(p->unpub[i].staging);
        free(p->unpub[i].key);
    }
    free(p->unpub);
    p->unpub = NULL;
    p->n_unpub = p->cap_unpub = 0;
}

void cl_proc_retry_publish(struct cl_processor *p, int64_t now)
{
    if (p->n_unpub == 0 || now < p->unpub_next_ms)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < p->n_unpub; i++) {
        struct unpublished *u = &p->unpub[i];
        int rc = move_and_mark(p, u->staging, u->key, u->object_id);
        if (rc == CL_OK || rc == CL_ERR_NOT_FOUND) {
            if (rc == CL_OK)
                cl_log(CL_LOG_INFO, "processor: published %s after a retry", u->key);
            else
                cl_log(CL_LOG_ERROR, "processor: %s and its staging object are gone", u->key);
            free(u->staging);
            free(u->key);
        } else {
            p->unpub[kept++] = *u;
        }
    }
    p->n_unpub = kept;
    p->unpub_next_ms = now + CL_MIN(p->o.retry_max_ms, (int64_t)CL_BREAKER_PROBE_MAX_MS);
}

/* Counts a committed object; the contributors' send times (taken before they were
 * settled) give EndToEndLatency once it is published. */
static void count_object(struct cl_processor *p, const struct part *pt, size_t gz_len)
{
    const struct cl_std_metrics *m = p->o.metrics;
    p->c.objects_written++;
    p->c.records_stored += pt->records;
    p->c.bytes_stored += gz_len;
    cl_counter_add(m->objects_written, 1);
    cl_counter_add(m->processed_log_count, pt->records);
    cl_counter_add(m->stored_bytes, gz_len);
}

static void observe_end_to_end(struct cl_processor *p, const int64_t *sent_ms, size_t n)
{
    int64_t now = cl_now_ms();
    for (size_t i = 0; i < n; i++)
        cl_histogram_observe(p->o.metrics->end_to_end_latency,
                             (uint64_t)CL_MAX(now - sent_ms[i], 0) * 1000);
}

int cl_proc_flush_part(struct cl_processor *p, size_t index)
{
    struct part *pt = p->parts[index];
    if (pt->records == 0) {
        cl_proc_part_remove(p, index);
        return CL_OK;
    }
    char id[CL_OBJECT_ID_LEN + 1], staging[128], key[CL_PARTITION_MAX + 64], err[256];
    cl_object_id_new(cl_now_ms(), id);
    snprintf(staging, sizeof staging, CL_STAGING_PREFIX "%s.ndjson.gz", id);
    snprintf(key, sizeof key, "%s/%s.ndjson.gz", pt->key, id);
    cl_buf_reset(&p->gz);
    int rc = cl_gzip_compress(pt->data.data, pt->data.len, p->o.compression_level, &p->gz);
    if (rc == CL_OK)
        rc = cl_store_put(p->st, staging, p->gz.data, p->gz.len);
    int64_t object_id = 0;
    if (rc == CL_OK) {
        rc = commit_object(p, pt, key, staging, &object_id);
        if (rc != CL_OK)
            cl_store_delete(p->st, staging);
    }
    if (rc != CL_OK) {
        snprintf(err, sizeof err, "cannot store object for %s: %s", pt->key, cl_strerror(rc));
        cl_proc_fail_all(p, err);
        return rc;
    }
    cl_breaker_success(p->breaker);
    count_object(p, pt, p->gz.len);
    size_t n_sent = pt->n_contrib;
    int64_t *sent_ms = cl_malloc(CL_MAX(n_sent, (size_t)1) * sizeof *sent_ms);
    for (size_t i = 0; i < n_sent; i++)
        sent_ms[i] = pt->contrib[i]->sent_ms;
    settle_contributors(p, pt);
    cl_proc_part_remove(p, index);
    if (publish(p, staging, key, object_id) == CL_OK)
        observe_end_to_end(p, sent_ms, n_sent);
    free(sent_ms);
    return CL_OK;
}

static size_t largest_part(const struct cl_processor *p)
{
    size_t best = 0;
    for (size_t i = 1; i < p->n_parts; i++)
        if (p->parts[i]->data.len > p->parts[best]->data.len)
            best = i;
    return best;
}

void cl_proc_flush_due(struct cl_processor *p, int64_t now)
{
    for (size_t i = 0; i < p->n_parts;) {
        struct part *pt = p->parts[i];
        int due = pt->data.len >= p->o.flush_size || now - pt->first_ms >= p->o.flush_age_ms;
        if (!due) {
            i++;
            continue;
        }
        if (cl_proc_flush_part(p, i) != CL_OK)
            return; /* everything was released */
        /* index i now holds the part moved from the end: look at it next */
    }
    while (p->n_parts && p->buffered > p->o.buffer_max)
        if (cl_proc_flush_part(p, largest_part(p)) != CL_OK)
            return;
}
