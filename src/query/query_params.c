/* query_params.c - building a cl_query from named text parameters. */
#include "query_params.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void cl_query_params_init(struct cl_query_params *p)
{
    memset(p, 0, sizeof *p);
    p->q.order = CL_ORDER_NEWEST;
    p->q.limit = CL_QUERY_DEFAULT_LIMIT;
}

static int fail(struct cl_query_params *p, const char *fmt, const char *a, const char *b)
{
    snprintf(p->err, sizeof p->err, fmt, a, b);
    return -1;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcmp(v, ""))
        return *out = 1, 0;
    if (!strcmp(v, "0") || !strcasecmp(v, "false"))
        return *out = 0, 0;
    return -1;
}

static int add_where(struct cl_query_params *p, const char *v)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || (size_t)(eq - v) >= sizeof p->where_fields[0])
        return fail(p, "invalid where '%s' (expected field=value)%s", v, "");
    if (p->n_where == CL_QUERY_MAX_LIST)
        return fail(p, "too many %s values%s", "where", "");
    char *field = p->where_fields[p->n_where];
    memcpy(field, v, (size_t)(eq - v));
    field[eq - v] = '\0';
    p->where[p->n_where++] = (struct cl_query_where){field, eq + 1};
    return 0;
}

static int add_limit(struct cl_query_params *p, const char *v)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-')
        return fail(p, "invalid limit '%s'%s", v, "");
    p->q.limit = (size_t)n;
    p->limit_set = 1;
    return 0;
}

static int add_level(struct cl_query_params *p, const char *v)
{
    unsigned mask;
    if (cl_query_parse_level(v, &mask) != 0)
        return fail(p,
                    "unknown level '%s' (trace, debug, info, warn, error, fatal; "
                    "'warn+' for warn and above)%s",
                    v, "");
    p->q.level_mask |= mask;
    return 0;
}

int cl_query_params_add(struct cl_query_params *p, const char *key, const char *v)
{
    int b;
    if (!strcmp(key, "since"))
        p->since = v;
    else if (!strcmp(key, "from"))
        p->from = v;
    else if (!strcmp(key, "to"))
        p->to = v;
    else if (!strcmp(key, "service")) {
        if (p->n_services == CL_QUERY_MAX_LIST)
            return fail(p, "too many %s values%s", "service", "");
        p->services[p->n_services++] = v;
    } else if (!strcmp(key, "level"))
        return add_level(p, v);
    else if (!strcmp(key, "grep"))
        p->q.grep = v;
    else if (!strcmp(key, "ignore_case")) {
        if (parse_bool(v, &b))
            return fail(p, "invalid %s '%s'", key, v);
        p->q.grep_icase = b;
    } else if (!strcmp(key, "regex"))
        p->q.regex = v;
    else if (!strcmp(key, "where"))
        return add_where(p, v);
    else if (!strcmp(key, "limit"))
        return add_limit(p, v);
    else if (!strcmp(key, "order")) {
        if (strcmp(v, "newest") && strcmp(v, "oldest"))
            return fail(p, "invalid order '%s' (newest or oldest)%s", v, "");
        p->q.order = strcmp(v, "oldest") == 0 ? CL_ORDER_OLDEST : CL_ORDER_NEWEST;
    } else if (!strcmp(key, "count")) {
        if (parse_bool(v, &b))
            return fail(p, "invalid %s '%s'", key, v);
        p->q.count_only = b;
    } else
        return fail(p, "unknown parameter '%s'%s", key, "");
    return 0;
}

static int resolve_time(struct cl_query_params *p, const char *name, const char *v, int64_t now_ms,
                        int64_t *out)
{
    int rc = cl_query_parse_time(v, now_ms, out);
    if (rc != 0)
        cl_query_time_error(rc, name, v, p->err, sizeof p->err);
    return rc != 0 ? -1 : 0;
}

int cl_query_params_finish(struct cl_query_params *p, int64_t now_ms, size_t max_limit)
{
    struct cl_query *q = &p->q;
    if (p->since && (p->from || p->to))
        return fail(p, "give either since or from/to%s%s", "", "");
    q->from_ms = now_ms - 3600 * 1000;
    q->to_ms = now_ms + 1;
    if (p->since && resolve_time(p, "since", p->since, now_ms, &q->from_ms))
        return -1;
    if (p->from && resolve_time(p, "from", p->from, now_ms, &q->from_ms))
        return -1;
    if (p->to && resolve_time(p, "to", p->to, now_ms, &q->to_ms))
        return -1;
    if (q->from_ms >= q->to_ms)
        return fail(p, "the time range is empty (from must be before to)%s%s", "", "");
    if (max_limit && !q->count_only && (q->limit == 0 || q->limit > max_limit)) {
        char n[32];
        snprintf(n, sizeof n, "%zu", max_limit);
        return fail(p, "limit must be between 1 and %s%s", n, "");
    }
    q->services = p->services;
    q->n_services = p->n_services;
    q->where = p->where;
    q->n_where = p->n_where;
    return cl_query_validate(q, p->err, sizeof p->err) == CL_OK ? 0 : -1;
}
