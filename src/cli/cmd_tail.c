/* cmd_tail.c - `cloudlog tail`: the newest matching records, then (-f) new ones as published. */
#include "cli_common.h"
#include "cli_source.h"
#include "commands.h"
#include "query_output.h"

#include "common.h"
#include "query.h"
#include "query_follow.h"
#include "query_opts.h"
#include "record.h"
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "cloudlog tail"
#define HOUR_MS (3600LL * 1000)

/* How -f follows: see query_follow.c (cl_query_follow). */

struct tail_cfg {
    struct cl_query_opts q; /* the filters of `cloudlog query`, and since */
    const char *data_dir, *store_url, *endpoint_url, *format;
    int lines, follow;
    int64_t interval_ms, window_ms;
};

#define OFF(f) offsetof(struct tail_cfg, f)

static const struct cl_option tail_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    CL_CLI_READ_STORE_OPTION(OFF(store_url)),
    CL_CLI_ENDPOINT_OPTION(OFF(endpoint_url)),
    {"lines", "CLOUDLOG_TAIL_LINES", CL_OPT_INT, "10", OFF(lines), "N",
     "print the N newest matching records first (also -n N); 0: none", NULL, 0, INT_MAX},
    {"follow", "CLOUDLOG_TAIL_FOLLOW", CL_OPT_FLAG, "0", OFF(follow), NULL,
     "then keep printing matching records as objects are published (also -f)", NULL, 0, 0},
    {"since", "CLOUDLOG_SINCE", CL_OPT_STR, "24h", OFF(q.since), "AGE|TIME",
     "the first N records are looked for from this long ago (15m, 2h, 3d) or time on", NULL, 0, 0},
    CL_OPT_INCLUDE_ROWS(cl_query_filter_options, OFF(q)),
    CL_OPT_INCLUDE_ROWS(cl_qout_format_options, OFF(format)),
    {"interval", "CLOUDLOG_TAIL_INTERVAL", CL_OPT_DURATION, "1s", OFF(interval_ms), "DURATION",
     "with -f: how often to look for newly published objects (at least 10ms)", NULL, 0, 0},
    {"window", "CLOUDLOG_TAIL_WINDOW", CL_OPT_DURATION, "2h", OFF(window_ms), "DURATION",
     "with -f: watch partitions up to this far back (late records older than that are "
     "not shown)",
     NULL, 0, 0},
};

static const char tail_summary[] =
    "Prints the N most recent records (default 10; from the last 24 h, see --since) that\n"
    "pass every filter, oldest first, as stored (json), as text (coloured by level on a\n"
    "terminal unless NO_COLOR is set) or as csv. Filters are those of `cloudlog query`.\n"
    "With -f it then polls every --interval for objects the daemon published since the\n"
    "last poll and prints their matching records in timestamp order, each record once;\n"
    "records that arrive later than --window behind now are not shown. Stops with exit\n"
    "status 0 on SIGINT, SIGTERM or when the reader of stdout goes away (| head).";

const struct cl_cli_table cl_table_tail = {
    CMD,          CMD " [-f] [-n N] [OPTIONS]", tail_summary,
    tail_options, CL_ARRAY_LEN(tail_options),   sizeof(struct tail_cfg)};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* store reads in scan threads must not see EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout shows as EPIPE on write */
}

/* -- output ------------------------------------------------------------------------- */

struct tail_out {
    struct cl_qout out;
    int failed;      /* a write failed: nothing more is written */
    int write_errno; /* its errno (EPIPE: the reader went away) */
};

static void out_fail(struct tail_out *o)
{
    o->failed = 1;
    o->write_errno = errno ? errno : EIO;
}

static int out_record(struct tail_out *o, const char *line, size_t len,
                      const struct cl_line_head *h)
{
    if (o->failed)
        return -1;
    errno = 0;
    if (cl_qout_record(&o->out, line, len, h) != 0)
        out_fail(o);
    return o->failed ? -1 : 0;
}

static void out_flush(struct tail_out *o)
{
    errno = 0;
    if (!o->failed && (fflush(o->out.f) != 0 || ferror(o->out.f)))
        out_fail(o);
}

static void on_warn(void *arg, const char *key, const char *reason)
{
    (void)arg;
    fprintf(stderr, "%s: skipping %s: %s\n", CMD, key, reason);
}

/* -- the command -------------------------------------------------------------------- */

