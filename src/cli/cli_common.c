/* cli_common.c - option handling, queue opening and formatting shared by CLI commands. */
#include "cli_common.h"

#include "buf.h"
#include "common.h"
#include "config_file.h"
#include "log.h"
#include "record.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CL_CLI_PATH_MAX 4096

const struct cl_option cl_cli_data_options[] = {
    {"data", "CLOUDLOG_DATA", CL_OPT_STR, "./data", 0, "DIR",
     "data directory of the daemon (holds queue.db and, by default, the store logs/)", NULL, 0, 0},
    {0},
};

int cl_cli_options(const char *cmd, const char *usage, const char *summary,
                   const struct cl_option *opts, size_t n, void *cfg, int argc, char **argv,
                   char **positional, size_t max_pos, size_t *n_pos)
{
    char err[512];
    const struct cl_conf *conf;
    char **args = cl_calloc((size_t)argc + 1, sizeof *args);
    int n_args = cl_config_take(argc, argv, args, &conf, err, sizeof err);
    int rc = n_args < 0 ? CL_OPTS_ERROR
                        : cl_options_parse_ex(opts, n, cfg, n_args, args, positional, max_pos,
                                              n_pos, conf, NULL, err, sizeof err);
    free(args);
    if (rc == CL_OPTS_HELP) {
        cl_options_help(stdout, usage, summary, opts, n);
        fprintf(stdout, "  %-30s %s\n", "--config FILE",
                "read options from this YAML file first (env CLOUDLOG_CONFIG; "
                "docs/operations.md)");
        return 0;
    }
    if (rc == CL_OPTS_VERSION) {
        cl_options_version(stdout);
        return 0;
    }
    if (rc == CL_OPTS_ERROR) {
        fprintf(stderr, "%s: %s\n", cmd, err);
        return 2;
    }
    return -1;
}

/* Checks that path exists and is a regular file, explaining otherwise. */
static int check_queue_file(const char *cmd, const char *data_dir, const char *path)
{
    struct stat st;
    int dir_rc = stat(data_dir, &st), dir_errno = errno;
    if (dir_rc != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: data directory '%s' %s (set --data or CLOUDLOG_DATA)\n", cmd, data_dir,
                dir_rc != 0 && dir_errno == ENOENT ? "does not exist" : "is not a directory");
        return 1;
    }
    if (stat(path, &st) != 0) {
        fprintf(stderr,
                "%s: no queue at '%s': %s ('cloudlog serve --data %s' creates it; is --data "
                "right?)\n",
                cmd, path, strerror(errno), data_dir);
        return 1;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "%s: '%s' is not a regular file\n", cmd, path);
        return 1;
    }
    return 0;
}

/* Opens the local queue file at path (which must exist) without purging anything. */
static int open_queue_file(const char *cmd, const char *path, struct cl_queue *q)
{
    char err[512];
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    /* Opening runs the retention purge: only the daemon, with its configured retention,
     * may drop messages, so this process keeps everything (100 years). */
    o.retention_s = o.dlq_retention_s = 100LL * 365 * 24 * 3600;
    int rc = cl_queue_open_file(q, path, &o, err, sizeof err);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: cannot open queue '%s': %s (%s)\n", cmd, path, err, cl_strerror(rc));
        return 1;
    }
    return 0;
}

int cl_cli_open_queue(const char *cmd, const char *data_dir, struct cl_queue *q)
{
    char path[CL_CLI_PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/queue.db", data_dir) >= sizeof path) {
        fprintf(stderr, "%s: data directory path too long\n", cmd);
        return 1;
    }
    /* Opening would create an empty database; a typo in --data must not do that. */
    if (check_queue_file(cmd, data_dir, path))
        return 1;
    return open_queue_file(cmd, path, q);
}

const struct cl_queue_backend *cl_cli_queue_backend(const char *queue_url)
{
    /* No --queue: DATA/queue.db, a plain path (the local-file backend). */
    return cl_queue_backend_of(queue_url && *queue_url ? queue_url : "queue.db");
}

/* The backend logs each failed AWS call as a warning and returns the same reason in err:
 * a CLI prints err once, so warnings stay off unless CLOUDLOG_LOG_LEVEL asks. */
static void quiet_backend_log(void)
{
    const char *want = getenv("CLOUDLOG_LOG_LEVEL");
    enum cl_log_level l;
    cl_log_set_level(want && cl_log_parse_level(want, &l) == 0 ? l : CL_LOG_ERROR);
}

/* Opens a queue that is not a local file (a queue service, or an unknown scheme that
 * cl_queue_open explains). */
static int open_remote(const char *cmd, const char *queue_url, unsigned flags, struct cl_queue *q)
{
    char err[1024];
    const struct cl_queue_backend *be = cl_queue_backend_of(queue_url);
    quiet_backend_log();
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.stats_oldest = (flags & CL_CLI_QUEUE_OLDEST) != 0;
    int rc = cl_queue_open(q, queue_url, &o, err, sizeof err);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: cannot open %s%squeue '%s': %s (%s)\n", cmd, be ? be->label : "",
                be ? " " : "", queue_url, err, cl_strerror(rc));
        return 1;
    }
    return 0;
}

int cl_cli_open_queue_url(const char *cmd, const char *data_dir, const char *queue_url,
                          unsigned flags, struct cl_queue *q)
{
    if (!queue_url || !*queue_url)
        return cl_cli_open_queue(cmd, data_dir, q);
    const char *path = cl_queue_url_file(queue_url);
    if (!path)
        return open_remote(cmd, queue_url, flags, q);
    struct stat st;
    /* As for --data: never create a queue file by naming it wrong. */
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: no queue at '%s': %s (expected a queue file or a queue URL)\n", cmd,
                path, strerror(errno));
        return 1;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "%s: '%s' is not a regular file\n", cmd, path);
        return 1;
    }
    return open_queue_file(cmd, path, q);
}

void cl_cli_format_age(int64_t ms, char *out, size_t len)
{
    int64_t s = ms > 0 ? ms / 1000 : 0;
    if (s < 60)
        snprintf(out, len, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(out, len, "%lldm", (long long)(s / 60));
    else if (s < 86400)
        snprintf(out, len, "%lldh", (long long)(s / 3600));
    else
        snprintf(out, len, "%lldd", (long long)(s / 86400));
}

void cl_cli_format_bytes(uint64_t n, char *out, size_t len)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (n < 1024) {
        snprintf(out, len, "%llu B", (unsigned long long)n);
        return;
    }
    double v = (double)n / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < CL_ARRAY_LEN(units)) {
        v /= 1024;
        u++;
    }
    snprintf(out, len, "%.1f %s", v, units[u]);
}

void cl_cli_format_ts(int64_t ms, char out[32])
{
    if (ms == 0) {
        snprintf(out, 32, "-");
        return;
    }
    char ts[25];
    cl_format_timestamp(ms, ts);
    snprintf(out, 32, "%.24s", ts);
}

void cl_cli_json_ts(struct cl_buf *b, const char *key, int64_t ms)
{
    char ts[32];
    cl_cli_format_ts(ms, ts);
    if (ms)
        cl_buf_printf(b, ",\"%s\":\"%s\"", key, ts);
    else
        cl_buf_printf(b, ",\"%s\":null", key);
}

int cl_cli_flush_stdout(const char *cmd)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    fprintf(stderr, "%s: writing to stdout failed\n", cmd);
    return 1;
}
