/* cli_common.h - helpers shared by the commands that read a data directory's queue. */
#ifndef CL_CLI_COMMON_H
#define CL_CLI_COMMON_H

#include "options.h"
#include "queue.h"

#include <stddef.h>
#include <stdint.h>

/* A command's option table and help text (the registry in cli_tables.c lists them all
 * for the config file, the man page and the shell completions). */
struct cl_cli_table {
    const char *cmd;     /* "cloudlog dlq list" */
    const char *usage;   /* "cloudlog dlq list [OPTIONS]" */
    const char *summary; /* what --help prints under the usage line */
    const struct cl_option *opts;
    size_t n;
    size_t cfg_size; /* sizeof the struct the table fills */
};

/* --data DIR (CLOUDLOG_DATA, default ./data) for a const char * field: every command
 * that reads a data directory includes this row. */
extern const struct cl_option cl_cli_data_options[];

/* Parses a command's options (see cl_options_parse) after the configuration file named by
 * --config FILE or CLOUDLOG_CONFIG, if any (config_file.h: precedence flags > env > file >
 * defaults). Returns -1 to go on, else the exit status to return at once: 0 after printing
 * --help, 2 after a usage error or a bad configuration file. */
int cl_cli_options(const char *cmd, const char *usage, const char *summary,
                   const struct cl_option *opts, size_t n, void *cfg, int argc, char **argv,
                   char **positional, size_t max_pos, size_t *n_pos);

/* Defined by the lean front only (lean_main.c: `cloudlog query` without the network
 * libraries): runs the full binary with this process's arguments instead (execv), for
 * what the front does not link. NULL in the full binary, so callers test it first. */
void cl_cli_lean_delegate(void) __attribute__((weak));

/* Opens DATA/queue.db of an existing data directory, never creating it, safely beside a
 * running daemon. Returns 0, or prints why not (prefixed by cmd) and returns 1. */
int cl_cli_open_queue(const char *cmd, const char *data_dir, struct cl_queue *q);

/* The --queue option of status and dlq: an SQS queue (sqs://NAME or a queue URL),
 * sqlite:FILE or a path; unset means DATA/queue.db. */
#define CL_CLI_QUEUE_HELP                                                                          \
    "an SQS queue (sqs://NAME or its queue URL, docs/aws.md) or sqlite:FILE; default "             \
    "DATA/queue.db"

/* cl_cli_open_queue_url flags */
#define CL_CLI_QUEUE_OLDEST 1u /* stats also reads the oldest age (cl_queue_opts.stats_oldest) */

/* The registry's entry for --queue (queue_url NULL or empty: DATA/queue.db's), or NULL
 * for an unknown scheme: commands ask it for capabilities, never for a name. */
const struct cl_queue_backend *cl_cli_queue_backend(const char *queue_url);

/* Opens the queue named by --queue: DATA/queue.db as cl_cli_open_queue when queue_url is
 * NULL or empty, an existing file when its backend keeps the queue in a local file, else
 * a queue service (the backend's warnings are silenced unless CLOUDLOG_LOG_LEVEL asks for
 * them, so a failure is the one line printed here). Returns 0, or prints why not and
 * returns 1. */
int cl_cli_open_queue_url(const char *cmd, const char *data_dir, const char *queue_url,
                          unsigned flags, struct cl_queue *q);

/* Flushes stdout: 0, or 1 after telling stderr that writing failed (a full disk, a closed
 * pipe), the exit code of a command whose output did not arrive. */
int cl_cli_flush_stdout(const char *cmd);

/* "42s", "5m", "3h", "2d" (negative ages, from clock skew, print as "0s"). */
void cl_cli_format_age(int64_t ms, char *out, size_t len);

/* "512 B", "1.5 KiB", "3.2 GiB". */
void cl_cli_format_bytes(uint64_t n, char *out, size_t len);

/* RFC 3339 UTC with milliseconds, or "-" for 0 (unset). */
void cl_cli_format_ts(int64_t ms, char out[32]);

struct cl_buf;

/* Appends ,"key":"<RFC 3339>" to a JSON object being built, or ,"key":null for 0. */
void cl_cli_json_ts(struct cl_buf *b, const char *key, int64_t ms);

#endif
