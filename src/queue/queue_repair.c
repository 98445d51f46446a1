/* queue_repair.c - queue_repair.h's calls: each goes to the queue's vtable or to the
 * registry entry of the backend that keeps queue files, never to a named backend. */
#include "queue_repair.h"

#include "common.h"

#include <stdio.h>

int cl_queue_integrity(struct cl_queue *q, size_t max_lines,
                       void (*fn)(void *arg, const char *line), void *arg)
{
    return q && q->ops && q->ops->integrity ? q->ops->integrity(q->impl, max_lines, fn, arg)
                                            : CL_ERR_UNSUPPORTED;
}

int cl_queue_salvage(struct cl_queue *dst, const char *src_path, cl_salvage_check_fn check,
                     void *check_arg, struct cl_salvage_result *r, char *err, size_t err_len)
{
    if (dst && dst->ops && dst->ops->salvage)
        return dst->ops->salvage(dst->impl, src_path, check, check_arg, r, err, err_len);
    snprintf(err, err_len, "this queue cannot take salvaged messages");
    return CL_ERR_UNSUPPORTED;
}

/* Quarantined files belong to the backend a plain path names: the local-file one. */
static const struct cl_queue_quarantine_ops *file_backend(void)
{
    const struct cl_queue_backend *be = cl_queue_backend_of("queue.db");
    return be ? be->quarantine : NULL;
}

int cl_queue_quarantine_move(const char *url, const char *dir, int64_t now_ms, char *moved_to,
                             size_t moved_len, char *err, size_t err_len)
{
    const struct cl_queue_backend *be = cl_queue_backend_of(url);
    const char *path = cl_queue_url_file(url);
    if (!be || !be->quarantine || !path) {
        snprintf(err, err_len, "the queue '%.200s' is no local file to move aside", url);
        return CL_ERR_UNSUPPORTED;
    }
    return be->quarantine->move(path, dir, now_ms, moved_to, moved_len, err, err_len);
}

int cl_queue_quarantine_list(const char *dir, int pending_only,
                             int (*fn)(void *arg, const char *path), void *arg)
{
    const struct cl_queue_quarantine_ops *o = file_backend();
    return o ? o->list(dir, pending_only, fn, arg) : 0;
}

int cl_queue_quarantine_unpublished(const char *path,
                                    void (*fn)(void *arg, const char *staging_key, const char *key),
                                    void *arg)
{
    const struct cl_queue_quarantine_ops *o = file_backend();
    return o ? o->unpublished(path, fn, arg) : CL_ERR_UNSUPPORTED;
}

int cl_queue_quarantine_mark_salvaged(const char *path, const char *summary_json)
{
    const struct cl_queue_quarantine_ops *o = file_backend();
    return o ? o->mark_salvaged(path, summary_json) : CL_ERR_UNSUPPORTED;
}
