/* cmd_dlq.c - `cloudlog dlq list|show|redrive`: inspect and redrive dead-letter messages. */
#include "cli_common.h"
#include "options.h"
#include "commands.h"

#include "buf.h"
#include "codec.h"
#include "common.h"
#include "json_write.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define DLQ_MAX_DECODED (1024ULL * 1024 * 1024) /* bound on a body shown by `dlq show` */
#define DLQ_ERROR_MIN_WIDTH 20

struct dlq_cfg {
    const char *data_dir;
    const char *queue_url;
    int limit;
    int json;
    int raw;
    int all;
};

#define OFF(f) offsetof(struct dlq_cfg, f)

static const struct cl_option list_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    {"queue", "CLOUDLOG_QUEUE", CL_OPT_STR, NULL, OFF(queue_url), "URL", CL_CLI_QUEUE_HELP, NULL, 0,
     0},
    {"limit", "CLOUDLOG_LIMIT", CL_OPT_INT, "100", OFF(limit), "N", "list at most N messages", NULL,
     1, 1000000},
    {"json", "CLOUDLOG_JSON", CL_OPT_FLAG, "0", OFF(json), NULL,
     "one JSON object per message and line, with every attribute", NULL, 0, 0},
};

static const struct cl_option show_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    {"queue", "CLOUDLOG_QUEUE", CL_OPT_STR, NULL, OFF(queue_url), "URL", CL_CLI_QUEUE_HELP, NULL, 0,
     0},
    {"raw", "CLOUDLOG_RAW", CL_OPT_FLAG, "0", OFF(raw), NULL,
     "write the stored body bytes (gzip NDJSON) to stdout unchanged", NULL, 0, 0},
};

static const struct cl_option redrive_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    {"queue", "CLOUDLOG_QUEUE", CL_OPT_STR, NULL, OFF(queue_url), "URL", CL_CLI_QUEUE_HELP, NULL, 0,
     0},
    {"all", "CLOUDLOG_REDRIVE_ALL", CL_OPT_FLAG, "0", OFF(all), NULL,
     "redrive every dead-letter message", NULL, 0, 0},
};

/* Terminal width for one-line rows: the tty's, else $COLUMNS, else 120. */
static int terminal_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int w = c ? atoi(c) : 0;
    return w > 0 ? w : 120;
}

/* Appends s with control characters as spaces, cut to at most width characters (UTF-8
 * code points, never split) with "..." marking a cut. */
static void append_one_line(struct cl_buf *b, const char *s, int width)
{
    size_t len = strlen(s), chars = 0, cut = len;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80)
            continue;
        if (++chars > (size_t)width) {
            cut = i;
            break;
        }
    }
    if (cut < len) { /* leave room for "..." */
        for (int dots = 0; dots < 3 && cut > 0; dots++)
            do
                cut--;
            while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80);
    }
    for (size_t i = 0; i < cut; i++) {
        unsigned char ch = (unsigned char)s[i];
        cl_buf_append_char(b, ch < 0x20 || ch == 0x7f ? ' ' : (char)ch);
    }
    if (cut < len)
        cl_buf_append_str(b, "...");
}

static void json_u64(struct cl_buf *b, const char *key, uint64_t v)
{
    cl_buf_printf(b, ",\"%s\":%llu", key, (unsigned long long)v);
}

static void print_json_row(const struct cl_msg *m)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    cl_buf_append_str(&b, "{\"id\":");
    cl_json_write_string(&b, m->id, strlen(m->id));
    json_u64(&b, "receive_count", m->receive_count);
    cl_buf_printf(&b, ",\"sent_ms\":%lld", (long long)m->sent_ms);
    if (m->first_receive_ms)
        cl_buf_printf(&b, ",\"first_receive_ms\":%lld", (long long)m->first_receive_ms);
    else
        cl_buf_append_str(&b, ",\"first_receive_ms\":null");
    json_u64(&b, "record_count", m->attrs.record_count);
    json_u64(&b, "raw_bytes", m->attrs.raw_bytes);
    json_u64(&b, "bytes", m->len);
    cl_buf_append_str(&b, ",\"encoding\":");
    cl_json_write_string(&b, m->attrs.encoding, strlen(m->attrs.encoding));
    cl_cli_json_ts(&b, "min_ts", m->attrs.min_ts_ms);
    cl_cli_json_ts(&b, "max_ts", m->attrs.max_ts_ms);
    cl_buf_append_str(&b, ",\"error\":");
    if (m->last_error)
        cl_json_write_string(&b, m->last_error, strlen(m->last_error));
    else
        cl_buf_append_str(&b, "null");
    cl_buf_append_str(&b, "}\n");
    fwrite(b.data, 1, b.len, stdout);
    cl_buf_free(&b);
}

