/* cmd_analytics.c - `cloudlog patterns` (top or new patterns over a window) and
 * `cloudlog anomalies` (what the detectors reported), read from DATA/analytics.db, the
 * catalog the daemon's processor keeps (docs/analytics.md, "Surfaces"). */
#include "cli_common.h"
#include "commands.h"

#include "analytics_db.h"
#include "common.h"
#include "miner.h"
#include "query.h"
#include "record.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct report_cfg {
    const char *data_dir;
    const char *service;
    const char *since;
    const char *level;
    int limit;
    int new_only;
    int json;
};

#define OFF(f) offsetof(struct report_cfg, f)

static const struct cl_option patterns_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    {"service", "CLOUDLOG_SERVICE", CL_OPT_STR, NULL, OFF(service), "S", "only this service", NULL,
     0, 0},
    {"since", "CLOUDLOG_SINCE", CL_OPT_STR, "1h", OFF(since), "TIME",
     "window start: a duration or RFC 3339", NULL, 0, 0},
    {"level", "CLOUDLOG_LEVEL", CL_OPT_STR, NULL, OFF(level), "L",
     "only records of level L (L+: and above)", NULL, 0, 0},
    {"limit", "CLOUDLOG_LIMIT", CL_OPT_INT, "20", OFF(limit), "N", "patterns shown", NULL, 1, 1000},
    {"new", "CLOUDLOG_NEW", CL_OPT_FLAG, "0", OFF(new_only), NULL,
     "only patterns first seen in the window, newest first", NULL, 0, 0},
    {"json", "CLOUDLOG_JSON", CL_OPT_FLAG, "0", OFF(json), NULL, "print JSON (as GET /v1/patterns)",
     NULL, 0, 0},
};

static const struct cl_option anomalies_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    {"service", "CLOUDLOG_SERVICE", CL_OPT_STR, NULL, OFF(service), "S", "only this service", NULL,
     0, 0},
    {"since", "CLOUDLOG_SINCE", CL_OPT_STR, "24h", OFF(since), "TIME",
     "window start: a duration or RFC 3339", NULL, 0, 0},
    {"limit", "CLOUDLOG_LIMIT", CL_OPT_INT, "100", OFF(limit), "N", "anomalies shown", NULL, 1,
     10000},
    {"json", "CLOUDLOG_JSON", CL_OPT_FLAG, "0", OFF(json), NULL,
     "print JSON (as GET /v1/anomalies)", NULL, 0, 0},
};

static const char patterns_summary[] =
    "Top patterns of the records the daemon processed: count in the window, trend (second\n"
    "half against first half), first seen and one example record. The processor assigns\n"
    "each record's message a pattern inline (--analytics on).";
static const char anomalies_summary[] =
    "Anomalies the daemon's inline detectors reported (record rate, error ratio, pattern\n"
    "rate, new patterns, silent services), newest first, each as a sentence.";

const struct cl_cli_table cl_table_patterns = {
    "cloudlog patterns", "cloudlog patterns [OPTIONS]",  patterns_summary,
    patterns_options,    CL_ARRAY_LEN(patterns_options), sizeof(struct report_cfg)};
const struct cl_cli_table cl_table_anomalies = {
    "cloudlog anomalies", "cloudlog anomalies [OPTIONS]",  anomalies_summary,
    anomalies_options,    CL_ARRAY_LEN(anomalies_options), sizeof(struct report_cfg)};

