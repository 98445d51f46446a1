/* cmd_tail.c - `cloudlog tail`: the newest matching records, then (-f) new ones as published. */
#include "cli_common.h"
#include "cli_source.h"
#include "commands.h"
#include "query_output.h"

#include "common.h"
#include "follow.h"
#include "query.h"
#include "record.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CMD "cloudlog tail"

/* -f follows as src/query/follow.c describes (shared with GET /loki/api/v1/tail). */

struct tail_cfg {
    const char *data_dir, *store_url, *endpoint_url, *since, *grep, *regex, *format;
    struct cl_opt_list services, levels, wheres;
    int icase, lines, follow;
    int64_t interval_ms, window_ms;
};

#define OFF(f) offsetof(struct tail_cfg, f)

static const char *const formats[] = {"json", "text", "csv", NULL};

static const struct cl_option tail_options[] = {
    {"data", "CLOUDLOG_DATA", CL_OPT_STR, "./data", OFF(data_dir), "DIR",
     "data directory of the daemon (holds logs/ and queue.db)", NULL, 0, 0},
    {"store", "CLOUDLOG_STORE", CL_OPT_STR, NULL, OFF(store_url), "URL",
     "read this store instead of DATA/logs: file:DIR or s3://bucket/prefix (no catalog: "
     "pruning by partition keys only)",
     NULL, 0, 0},
    CL_CLI_ENDPOINT_OPTION(OFF(endpoint_url)),
    {"lines", "CLOUDLOG_TAIL_LINES", CL_OPT_INT, "10", OFF(lines), "N",
     "print the N newest matching records first (also -n N); 0: none", NULL, 0, INT_MAX},
    {"follow", "CLOUDLOG_TAIL_FOLLOW", CL_OPT_FLAG, "0", OFF(follow), NULL,
     "then keep printing matching records as objects are published (also -f)", NULL, 0, 0},
    {"since", "CLOUDLOG_SINCE", CL_OPT_STR, "24h", OFF(since), "AGE|TIME",
     "the first N records are looked for from this long ago (15m, 2h, 3d) or time on", NULL, 0, 0},
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
    {"format", "CLOUDLOG_FORMAT", CL_OPT_STR, "json", OFF(format), "FMT", "output format", formats,
     0, 0},
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

static int on_record(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    if (stop_signal)
        return 1;
    return out_record(arg, line, len, h) != 0;
}

static int stop_requested(void *arg)
{
    (void)arg;
    return stop_signal != 0;
}

/* Prints the newest n matches of q's range, oldest first. Returns CL_OK or an error. */
static int print_newest(const struct cl_query_source *src, const struct cl_query *q, int n,
                        struct tail_out *o, char *err, size_t err_len)
{
    return cl_query_newest(src, q, (size_t)n, on_record, on_warn, o, err, err_len);
}

/* Sleeps ms, or less once a signal asked to stop. */
static void nap(int64_t ms)
{
    int64_t end = cl_now_ms() + ms;
    for (int64_t left = ms; left > 0 && !stop_signal; left = end - cl_now_ms()) {
        int64_t step = left < 50 ? left : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The first records, then polls until a signal, a write error or a store error. */
static int follow(const struct cl_query_source *src, const struct tail_cfg *c,
                  const struct cl_query *q, struct tail_out *o, char *err, size_t err_len)
{
    struct cl_query_follow *f = cl_query_follow_new(src, q, c->window_ms);
    int rc = cl_query_follow_start(f, (size_t)c->lines, on_record, on_warn, o, err, err_len);
    out_flush(o);
    while (rc == CL_OK && !stop_signal && !o->failed) {
        nap(c->interval_ms);
        if (!stop_signal)
            rc = cl_query_follow_poll(f, on_record, on_warn, o, err, err_len);
        out_flush(o);
    }
    cl_query_follow_free(f);
    return rc;
}

/* -- the command -------------------------------------------------------------------- */

/* Fills q from c (range [since, now)); w keeps the where clauses. Returns 0 or 2. */
static int build_query(const struct tail_cfg *c, struct cl_query *q, struct cl_cli_wheres *w)
{
    int64_t now = cl_now_ms();
    memset(q, 0, sizeof *q);
    q->to_ms = now;
    if (cl_query_parse_time(c->since, now, &q->from_ms) || q->from_ms >= now) {
        fprintf(stderr, "%s: bad --since '%s' (expected 15m, 2h, 3d or a past RFC 3339 time)\n",
                CMD, c->since);
        return 2;
    }
    if (c->interval_ms < 10) {
        fprintf(stderr, "%s: --interval must be at least 10ms\n", CMD);
        return 2;
    }
    int rc = cl_cli_parse_levels(CMD, &c->levels, &q->level_mask);
    if (!rc)
        rc = cl_cli_parse_wheres(CMD, &c->wheres, w);
    q->where = w->v;
    q->n_where = w->n;
    q->services = c->services.v;
    q->n_services = c->services.n;
    q->grep = c->grep;
    q->grep_icase = c->icase;
    q->regex = c->regex;
    q->cancelled = stop_requested; /* a signal ends a scan early */
    char err[512] = "";
    if (!rc && cl_query_validate(q, err, sizeof err) != CL_OK) {
        fprintf(stderr, "%s: %s\n", CMD, err);
        rc = 2;
    }
    return rc;
}

/* The exit status once the output is done. */
static int finish(struct tail_out *o, int rc, const char *err)
{
    out_flush(o);
    if (rc == CL_ERR_CLOSED && stop_signal)
        rc = CL_OK; /* the scan a signal cancelled */
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
    enum cl_qout_format fmt = strcmp(c->format, "text") == 0  ? CL_QOUT_TEXT
                              : strcmp(c->format, "csv") == 0 ? CL_QOUT_CSV
                                                              : CL_QOUT_JSON;
    struct tail_out o = {0};
    cl_qout_init(&o.out, fmt, color, stdout);
    char err[512] = "";
    int rc = CL_OK;
    errno = 0;
    if (cl_qout_header(&o.out) != 0)
        out_fail(&o);
    else if (c->follow)
        rc = follow(&s.src, c, q, &o, err, sizeof err);
    else if (c->lines > 0)
        rc = print_newest(&s.src, q, c->lines, &o, err, sizeof err);
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
    struct cl_cli_wheres w = {0};
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
    cl_cli_wheres_free(&w);
    cl_options_free(tail_options, CL_ARRAY_LEN(tail_options), &cfg);
    for (int i = 0; i < argc; i++)
        free(owned[i]);
    free(owned);
    free(args);
    return rc;
}