static void print_table(const struct cl_msg *msgs, size_t n, int64_t now)
{
    int idw = 2;
    for (size_t i = 0; i < n; i++)
        idw = CL_MAX(idw, (int)strlen(msgs[i].id));
    int used = idw + 1 + 8 + 1 + 5 + 1 + 7 + 1;
    int errw = CL_MAX(DLQ_ERROR_MIN_WIDTH, terminal_width() - used - 1);
    printf("%-*s %8s %5s %7s %s\n", idw, "ID", "RECEIVES", "AGE", "RECORDS", "ERROR");
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    for (size_t i = 0; i < n; i++) {
        const struct cl_msg *m = &msgs[i];
        char age[24];
        cl_cli_format_age(now - m->sent_ms, age, sizeof age);
        cl_buf_reset(&b);
        append_one_line(&b, m->last_error ? m->last_error : "-", errw);
        printf("%-*s %8u %5s %7u %s\n", idw, m->id, m->receive_count, age, m->attrs.record_count,
               b.data);
    }
    cl_buf_free(&b);
}

static const char list_summary[] =
    "Lists dead-letter messages, oldest id first. AGE is the time since the message was "
    "sent\n(queued by ingest, or last redriven); ERROR is the last error a consumer gave, "
    "cut to\none line (--json has it whole). Works whether or not the daemon runs.\n"
    "On SQS (--queue) the ids are SQS message ids and the list is a sample: SQS cannot list\n"
    "a queue, so the DLQ is peeked (received with visibility 0, which adds one to each\n"
    "message's receive count); a large DLQ may show part of itself per run. SQS keeps no\n"
    "error text, so ERROR is \"-\".";

const struct cl_cli_table cl_table_dlq_list = {
    "cloudlog dlq list", "cloudlog dlq list [OPTIONS]", list_summary,
    list_options,        CL_ARRAY_LEN(list_options),    sizeof(struct dlq_cfg)};

/* After the table: how many the listing left out, or that the backend showed a sample
 * (CL_QUEUE_CAP_DLQ_SAMPLE). */
static void print_list_footer(const struct cl_queue_backend *be, size_t n,
                              const struct cl_queue_stats *st)
{
    if (st->dlq_depth <= n)
        return;
    if (be && (be->caps & CL_QUEUE_CAP_DLQ_SAMPLE))
        printf("(%s counts about %llu in the dead-letter queue; this is the sample its "
               "receives returned: raise --limit or run again)\n",
               be->label, (unsigned long long)st->dlq_depth);
    else
        printf("(%llu more; raise --limit to see them)\n", (unsigned long long)(st->dlq_depth - n));
}

static int dlq_list(int argc, char **argv)
{
    const char *cmd = "cloudlog dlq list";
    struct dlq_cfg cfg = {0};
    size_t n_pos;
    int rc = cl_cli_options(cmd, "cloudlog dlq list [OPTIONS]", list_summary, list_options,
                            CL_ARRAY_LEN(list_options), &cfg, argc, argv, NULL, 0, &n_pos);
    if (rc >= 0)
        return rc;
    struct cl_queue q;
    if (cl_cli_open_queue_url(cmd, cfg.data_dir, cfg.queue_url, 0, &q))
        return 1;
    struct cl_msg *msgs = NULL;
    size_t n = 0;
    struct cl_queue_stats st = {0};
    rc = cl_queue_dlq_list(&q, NULL, (size_t)cfg.limit, 0, &msgs, &n);
    if (rc == CL_OK)
        rc = cl_queue_stats(&q, &st);
    cl_queue_close(&q);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: reading the dead-letter queue: %s\n", cmd, cl_strerror(rc));
        cl_msgs_free(msgs, n);
        return 1;
    }
    if (cfg.json) {
        for (size_t i = 0; i < n; i++)
            print_json_row(&msgs[i]);
    } else if (n == 0) {
        printf("dead-letter queue is empty\n");
    } else {
        print_table(msgs, n, cl_now_ms());
        print_list_footer(cl_cli_queue_backend(cfg.queue_url), n, &st);
    }
    cl_msgs_free(msgs, n);
    return cl_cli_flush_stdout(cmd);
}

