/* cmd_query.c - `cloudlog query`: search the store of a data directory. */
#include "cli_common.h"
#include "cli_source.h"
#include "commands.h"
#include "query_output.h"

#include "buf.h"
#include "common.h"
#include "json_write.h"
#include "logql.h"
#include "logql_eval.h"
#include "logql_metric.h"
#include "query.h"
#include "query_opts.h"
#include "store.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "cloudlog query"

struct query_cfg {
    struct cl_query_opts q;
    const char *data_dir, *store_url, *endpoint_url;
    const char *format, *logql;
    int stats, threads;
    int64_t timeout_ms;
    uint64_t max_bytes, regex_heap_limit;
    int regex_match_limit, regex_depth_limit;
};

#define OFF(f) offsetof(struct query_cfg, f)

static const struct cl_option query_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    CL_CLI_READ_STORE_OPTION(OFF(store_url)),
    CL_CLI_ENDPOINT_OPTION(OFF(endpoint_url)),
    CL_OPT_INCLUDE_ROWS(cl_query_range_options, OFF(q)),
    CL_OPT_INCLUDE_ROWS(cl_query_filter_options, OFF(q)),
    {"logql", "CLOUDLOG_LOGQL", CL_OPT_STR, NULL, OFF(logql), "EXPR",
     "a LogQL log query ({service=\"api\"} |= \"x\" | json | status >= 500) instead of "
     "--service, --level, --grep, --regex and --where (docs/query.md \"LogQL\")",
     NULL, 0, 0},
    CL_OPT_INCLUDE_ROWS(cl_query_result_options, OFF(q)),
    CL_OPT_INCLUDE_ROWS(cl_qout_format_options, OFF(format)),
    {"stats", "CLOUDLOG_STATS", CL_OPT_FLAG, "0", OFF(stats), NULL,
     "print scan statistics to stderr", NULL, 0, 0},
    {"threads", "CLOUDLOG_THREADS", CL_OPT_INT, "0", OFF(threads), "N",
     "scan threads; 0: one per core", NULL, 0, 256},
    CL_CLI_QUERY_LIMIT_OPTIONS("0", "0", OFF(timeout_ms), OFF(max_bytes), OFF(regex_match_limit),
                               OFF(regex_depth_limit), OFF(regex_heap_limit)),
};

static const char query_summary[] =
    "Prints the stored records of a time range (default: the last hour) that pass every\n"
    "filter, newest first, as stored (json), as text or as csv. Several --service or\n"
    "--level values are alternatives; different filters must all hold. Objects outside\n"
    "the range, or (with the catalog) without a record of a wanted level, are not read.";

const struct cl_cli_table cl_table_query = {CMD,
                                            CMD " [OPTIONS]",
                                            query_summary,
                                            query_options,
                                            CL_ARRAY_LEN(query_options),
                                            sizeof(struct query_cfg)};

/* The run's state shared by the engine's callbacks. */
struct query_out {
    struct cl_qout out;
    int write_failed;
    int progress_tty;
    int progress_shown;
    int64_t t0;
    /* --logql evaluated per record: the engine runs without count or limit, and these
     * count, limit and print what passes the pipeline. */
    struct cl_lq_eval *eval;
    int formats_line; /* the pipeline has a line_format: print its output */
    int count_only;
    size_t limit, matched;
    char eval_err[256];
};

/* A record through the LogQL pipeline: 1 stop the scan, 0 go on. */
static int on_logql_record(struct query_out *o, const char *line, size_t len,
                           const struct cl_line_head *h)
{
    const char *out;
    size_t out_len;
    int keep =
        cl_lq_eval_record(o->eval, line, len, h, &out, &out_len, o->eval_err, sizeof o->eval_err);
    if (keep <= 0)
        return keep < 0;
    o->matched++;
    if (!o->count_only) {
        int failed = o->formats_line
                         ? fwrite(out, 1, out_len, stdout) != out_len || putchar('\n') == EOF
                         : cl_qout_record(&o->out, line, len, h) != 0;
        o->write_failed |= failed;
    }
    return o->write_failed || (o->limit && o->matched >= o->limit);
}

static int on_record(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct query_out *o = arg;
    if (o->eval)
        return on_logql_record(o, line, len, h);
    if (cl_qout_record(&o->out, line, len, h) != 0)
        o->write_failed = 1;
    return o->write_failed;
}

static void on_warn(void *arg, const char *key, const char *reason)
{
    struct query_out *o = arg;
    if (o->progress_shown)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "%s: skipping %s: %s\n", CMD, key, reason);
}

static double mb_per_s(uint64_t bytes, int64_t ms)
{
    return ms > 0 ? (double)bytes / 1e6 / ((double)ms / 1000.0) : 0.0;
}

static void on_progress(void *arg, const struct cl_query_stats *st, size_t done, size_t total)
{
    struct query_out *o = arg;
    if (!o->progress_tty || st->elapsed_ms < 1000)
        return;
    char b[32];
    cl_cli_format_bytes(st->bytes_scanned, b, sizeof b);
    fprintf(stderr, "\r\033[K%zu/%zu objects  %s  %.0f MB/s", done, total, b,
            mb_per_s(st->bytes_scanned, st->elapsed_ms));
    o->progress_shown = 1;
}

