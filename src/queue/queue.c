/* queue.c - backend-independent queue wrappers, defaults and URL dispatch. */
#include "queue.h"

#include "common.h"
#include "queue_sqlite.h"
#include "queue_sqs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_queue_opts_default(struct cl_queue_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_receive_count = 5;
    o->retention_s = 4 * 24 * 3600;
    o->dlq_retention_s = 0; /* never: the DLQ holds acknowledged records */
    o->idempotency_window_s = 24 * 3600;
    o->durability_full = 1;
    o->group_commit_max_ms = 2;
}

/* True when url starts with "scheme:"; a plain path has no ':' before its first '/'
 * (write "./a:b.db" for a relative file whose name contains a colon). */
static int has_scheme(const char *url, size_t *scheme_len)
{
    const char *colon = strchr(url, ':');
    const char *slash = strchr(url, '/');
    if (!colon || colon == url || (slash && slash < colon))
        return 0;
    *scheme_len = (size_t)(colon - url);
    return 1;
}

int cl_queue_open(struct cl_queue *q, const char *url, const struct cl_queue_opts *opts, char *err,
                  size_t err_len)
{
    struct cl_queue_opts defaults;
    if (!opts) {
        cl_queue_opts_default(&defaults);
        opts = &defaults;
    }
    memset(q, 0, sizeof *q);
    if (!url || !*url) {
        snprintf(err, err_len, "empty queue URL");
        return CL_ERR_INVAL;
    }
    if (cl_queue_sqs_url(url))
        return cl_queue_sqs_open(q, url, opts, err, err_len);
    size_t slen;
    if (!has_scheme(url, &slen))
        return cl_queue_sqlite_open(q, url, opts, err, err_len);
    if (slen == 6 && strncmp(url, "sqlite", 6) == 0) {
        if (!url[7]) {
            snprintf(err, err_len, "sqlite: URL has no path");
            return CL_ERR_INVAL;
        }
        return cl_queue_sqlite_open(q, url + 7, opts, err, err_len);
    }
    snprintf(err, err_len,
             "unsupported queue URL scheme '%.*s' (expected sqlite:PATH, a path, sqs://NAME or an "
             "SQS queue URL)",
             (int)CL_MIN(slen, 32), url);
    return CL_ERR_UNSUPPORTED;
}

int cl_queue_send(struct cl_queue *q, const struct cl_msg_out *msgs, size_t n)
{
    return q->ops->send(q->impl, msgs, n);
}

int cl_queue_receive(struct cl_queue *q, size_t max, int visibility_s, int wait_ms,
                     struct cl_msg **out, size_t *n)
{
    return q->ops->receive(q->impl, max, visibility_s, wait_ms, out, n);
}

int cl_queue_delete(struct cl_queue *q, const char *const *receipts, size_t n, int *results)
{
    return q->ops->delete_msgs(q->impl, receipts, n, results);
}

int cl_queue_change_visibility(struct cl_queue *q, const char *receipt, int visibility_s,
                               const char *error)
{
    return q->ops->change_visibility(q->impl, receipt, visibility_s, error);
}

int cl_queue_stats(struct cl_queue *q, struct cl_queue_stats *st)
{
    return q->ops->stats(q->impl, st);
}

int cl_queue_dlq_list(struct cl_queue *q, const char *after, size_t max, int with_bodies,
                      struct cl_msg **out, size_t *n)
{
    return q->ops->dlq_list(q->impl, after, max, with_bodies, out, n);
}

int cl_queue_dlq_redrive(struct cl_queue *q, const char *const *ids, size_t n, size_t *moved)
{
    return q->ops->dlq_redrive(q->impl, ids, n, moved);
}

int cl_queue_release(struct cl_queue *q, const char *receipt, int visibility_s, const char *error)
{
    if (!q->ops->release)
        return q->ops->change_visibility(q->impl, receipt, visibility_s, error);
    return q->ops->release(q->impl, receipt, visibility_s, error);
}

int cl_queue_dead_letter(struct cl_queue *q, const char *receipt, const char *error)
{
    if (!q->ops->dead_letter)
        return CL_ERR_UNSUPPORTED;
    return q->ops->dead_letter(q->impl, receipt, error);
}

int cl_queue_send_keyed(struct cl_queue *q, const struct cl_msg_out *msgs, size_t n,
                        const struct cl_idem *idem)
{
    if (!q->ops->send_keyed)
        return CL_ERR_UNSUPPORTED;
    return q->ops->send_keyed(q->impl, msgs, n, idem);
}

int cl_queue_idem_get(struct cl_queue *q, const char *key, struct cl_idem_answer *out)
{
    if (!q->ops->idem_get)
        return CL_ERR_UNSUPPORTED;
    return q->ops->idem_get(q->impl, key, out);
}

int cl_queue_ping(struct cl_queue *q)
{
    return q->ops->ping(q->impl);
}

void cl_queue_close(struct cl_queue *q)
{
    if (q->ops)
        q->ops->close(q->impl);
    q->ops = NULL;
    q->impl = NULL;
}

void cl_msgs_free(struct cl_msg *msgs, size_t n)
{
    if (!msgs)
        return;
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].id);
        free(msgs[i].receipt);
        free(msgs[i].body);
        free(msgs[i].last_error);
    }
    free(msgs);
}
