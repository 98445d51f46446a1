/* daemon_quarantine.c - start-up on a damaged queue file: quarantine it, start fresh,
 * keep what the lost catalog can no longer vouch for, and say so loudly. */
#include "daemon_quarantine.h"

#include "common.h"
#include "daemon.h"
#include "log.h"
#include "process.h"
#include "queue_repair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DQ_PATH_MAX 4096
#define DQ_STAGING_KEPT "_quarantine/staging/"

static void quarantine_dir(const struct cl_daemon *d, char *out, size_t len)
{
    snprintf(out, len, "%s/quarantine", d->cfg->data_dir);
}

/* The file behind an SQLite queue URL ("sqlite:PATH" or a plain path), or NULL. */
int cl_daemon_open_queue(struct cl_daemon *d, const char *url, const struct cl_queue_opts *qo,
                         char *err, size_t err_len)
{
    int rc = cl_queue_open(&d->queue, url, qo, err, err_len);
    const char *path = cl_queue_url_file(url); /* a local file can be moved aside */
    if (rc != CL_ERR_CORRUPT || !path)
        return rc;
    char dir[DQ_PATH_MAX], moved[DQ_PATH_MAX], why[512], qerr[512];
    snprintf(why, sizeof why, "%s", err);
    quarantine_dir(d, dir, sizeof dir);
    if (cl_queue_quarantine_move(url, dir, cl_now_ms(), moved, sizeof moved, qerr, sizeof qerr) !=
        CL_OK) {
        snprintf(err, err_len, "%s; and it could not be moved aside: %s", why, qerr);
        return rc;
    }
    cl_log(CL_LOG_ERROR,
           "QUEUE QUARANTINED: %s is damaged (%s); moved it to %s and started on a fresh queue. "
           "Its messages are not lost yet: run 'cloudlog verify --repair --data %s' to salvage "
           "every readable one and catalog the stored objects again (queries miss them until "
           "then; docs/pipeline.md)",
           path, why, moved, d->cfg->data_dir);
    d->queue_quarantined = 1;
    return cl_queue_open(&d->queue, url, qo, err, err_len);
}

struct key_list {
    char **v;
    size_t n, cap;
};

static int collect(void *arg, const char *key, uint64_t size)
{
    (void)size;
    struct key_list *l = arg;
    if (l->n == l->cap)
        l->v = cl_realloc(l->v, (l->cap = l->cap ? l->cap * 2 : 16) * sizeof *l->v);
    l->v[l->n++] = cl_strdup(key);
    return 0;
}

void cl_daemon_keep_staging(struct cl_daemon *d)
{
    if (!d->queue_quarantined || d->remote_queue)
        return;
    struct key_list l = {0};
    cl_store_list(&d->store, CL_STAGING_PREFIX, collect, &l);
    size_t kept = 0;
    for (size_t i = 0; i < l.n; i++) {
        char to[DQ_PATH_MAX];
        snprintf(to, sizeof to, DQ_STAGING_KEPT "%s", l.v[i] + strlen(CL_STAGING_PREFIX));
        kept += cl_store_move(&d->store, l.v[i], to) == CL_OK;
        free(l.v[i]);
    }
    free(l.v);
    if (kept)
        cl_log(CL_LOG_ERROR,
               "QUEUE QUARANTINED: kept %zu staging object(s) under %s: the lost catalog "
               "cannot tell committed ones from leftovers ('cloudlog verify' lists them)",
               kept, DQ_STAGING_KEPT);
}

static void sample_pending(void *arg)
{
    struct cl_daemon *d = arg;
    char dir[DQ_PATH_MAX];
    quarantine_dir(d, dir, sizeof dir);
    int n = cl_queue_quarantine_list(dir, 1, NULL, NULL);
    if (n >= 0)
        cl_gauge_set(d->m.queue_quarantine_pending, (double)n);
}

void cl_daemon_quarantine_metrics(struct cl_daemon *d)
{
    cl_counter_add(d->m.queue_quarantined, (uint64_t)d->queue_quarantined);
    if (!d->remote_queue)
        cl_metrics_on_collect(d->metrics, sample_pending, d);
}
