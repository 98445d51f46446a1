/* cmd_status.c - `cloudlog status`: queue, dead-letter queue and store totals of a data dir. */
#include "cli_common.h"
#include "cli_source.h"
#include "commands.h"

#include "catalog.h"
#include "common.h"
#include "json_write.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct status_cfg {
    const char *data_dir;
    const char *queue_url;
    const char *endpoint_url;
    int json;
};

#define OFF(f) offsetof(struct status_cfg, f)

static const struct cl_option status_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    {"queue", "CLOUDLOG_QUEUE", CL_OPT_STR, NULL, OFF(queue_url), "URL", CL_CLI_QUEUE_HELP, NULL, 0,
     0},
    CL_CLI_ENDPOINT_OPTION(OFF(endpoint_url)),
    {"json", "CLOUDLOG_JSON", CL_OPT_FLAG, "0", OFF(json), NULL, "print one JSON object", NULL, 0,
     0},
};

struct status {
    const char *data_dir;
    const char *queue_url;             /* --queue as given, NULL for DATA/queue.db */
    const struct cl_queue_backend *be; /* the registry's entry: name, label, capabilities */
    int remote;    /* no catalog, no byte/record totals, oldest age from a metrics service */
    int cw_failed; /* remote: the oldest age could not be read, so it is unknown */
    struct cl_queue_stats q;
    struct cl_catalog_stats c;
    int64_t now;
};

#define STORE_NOTE " has no catalog: store totals are not available"

/* Raw bytes per stored byte (0 when nothing is stored). */
static double ratio(const struct cl_catalog_stats *c)
{
    return c->bytes ? (double)c->raw_bytes / (double)c->bytes : 0.0;
}

/* "5m", "-" for an empty queue, or "unknown" when SQS has messages but CloudWatch gave no
 * datapoint (the backend reports both as oldest_ms 0). */
static const char *oldest_text(const struct status *s, char *buf, size_t len)
{
    if (s->q.oldest_ms) {
        cl_cli_format_age(s->now - s->q.oldest_ms, buf, len);
        return buf;
    }
    if (s->cw_failed)
        return "unknown (CloudWatch not readable)";
    if (s->remote && s->q.visible + s->q.inflight > 0)
        return "unknown (no CloudWatch datapoint)";
    return "-";
}

static void print_remote_text(const struct status *s)
{
    char a[32];
    printf("queue (%s %s)\n", s->be->label, s->queue_url);
    printf("  visible        %llu\n", (unsigned long long)s->q.visible);
    printf("  in flight      %llu\n", (unsigned long long)s->q.inflight);
    printf("  oldest         %s\n", oldest_text(s, a, sizeof a));
    printf("dead-letter queue\n");
    printf("  messages       %llu\n", (unsigned long long)s->q.dlq_depth);
    printf("store\n");
    printf("  (%s" STORE_NOTE "; see 'cloudlog partitions --store URL')\n", s->be->label);
}

static void print_text(const struct status *s)
{
    char a[32], b[32];
    if (s->remote) {
        print_remote_text(s);
        return;
    }
    if (s->queue_url)
        printf("queue (%s)\n", s->queue_url);
    else
        printf("queue (%s/queue.db)\n", s->data_dir);
    printf("  visible        %llu\n", (unsigned long long)s->q.visible);
    printf("  in flight      %llu\n", (unsigned long long)s->q.inflight);
    printf("  records        %llu\n", (unsigned long long)s->q.records);
    cl_cli_format_bytes(s->q.bytes, a, sizeof a);
    printf("  bytes          %s\n", a);
    printf("  oldest         %s\n", oldest_text(s, b, sizeof b));
    printf("dead-letter queue\n");
    printf("  messages       %llu\n", (unsigned long long)s->q.dlq_depth);
    cl_cli_format_bytes(s->q.dlq_bytes, a, sizeof a);
    printf("  bytes          %s\n", a);
    printf("store (%s/logs)\n", s->data_dir);
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

/* Appends ,"key":N, or ,"key":null where the backend cannot know N (a queue service). */
static void json_count(struct cl_buf *b, const char *key, uint64_t v, int known)
{
    if (known)
        cl_buf_printf(b, ",\"%s\":%llu", key, (unsigned long long)v);
    else
        cl_buf_printf(b, ",\"%s\":null", key);
}

/* The catalog's totals; without one the same keys, null, and a note saying why. */
static void json_store(struct cl_buf *b, const struct status *s)
{
    int known = !s->remote;
    cl_buf_append_str(b, ",\"store\":{\"objects\":");
    cl_buf_printf(b, known ? "%llu" : "null", (unsigned long long)s->c.objects);
    json_count(b, "records", s->c.records, known);
    json_count(b, "bytes", s->c.bytes, known);
    json_count(b, "raw_bytes", s->c.raw_bytes, known);
    if (s->c.bytes)
        cl_buf_printf(b, ",\"compression_ratio\":%.3f", ratio(&s->c));
    else
        cl_buf_append_str(b, ",\"compression_ratio\":null");
    cl_cli_json_ts(b, "min_ts", s->c.min_ts_ms);
    cl_cli_json_ts(b, "max_ts", s->c.max_ts_ms);
    if (s->remote)
        cl_buf_printf(b, ",\"note\":\"%s" STORE_NOTE "\"", s->be->label);
    cl_buf_append_char(b, '}');
}

/* Same shape for every backend; "backend" and "queue_url" name the queue, and what a
 * queue service cannot count is null. */
static void print_json(const struct status *s)
{
    struct cl_buf b;
    int known = !s->remote;
    cl_buf_init(&b, SIZE_MAX);
    cl_buf_append_str(&b, "{\"data\":");
    cl_json_write_string(&b, s->data_dir, strlen(s->data_dir));
    cl_buf_printf(&b, ",\"backend\":\"%s\",\"queue_url\":", s->be->name);
    if (s->queue_url)
        cl_json_write_string(&b, s->queue_url, strlen(s->queue_url));
    else
        cl_buf_append_str(&b, "null");
    cl_buf_printf(&b, ",\"queue\":{\"visible\":%llu", (unsigned long long)s->q.visible);
    json_count(&b, "inflight", s->q.inflight, 1);
    json_count(&b, "records", s->q.records, known);
    json_count(&b, "bytes", s->q.bytes, known);
    if (s->q.oldest_ms)
        cl_buf_printf(&b, ",\"oldest_age_ms\":%lld}",
                      (long long)CL_MAX(0, s->now - s->q.oldest_ms));
    else
        cl_buf_append_str(&b, ",\"oldest_age_ms\":null}");
    cl_buf_printf(&b, ",\"dlq\":{\"depth\":%llu", (unsigned long long)s->q.dlq_depth);
    json_count(&b, "bytes", s->q.dlq_bytes, known);
    cl_buf_append_char(&b, '}');
    json_store(&b, s);
    cl_buf_append_str(&b, "}\n");
    fwrite(b.data, 1, b.len, stdout);
    cl_buf_free(&b);
}

static const char status_summary[] =
    "Reports the data directory's queue (visible and in-flight messages, records, bytes,\n"
    "age of the oldest message), dead-letter queue and store (objects, records, stored\n"
    "bytes and compression ratio, time span of the records). Works whether or not the\n"
    "daemon runs. With --queue naming an SQS queue: approximate visible, in-flight and\n"
    "dead-letter depths (GetQueueAttributes) and the oldest message's age from CloudWatch\n"
    "(\"unknown\" without a recent datapoint); SQS has no catalog, so no store totals.";

const struct cl_cli_table cl_table_status = {
    "cloudlog status", "cloudlog status [OPTIONS]",  status_summary,
    status_options,    CL_ARRAY_LEN(status_options), sizeof(struct status_cfg)};

/* Queue and catalog totals of a queue with a catalog; returns 0 or prints why not and
 * returns 1. */
static int read_local(const char *cmd, struct status *s)
{
    struct cl_queue q;
    if (cl_cli_open_queue_url(cmd, s->data_dir, s->queue_url, 0, &q))
        return 1;
    int rc = cl_queue_stats(&q, &s->q);
    if (rc == CL_OK)
        rc = cl_catalog_stats(cl_queue_catalog(&q), &s->c);
    s->now = cl_now_ms();
    cl_queue_close(&q);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: reading totals: %s\n", cmd, cl_strerror(rc));
        return 1;
    }
    return 0;
}

