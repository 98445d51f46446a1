/* plan.c - candidate objects of a query: partitions in range, catalog pruning, order. */
#include "query_int.h"

#include "catalog.h"
#include "common.h"
#include "record.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Listing one prefix per service and hour beats one walk of the service only up to here. */
#define CQ_MAX_HOUR_PREFIXES (24 * 31)

int cq_service_match(const struct cl_query *q, const char *service)
{
    if (q->n_services == 0)
        return 1;
    for (size_t i = 0; i < q->n_services; i++)
        if (fnmatch(q->services[i], service, 0) == 0)
            return 1;
    return 0;
}

static int64_t hour_floor(int64_t ms)
{
    return ms >= 0 ? ms / CQ_HOUR_MS : -((-ms + CQ_HOUR_MS - 1) / CQ_HOUR_MS);
}

/* Start of the partition dt/hour in ms, or -1 if dt is malformed. */
static int partition_start(const char *dt, int hour, int64_t *ms)
{
    char ts[32];
    if (strlen(dt) != 10 || hour < 0 || hour > 23)
        return -1;
    snprintf(ts, sizeof ts, "%sT%02d:00:00Z", dt, hour);
    return cl_parse_timestamp_text(ts, strlen(ts), ms);
}

static void push(struct cq_plan *p, const struct cq_object *o)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = cl_realloc(p->v, p->cap * sizeof *p->v);
    }
    p->v[p->n++] = *o;
}

struct plan_ctx {
    const struct cl_query *q;
    struct cl_catalog *catalog;
    struct cq_plan *p;
    int prune;
    struct cq_budget *budget; /* may be NULL */
    unsigned listed;
};

/* The partition's hour overlaps [from, to). */
static int hour_in_range(const struct cl_query *q, int64_t start)
{
    return start + CQ_HOUR_MS > q->from_ms && start < q->to_ms;
}

/* A row of the catalog's answer: its partition, services and (with prune) time range and
 * levels were checked by SQLite; what remains guards against rows no query can read. */
static int on_catalog_row(void *arg, const struct cl_catalog_object *c)
{
    struct plan_ctx *x = arg;
    int64_t start;
    if (partition_start(c->dt, c->hour, &start) || !hour_in_range(x->q, start) ||
        !cq_service_match(x->q, c->service) || strlen(c->service) > 64)
        return 0;
    struct cq_object o = {.size = c->bytes, .raw_bytes = c->raw_bytes, .records = c->records};
    o.key = cl_strdup(c->key);
    snprintf(o.service, sizeof o.service, "%s", c->service);
    snprintf(o.dt, sizeof o.dt, "%s", c->dt);
    o.hour = c->hour;
    o.min_ts = c->min_ts_ms;
    o.max_ts = c->max_ts_ms;
    o.from_catalog = 1;
    push(x->p, &o);
    return 0;
}

/* The query's partitions, services, time range and levels as a catalog filter (a and b
 * receive the first and last hour's timestamps, which f points into). */
static void catalog_filter(const struct plan_ctx *x, char a[25], char b[25],
                           struct cl_catalog_filter *f)
{
    const struct cl_query *q = x->q;
    cl_format_timestamp(hour_floor(q->from_ms) * CQ_HOUR_MS, a);
    cl_format_timestamp(hour_floor(q->to_ms - 1) * CQ_HOUR_MS, b);
    *f = (struct cl_catalog_filter){.dt_from = a,
                                    .dt_to = b,
                                    .hour_from = atoi(a + 11),
                                    .hour_to = atoi(b + 11),
                                    .services = q->services,
                                    .n_services = q->n_services,
                                    .prune = x->prune,
                                    .from_ms = q->from_ms,
                                    .to_ms = q->to_ms,
                                    .level_mask = q->level_mask};
    a[10] = b[10] = '\0';
}

static int plan_catalog(struct plan_ctx *x)
{
    char a[25], b[25];
    struct cl_catalog_filter f;
    catalog_filter(x, a, b, &f);
    uint64_t considered = 0;
    int rc = cl_catalog_select(x->catalog, &f, on_catalog_row, x, &considered);
    x->p->considered = considered;
    x->p->pruned = considered > x->p->n ? considered - x->p->n : 0;
    return rc;
}

/* Parses "service=S/dt=D/hour=HH/NAME.ndjson.gz" into o (no allocation). Returns 0 or -1
 * for keys that are not published objects (e.g. anything under _staging/). */
