/* cmd_status.c - `cloudlog status`: queue, dead-letter queue and store totals of a data dir. */
#include "cli_common.h"
#include "commands.h"

#include "catalog.h"
#include "common.h"
#include "json_write.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct status_cfg {
    const char *data_dir;
    int json;
};

#define OFF(f) offsetof(struct status_cfg, f)

static const struct cl_option status_options[] = {
    {"data", "CLOUDLOG_DATA", CL_OPT_STR, "./data", OFF(data_dir), "DIR",
     "data directory of the daemon (holds queue.db and logs/)", NULL, 0, 0},
    {"json", "CLOUDLOG_JSON", CL_OPT_FLAG, "0", OFF(json), NULL, "print one JSON object", NULL, 0,
     0},
};

struct status {
    struct cl_queue_stats q;
    struct cl_catalog_stats c;
    int64_t now;
};

/* Raw bytes per stored byte (0 when nothing is stored). */
static double ratio(const struct cl_catalog_stats *c)
{
    return c->bytes ? (double)c->raw_bytes / (double)c->bytes : 0.0;
}

static void print_text(const char *data_dir, const struct status *s)
{
    char a[32], b[32];
    printf("queue (%s/queue.db)\n", data_dir);
    printf("  visible        %llu\n", (unsigned long long)s->q.visible);
    printf("  in flight      %llu\n", (unsigned long long)s->q.inflight);
    printf("  records        %llu\n", (unsigned long long)s->q.records);
    cl_cli_format_bytes(s->q.bytes, a, sizeof a);
    printf("  bytes          %s\n", a);
    cl_cli_format_age(s->now - s->q.oldest_ms, b, sizeof b);
    printf("  oldest         %s\n", s->q.oldest_ms ? b : "-");
    printf("dead-letter queue\n");
    printf("  messages       %llu\n", (unsigned long long)s->q.dlq_depth);
    cl_cli_format_bytes(s->q.dlq_bytes, a, sizeof a);
    printf("  bytes          %s\n", a);
    printf("store (%s/logs)\n", data_dir);
    printf("  objects        %llu\n", (unsigned long long)s->c.objects);
    printf("  records        %llu\n", (unsigned long long)s->c.records);
    cl_cli_format_bytes(s->c.bytes, a, sizeof a);
    cl_cli_format_bytes(s->c.raw_bytes, b, sizeof b);
    if (s->c.bytes)
        printf("  stored bytes   %s (%s raw, %.1fx compression)\n", a, b, ratio(&s->c));
    else
        printf("  stored bytes   %s\n", a);
    cl_cli_format_ts(s->c.min_ts_ms, a);
    cl_cli_format_ts(s->c.max_ts_ms, b);
    printf("  time span      %s .. %s\n", a, b);
}

static void print_json(const char *data_dir, const struct status *s)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    cl_buf_append_str(&b, "{\"data\":");
    cl_json_write_string(&b, data_dir, strlen(data_dir));
    cl_buf_printf(&b,
                  ",\"queue\":{\"visible\":%llu,\"inflight\":%llu,\"records\":%llu,"
                  "\"bytes\":%llu,\"oldest_age_ms\":",
                  (unsigned long long)s->q.visible, (unsigned long long)s->q.inflight,
                  (unsigned long long)s->q.records, (unsigned long long)s->q.bytes);
    if (s->q.oldest_ms)
        cl_buf_printf(&b, "%lld}", (long long)CL_MAX(0, s->now - s->q.oldest_ms));
    else
        cl_buf_append_str(&b, "null}");
    cl_buf_printf(&b, ",\"dlq\":{\"depth\":%llu,\"bytes\":%llu}",
                  (unsigned long long)s->q.dlq_depth, (unsigned long long)s->q.dlq_bytes);
    cl_buf_printf(&b,
                  ",\"store\":{\"objects\":%llu,\"records\":%llu,\"bytes\":%llu,"
                  "\"raw_bytes\":%llu,\"compression_ratio\":",
                  (unsigned long long)s->c.objects, (unsigned long long)s->c.records,
                  (unsigned long long)s->c.bytes, (unsigned long long)s->c.raw_bytes);
    if (s->c.bytes)
        cl_buf_printf(&b, "%.3f", ratio(&s->c));
    else
        cl_buf_append_str(&b, "null");
    cl_cli_json_ts(&b, "min_ts", s->c.min_ts_ms);
    cl_cli_json_ts(&b, "max_ts", s->c.max_ts_ms);
    cl_buf_append_str(&b, "}}\n");
    fwrite(b.data, 1, b.len, stdout);
    cl_buf_free(&b);
}

static const char status_summary[] =
    "Reports the data directory's queue (visible and in-flight messages, records, bytes,\n"
    "age of the oldest message), dead-letter queue and store (objects, records, stored\n"
    "bytes and compression ratio, time span of the records). Works whether or not the\n"
    "daemon runs.";

int cl_cmd_status(int argc, char **argv)
{
    const char *cmd = "cloudlog status";
    struct status_cfg cfg = {0};
    size_t n_pos;
    int rc = cl_cli_options(cmd, "cloudlog status [OPTIONS]", status_summary, status_options,
                            CL_ARRAY_LEN(status_options), &cfg, argc, argv, NULL, 0, &n_pos);
    if (rc >= 0)
        return rc;
    struct cl_queue q;
    if (cl_cli_open_queue(cmd, cfg.data_dir, &q))
        return 1;
    struct status s = {0};
    rc = cl_queue_stats(&q, &s.q);
    if (rc == CL_OK)
        rc = cl_catalog_stats(&q, &s.c);
    s.now = cl_now_ms();
    cl_queue_close(&q);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: reading totals: %s\n", cmd, cl_strerror(rc));
        return 1;
    }
    if (cfg.json)
        print_json(cfg.data_dir, &s);
    else
        print_text(cfg.data_dir, &s);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: writing to stdout failed\n", cmd);
        return 1;
    }
    return 0;
}
