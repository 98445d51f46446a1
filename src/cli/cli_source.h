/* cli_source.h - opening a data directory's store and catalog for query commands. */
#ifndef CL_CLI_SOURCE_H
#define CL_CLI_SOURCE_H

#include "options.h"
#include "query.h"
#include "query_opts.h"

/* Storage for an open source: src points into it. */
struct cl_cli_source {
    struct cl_store store;
    struct cl_catalog *catalog; /* DATA/queue.db's catalog opened alone (owned), or NULL */
    struct cl_queue queue;      /* else the queue, when queue_open; src.catalog is beside it */
    int queue_open;
    struct cl_query_source src;
};

/* Opens DATA/logs (it must exist: nothing is created) and, when DATA/queue.db exists, the
 * catalog in it (else src.catalog is NULL: pruning by partition keys only). With
 * store_url (--store: a store URL, CL_STORE_URL_FORMS in store.h) that store is read
 * instead, without a catalog; endpoint_url (--endpoint-url, may be NULL) is applied
 * first with cl_cli_endpoint_apply. Returns 0, or prints why not (prefixed by cmd) and returns
 * 1. Close with cl_cli_source_close. */
int cl_cli_source_open(const char *cmd, const char *data_dir, const char *store_url,
                       const char *endpoint_url, struct cl_cli_source *s);

/* --endpoint-url: makes url the endpoint of every AWS service this process talks to (S3,
 * SQS, CloudWatch), over AWS_ENDPOINT_URL* from the environment, as the AWS CLI's flag
 * does; an `endpoint=` in a store or queue URL still wins. NULL: no change. */
void cl_cli_endpoint_apply(const char *url);

/* The option table entry for --endpoint-url (env CLOUDLOG_ENDPOINT_URL) at field off. */
#define CL_CLI_ENDPOINT_OPTION(off)                                                                \
    {                                                                                              \
        "endpoint-url", "CLOUDLOG_ENDPOINT_URL", CL_OPT_STR, NULL, (off), "URL",                   \
            "endpoint of the AWS services (S3-compatible stores, SQS, moto), as the AWS CLI's "    \
            "flag",                                                                                \
            NULL, 0, 0                                                                             \
    }

/* The option table entry for --store (env CLOUDLOG_STORE) of the commands that read
 * records (query, tail, partitions) at field off. */
#define CL_CLI_READ_STORE_OPTION(off)                                                              \
    {                                                                                              \
        "store", "CLOUDLOG_STORE", CL_OPT_STR, NULL, (off), "URL",                                 \
            "read this store instead of DATA/logs: " CL_STORE_URL_FORMS " (no catalog: "           \
            "pruning by partition keys only)",                                                     \
            NULL, 0, 0                                                                             \
    }

/* The query budget options: query_opts.h's rows (the log_query Lambda reads them too). */
#define CL_CLI_QUERY_LIMIT_OPTIONS CL_QUERY_LIMIT_OPTIONS
void cl_cli_source_close(struct cl_cli_source *s);

#endif
