/* cli_source.h - opening a data directory's store and catalog for query commands. */
#ifndef CL_CLI_SOURCE_H
#define CL_CLI_SOURCE_H

#include "options.h"
#include "query.h"

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

/* The query budget options (docs/query.md "Query budgets"), shared by serve and query, at the
 * given field offsets. Deadline and byte budget take per-command defaults: a daemon
 * protects itself from its clients, a person at a terminal has Ctrl-C. The regex
 * defaults are query.h's CL_QUERY_REGEX_* limits. */
/* clang-format off */
#define CL_CLI_QUERY_LIMIT_OPTIONS(timeout_def, bytes_def, timeout, bytes, match, depth, heap)     \
    {"query-timeout", "CLOUDLOG_QUERY_TIMEOUT", CL_OPT_DURATION, (timeout_def), (timeout),        \
     "DURATION", "deadline of one query, 0: none (HTTP: 408 past it)", NULL, 0, 0},               \
    {"query-max-bytes", "CLOUDLOG_QUERY_MAX_BYTES", CL_OPT_SIZE, (bytes_def), (bytes), "SIZE",    \
     "decompressed bytes one query may scan, 0: no budget (HTTP: 503 past it)", NULL, 0, 0},      \
    {"regex-match-limit", "CLOUDLOG_REGEX_MATCH_LIMIT", CL_OPT_INT, "1000000", (match), "N",      \
     "PCRE2 match limit of --regex on one record; a record past it fails the query", NULL, 1,     \
     2147483647},                                                                                 \
    {"regex-depth-limit", "CLOUDLOG_REGEX_DEPTH_LIMIT", CL_OPT_INT, "1000000", (depth), "N",      \
     "PCRE2 backtracking depth limit of --regex on one record", NULL, 1, 2147483647},             \
    {"regex-heap-limit", "CLOUDLOG_REGEX_HEAP_LIMIT", CL_OPT_SIZE, "64MiB", (heap), "SIZE",       \
     "PCRE2 heap limit of --regex on one record (per scan thread)", NULL, 0, 0}
/* clang-format on */
void cl_cli_source_close(struct cl_cli_source *s);

#endif
