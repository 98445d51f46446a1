/* cli_source.c - opens a data directory's store (logs/) and catalog (queue.db) read-side. */
#include "cli_source.h"
#include "catalog.h"

#include "cli_common.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CL_CLI_PATH_MAX 4096

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A store named by URL: no catalog, so pruning is by partition keys alone. */
static int open_store_url(const char *cmd, const char *url, struct cl_cli_source *s)
{
    char err[512];
    const char *dir = strncmp(url, "file:", 5) == 0 ? url + 5 : url;
    if (!strstr(url, "://") && !is_dir(dir)) { /* a reader must not create a store */
        fprintf(stderr, "%s: no store at '%s'\n", cmd, dir);
        return 1;
    }
    if (cl_store_open(&s->store, url, err, sizeof err) != CL_OK) {
        fprintf(stderr, "%s: cannot open store '%s': %s\n", cmd, url, err);
        return 1;
    }
    s->src.store = &s->store;
    return 0;
}

void cl_cli_endpoint_apply(const char *url)
{
    static const char *const vars[] = {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                                       "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_CLOUDWATCH"};
    for (size_t i = 0; url && i < sizeof vars / sizeof vars[0]; i++)
        setenv(vars[i], url, 1);
}

int cl_cli_source_open(const char *cmd, const char *data_dir, const char *store_url,
                       const char *endpoint_url, struct cl_cli_source *s)
{
    cl_cli_endpoint_apply(endpoint_url);
    char logs[CL_CLI_PATH_MAX], db[CL_CLI_PATH_MAX], err[512];
    memset(s, 0, sizeof *s);
    if (store_url)
        return open_store_url(cmd, store_url, s);
    if (!is_dir(data_dir)) {
        fprintf(stderr, "%s: data directory '%s' does not exist (set --data or CLOUDLOG_DATA)\n",
                cmd, data_dir);
        return 1;
    }
    snprintf(logs, sizeof logs, "%s/logs", data_dir);
    snprintf(db, sizeof db, "%s/queue.db", data_dir);
    if (!is_dir(logs)) {
        fprintf(stderr, "%s: no store at '%s' (is --data right?)\n", cmd, logs);
        return 1;
    }
    int rc = cl_store_open(&s->store, logs, err, sizeof err);
    if (rc != CL_OK) {
        fprintf(stderr, "%s: cannot open store '%s': %s\n", cmd, logs, err);
        return 1;
    }
    s->src.store = &s->store;
    struct stat st;
    if (stat(db, &st) != 0)
        return 0;
    /* The catalog alone, read-only: opening the queue would take its write lock (waiting
     * out the daemon's commits), start its committer and purge. */
    char url[CL_CLI_PATH_MAX + 16];
    if (cl_queue_file_url(db, url, sizeof url) == 0 &&
        cl_catalog_open_reader(url, &s->catalog, err, sizeof err) == CL_OK) {
        s->src.catalog = s->catalog;
        return 0;
    }
    /* An older catalog (the queue's open migrates it) or none this build can read alone. */
    if (cl_cli_open_queue(cmd, data_dir, &s->queue)) {
        cl_store_close(&s->store);
        return 1;
    }
    s->queue_open = 1;
    s->src.catalog = cl_queue_catalog(&s->queue);
    return 0;
}

void cl_cli_source_close(struct cl_cli_source *s)
{
    cl_catalog_close(s->catalog);
    if (s->queue_open)
        cl_queue_close(&s->queue);
    if (s->src.store)
        cl_store_close(&s->store);
    memset(s, 0, sizeof *s);
}