/* Finds DLQ message id (with its body if asked) into *m (caller frees with cl_msgs_free).
 * Returns CL_OK, CL_ERR_NOT_FOUND or a queue error. */
static int find_one(struct cl_queue *q, const char *id, int with_body, struct cl_msg **m)
{
    *m = NULL;
    int rc = cl_queue_dlq_find(q, &id, 1, with_body, m);
    return rc == CL_OK && !*m ? CL_ERR_NOT_FOUND : rc;
}

/* "not in the dead-letter queue", qualified where the backend only saw a sample. */
static void report_missing(const char *cmd, const struct cl_queue_backend *be, const char *id)
{
    int sampled = be && (be->caps & CL_QUEUE_CAP_DLQ_SAMPLE);
    fprintf(stderr, "%s: message %s is not in the dead-letter queue%s%s%s\n", cmd, id,
            sampled ? " (not among the messages " : "", sampled ? be->label : "",
            sampled ? " returned when peeked)" : "");
}

static void print_attrs(const struct cl_msg *m, int64_t now)
{
    char t1[32], t2[32], age[24], size[32], raw[32];
    cl_cli_format_ts(m->sent_ms, t1);
    cl_cli_format_age(now - m->sent_ms, age, sizeof age);
    printf("id:             %s\n", m->id);
    printf("receives:       %u\n", m->receive_count);
    printf("sent:           %s (%s ago)\n", t1, age);
    cl_cli_format_ts(m->first_receive_ms, t1);
    printf("first receive:  %s\n", t1);
    cl_cli_format_bytes(m->len, size, sizeof size);
    cl_cli_format_bytes(m->attrs.raw_bytes, raw, sizeof raw);
    printf("records:        %u\n", m->attrs.record_count);
    printf("size:           %s stored, %s raw (%s)\n", size, raw,
           m->attrs.encoding[0] ? m->attrs.encoding : "no encoding");
    cl_cli_format_ts(m->attrs.min_ts_ms, t1);
    cl_cli_format_ts(m->attrs.max_ts_ms, t2);
    printf("time span:      %s .. %s\n", t1, t2);
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    append_one_line(&b, m->last_error ? m->last_error : "-", 1 << 20);
    printf("error:          %s\n\n", b.data);
    cl_buf_free(&b);
}

/* Writes the message's records (decoded NDJSON) to stdout; returns 0 or 1. */
static int print_records(const char *cmd, const struct cl_msg *m)
{
    const char *enc = m->attrs.encoding;
    if (strcmp(enc, "gzip") != 0 && strcmp(enc, "") != 0 && strcmp(enc, "identity") != 0) {
        fprintf(stderr, "%s: unknown body encoding '%s' (use --raw)\n", cmd, enc);
        return 1;
    }
    struct cl_buf b;
    cl_buf_init(&b, DLQ_MAX_DECODED);
    int rc = strcmp(enc, "gzip") == 0 ? cl_gzip_decompress(m->body, m->len, &b)
                                      : cl_buf_append(&b, m->body, m->len);
    if (rc == CL_OK) {
        fwrite(b.data, 1, b.len, stdout);
        if (b.len > 0 && b.data[b.len - 1] != '\n')
            putchar('\n');
    } else {
        fprintf(stderr, "%s: cannot decode the body: %s (use --raw)\n", cmd, cl_strerror(rc));
    }
    cl_buf_free(&b);
    return rc == CL_OK ? 0 : 1;
}

static const char show_summary[] =
    "Prints a dead-letter message's attributes, then its records (decoded NDJSON, one per "
    "line).";

