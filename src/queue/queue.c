/* queue.c - the queue backend registry, URL dispatch, defaults and the wrappers every
 * caller uses. This file and its table are the only place that names the backends. */
#include "queue.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each backend's library defines its open function. Declared weak: a program linked
 * without a backend's library (the Lambda functions carry no SQLite) finds NULL here,
 * and each backend library makes the programs that link it pull its open in (CMake:
 * LINKER:-u). */
int cl_queue_sqlite_open(struct cl_queue *q, const char *path, const struct cl_queue_opts *opts,
                         char *err, size_t err_len) __attribute__((weak));
int cl_queue_sqs_open(struct cl_queue *q, const char *url, const struct cl_queue_opts *opts,
                      char *err, size_t err_len) __attribute__((weak));
int cl_queue_sqlite_catalog_reader(const char *path, struct cl_catalog **out, char *err,
                                   size_t err_len) __attribute__((weak));
extern const struct cl_queue_quarantine_ops cl_queue_sqlite_quarantine __attribute__((weak));

/* THE REGISTRY: a new backend is its library plus one line here. The first
 * CL_QUEUE_CAP_LOCAL_FILE entry also takes plain paths. */
static const struct cl_queue_backend backends[] = {
    {"sqlite",
     "SQLite",
     {"sqlite:", NULL},
     "sqlite:PATH, a path",
     CL_QUEUE_CAP_LOCAL_FILE | CL_QUEUE_CAP_CATALOG | CL_QUEUE_CAP_EXACT_STATS,
     cl_queue_sqlite_open,
     cl_queue_sqlite_catalog_reader,
     &cl_queue_sqlite_quarantine},
    {"sqs",
     "SQS",
     {"sqs://", "https://", "http://", NULL},
     "sqs://NAME or an SQS queue URL",
     CL_QUEUE_CAP_DLQ_SAMPLE,
     cl_queue_sqs_open,
     NULL,
     NULL},
};

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

/* The entry claiming url and the length of the prefix it matched (0: a plain path). */
static const struct cl_queue_backend *find_backend(const char *url, size_t *prefix_len)
{
    for (size_t i = 0; i < CL_ARRAY_LEN(backends); i++)
        for (size_t j = 0; backends[i].prefixes[j]; j++)
            if (strncmp(url, backends[i].prefixes[j], strlen(backends[i].prefixes[j])) == 0) {
                *prefix_len = strlen(backends[i].prefixes[j]);
                return &backends[i];
            }
    size_t slen;
    if (has_scheme(url, &slen))
        return NULL;
    *prefix_len = 0;
    for (size_t i = 0; i < CL_ARRAY_LEN(backends); i++)
        if (backends[i].caps & CL_QUEUE_CAP_LOCAL_FILE)
            return &backends[i];
    return NULL;
}

const struct cl_queue_backend *cl_queue_backend_of(const char *url)
{
    size_t plen;
    return url ? find_backend(url, &plen) : NULL;
}

const char *cl_queue_url_file(const char *url)
{
    size_t plen;
    const struct cl_queue_backend *be = url ? find_backend(url, &plen) : NULL;
    return be && (be->caps & CL_QUEUE_CAP_LOCAL_FILE) ? url + plen : NULL;
}

int cl_queue_file_url(const char *path, char *out, size_t out_len)
{
    for (size_t i = 0; i < CL_ARRAY_LEN(backends); i++)
        if (backends[i].caps & CL_QUEUE_CAP_LOCAL_FILE) {
            int w = snprintf(out, out_len, "%s%s", backends[i].prefixes[0], path);
            return w >= 0 && (size_t)w < out_len ? 0 : -1;
        }
    return -1;
}

/* "unsupported queue URL scheme 'x' (expected FORMS, FORMS)" from the registry. */
static void unsupported(const char *url, char *err, size_t err_len)
{
    size_t slen = 0;
    has_scheme(url, &slen);
    int w = snprintf(err, err_len, "unsupported queue URL scheme '%.*s' (expected ",
                     (int)CL_MIN(slen, 32), url);
    for (size_t i = 0; i < CL_ARRAY_LEN(backends) && w >= 0 && (size_t)w < err_len; i++)
        w += snprintf(err + w, err_len - (size_t)w, "%s%s", i ? ", " : "", backends[i].forms);
    if (w >= 0 && (size_t)w < err_len)
        snprintf(err + w, err_len - (size_t)w, ")");
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
    size_t plen;
    const struct cl_queue_backend *be = find_backend(url, &plen);
    if (!be) {
        unsupported(url, err, err_len);
        return CL_ERR_UNSUPPORTED;
    }
    if (!be->open) {
        snprintf(err, err_len, "queue backend '%s' is not built into this program", be->name);
        return CL_ERR_UNSUPPORTED;
    }
    if (!(be->caps & CL_QUEUE_CAP_LOCAL_FILE))
        return be->open(q, url, opts, err, err_len);
    if (!url[plen]) {
        snprintf(err, err_len, "%s URL has no path", be->prefixes[0]);
        return CL_ERR_INVAL;
    }
    return be->open(q, url + plen, opts, err, err_len);
}

int cl_queue_open_file(struct cl_queue *q, const char *path, const struct cl_queue_opts *opts,
                       char *err, size_t err_len)
{
    for (size_t i = 0; i < CL_ARRAY_LEN(backends); i++)
        if ((backends[i].caps & CL_QUEUE_CAP_LOCAL_FILE) && backends[i].open) {
            struct cl_queue_opts defaults;
            if (!opts) {
                cl_queue_opts_default(&defaults);
                opts = &defaults;
            }
            memset(q, 0, sizeof *q);
            return backends[i].open(q, path, opts, err, err_len);
        }
    snprintf(err, err_len, "no local-file queue backend is built into this program");
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

int cl_queue_dlq_find(struct cl_queue *q, const char *const *ids, size_t n, int with_body,
                      struct cl_msg **found)
{
    return q->ops->dlq_find(q->impl, ids, n, with_body, found);
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
