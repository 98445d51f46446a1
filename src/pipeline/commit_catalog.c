/* commit_catalog.c - the exactly-once commit strategy over the embedded catalog (commit.h).
 *
 * One object: put under _staging/<id> -> ONE catalog transaction: object row + progress
 * rows + delete the messages now stored in every partition -> move to the final key ->
 * mark published (catalog.h says why this order is crash-safe). A move that fails after
 * the commit is kept and retried at run time by tick (start-up recovery covers a crash).
 * commit_batch does the same for several partitions at once (those due in one engine step,
 * or every one at the idle flush and at shutdown): puts with
 * one sync of _staging/, ONE catalog transaction, moves with one sync per directory, one
 * unsynced publish transaction. */
#include "commit.h"

#include "catalog.h"
#include "common.h"
#include "log.h"
#include "metrics.h"
#include "phase_clock.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest wait between two publication retries. */
#define REPUBLISH_MAX_MS 30000

/* A committed object whose move into place failed. */
struct unpublished {
    int64_t object_id;
    char *staging;
    char *key;
};

struct catalog_commit {
    struct cl_catalog *cat; /* the queue's (cl_queue_catalog) */
    struct cl_store *st;
    int64_t retry_base_ms, retry_max_ms;
    const struct cl_std_metrics *m;
    struct unpublished *unpub; /* oldest first */
    size_t n_unpub, cap_unpub;
    int64_t unpub_next_ms;
};

static int has_progress(void *impl, const char *msg_id, int *has)
{
    struct catalog_commit *c = impl;
    return cl_catalog_message_has_progress(c->cat, msg_id, has);
}

static int has_progress_many(void *impl, const char *const *msg_ids, size_t n, int *has)
{
    struct catalog_commit *c = impl;
    return cl_catalog_messages_have_progress(c->cat, msg_ids, n, has);
}

static int partition_done(void *impl, const char *msg_id, const char *partition, int *done)
{
    struct catalog_commit *c = impl;
    return cl_catalog_partition_done(c->cat, msg_id, partition, done);
}

static void fill_row(const struct cl_commit_object *o, struct cl_catalog_object *row,
                     const char *key, const char *staging)
{
    const struct cl_part *pt = o->part;
    memset(row, 0, sizeof *row);
    row->key = key;
    row->staging_key = staging;
    row->service = pt->head.service;
    row->dt = pt->head.dt;
    row->hour = pt->head.hour;
    row->records = pt->records;
    row->bytes = o->gz_len;
    row->raw_bytes = pt->raw_len;
    row->min_ts_ms = pt->min_ts;
    row->max_ts_ms = pt->max_ts;
    for (int l = 0; l < CL_CATALOG_LEVELS; l++)
        row->level_counts[l] = pt->levels[l];
}

/* Moves a committed object into place. A move that finds the staging object gone but
 * the final one present was done by an earlier attempt whose mark failed. */
static int move_and_mark(struct catalog_commit *c, const char *staging, const char *key, int64_t id)
{
    int rc = cl_store_move(c->st, staging, key);
    if (rc == CL_ERR_NOT_FOUND) {
        struct cl_buf probe;
        cl_buf_init(&probe, 1u << 30);
        rc = cl_store_get(c->st, key, &probe);
        cl_buf_free(&probe);
    }
    if (rc == CL_OK)
        rc = cl_catalog_mark_published(c->cat, id);
    return rc;
}

static void remember_unpublished(struct catalog_commit *c, const char *staging, const char *key,
                                 int64_t id)
{
    if (c->n_unpub == c->cap_unpub) {
        c->cap_unpub = c->cap_unpub ? c->cap_unpub * 2 : 8;
        c->unpub = cl_realloc(c->unpub, c->cap_unpub * sizeof *c->unpub);
    }
    c->unpub[c->n_unpub++] =
        (struct unpublished){.object_id = id, .staging = cl_strdup(staging), .key = cl_strdup(key)};
    if (c->n_unpub == 1)
        c->unpub_next_ms = cl_now_ms() + c->retry_base_ms;
}

