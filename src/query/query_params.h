/* query_params.h - a query from key=value text (GET /v1/query parameters): the rows and
 * the translation of query_opts.h, so names, defaults, behaviour and error messages are
 * those of `cloudlog query`'s options. */
#ifndef CL_QUERY_PARAMS_H
#define CL_QUERY_PARAMS_H

#include "query.h"
#include "query_opts.h"

#include <stddef.h>

#define CL_QUERY_MAX_LIST 32      /* repeated service / level / where values */
#define CL_QUERY_MAX_LIMIT 100000 /* over HTTP; the CLI has no cap */

/* Accumulates parameters; strings are borrowed and must outlive the query. Owns its
 * lists and where clauses: free with cl_query_params_free. */
struct cl_query_params {
    struct cl_query q;
    struct cl_query_opts opts;
    struct cl_query_wheres where;
    char err[256];
};

void cl_query_params_init(struct cl_query_params *p);
void cl_query_params_free(struct cl_query_params *p);

/* Takes one parameter: since, from, to, service, level, grep, ignore_case, regex, where
 * (field=value), limit, order (newest|oldest), count (1|true). Returns 0, or -1 with
 * p->err set (unknown name, bad value, too many values). */
int cl_query_params_add(struct cl_query_params *p, const char *key, const char *value);

/* Resolves times against now_ms (default: the last hour) and checks the whole query
 * (limit 1..max_limit unless count; 0 max_limit: no cap). Returns 0 with p->q ready,
 * or -1 with p->err set. */
int cl_query_params_finish(struct cl_query_params *p, int64_t now_ms, size_t max_limit);

#endif
