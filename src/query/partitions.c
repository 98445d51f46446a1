/* partitions.c - cl_query_partitions: per-partition totals from the catalog or a listing. */
#include "query_int.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>

static int cmp_key(const void *a, const void *b)
{
    const struct cq_object *x = a, *y = b;
    int c = strcmp(x->service, y->service);
    if (!c)
        c = strcmp(x->dt, y->dt);
    if (!c)
        c = x->hour - y->hour;
    return c ? c : strcmp(x->key, y->key);
}

static int same_partition(const struct cq_object *a, const struct cq_object *b)
{
    return a->hour == b->hour && strcmp(a->dt, b->dt) == 0 && strcmp(a->service, b->service) == 0;
}

static void add_object(struct cl_query_partition *p, const struct cq_object *o)
{
    if (p->objects == 0) {
        memcpy(p->service, o->service, sizeof p->service);
        memcpy(p->dt, o->dt, sizeof p->dt);
        p->hour = o->hour;
        p->min_ts_ms = o->min_ts;
        p->max_ts_ms = o->max_ts;
        p->has_catalog = o->from_catalog;
    }
    p->objects++;
    p->records += o->records;
    p->bytes += o->size;
    p->min_ts_ms = CL_MIN(p->min_ts_ms, o->min_ts);
    p->max_ts_ms = CL_MAX(p->max_ts_ms, o->max_ts);
}

int cl_query_partitions(const struct cl_query_source *src, const struct cl_query *q,
                        int (*fn)(void *arg, const struct cl_query_partition *p), void *arg)
{
    if (!src || !q || !fn || q->from_ms >= q->to_ms)
        return CL_ERR_INVAL;
    struct cq_plan plan;
    int rc = cq_plan_build(src, q, 0, &plan);
    if (rc == CL_OK && plan.n > 1)
        qsort(plan.v, plan.n, sizeof *plan.v, cmp_key);
    struct cl_query_partition p;
    memset(&p, 0, sizeof p);
    for (size_t i = 0; rc == CL_OK && i < plan.n; i++) {
        add_object(&p, &plan.v[i]);
        if (i + 1 == plan.n || !same_partition(&plan.v[i], &plan.v[i + 1])) {
            rc = fn(arg, &p);
            memset(&p, 0, sizeof p);
        }
    }
    cq_plan_free(&plan);
    return rc;
}
