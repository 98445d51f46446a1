/* query_opts.c - the shared query options and their translation into a cl_query. */
#include "query_opts.h"

#include "common.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct cl_query_opts, f)

static const char *const orders[] = {"newest", "oldest", NULL};

const struct cl_option cl_query_range_options[] = {
    {"since", "CLOUDLOG_SINCE", CL_OPT_STR, NULL, OFF(since), "AGE|TIME",
     "records from this long ago (15m, 2h, 3d) or time on; default 1h", NULL, 0, 0},
    {"from", "CLOUDLOG_FROM", CL_OPT_STR, NULL, OFF(from), "TIME",
     "records at or after TIME (RFC 3339 or an age like 2h); not with --since", NULL, 0, 0},
    {"to", "CLOUDLOG_TO", CL_OPT_STR, NULL, OFF(to), "TIME",
     "records before TIME (RFC 3339 or an age like 30m; default now, inclusive)", NULL, 0, 0},
    {0},
};

const struct cl_option cl_query_filter_options[] = {
    {"service", "CLOUDLOG_SERVICE", CL_OPT_LIST, NULL, OFF(services), "GLOB",
     "service name or glob (api, web-*); repeat for several", NULL, 0, 0},
    {"level", "CLOUDLOG_LEVEL", CL_OPT_LIST, NULL, OFF(levels), "LEVEL",
     "level (error) or level and above (warn+); repeat for several", NULL, 0, 0},
    {"grep", "CLOUDLOG_GREP", CL_OPT_STR, NULL, OFF(grep), "TEXT",
     "records whose JSON line contains TEXT", NULL, 0, 0},
    {"ignore-case", "CLOUDLOG_IGNORE_CASE", CL_OPT_FLAG, "0", OFF(icase), NULL,
     "--grep ignores ASCII case (also -i)", NULL, 0, 0},
    {"regex", "CLOUDLOG_REGEX", CL_OPT_STR, NULL, OFF(regex), "RE",
     "records whose JSON line matches the PCRE2 pattern RE", NULL, 0, 0},
    {"where", "CLOUDLOG_WHERE", CL_OPT_LIST, NULL, OFF(wheres), "FIELD=VALUE",
     "top-level field equals VALUE (string decoded, else JSON text); repeat: all must hold", NULL,
     0, 0},
    {0},
};

const struct cl_option cl_query_result_options[] = {
    {"limit", "CLOUDLOG_LIMIT", CL_OPT_INT, "100", OFF(limit), "N",
     "at most N records; 0: all (HTTP: 1 to 100000)", NULL, 0, INT_MAX},
    {"order", "CLOUDLOG_ORDER", CL_OPT_STR, "newest", OFF(order), "ORDER", "record order", orders,
     0, 0},
    {"count", "CLOUDLOG_COUNT", CL_OPT_FLAG, "0", OFF(count), NULL,
     "print only the number of matches", NULL, 0, 0},
    {0},
};

void cl_query_wheres_free(struct cl_query_wheres *w)
{
    free(w->v);
    free(w->text);
    memset(w, 0, sizeof *w);
}

static int parse_levels(const struct cl_opt_list *l, const char *prefix, unsigned *mask, char *err,
                        size_t err_len)
{
    *mask = 0;
    for (size_t i = 0; i < l->n; i++) {
        unsigned m;
        if (cl_query_parse_level(l->v[i], &m)) {
            snprintf(err, err_len,
                     "unknown %slevel '%.100s' (trace, debug, info, warn, error, fatal; add + "
                     "for and above)",
                     prefix, l->v[i]);
            return -1;
        }
        *mask |= m;
    }
    return 0;
}

/* Splits each FIELD=VALUE into w (owned copies). */
static int parse_wheres(const struct cl_opt_list *l, const char *prefix, struct cl_query_wheres *w,
                        char *err, size_t err_len)
{
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++)
        total += strlen(l->v[i]) + 1;
    w->v = cl_calloc(l->n + 1, sizeof *w->v);
    w->text = cl_malloc(total + 1);
    w->n = 0;
    char *p = w->text;
    for (size_t i = 0; i < l->n; i++) {
        const char *eq = strchr(l->v[i], '=');
        if (!eq || eq == l->v[i]) {
            snprintf(err, err_len, "bad %swhere '%.100s' (expected FIELD=VALUE)", prefix, l->v[i]);
            return -1;
        }
        size_t len = strlen(l->v[i]), flen = (size_t)(eq - l->v[i]);
        memcpy(p, l->v[i], len + 1);
        p[flen] = '\0';
        w->v[w->n++] = (struct cl_query_where){.field = p, .value = p + flen + 1};
        p += len + 1;
    }
    return 0;
}

static int parse_time(const char *prefix, const char *name, const char *v, int64_t now_ms,
                      int64_t *out, char *err, size_t err_len)
{
    int rc = cl_query_parse_time(v, now_ms, out);
    if (rc == 0)
        return 0;
    char opt[40];
    snprintf(opt, sizeof opt, "%s%s", prefix, name);
    cl_query_time_error(rc, opt, v, err, err_len);
    return -1;
}

/* The range: since or from (not both) to to; to defaults to now, inclusive. */
static int parse_range(const struct cl_query_opts *o, const char *p, int64_t now_ms,
                       int64_t default_range_ms, struct cl_query *q, char *err, size_t err_len)
{
    if (o->since && o->from) {
        snprintf(err, err_len, "give %ssince or %sfrom, not both", p, p);
        return -1;
    }
    q->from_ms = now_ms - default_range_ms;
    q->to_ms = now_ms + 1; /* a record stamped this millisecond is in */
    if (o->to && parse_time(p, "to", o->to, now_ms, &q->to_ms, err, err_len))
        return -1;
    const char *from = o->from ? o->from : o->since;
    if (from && parse_time(p, o->from ? "from" : "since", from, now_ms, &q->from_ms, err, err_len))
        return -1;
    if (q->from_ms >= q->to_ms) {
        snprintf(err, err_len, "empty time range: %sfrom (or %ssince) must be before %sto", p, p,
                 p);
        return -1;
    }
    return 0;
}

int cl_query_opts_build(const struct cl_query_opts *o, const char *prefix, int64_t now_ms,
                        int64_t default_range_ms, struct cl_query *q, struct cl_query_wheres *w,
                        char *err, size_t err_len)
{
    if (parse_range(o, prefix, now_ms, default_range_ms, q, err, err_len) ||
        parse_levels(&o->levels, prefix, &q->level_mask, err, err_len) ||
        parse_wheres(&o->wheres, prefix, w, err, err_len))
        return -1;
    q->where = w->v;
    q->n_where = w->n;
    q->services = o->services.v;
    q->n_services = o->services.n;
    q->grep = o->grep;
    q->grep_icase = o->icase;
    q->regex = o->regex;
    q->limit = o->limit > 0 ? (size_t)o->limit : 0;
    q->order = o->order && strcmp(o->order, "oldest") == 0 ? CL_ORDER_OLDEST : CL_ORDER_NEWEST;
    q->count_only = o->count;
    return cl_query_validate(q, err, err_len) == CL_OK ? 0 : -1;
}
