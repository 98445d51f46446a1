/* recover.c - start-up recovery of the processor's exactly-once publication protocol:
 * finish committed publications, discard uncommitted staging objects. */
#include "catalog.h"
#include "common.h"
#include "log.h"
#include "process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct recover_ctx {
    struct cl_queue *q;
    struct cl_store *st;
    struct cl_recover_report *r;
};

/* Committed but not yet moved into place: move it now (unless a crash came after the
 * move and before the mark, in which case the staging object is already gone). A row
 * that cannot be published never stops start-up: ingest must go on. */
static int publish_one(void *arg, int64_t object_id, const char *staging_key, const char *key)
{
    struct recover_ctx *c = arg;
    int rc = staging_key ? cl_store_move(c->st, staging_key, key) : CL_ERR_NOT_FOUND;
    if (rc == CL_ERR_NOT_FOUND) {
        struct cl_buf probe;
        cl_buf_init(&probe, 1u << 30);
        rc = cl_store_get(c->st, key, &probe); /* already moved? */
        cl_buf_free(&probe);
    }
    if (rc == CL_OK)
        rc = cl_catalog_mark_published(cl_queue_catalog(c->q), object_id);
    if (rc == CL_ERR_NOT_FOUND) {
        cl_log(CL_LOG_ERROR,
               "recovery: catalog row %lld names %s, but neither it nor its staging object %s "
               "exists: its records are missing from the store (run `cloudlog verify`)",
               (long long)object_id, key, staging_key ? staging_key : "(none)");
        c->r->missing++;
    } else if (rc != CL_OK) {
        cl_log(CL_LOG_ERROR, "recovery: cannot publish %s: %s (retried at the next start)", key,
               cl_strerror(rc));
        c->r->failed++;
    } else {
        c->r->published++;
    }
    return 0; /* keep going with the others */
}

/* Collects staging keys first: the listing must not race with our deletes. */
struct key_list {
    char **keys;
    size_t n, cap;
};

static int collect_key(void *arg, const char *key, uint64_t size)
{
    struct key_list *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->keys = cl_realloc(l->keys, l->cap * sizeof *l->keys);
    }
    l->keys[l->n++] = cl_strdup(key);
    return 0;
}

static void discard_unreferenced(struct recover_ctx *c)
{
    struct key_list l = {0};
    cl_store_list(c->st, CL_STAGING_PREFIX, collect_key, &l);
    for (size_t i = 0; i < l.n; i++) {
        int referenced = 1;
        if (cl_catalog_staging_referenced(cl_queue_catalog(c->q), l.keys[i], &referenced) ==
                CL_OK &&
            !referenced && cl_store_delete(c->st, l.keys[i]) == CL_OK)
            c->r->discarded++;
        free(l.keys[i]);
    }
    free(l.keys);
}

int cl_process_recover(struct cl_queue *q, struct cl_store *st, struct cl_recover_report *report,
                       char *err, size_t err_len)
{
    struct cl_recover_report local;
    struct cl_recover_report *r = report ? report : &local;
    memset(r, 0, sizeof *r);
    struct recover_ctx c = {q, st, r};
    int rc = cl_catalog_unpublished(cl_queue_catalog(q), publish_one, &c);
    if (rc != CL_OK) {
        snprintf(err, err_len, "recovery could not read the catalog: %s", cl_strerror(rc));
        return rc;
    }
    cl_store_sweep(st, CL_STAGING_PREFIX); /* puts cut short by a crash */
    discard_unreferenced(&c);
    if (r->published || r->discarded || r->missing || r->failed)
        cl_log(r->missing || r->failed ? CL_LOG_WARN : CL_LOG_INFO,
               "recovery: published %zu committed object(s), discarded %zu uncommitted staging "
               "object(s); %zu catalog row(s) without an object, %zu not published",
               r->published, r->discarded, r->missing, r->failed);
    return CL_OK;
}
