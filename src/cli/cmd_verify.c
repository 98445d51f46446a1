/* cmd_verify.c - `cloudlog verify [--repair]`: checks a data directory (queue file,
 * catalog, store) or a store alone, and repairs what can be repaired without deleting. */
#include "cli_common.h"
#include "cli_source.h"
#include "commands.h"
#include "verify.h"

#include "common.h"
#include "store.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct verify_cfg {
    const char *data_dir;
    const char *store_url;
    const char *endpoint_url;
    const char *format;
    int repair;
};

#define OFF(f) offsetof(struct verify_cfg, f)

static const char *const formats[] = {"text", "json", NULL};

static const struct cl_option verify_options[] = {
    CL_OPT_INCLUDE_ROWS(cl_cli_data_options, OFF(data_dir)),
    {"store", "CLOUDLOG_STORE", CL_OPT_STR, NULL, OFF(store_url), "URL",
     "check this store alone, without a catalog (" CL_STORE_URL_FORMS ")", NULL, 0, 0},
    CL_CLI_ENDPOINT_OPTION(OFF(endpoint_url)),
    {"repair", "CLOUDLOG_VERIFY_REPAIR", CL_OPT_FLAG, "0", OFF(repair), NULL,
     "fix what can be fixed; never deletes anything (see below)", NULL, 0, 0},
    {"format", "CLOUDLOG_VERIFY_FORMAT", CL_OPT_STR, "text", OFF(format), "FMT",
     "report format: text or json (one object)", formats, 0, 0},
};

static const char verify_summary[] =
    "Checks the data directory: quarantined queue files not yet salvaged, the queue file\n"
    "(PRAGMA integrity_check), the dead-letter queue, and the store against the catalog:\n"
    "every catalog row's object exists, decompresses and holds its record count; objects\n"
    "no row names (orphans) and staging leftovers are listed. With --store, a store alone\n"
    "(e.g. S3, which has no catalog): every object must decompress into valid records of\n"
    "its partition.\n"
    "--repair salvages quarantined queue files into the queue, publishes committed objects,\n"
    "catalogs valid orphans, moves damaged objects under _quarantine/ and records catalog\n"
    "rows whose object is gone in objects_lost. It never deletes data.\n"
    "Exit status: 0 clean (or every problem repaired), 1 problems left or the check could\n"
    "not run, 2 usage error.";

const struct cl_cli_table cl_table_verify = {
    "cloudlog verify",
    "cloudlog verify [--data DIR | --store URL] [--repair]",
    verify_summary,
    verify_options,
    CL_ARRAY_LEN(verify_options),
    sizeof(struct verify_cfg)};

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A data directory: queue checks, then the store against the catalog. */
static int verify_data_dir(const char *cmd, const char *data, struct verify_report *r)
{
    if (!is_dir(data)) {
        fprintf(stderr, "%s: data directory '%s' does not exist (set --data or CLOUDLOG_DATA)\n",
                cmd, data);
        return 1;
    }
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/queue.db", data);
    struct cl_queue q;
    struct stat st;
    int have_q = stat(path, &st) == 0 && cl_cli_open_queue(cmd, data, &q) == 0;
    if (!have_q)
        verify_add(r, VERIFY_PROBLEM, "queue_unopenable", path,
                   "no queue file, or it cannot be opened (the daemon quarantines a damaged "
                   "one at its next start); the store is checked without its catalog");
    verify_queue(r, data, have_q ? &q : NULL);
    snprintf(path, sizeof path, "%s/logs", data);
    struct cl_store store;
    if (!is_dir(path)) {
        verify_add(r, VERIFY_INFO, "store", path, "no store yet");
    } else if (cl_store_open(&store, path, err, sizeof err) != CL_OK) {
        verify_add(r, VERIFY_PROBLEM, "store_unreadable", path, "%s", err);
    } else {
        struct verify_committed committed;
        verify_committed_load(data, &committed);
        verify_store(r, &store, have_q ? &q : NULL, &committed);
        verify_committed_free(&committed);
        cl_store_close(&store);
    }
    if (have_q)
        cl_queue_close(&q);
    return 0;
}

static int verify_store_url(const char *cmd, const char *url, const char *endpoint,
                            struct verify_report *r)
{
    struct cl_cli_source src;
    if (cl_cli_source_open(cmd, NULL, url, endpoint, &src))
        return 1;
    verify_store(r, &src.store, NULL, NULL);
    cl_cli_source_close(&src);
    return 0;
}

int cl_cmd_verify(int argc, char **argv)
{
    const char *cmd = "cloudlog verify";
    struct verify_cfg cfg = {0};
    size_t n_pos;
    int rc = cl_cli_options(cmd, "cloudlog verify [--data DIR | --store URL] [--repair]",
                            verify_summary, verify_options, CL_ARRAY_LEN(verify_options), &cfg,
                            argc, argv, NULL, 0, &n_pos);
    if (rc >= 0)
        return rc;
    struct verify_report r = {.repair = cfg.repair};
    const char *target = cfg.store_url && *cfg.store_url ? cfg.store_url : cfg.data_dir;
    rc = target == cfg.data_dir ? verify_data_dir(cmd, cfg.data_dir, &r)
                                : verify_store_url(cmd, cfg.store_url, cfg.endpoint_url, &r);
    if (rc == 0 && strcmp(cfg.format, "json") == 0)
        verify_print_json(&r, target);
    else if (rc == 0)
        verify_print_text(&r, target);
    if (rc == 0 && verify_count(&r, VERIFY_PROBLEM, 1) > 0)
        rc = 1;
    verify_report_free(&r);
    return cl_cli_flush_stdout(cmd) ? 1 : rc;
}