static int commit(void *impl, const struct cl_commit_object *o, char *key, size_t key_len,
                  int *published)
{
    struct catalog_commit *c = impl;
    char id[CL_OBJECT_ID_LEN + 1], staging[128];
    cl_object_id_new(cl_now_ms(), id);
    snprintf(staging, sizeof staging, CL_STAGING_PREFIX "%s.ndjson.gz", id);
    snprintf(key, key_len, "%s/%s.ndjson.gz", o->part->key, id);
    int prev = cl_phase_enter(CL_PHASE_PUT);
    int rc = cl_store_put(c->st, staging, o->gz, o->gz_len);
    if (rc != CL_OK) {
        cl_phase_enter(prev);
        return rc;
    }
    struct cl_catalog_object row;
    fill_row(o, &row, key, staging);
    int64_t object_id = 0;
    struct cl_catalog_flush f = {&row,        o->msg_ids,    o->n_msg,
                                 o->finished, o->n_finished, &object_id};
    rc = cl_catalog_commit_flush(c->cat, &f, o->finished_results);
    if (rc != CL_OK) {
        if (rc != CL_ERR_NOT_DURABLE) /* else staged for start-up recovery (catalog.h) */
            cl_store_delete(c->st, staging);
        cl_phase_enter(prev);
        return rc;
    }
    /* Committed: its records must become visible without a restart. */
    cl_phase_enter(CL_PHASE_MOVE);
    *published = move_and_mark(c, staging, key, object_id) == CL_OK;
    cl_phase_enter(prev);
    if (!*published) {
        cl_log(CL_LOG_ERROR, "processor: cannot publish %s (retried)", key);
        cl_counter_add_at(c->m->processing_errors, CL_PERR_PUBLISH, 1);
        remember_unpublished(c, staging, key, object_id);
    }
    return CL_OK;
}

/* One object of a batch: its keys and its catalog rows. */
struct batch_item {
    char staging[128];
    const char *staging_key, *key;
    struct cl_catalog_object row;
    int64_t object_id;
};

static void discard_staging(struct catalog_commit *c, const struct batch_item *it, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cl_store_delete(c->st, it[i].staging_key);
}

/* Moves the committed objects into place (one sync per directory) and marks those moved
 * published in one unsynced transaction; the others are retried by tick. */
static void publish_batch(struct catalog_commit *c, struct batch_item *it, size_t n, int *published)
{
    const char **from = cl_malloc(n * sizeof *from), **to = cl_malloc(n * sizeof *to);
    int *rcs = cl_malloc(n * sizeof *rcs);
    int64_t *moved = cl_malloc(n * sizeof *moved);
    size_t n_moved = 0;
    for (size_t i = 0; i < n; i++) {
        from[i] = it[i].staging_key;
        to[i] = it[i].key;
    }
    cl_phase_enter(CL_PHASE_MOVE);
    cl_store_move_many(c->st, from, to, n, rcs);
    for (size_t i = 0; i < n; i++)
        if (rcs[i] == CL_OK)
            moved[n_moved++] = it[i].object_id;
    int mark_rc = n_moved ? cl_catalog_mark_published_many(c->cat, moved, n_moved) : CL_OK;
    for (size_t i = 0; i < n; i++) {
        published[i] = rcs[i] == CL_OK && mark_rc == CL_OK;
        if (published[i])
            continue;
        cl_log(CL_LOG_ERROR, "processor: cannot publish %s (retried)", it[i].key);
        cl_counter_add_at(c->m->processing_errors, CL_PERR_PUBLISH, 1);
        remember_unpublished(c, it[i].staging_key, it[i].key, it[i].object_id);
    }
    free(from);
    free(to);
    free(rcs);
    free(moved);
}