static int open_db(const struct report_cfg *c, const char *cmd, struct cl_analytics_db **db)
{
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/%s", c->data_dir, CL_ANALYTICS_DB_NAME);
    if (cl_analytics_db_open(path, 1, db, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "%s: %s (has the daemon run with --analytics on and --data %s?)\n", cmd, err,
            c->data_dir);
    return 1;
}

static int window(const struct report_cfg *c, const char *cmd, struct cl_pattern_query *q)
{
    char err[256];
    int64_t now = cl_now_ms();
    memset(q, 0, sizeof *q);
    q->to_ms = now;
    q->service = c->service;
    q->limit = (size_t)c->limit;
    q->new_only = c->new_only;
    q->level_max = CL_LEVEL_COUNT - 1;
    int rc = cl_query_parse_time(c->since, now, &q->from_ms);
    if (rc != 0) {
        cl_query_time_error(rc, "--since", c->since, err, sizeof err);
        fprintf(stderr, "%s: %s\n", cmd, err);
        return 2;
    }
    unsigned mask = 0;
    if (c->level && cl_query_parse_level(c->level, &mask) != 0) {
        fprintf(stderr, "%s: invalid --level '%s' (trace..fatal, or e.g. error+)\n", cmd, c->level);
        return 2;
    }
    if (mask) {
        q->level_min = __builtin_ctz(mask);
        q->level_max = 31 - __builtin_clz(mask);
    }
    return 0;
}

/* The rows of one report: patterns or anomalies (the other stays NULL). */
struct report_rows {
    struct cl_pattern_row *patterns;
    struct cl_anomaly_event *anomalies;
    size_t n;
};

/* One report: how to read its rows and how to write them (c->json: as its HTTP route). */
struct report {
    const char *cmd;
    int (*read)(struct cl_analytics_db *db, const struct report_cfg *c,
                const struct cl_pattern_query *q, struct report_rows *rows);
    void (*write)(const struct report_rows *rows, const struct report_cfg *c,
                  const struct cl_pattern_query *q, struct cl_buf *json);
};

static int patterns_read(struct cl_analytics_db *db, const struct report_cfg *c,
                         const struct cl_pattern_query *q, struct report_rows *rows)
{
    (void)c;
    return cl_analytics_db_patterns(db, q, &rows->patterns, &rows->n);
}

static void patterns_write(const struct report_rows *rows, const struct report_cfg *c,
                           const struct cl_pattern_query *q, struct cl_buf *json)
{
    if (c->json) {
        cl_patterns_render_json(rows->patterns, rows->n, q, json);
        return;
    }
    if (rows->n == 0)
        printf("no patterns in the window\n");
    for (size_t i = 0; i < rows->n; i++) {
        const struct cl_pattern_row *r = &rows->patterns[i];
        char id[17], trend[32], first[25];
        cl_pattern_id_format(r->id, id);
        cl_pattern_trend(r, q, trend, sizeof trend);
        cl_format_timestamp(r->first_ms, first);
        printf("%8llu  %-14s %s  %s\n", (unsigned long long)r->count, trend, r->service, r->tmpl);
        printf("          id %s, first seen %s, %llu error(s)\n", id, first,
               (unsigned long long)r->errors);
        if (r->example)
            printf("          e.g. %s\n", r->example);
    }
}

static int anomalies_read(struct cl_analytics_db *db, const struct report_cfg *c,
                          const struct cl_pattern_query *q, struct report_rows *rows)
{
    return cl_analytics_db_anomalies(db, q->from_ms, c->service, (size_t)c->limit, &rows->anomalies,
                                     &rows->n);
}

static void anomalies_write(const struct report_rows *rows, const struct report_cfg *c,
                            const struct cl_pattern_query *q, struct cl_buf *json)
{
    (void)q;
    if (c->json) {
        cl_anomalies_render_json(rows->anomalies, rows->n, json);
        return;
    }
    for (size_t i = 0; i < rows->n; i++)
        printf("[%s, score %.2f] %s\n", cl_anomaly_kind_name(rows->anomalies[i].kind),
               rows->anomalies[i].score, rows->anomalies[i].text);
    if (rows->n == 0)
        printf("no anomalies since %s\n", c->since);
}

static const struct report patterns_report = {"cloudlog patterns", patterns_read, patterns_write};
static const struct report anomalies_report = {"cloudlog anomalies", anomalies_read,
                                               anomalies_write};

/* Reads report r's rows for the window of c and writes them; the exit code. */
static int run_report(const struct report_cfg *c, const struct report *r)
{
    struct cl_pattern_query q;
    struct report_rows rows = {0};
    int rc = window(c, r->cmd, &q);
    struct cl_analytics_db *db = NULL;
    if (rc == 0)
        rc = open_db(c, r->cmd, &db);
    if (rc != 0)
        return rc;
    rc = r->read(db, c, &q, &rows);
    cl_analytics_db_close(db);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot read the analytics database\n", r->cmd);
        return 1;
    }
    struct cl_buf json;
    cl_buf_init(&json, SIZE_MAX);
    r->write(&rows, c, &q, &json);
    if (json.len)
        fwrite(json.data, 1, json.len, stdout);
    cl_buf_free(&json);
    if (rows.patterns)
        cl_pattern_rows_free(rows.patterns, rows.n);
    free(rows.anomalies);
    return cl_cli_flush_stdout(r->cmd);
}

/* Parses table t's options and runs report r on them. */
static int run(const struct cl_cli_table *t, const struct report *r, int argc, char **argv)
{
    struct report_cfg cfg = {0};
    size_t n_pos;
    int rc = cl_cli_options(t->cmd, t->usage, t->summary, t->opts, t->n, &cfg, argc, argv, NULL, 0,
                            &n_pos);
    if (rc < 0)
        rc = run_report(&cfg, r);
    cl_options_free(t->opts, t->n, &cfg);
    return rc;
}

int cl_cmd_patterns_report(int argc, char **argv)
{
    return run(&cl_table_patterns, &patterns_report, argc, argv);
}

int cl_cmd_anomalies_report(int argc, char **argv)
{
    return run(&cl_table_anomalies, &anomalies_report, argc, argv);
}
