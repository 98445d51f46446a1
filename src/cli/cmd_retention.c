/* cmd_retention.c - `cloudlog retention`: one store retention pass over a data directory
 * (src/pipeline/retention.h), or with --dry-run the list of what it would delete. Safe
 * beside a running daemon: the catalog's transaction decides, as the daemon's own pass. */
#include "cli_common.h"
#include "commands.h"

#include "common.h"
#include "retention.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct retention_cfg {
    const char *data_dir;
    int64_t retention_ms;
    int64_t quiet_ms;
    int dry_run;
};

#define OFF(f) offsetof(struct retention_cfg, f)

static const struct cl_option retention_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    {"retention", "CLOUDLOG_RETENTION", CL_OPT_DURATION, "0", OFF(retention_ms), "DURATION",
     "delete partitions whose hour ended longer ago than this (required, e.g. 30d)", NULL, 0, 0},
    {"retention-quiet", "CLOUDLOG_RETENTION_QUIET", CL_OPT_DURATION, "1h", OFF(quiet_ms),
     "DURATION", "keep a partition that got an object within this time (still receiving)", NULL, 0,
     0},
    {"dry-run", "CLOUDLOG_RETENTION_DRY_RUN", CL_OPT_FLAG, "0", OFF(dry_run), NULL,
     "list what would be deleted, delete nothing", NULL, 0, 0},
};

static const char retention_summary[] =
    "Deletes whole service=S/dt=D/hour=H partitions of the local store whose hour ended\n"
    "longer ago than --retention, oldest first: their catalog rows, then their objects. A\n"
    "partition still receiving (an object newer than --retention-quiet, or one not yet\n"
    "published) is kept. `cloudlog serve --retention` runs the same pass on a schedule.\n"
    "Prints one line per partition, then a total. Exit status: 0 done, 1 error, 2 usage.";

const struct cl_cli_table cl_table_retention = {
    "cloudlog retention",
    "cloudlog retention --retention DURATION [--dry-run] [--data DIR]",
    retention_summary,
    retention_options,
    CL_ARRAY_LEN(retention_options),
    sizeof(struct retention_cfg)};

static void print_partition(void *arg, const struct cl_catalog_partition *p)
{
    (void)arg;
    printf("service=%s/dt=%s/hour=%02d\t%llu objects\t%llu records\t%llu bytes\n", p->service,
           p->dt, p->hour, (unsigned long long)p->objects, (unsigned long long)p->records,
           (unsigned long long)p->bytes);
}

static int run(const char *cmd, const struct retention_cfg *cfg)
{
    struct cl_queue q;
    if (cl_cli_open_queue(cmd, cfg->data_dir, &q) != 0)
        return 1;
    char url[4200], err[512];
    snprintf(url, sizeof url, "file:%s/logs", cfg->data_dir);
    struct cl_store store;
    if (cl_store_open(&store, url, err, sizeof err) != CL_OK) {
        fprintf(stderr, "%s: cannot open the store %s: %s\n", cmd, url, err);
        cl_queue_close(&q);
        return 1;
    }
    struct cl_retention_opts o = {cfg->retention_ms, cfg->quiet_ms, cfg->dry_run, url + 5};
    struct cl_retention_result r;
    int rc = cl_retention_run(&q, &store, &o, cl_now_ms(), print_partition, NULL, &r);
    printf("%s %llu partition(s), %llu object(s), %llu record(s), %llu bytes\n",
           cfg->dry_run ? "would delete" : "deleted", (unsigned long long)r.partitions,
           (unsigned long long)r.objects, (unsigned long long)r.records,
           (unsigned long long)r.bytes);
    if (rc != CL_OK)
        fprintf(stderr, "%s: catalog error: %s\n", cmd, cl_strerror(rc));
    cl_store_close(&store);
    cl_queue_close(&q);
    return rc == CL_OK && r.failed == 0 ? 0 : 1;
}

int cl_cmd_retention(int argc, char **argv)
{
    const char *cmd = "cloudlog retention";
    struct retention_cfg cfg = {0};
    size_t n_pos;
    int rc = cl_cli_options(cmd, cl_table_retention.usage, retention_summary, retention_options,
                            CL_ARRAY_LEN(retention_options), &cfg, argc, argv, NULL, 0, &n_pos);
    if (rc >= 0)
        return rc;
    if (cfg.retention_ms <= 0) {
        fprintf(stderr, "%s: --retention DURATION is required (e.g. --retention 30d)\n", cmd);
        return 2;
    }
    rc = run(cmd, &cfg);
    return cl_cli_flush_stdout(cmd) ? 1 : rc;
}