static int commit_batch(void *impl, const struct cl_commit_object *o, size_t n,
                        char (*keys)[CL_COMMIT_KEY_MAX], int *published)
{
    struct catalog_commit *c = impl;
    struct batch_item *it = cl_calloc(n, sizeof *it);
    const char **skeys = cl_malloc(n * sizeof *skeys);
    const void **data = cl_malloc(n * sizeof *data);
    size_t *lens = cl_malloc(n * sizeof *lens);
    struct cl_catalog_flush *flushes = cl_malloc(n * sizeof *flushes);
    int **results = cl_malloc(n * sizeof *results);
    for (size_t i = 0; i < n; i++) {
        char id[CL_OBJECT_ID_LEN + 1];
        cl_object_id_new(cl_now_ms(), id);
        snprintf(it[i].staging, sizeof it[i].staging, CL_STAGING_PREFIX "%s.ndjson.gz", id);
        snprintf(keys[i], CL_COMMIT_KEY_MAX, "%s/%s.ndjson.gz", o[i].part->key, id);
        it[i].staging_key = skeys[i] = it[i].staging;
        it[i].key = keys[i];
        data[i] = o[i].gz;
        lens[i] = o[i].gz_len;
        fill_row(&o[i], &it[i].row, keys[i], it[i].staging);
        flushes[i] = (struct cl_catalog_flush){&it[i].row,    o[i].msg_ids,    o[i].n_msg,
                                               o[i].finished, o[i].n_finished, &it[i].object_id};
        results[i] = o[i].finished_results;
    }
    int prev = cl_phase_enter(CL_PHASE_PUT);
    int rc = cl_store_put_many(c->st, skeys, data, lens, n);
    if (rc == CL_OK)
        rc = cl_catalog_commit_flushes(c->cat, flushes, n, results);
    if (rc == CL_OK) /* Committed: its records must become visible without a restart. */
        publish_batch(c, it, n, published);
    else if (rc != CL_ERR_NOT_DURABLE) /* that one stays staged for start-up recovery */
        discard_staging(c, it, n);
    cl_phase_enter(prev);
    free(it);
    free(skeys);
    free(data);
    free(lens);
    free(flushes);
    free(results);
    return rc;
}

static void tick(void *impl, int64_t now)
{
    struct catalog_commit *c = impl;
    if (c->n_unpub == 0 || now < c->unpub_next_ms)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < c->n_unpub; i++) {
        struct unpublished *u = &c->unpub[i];
        int rc = move_and_mark(c, u->staging, u->key, u->object_id);
        if (rc == CL_OK || rc == CL_ERR_NOT_FOUND) {
            if (rc == CL_OK)
                cl_log(CL_LOG_INFO, "processor: published %s after a retry", u->key);
            else
                cl_log(CL_LOG_ERROR, "processor: %s and its staging object are gone", u->key);
            free(u->staging);
            free(u->key);
        } else {
            c->unpub[kept++] = *u;
        }
    }
    c->n_unpub = kept;
    c->unpub_next_ms = now + CL_MIN(c->retry_max_ms, (int64_t)REPUBLISH_MAX_MS);
}

static void catalog_free(void *impl)
{
    struct catalog_commit *c = impl;
    for (size_t i = 0; i < c->n_unpub; i++) {
        free(c->unpub[i].staging);
        free(c->unpub[i].key);
    }
    free(c->unpub);
    free(c);
}

static const struct cl_commit_ops catalog_ops = {
    .name = "catalog",
    .acks_in_commit = 1,
    .has_progress = has_progress,
    .has_progress_many = has_progress_many,
    .partition_done = partition_done,
    .commit = commit,
    .commit_batch = commit_batch,
    .tick = tick,
    .free = catalog_free,
};

struct cl_commit *cl_commit_catalog_new(struct cl_queue *q, struct cl_store *st,
                                        int64_t retry_base_ms, int64_t retry_max_ms,
                                        const struct cl_std_metrics *m)
{
    struct catalog_commit *c = cl_calloc(1, sizeof *c);
    c->cat = cl_queue_catalog(q);
    c->st = st;
    c->retry_base_ms = retry_base_ms;
    c->retry_max_ms = retry_max_ms;
    c->m = m ? m : &cl_std_metrics_none;
    struct cl_commit *out = cl_calloc(1, sizeof *out);
    *out = (struct cl_commit){&catalog_ops, c};
    return out;
}

void cl_commit_free(struct cl_commit *c)
{
    if (!c)
        return;
    c->ops->free(c->impl);
    free(c);
}
