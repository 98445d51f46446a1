/* query_params.h - a query from key=value text (GET /v1/query parameters), with the
 * same names, defaults and error messages as `cloudlog query`'s options. */
#ifndef CL_QUERY_PARAMS_H
#define CL_QUERY_PARAMS_H

#include "query.h"

#include <stddef.h>

#define CL_QUERY_MAX_LIST 32       /* repeated service / level / where values */
#define CL_QUERY_DEFAULT_LIMIT 100 /* records */
#define CL_QUERY_MAX_LIMIT 100000  /* over HTTP; the CLI has no cap */

/* Accumulates parameters; strings are borrowed and must outlive the query. */
struct cl_query_params {
    struct cl_query q;
    const char *since, *from, *to;
    const char *services[CL_QUERY_MAX_LIST];
    struct cl_query_where where[CL_QUERY_MAX_LIST];
    char where_fields[CL_QUERY_MAX_LIST][128];
    size_t n_services, n_where;
    int limit_set;
    char err[256];
};

void cl_query_params_init(struct cl_query_params *p);

/* Takes one parameter: since, from, to, service, level, grep, ignore_case, regex, where
 * (field=value), limit, order (newest|oldest), count (1|true). Returns 0, or -1 with
 * p->err set (unknown name, bad value, too many values). */
int cl_query_params_add(struct cl_query_params *p, const char *key, const char *value);

/* Resolves times against now_ms (default: the last hour) and checks the whole query.
 * Returns 0 with p->q ready, or -1 with p->err set. */
int cl_query_params_finish(struct cl_query_params *p, int64_t now_ms, size_t max_limit);

#endif