static int parse_key(const char *key, struct cq_object *o)
{
    if (cl_object_key_parse(key, o->service, o->dt, &o->hour) != 0)
        return -1;
    return partition_start(o->dt, o->hour, &o->min_ts);
}

/* Keys listed between two looks at the budget: a listing of S3 can take long. */
#define CQ_LIST_CHECK_EVERY 256

static int on_listed(void *arg, const char *key, uint64_t size)
{
    struct plan_ctx *x = arg;
    if (x->budget && ++x->listed % CQ_LIST_CHECK_EVERY == 0 && cq_budget_check(x->budget))
        return CL_ERR_CLOSED;
    struct cq_object o = {.size = size};
    if (parse_key(key, &o) || !hour_in_range(x->q, o.min_ts) || !cq_service_match(x->q, o.service))
        return 0;
    o.max_ts = o.min_ts + CQ_HOUR_MS - 1;
    o.key = cl_strdup(key);
    x->p->considered++;
    push(x->p, &o);
    return 0;
}

/* A glob with no special characters names exactly one service. */
static int is_literal(const char *s)
{
    return strpbrk(s, "*?[\\") == NULL;
}

static int list_service(struct plan_ctx *x, const char *service, struct cl_store *st)
{
    char prefix[CL_PARTITION_MAX + 2], ts[25];
    int64_t h0 = hour_floor(x->q->from_ms), h1 = hour_floor(x->q->to_ms - 1);
    if (h1 - h0 + 1 > CQ_MAX_HOUR_PREFIXES) {
        snprintf(prefix, sizeof prefix, "service=%s/", service);
        return cl_store_list(st, prefix, on_listed, x);
    }
    int rc = CL_OK;
    for (int64_t h = h0; rc == CL_OK && h <= h1; h++) {
        cl_format_timestamp(h * CQ_HOUR_MS, ts);
        snprintf(prefix, sizeof prefix, "service=%s/dt=%.10s/hour=%.2s/", service, ts, ts + 11);
        rc = cl_store_list(st, prefix, on_listed, x);
    }
    return rc;
}

/* Without a catalog: one listing per literal service and hour, or (with globs) one walk of
 * every service=… key, filtered by partition. */
static int plan_listing(struct plan_ctx *x, struct cl_store *st)
{
    const struct cl_query *q = x->q;
    int all_literal = q->n_services > 0;
    for (size_t i = 0; i < q->n_services; i++)
        all_literal &= is_literal(q->services[i]) && strlen(q->services[i]) <= 64 &&
                       !strchr(q->services[i], '/');
    if (!all_literal)
        return cl_store_list(st, "service=", on_listed, x);
    int rc = CL_OK;
    for (size_t i = 0; rc == CL_OK && i < q->n_services; i++) {
        size_t j = 0; /* the same service named twice is listed once */
        while (j < i && strcmp(q->services[j], q->services[i]) != 0)
            j++;
        if (j == i)
            rc = list_service(x, q->services[i], st);
    }
    return rc;
}

static int cmp_newest(const void *a, const void *b)
{
    const struct cq_object *x = a, *y = b;
    if (x->max_ts != y->max_ts)
        return x->max_ts > y->max_ts ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int cmp_oldest(const void *a, const void *b)
{
    const struct cq_object *x = a, *y = b;
    if (x->min_ts != y->min_ts)
        return x->min_ts < y->min_ts ? -1 : 1;
    return strcmp(x->key, y->key);
}

int cq_plan_build(const struct cl_query_source *src, const struct cl_query *q, int prune,
                  struct cq_plan *p)
{
    return cq_plan_build_budget(src, q, prune, NULL, p);
}

int cq_plan_build_budget(const struct cl_query_source *src, const struct cl_query *q, int prune,
                         struct cq_budget *b, struct cq_plan *p)
{
    memset(p, 0, sizeof *p);
    struct plan_ctx x = {.q = q, .catalog = src->catalog, .p = p, .prune = prune, .budget = b};
    int rc = src->catalog ? plan_catalog(&x) : plan_listing(&x, src->store);
    if (rc != CL_OK)
        return rc;
    if (p->n > 1)
        qsort(p->v, p->n, sizeof *p->v, q->order == CL_ORDER_OLDEST ? cmp_oldest : cmp_newest);
    return CL_OK;
}

void cq_plan_free(struct cq_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].key);
    free(p->v);
    memset(p, 0, sizeof *p);
}