/* A queue service's depths (and the oldest age with CL_CLI_QUEUE_OLDEST) into s->q.
 * Returns 0, 1 after reporting an open failure, or -1 if stats failed. */
static int remote_stats(const char *cmd, struct status *s, unsigned flags)
{
    struct cl_queue q;
    if (cl_cli_open_queue_url(cmd, s->data_dir, s->queue_url, flags, &q))
        return 1;
    int rc = cl_queue_stats(&q, &s->q);
    s->now = cl_now_ms();
    cl_queue_close(&q);
    return rc == CL_OK ? 0 : -1;
}

/* Returns 0, or prints why not and returns 1. */
static int read_remote(const char *cmd, struct status *s)
{
    int rc = remote_stats(cmd, s, CL_CLI_QUEUE_OLDEST);
    if (rc < 0) {
        /* CloudWatch is read last and is the likelier failure (another endpoint, another
         * IAM permission): the depths alone are still worth reporting. */
        rc = remote_stats(cmd, s, 0);
        s->cw_failed = rc == 0;
        if (s->cw_failed)
            fprintf(stderr,
                    "%s: CloudWatch's ApproximateAgeOfOldestMessage could not be read, so the "
                    "oldest age is unknown (CLOUDLOG_LOG_LEVEL=warn shows why; "
                    "AWS_ENDPOINT_URL_CLOUDWATCH names a stand-in's endpoint)\n",
                    cmd);
    }
    if (rc < 0)
        fprintf(stderr,
                "%s: reading the %s queue attributes failed (CLOUDLOG_LOG_LEVEL=warn shows "
                "the AWS error)\n",
                cmd, s->be->label);
    return rc != 0;
}

int cl_cmd_status(int argc, char **argv)
{
    const char *cmd = "cloudlog status";
    struct status_cfg cfg = {0};
    size_t n_pos;
    int rc = cl_cli_options(cmd, "cloudlog status [OPTIONS]", status_summary, status_options,
                            CL_ARRAY_LEN(status_options), &cfg, argc, argv, NULL, 0, &n_pos);
    if (rc >= 0)
        return rc;
    cl_cli_endpoint_apply(cfg.endpoint_url);
    struct status s = {0};
    s.data_dir = cfg.data_dir;
    s.queue_url = cfg.queue_url && *cfg.queue_url ? cfg.queue_url : NULL;
    s.be = cl_cli_queue_backend(s.queue_url);
    if (!s.be) { /* an unknown scheme: let cl_queue_open say so */
        struct cl_queue q;
        if (cl_cli_open_queue_url(cmd, s.data_dir, s.queue_url, 0, &q) == 0)
            cl_queue_close(&q);
        return 1;
    }
    s.remote = !(s.be->caps & CL_QUEUE_CAP_CATALOG);
    if ((s.remote ? read_remote(cmd, &s) : read_local(cmd, &s)) != 0)
        return 1;
    if (cfg.json)
        print_json(&s);
    else
        print_text(&s);
    return cl_cli_flush_stdout(cmd);
}
