/* cmd_partitions.c - `cloudlog partitions`: stored partitions with their totals. */
#include "cli_common.h"
#include "cli_source.h"
#include "commands.h"

#include "common.h"
#include "json_write.h"
#include "query.h"
#include "store.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define CMD "cloudlog partitions"
#define DAY_MS (24LL * 3600 * 1000)

struct partitions_cfg {
    const char *data_dir, *store_url, *endpoint_url, *since, *from, *to;
    struct cl_opt_list services;
    int json;
};

#define OFF(f) offsetof(struct partitions_cfg, f)

static const struct cl_option partitions_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    CL_CLI_READ_STORE_OPTION(OFF(store_url)),
    CL_CLI_ENDPOINT_OPTION(OFF(endpoint_url)),
    {"service", "CLOUDLOG_SERVICE", CL_OPT_LIST, NULL, OFF(services), "GLOB",
     "service name or glob; repeat for several", NULL, 0, 0},
    {"since", "CLOUDLOG_SINCE", CL_OPT_STR, NULL, OFF(since), "AGE|TIME",
     "partitions from this long ago (15m, 2h, 3d) or time on; default: all", NULL, 0, 0},
    {"from", "CLOUDLOG_FROM", CL_OPT_STR, NULL, OFF(from), "TIME", "partitions at or after TIME",
     NULL, 0, 0},
    {"to", "CLOUDLOG_TO", CL_OPT_STR, NULL, OFF(to), "TIME", "partitions before TIME", NULL, 0, 0},
    {"json", "CLOUDLOG_JSON", CL_OPT_FLAG, "0", OFF(json), NULL, "print one JSON object a line",
     NULL, 0, 0},
};

static const char partitions_summary[] =
    "Lists the store's partitions (service, dt, hour) with their objects, records, stored\n"
    "bytes and the time span of their records, from the catalog; without one (no\n"
    "queue.db) from a listing, which knows only objects and bytes.";

const struct cl_cli_table cl_table_partitions = {CMD,
                                                 CMD " [OPTIONS]",
                                                 partitions_summary,
                                                 partitions_options,
                                                 CL_ARRAY_LEN(partitions_options),
                                                 sizeof(struct partitions_cfg)};

static int parse_range(const struct partitions_cfg *c, struct cl_query *q)
{
    int64_t now = cl_now_ms();
    const char *from = c->from ? c->from : c->since;
    q->from_ms = 0;
    q->to_ms = now + 366 * DAY_MS; /* records may carry clock-skewed future times */
    if ((from && cl_query_parse_time(from, now, &q->from_ms)) ||
        (c->to && cl_query_parse_time(c->to, now, &q->to_ms))) {
        fprintf(stderr, "%s: bad time (expected 15m, 2h, 3d or RFC 3339)\n", CMD);
        return 2;
    }
    if ((c->since && c->from) || q->from_ms >= q->to_ms) {
        fprintf(stderr, "%s: give --since or --from, before --to\n", CMD);
        return 2;
    }
    return 0;
}

static int print_text(void *arg, const struct cl_query_partition *p)
{
    char b[32], t0[32], t1[32];
    (void)arg;
    cl_cli_format_bytes(p->bytes, b, sizeof b);
    cl_cli_format_ts(p->min_ts_ms, t0);
    cl_cli_format_ts(p->max_ts_ms, t1);
    if (p->has_catalog)
        printf("%-20s %s %02d %8llu %10llu %10s  %s .. %s\n", p->service, p->dt, p->hour,
               (unsigned long long)p->objects, (unsigned long long)p->records, b, t0, t1);
    else
        printf("%-20s %s %02d %8llu %10s %10s\n", p->service, p->dt, p->hour,
               (unsigned long long)p->objects, "-", b);
    return 0;
}

static int print_json(void *arg, const struct cl_query_partition *p)
{
    struct cl_buf b;
    (void)arg;
    cl_buf_init(&b, SIZE_MAX);
    cl_buf_append_str(&b, "{\"service\":");
    cl_json_write_string(&b, p->service, strlen(p->service));
    cl_buf_printf(&b, ",\"dt\":\"%s\",\"hour\":%d,\"objects\":%llu,\"bytes\":%llu", p->dt, p->hour,
                  (unsigned long long)p->objects, (unsigned long long)p->bytes);
    if (p->has_catalog) {
        cl_buf_printf(&b, ",\"records\":%llu", (unsigned long long)p->records);
        cl_cli_json_ts(&b, "min_ts", p->min_ts_ms);
        cl_cli_json_ts(&b, "max_ts", p->max_ts_ms);
    }
    cl_buf_append_str(&b, "}\n");
    fwrite(b.data, 1, b.len, stdout);
    cl_buf_free(&b);
    return 0;
}

static int run(const struct partitions_cfg *c, const struct cl_query *q)
{
    struct cl_cli_source s;
    if (cl_cli_source_open(CMD, c->data_dir, c->store_url, c->endpoint_url, &s))
        return 1;
    if (!c->json)
        printf("%-20s %-10s %2s %8s %10s %10s  %s\n", "SERVICE", "DT", "HH", "OBJECTS", "RECORDS",
               "BYTES", "SPAN");
    int rc = cl_query_partitions(&s.src, q, c->json ? print_json : print_text, NULL);
    cl_cli_source_close(&s);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: %s\n", CMD, cl_strerror(rc));
        return 1;
    }
    return cl_cli_flush_stdout(CMD);
}

int cl_cmd_partitions(int argc, char **argv)
{
    struct partitions_cfg cfg = {0};
    struct cl_query q = {0};
    size_t n_pos;
    int rc = cl_cli_options(CMD, CMD " [OPTIONS]", partitions_summary, partitions_options,
                            CL_ARRAY_LEN(partitions_options), &cfg, argc, argv, NULL, 0, &n_pos);
    if (rc < 0) { /* options parsed (else: after --help or a usage error) */
        rc = parse_range(&cfg, &q);
        q.services = cfg.services.v;
        q.n_services = cfg.services.n;
        if (rc == 0)
            rc = run(&cfg, &q);
    }
    cl_options_free(partitions_options, CL_ARRAY_LEN(partitions_options), &cfg);
    return rc;
}