/* Fills q from c (range [since, now]); w keeps the where clauses. Returns 0 or 2. */
static int build_query(const struct tail_cfg *c, struct cl_query *q, struct cl_query_wheres *w)
{
    char err[512];
    memset(q, 0, sizeof *q);
    if (c->interval_ms < 10) {
        fprintf(stderr, "%s: --interval must be at least 10ms\n", CMD);
        return 2;
    }
    if (cl_query_opts_build(&c->q, "--", cl_now_ms(), 24 * HOUR_MS, q, w, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", CMD, err);
        return 2;
    }
    return 0;
}

static int out_emit(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    return out_record(arg, line, len, h) != 0;
}

static void out_flush_cb(void *arg)
{
    out_flush(arg);
}

/* Stop on a signal or once stdout failed. */
static int out_stop(void *arg)
{
    const struct tail_out *o = arg;
    return stop_signal || o->failed;
}

/* The exit status once the output is done. */
static int finish(struct tail_out *o, int rc, const char *err)
{
    out_flush(o);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: %s\n", CMD, err[0] ? err : cl_strerror(rc));
        return rc == CL_ERR_INVAL ? 2 : 1;
    }
    if (o->failed && o->write_errno != EPIPE) {
        fprintf(stderr, "%s: writing to stdout failed: %s\n", CMD, strerror(o->write_errno));
        return 1;
    }
    return 0;
}

static int run(const struct tail_cfg *c, const struct cl_query *q)
{
    struct cl_cli_source s;
    if (cl_cli_source_open(CMD, c->data_dir, c->store_url, c->endpoint_url, &s))
        return 1;
    install_signals();
    const char *nc = getenv("NO_COLOR");
    int color = isatty(STDOUT_FILENO) && !(nc && nc[0]);
    enum cl_qout_format fmt = cl_qout_parse_format(c->format);
    struct tail_out o = {0};
    cl_qout_init(&o.out, fmt, color, stdout);
    char err[512] = "";
    int rc = CL_OK;
    errno = 0;
    if (cl_qout_header(&o.out) != 0)
        out_fail(&o);
    else {
        struct cl_query_follow f = {c->lines,     c->interval_ms, c->window_ms, out_emit, on_warn,
                                    out_flush_cb, out_stop,       &o,           NULL};
        rc = c->follow ? cl_query_follow(&s.src, q, &f, err, sizeof err)
                       : cl_query_newest(&s.src, q, &f, err, sizeof err);
    }
    int status = finish(&o, rc, err);
    cl_qout_free(&o.out);
    cl_cli_source_close(&s);
    return status;
}

/* Copies argv spelling -f, -i, -n N and -nN as long options; owned[] gets what it
 * allocated (the caller frees both). */
static char **expand_short(int argc, char **argv, char **owned)
{
    char **v = cl_calloc((size_t)argc + 1, sizeof *v);
    int only_positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        only_positional |= strcmp(a, "--") == 0;
        v[i] = argv[i];
        if (only_positional)
            continue;
        if (strcmp(a, "-f") == 0)
            v[i] = "--follow";
        else if (strcmp(a, "-i") == 0)
            v[i] = "--ignore-case";
        else if (strcmp(a, "-n") == 0)
            v[i] = "--lines";
        else if (strncmp(a, "-n", 2) == 0) {
            owned[i] = cl_malloc(strlen(a) + 8);
            sprintf(owned[i], "--lines=%s", a + 2);
            v[i] = owned[i];
        }
    }
    return v;
}

int cl_cmd_tail(int argc, char **argv)
{
    struct tail_cfg cfg = {0};
    struct cl_query q;
    struct cl_query_wheres w = {0};
    size_t n_pos;
    char **owned = cl_calloc((size_t)argc + 1, sizeof *owned);
    char **args = expand_short(argc, argv, owned);
    int rc = cl_cli_options(CMD, CMD " [-f] [-n N] [OPTIONS]", tail_summary, tail_options,
                            CL_ARRAY_LEN(tail_options), &cfg, argc, args, NULL, 0, &n_pos);
    if (rc < 0) { /* options parsed (else: after --help or a usage error) */
        rc = build_query(&cfg, &q, &w);
        if (rc == 0)
            rc = run(&cfg, &q);
    }
    cl_query_wheres_free(&w);
    cl_options_free(tail_options, CL_ARRAY_LEN(tail_options), &cfg);
    for (int i = 0; i < argc; i++)
        free(owned[i]);
    free(owned);
    free(args);
    return rc;
}