const struct cl_cli_table cl_table_dlq_show = {
    "cloudlog dlq show", "cloudlog dlq show ID [OPTIONS]", show_summary,
    show_options,        CL_ARRAY_LEN(show_options),       sizeof(struct dlq_cfg)};

static int dlq_show(int argc, char **argv)
{
    const char *cmd = "cloudlog dlq show";
    struct dlq_cfg cfg = {0};
    char *pos[1];
    size_t n_pos;
    int rc = cl_cli_options(cmd, "cloudlog dlq show ID [OPTIONS]", show_summary, show_options,
                            CL_ARRAY_LEN(show_options), &cfg, argc, argv, pos, 1, &n_pos);
    if (rc >= 0)
        return rc;
    if (n_pos != 1) {
        fprintf(stderr, "%s: expected one message ID (see --help)\n", cmd);
        return 2;
    }
    const struct cl_queue_backend *be = cl_cli_queue_backend(cfg.queue_url);
    struct cl_queue q;
    if (cl_cli_open_queue_url(cmd, cfg.data_dir, cfg.queue_url, 0, &q))
        return 1;
    struct cl_msg *m = NULL;
    rc = find_one(&q, pos[0], 1, &m);
    cl_queue_close(&q);
    if (rc != CL_OK) {
        if (rc == CL_ERR_NOT_FOUND)
            report_missing(cmd, be, pos[0]);
        else
            fprintf(stderr, "%s: reading the dead-letter queue: %s\n", cmd, cl_strerror(rc));
        return 1;
    }
    if (cfg.raw) {
        fwrite(m->body, 1, m->len, stdout);
    } else {
        print_attrs(m, cl_now_ms());
        rc = print_records(cmd, m);
    }
    cl_msgs_free(m, 1);
    return cl_cli_flush_stdout(cmd) || rc ? 1 : 0;
}

/* Sorts out ids[0..n): those in the DLQ (deduplicated, as the queue spells them) go to
 * present[] (*n_present; caller frees each), the others are reported on stderr. Returns
 * the count of ids not in the DLQ, or -1 with *qrc set on a queue error. */
static long split_present(const char *cmd, struct cl_queue *q, const struct cl_queue_backend *be,
                          char **ids, size_t n, char **present, size_t *n_present, int *qrc)
{
    struct cl_msg **found = cl_calloc(n + 1, sizeof *found);
    long missing = 0;
    *n_present = 0;
    int rc = cl_queue_dlq_find(q, (const char *const *)ids, n, 0, found);
    for (size_t i = 0; rc == CL_OK && i < n; i++) {
        /* An id given twice is found once (its message was taken by the first). */
        const char *id = found[i] ? found[i]->id : ids[i];
        int dup = 0;
        for (size_t j = 0; j < *n_present && !dup; j++)
            dup = strcmp(present[j], id) == 0;
        if (found[i] && !dup) {
            present[(*n_present)++] = cl_strdup(id);
        } else if (!found[i] && !dup) {
            report_missing(cmd, be, ids[i]);
            missing++;
        }
    }
    for (size_t i = 0; i < n; i++)
        cl_msgs_free(found[i], 1);
    free(found);
    if (rc != CL_OK)
        return *qrc = rc, -1;
    return missing;
}

/* Redrives the named ids; returns the exit status. */
static int redrive_ids(const char *cmd, struct cl_queue *q, const struct cl_queue_backend *be,
                       char **ids, size_t n)
{
    char **present = cl_calloc(n, sizeof *present);
    size_t n_present = 0, moved = 0;
    int rc = CL_OK;
    long missing = split_present(cmd, q, be, ids, n, present, &n_present, &rc);
    if (missing >= 0 && n_present > 0)
        rc = cl_queue_dlq_redrive(q, (const char *const *)present, n_present, &moved);
    for (size_t i = 0; i < n_present; i++)
        free(present[i]);
    free(present);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: redrive failed, nothing moved: %s\n", cmd, cl_strerror(rc));
        return 1;
    }
    printf("redrove %zu message(s)\n", moved);
    if (moved < n_present)
        fprintf(stderr, "%s: %zu message(s) left the dead-letter queue meanwhile\n", cmd,
                n_present - moved);
    return missing > 0 || moved < n_present ? 1 : 0;
}