static void print_stats(const struct cl_query_stats *s)
{
    char c[32], r[32];
    cl_cli_format_bytes(s->bytes_compressed, c, sizeof c);
    cl_cli_format_bytes(s->bytes_scanned, r, sizeof r);
    fprintf(stderr,
            "objects  %llu considered, %llu pruned, %llu opened, %llu failed\n"
            "bytes    %s read, %s scanned\n"
            "records  %llu scanned, %llu matched\n"
            "elapsed  %.3f s, %.1f MB/s scanned\n",
            (unsigned long long)s->objects_considered, (unsigned long long)s->objects_pruned,
            (unsigned long long)s->objects_opened, (unsigned long long)s->objects_failed, c, r,
            (unsigned long long)s->records_scanned, (unsigned long long)s->records_matched,
            (double)s->elapsed_ms / 1000.0, mb_per_s(s->bytes_scanned, s->elapsed_ms));
}

/* The parsed query; where[] and its strings are owned (free with query_args_free). */
struct query_args {
    struct cl_query q;
    struct cl_query_wheres where;
    struct cl_lq_expr *logql; /* --logql's AST, and its evaluator when one is needed */
    struct cl_lq_eval *eval;
    int eval_needed; /* 0: everything went into the engine's query */
    int formats_line;
    int metric; /* --logql is a metric query: evaluated once, at --to */
};

static void query_args_free(struct query_args *a)
{
    cl_query_wheres_free(&a->where);
    cl_lq_eval_free(a->eval);
    cl_logql_free(a->logql);
}

/* --logql: parses it and pushes what it can into a->q; returns 0 or prints why not and
 * returns 2. */
static int build_logql(const struct query_cfg *c, struct query_args *a)
{
    char err[300];
    if (c->q.services.n || c->q.levels.n || c->q.wheres.n || c->q.grep || c->q.regex) {
        fprintf(stderr, "%s: --logql replaces --service, --level, --grep, --regex and --where\n",
                CMD);
        return 2;
    }
    if (cl_logql_parse(c->logql, &a->logql, err, sizeof err) != 0) {
        fprintf(stderr, "%s: --logql: %s\n", CMD, err);
        return 2;
    }
    if (a->logql->kind != CL_LQ_LOG_QUERY) {
        a->metric = 1;
        return 0;
    }
    struct cl_lq_eval *ev;
    if (cl_lq_eval_new(&a->logql->log, &a->q, &ev, err, sizeof err) != 0) {
        fprintf(stderr, "%s: --logql: %s\n", CMD, err);
        return 2;
    }
    for (size_t i = 0; i < a->logql->log.n_stages; i++)
        a->formats_line |= a->logql->log.stages[i].kind == CL_LQ_LINE_FORMAT;
    a->eval = ev; /* a->q borrows from it */
    a->eval_needed = cl_lq_eval_needed(ev);
    return 0;
}

/* Fills a->q from c (range, filters, limits; then --logql). Returns 0, or prints why not
 * and returns 2. */
static int build_query(const struct query_cfg *c, struct query_args *a)
{
    struct cl_query *q = &a->q;
    char err[512];
    if (cl_query_opts_build(&c->q, "--", cl_now_ms(), 3600LL * 1000, q, &a->where, err,
                            sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", CMD, err);
        return 2;
    }
    q->threads = c->threads;
    q->timeout_ms = c->timeout_ms;
    q->max_bytes = c->max_bytes;
    q->regex_match_limit = (uint32_t)c->regex_match_limit;
    q->regex_depth_limit = (uint32_t)c->regex_depth_limit;
    q->regex_heap_limit = c->regex_heap_limit;
    return c->logql ? build_logql(c, a) : 0;
}

/* Copies argv, spelling the short flag -i as --ignore-case (caller frees the array). */
static char **expand_short(int argc, char **argv)
{
    char **v = cl_calloc((size_t)argc + 1, sizeof *v);
    int only_positional = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            only_positional = 1;
        v[i] = !only_positional && strcmp(argv[i], "-i") == 0 ? "--ignore-case" : argv[i];
    }
    return v;
}

/* Prints one series' value at the instant: {name="value", ...} value (text), or as the
 * Loki API's vector element (json, csv). */
static void print_sample(const struct cl_lq_series *s, int64_t at_ms, int text)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    cl_buf_append_str(&b, text ? "{" : "{\"metric\":{");
    for (size_t i = 0; i < s->n_labels; i++) {
        cl_buf_append_str(&b, i ? (text ? ", " : ",") : "");
        if (text)
            cl_buf_append_str(&b, s->names[i]);
        else
            cl_json_write_string(&b, s->names[i], strlen(s->names[i]));
        cl_buf_append_char(&b, text ? '=' : ':');
        cl_json_write_string(&b, s->values[i], strlen(s->values[i]));
    }
    char v[32];
    cl_lq_format_value(s->v[0], v);
    if (text)
        cl_buf_printf(&b, "} %s\n", v);
    else
        cl_buf_printf(&b, "},\"value\":[%.3f,\"%s\"]}\n", (double)at_ms / 1000.0, v);
    fwrite(b.data, 1, b.len, stdout);
    cl_buf_free(&b);
}

