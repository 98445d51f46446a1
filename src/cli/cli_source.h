/* cli_source.h - opening a data directory's store and catalog for query commands. */
#ifndef CL_CLI_SOURCE_H
#define CL_CLI_SOURCE_H

#include "query.h"

/* Storage for an open source: src points into it. */
struct cl_cli_source {
    struct cl_store store;
    struct cl_queue catalog;
    struct cl_query_source src;
};

/* Opens DATA/logs (it must exist: nothing is created) and, when DATA/queue.db exists, the
 * catalog in it (else src.catalog is NULL: pruning by partition keys only). Returns 0, or
 * prints why not (prefixed by cmd) and returns 1. Close with cl_cli_source_close. */
int cl_cli_source_open(const char *cmd, const char *data_dir, struct cl_cli_source *s);
void cl_cli_source_close(struct cl_cli_source *s);

#endif
