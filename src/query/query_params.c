/* query_params.c - building a cl_query from named text parameters. */
#include "query_params.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS (3600LL * 1000)

/* The parameters of GET /v1/query: the shared rows, nothing else. */
static const struct cl_option param_rows[] = {
    CL_OPT_INCLUDE_ROWS(cl_query_range_options, 0),
    CL_OPT_INCLUDE_ROWS(cl_query_filter_options, 0),
    CL_OPT_INCLUDE_ROWS(cl_query_result_options, 0),
};

void cl_query_params_init(struct cl_query_params *p)
{
    memset(p, 0, sizeof *p);
    if (cl_options_defaults(param_rows, CL_ARRAY_LEN(param_rows), &p->opts, p->err,
                            sizeof p->err) != 0)
        abort(); /* a bad default in the rows: a bug */
    p->err[0] = '\0';
}

void cl_query_params_free(struct cl_query_params *p)
{
    cl_options_free(param_rows, CL_ARRAY_LEN(param_rows), &p->opts);
    cl_query_wheres_free(&p->where);
}

static int too_many(struct cl_query_params *p, const struct cl_opt_list *l, const char *name)
{
    if (l->n <= CL_QUERY_MAX_LIST)
        return 0;
    snprintf(p->err, sizeof p->err, "too many %s values (at most %d)", name, CL_QUERY_MAX_LIST);
    return 1;
}

int cl_query_params_add(struct cl_query_params *p, const char *key, const char *v)
{
    int rc = cl_options_set(param_rows, CL_ARRAY_LEN(param_rows), &p->opts, key, v, key, p->err,
                            sizeof p->err);
    if (rc == 1)
        snprintf(p->err, sizeof p->err, "unknown parameter '%.100s'", key);
    if (rc)
        return -1;
    if (too_many(p, &p->opts.services, "service") || too_many(p, &p->opts.levels, "level") ||
        too_many(p, &p->opts.wheres, "where"))
        return -1;
    return 0;
}

int cl_query_params_finish(struct cl_query_params *p, int64_t now_ms, size_t max_limit)
{
    const struct cl_query_opts *o = &p->opts;
    if (max_limit && !o->count && (o->limit <= 0 || (size_t)o->limit > max_limit)) {
        snprintf(p->err, sizeof p->err, "limit must be between 1 and %zu", max_limit);
        return -1;
    }
    return cl_query_opts_build(o, "", now_ms, HOUR_MS, &p->q, &p->where, p->err, sizeof p->err);
}
