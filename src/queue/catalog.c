/* catalog.c - the catalog interface's wrappers (catalog.h): a NULL catalog (a queue
 * whose backend keeps none) answers CL_ERR_UNSUPPORTED to every call. */
#include "catalog.h"
#include "catalog_verify.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>

struct cl_catalog *cl_queue_catalog(struct cl_queue *q)
{
    return q && q->ops && q->ops->catalog ? q->ops->catalog(q->impl) : NULL;
}

int cl_catalog_open_reader(const char *url, struct cl_catalog **out, char *err, size_t err_len)
{
    const struct cl_queue_backend *be = cl_queue_backend_of(url);
    const char *file = cl_queue_url_file(url);
    *out = NULL;
    if (!be || !be->open_catalog_reader) {
        snprintf(err, err_len, "no catalog reader for queue '%.200s'", url ? url : "");
        return CL_ERR_UNSUPPORTED;
    }
    return be->open_catalog_reader(file ? file : url, out, err, err_len);
}

void cl_catalog_close(struct cl_catalog *c)
{
    if (c && c->ops->close)
        c->ops->close(c->impl);
}

int cl_catalog_commit_flush(struct cl_catalog *c, const struct cl_catalog_flush *f,
                            int *delete_results)
{
    return cl_catalog_commit_flushes(c, f, 1, &delete_results);
}

int cl_catalog_commit_flushes(struct cl_catalog *c, const struct cl_catalog_flush *f, size_t n,
                              int *const *delete_results)
{
    return c ? c->ops->commit_flushes(c->impl, f, n, delete_results) : CL_ERR_UNSUPPORTED;
}

int cl_catalog_partition_done(struct cl_catalog *c, const char *msg_id, const char *partition,
                              int *done)
{
    return c ? c->ops->partition_done(c->impl, msg_id, partition, done) : CL_ERR_UNSUPPORTED;
}

int cl_catalog_message_has_progress(struct cl_catalog *c, const char *msg_id, int *has)
{
    return c ? c->ops->message_has_progress(c->impl, msg_id, has) : CL_ERR_UNSUPPORTED;
}

int cl_catalog_messages_have_progress(struct cl_catalog *c, const char *const *msg_ids, size_t n,
                                      int *has)
{
    if (!c)
        return CL_ERR_UNSUPPORTED;
    if (c->ops->messages_have_progress)
        return c->ops->messages_have_progress(c->impl, msg_ids, n, has);
    int rc = CL_OK;
    for (size_t i = 0; rc == CL_OK && i < n; i++)
        rc = c->ops->message_has_progress(c->impl, msg_ids[i], &has[i]);
    return rc;
}

int cl_catalog_unpublished(struct cl_catalog *c,
                           int (*fn)(void *arg, int64_t object_id, const char *staging_key,
                                     const char *key),
                           void *arg)
{
    return c ? c->ops->unpublished(c->impl, fn, arg) : CL_ERR_UNSUPPORTED;
}

int cl_catalog_mark_published(struct cl_catalog *c, int64_t object_id)
{
    return cl_catalog_mark_published_many(c, &object_id, 1);
}

int cl_catalog_mark_published_many(struct cl_catalog *c, const int64_t *ids, size_t n)
{
    return c ? c->ops->mark_published(c->impl, ids, n) : CL_ERR_UNSUPPORTED;
}

int cl_catalog_staging_referenced(struct cl_catalog *c, const char *staging_key, int *referenced)
{
    return c ? c->ops->staging_referenced(c->impl, staging_key, referenced) : CL_ERR_UNSUPPORTED;
}

int cl_catalog_stats(struct cl_catalog *c, struct cl_catalog_stats *st)
{
    return c ? c->ops->stats(c->impl, st) : CL_ERR_UNSUPPORTED;
}

int cl_catalog_objects(struct cl_catalog *c, const char *dt_from, const char *dt_to,
                       int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg)
{
    return c ? c->ops->objects(c->impl, dt_from, dt_to, fn, arg) : CL_ERR_UNSUPPORTED;
}

int cl_catalog_select(struct cl_catalog *c, const struct cl_catalog_filter *f,
                      int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg,
                      uint64_t *considered)
{
    return c ? c->ops->select(c->impl, f, fn, arg, considered) : CL_ERR_UNSUPPORTED;
}

int cl_catalog_rows(struct cl_catalog *c, struct cl_catalog_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    return c && c->ops->rows ? c->ops->rows(c->impl, rows, n) : CL_ERR_UNSUPPORTED;
}

void cl_catalog_rows_free(struct cl_catalog_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].key);
        free(rows[i].staging_key);
    }
    free(rows);
}

int cl_catalog_add_published(struct cl_catalog *c, const struct cl_catalog_object *o)
{
    return c && c->ops->add_published ? c->ops->add_published(c->impl, o) : CL_ERR_UNSUPPORTED;
}

int cl_catalog_mark_lost(struct cl_catalog *c, int64_t object_id, const char *reason)
{
    return c && c->ops->mark_lost ? c->ops->mark_lost(c->impl, object_id, reason)
                                  : CL_ERR_UNSUPPORTED;
}

int cl_catalog_lost_count(struct cl_catalog *c, uint64_t *n)
{
    *n = 0;
    return c && c->ops->lost_count ? c->ops->lost_count(c->impl, n) : CL_ERR_UNSUPPORTED;
}