/* A metric --logql: evaluated at --to (the instant a Loki /query would use). */
static int run_metric(const struct query_cfg *c, const struct query_args *a)
{
    struct cl_cli_source s;
    if (cl_cli_source_open(CMD, c->data_dir, c->store_url, c->endpoint_url, &s))
        return 1;
    int64_t at = a->q.to_ms - 1; /* --to is exclusive */
    struct cl_lq_window w = {.start_ms = at, .end_ms = at, .step_ms = 1000};
    struct cl_lq_matrix m;
    struct cl_query_stats st;
    char err[512] = "";
    int rc = cl_lq_metric_eval(a->logql, &s.src, &a->q, &w, &m, &st, err, sizeof err);
    cl_cli_source_close(&s);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: %s\n", CMD, err[0] ? err : cl_strerror(rc));
        return rc == CL_ERR_INVAL ? 2 : 1;
    }
    for (size_t i = 0; i < m.n; i++)
        print_sample(&m.s[i], at, strcmp(c->format, "text") == 0);
    cl_lq_matrix_free(&m);
    if (c->stats)
        print_stats(&st);
    return fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
}

/* Runs the query; returns the exit status. */
static int run(const struct query_cfg *c, struct query_args *a)
{
    struct cl_cli_source s;
    if (cl_cli_source_open(CMD, c->data_dir, c->store_url, c->endpoint_url, &s))
        return 1;
    struct query_out o = {.progress_tty = isatty(STDERR_FILENO)};
    struct cl_query q = a->q;
    q.map_objects = 1;    /* a one-shot process: no copy of each object (query.h) */
    if (a->eval_needed) { /* count and limit apply after the pipeline */
        o.eval = a->eval;
        o.formats_line = a->formats_line;
        o.count_only = q.count_only;
        o.limit = q.count_only ? 0 : q.limit; /* --count ignores --limit */
        q.count_only = 0;
        q.limit = 0;
    }
    const char *nc = getenv("NO_COLOR");
    int color = isatty(STDOUT_FILENO) && !(nc && nc[0]);
    enum cl_qout_format fmt = cl_qout_parse_format(c->format);
    cl_qout_init(&o.out, fmt, color, stdout);
    struct cl_query_stats st;
    char err[512] = "";
    if (!c->q.count && !o.formats_line && cl_qout_header(&o.out))
        o.write_failed = 1;
    int rc = cl_query_run_progress(&s.src, &q, on_record, on_warn, on_progress, &o, &st, err,
                                   sizeof err);
    if (o.progress_shown)
        fputs("\r\033[K", stderr);
    cl_cli_source_close(&s);
    cl_qout_free(&o.out);
    if (rc == CL_OK && o.eval_err[0]) {
        fprintf(stderr, "%s: %s\n", CMD, o.eval_err);
        return 2;
    }
    if (a->eval_needed)
        st.records_matched = o.matched;
    if (rc != CL_OK) {
        fprintf(stderr, "%s: %s\n", CMD, err[0] ? err : cl_strerror(rc));
        return rc == CL_ERR_INVAL ? 2 : 1;
    }
    if (c->q.count)
        printf("%llu\n", (unsigned long long)st.records_matched);
    if (c->stats)
        print_stats(&st);
    if (fflush(stdout) != 0 || ferror(stdout) || o.write_failed) {
        fprintf(stderr, "%s: writing to stdout failed\n", CMD);
        return 1;
    }
    return 0;
}

/* Nonzero when url is a plain path or names a CL_STORE_CAP_LOCAL backend. */
static int store_is_local(const char *url)
{
#define CL_LOCAL_PREFIX_(name, prefix, open, caps, form)                                           \
    if (((caps)&CL_STORE_CAP_LOCAL) && strncmp(url, prefix, strlen(prefix)) == 0)                  \
        return 1;
    CL_STORE_BACKENDS(CL_LOCAL_PREFIX_)
#undef CL_LOCAL_PREFIX_
    return strstr(url, "://") == NULL;
}

int cl_cmd_query(int argc, char **argv)
{
    struct query_cfg cfg = {0};
    struct query_args a = {0};
    size_t n_pos;
    char **args = expand_short(argc, argv);
    int rc = cl_cli_options(CMD, CMD " [OPTIONS]", query_summary, query_options,
                            CL_ARRAY_LEN(query_options), &cfg, argc, args, NULL, 0, &n_pos);
    if (rc < 0) { /* options parsed (else: after --help or a usage error) */
        /* The front links the local backends only; a remote store is the full binary's. */
        if (cl_cli_lean_delegate && cfg.store_url && !store_is_local(cfg.store_url))
            cl_cli_lean_delegate();
        rc = build_query(&cfg, &a);
        if (rc == 0)
            rc = a.metric ? run_metric(&cfg, &a) : run(&cfg, &a);
    }
    query_args_free(&a);
    cl_options_free(query_options, CL_ARRAY_LEN(query_options), &cfg);
    free(args);
    return rc;
}
