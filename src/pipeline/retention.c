/* retention.c - one retention pass over the catalog and the store (retention.h). */
#include "retention.h"

#include "common.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pass {
    struct cl_queue *q;
    struct cl_store *store;
    const struct cl_retention_opts *o;
    int64_t cutoff_ms, quiet_ms;
    void (*each)(void *arg, const struct cl_catalog_partition *p);
    void *arg;
    struct cl_retention_result *res;
};

/* Removes the partition's directories of a file store if they are now empty (rmdir
 * fails harmlessly on a directory that is not). */
static void remove_empty_dirs(const char *root, const struct cl_catalog_partition *p)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/service=%s/dt=%s/hour=%02d", root, p->service, p->dt, p->hour);
    if (rmdir(path) != 0)
        return;
    snprintf(path, sizeof path, "%s/service=%s/dt=%s", root, p->service, p->dt);
    if (rmdir(path) != 0)
        return;
    snprintf(path, sizeof path, "%s/service=%s", root, p->service);
    rmdir(path);
}

static void count(struct pass *ps, const struct cl_catalog_partition *p, uint64_t objects,
                  uint64_t bytes)
{
    ps->res->partitions++;
    ps->res->objects += objects;
    ps->res->records += p->records;
    ps->res->bytes += bytes;
    if (ps->each)
        ps->each(ps->arg, p);
}

static int one_partition(void *arg, const struct cl_catalog_partition *p)
{
    struct pass *ps = arg;
    if (ps->o->dry_run) {
        count(ps, p, p->objects, p->bytes);
        return CL_OK;
    }
    char **keys;
    size_t n;
    uint64_t bytes;
    int rc = cl_catalog_delete_partition(ps->q, p, ps->cutoff_ms, ps->quiet_ms, &keys, &n, &bytes);
    if (rc != CL_OK || n == 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        int drc = cl_store_delete(ps->store, keys[i]);
        if (drc != CL_OK) {
            cl_log(CL_LOG_WARN, "retention: cannot delete %s: %s (its catalog row is gone)",
                   keys[i], cl_strerror(drc));
            ps->res->failed++;
        }
        free(keys[i]);
    }
    free(keys);
    if (ps->o->fs_root)
        remove_empty_dirs(ps->o->fs_root, p);
    count(ps, p, n, bytes);
    return CL_OK;
}

int cl_retention_run(struct cl_queue *q, struct cl_store *store, const struct cl_retention_opts *o,
                     int64_t now_ms, void (*each)(void *arg, const struct cl_catalog_partition *p),
                     void *arg, struct cl_retention_result *res)
{
    memset(res, 0, sizeof *res);
    struct pass ps = {q, store, o, now_ms - o->retention_ms, now_ms - o->quiet_ms, each, arg, res};
    return cl_catalog_expired(q, ps.cutoff_ms, ps.quiet_ms, one_partition, &ps);
}