static const char redrive_summary[] =
    "Moves dead-letter messages back to the main queue (same id, receive count 0, sent now).\n"
    "IDs that are not in the dead-letter queue are reported and make the exit status 1;\n"
    "the others are still redriven. On SQS (--queue) IDs are SQS message ids, looked for\n"
    "among peeks of the DLQ; redriven messages are sent anew (new SQS ids), and --all\n"
    "starts an SQS message move task (where SQS lacks it: receive, send, delete).";

const struct cl_cli_table cl_table_dlq_redrive = {"cloudlog dlq redrive",
                                                  "cloudlog dlq redrive [OPTIONS] (--all | ID...)",
                                                  redrive_summary,
                                                  redrive_options,
                                                  CL_ARRAY_LEN(redrive_options),
                                                  sizeof(struct dlq_cfg)};

static int redrive_all(const char *cmd, struct cl_queue *q)
{
    size_t moved = 0;
    int rc = cl_queue_dlq_redrive(q, NULL, 0, &moved);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: redrive failed, nothing moved: %s\n", cmd, cl_strerror(rc));
        return 1;
    }
    printf("redrove %zu message(s)\n", moved);
    return 0;
}

static int dlq_redrive(int argc, char **argv)
{
    const char *cmd = "cloudlog dlq redrive";
    struct dlq_cfg cfg = {0};
    char **pos = cl_calloc((size_t)argc + 1, sizeof *pos);
    size_t n_pos;
    struct cl_queue q;
    int rc = cl_cli_options(cmd, "cloudlog dlq redrive [OPTIONS] (--all | ID...)", redrive_summary,
                            redrive_options, CL_ARRAY_LEN(redrive_options), &cfg, argc, argv, pos,
                            (size_t)argc, &n_pos);
    if (rc < 0 && (cfg.all ? n_pos > 0 : n_pos == 0)) {
        fprintf(stderr, "%s: give either --all or message IDs (see --help)\n", cmd);
        rc = 2;
    }
    if (rc < 0 && cl_cli_open_queue_url(cmd, cfg.data_dir, cfg.queue_url, 0, &q) == 0) {
        rc = cfg.all ? redrive_all(cmd, &q)
                     : redrive_ids(cmd, &q, cl_cli_queue_backend(cfg.queue_url), pos, n_pos);
        cl_queue_close(&q);
    } else if (rc < 0) {
        rc = 1;
    }
    free(pos);
    return rc < 0 ? 1 : (cl_cli_flush_stdout(cmd) ? 1 : rc);
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} dlq_commands[] = {
    {"list", dlq_list, "list dead-letter messages"},
    {"show", dlq_show, "print one message's attributes and records"},
    {"redrive", dlq_redrive, "move messages back to the main queue"},
};

static void dlq_usage(FILE *f)
{
    fprintf(f, "Usage: cloudlog dlq SUBCOMMAND [OPTIONS]\n\n"
               "Inspects the dead-letter queue: messages that failed max-receive-count times.\n"
               "Reads DATA/queue.db directly, whether or not the daemon runs, or the SQS\n"
               "queue named by --queue (its RedrivePolicy's dead-letter queue).\n\n"
               "Subcommands:\n");
    for (size_t i = 0; i < CL_ARRAY_LEN(dlq_commands); i++)
        fprintf(f, "  %-10s %s\n", dlq_commands[i].name, dlq_commands[i].summary);
    fprintf(f, "\nRun 'cloudlog dlq SUBCOMMAND --help' for its options.\n");
}

int cl_cmd_dlq(int argc, char **argv)
{
    if (argc < 1) {
        dlq_usage(stderr);
        return 2;
    }
    if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0 ||
        strcmp(argv[0], "help") == 0) {
        dlq_usage(stdout);
        return 0;
    }
    if (strcmp(argv[0], "--version") == 0) {
        cl_options_version(stdout);
        return 0;
    }
    for (size_t i = 0; i < CL_ARRAY_LEN(dlq_commands); i++)
        if (strcmp(argv[0], dlq_commands[i].name) == 0)
            return dlq_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cloudlog dlq: unknown subcommand '%s'\n\n", argv[0]);
    dlq_usage(stderr);
    return 2;
}
