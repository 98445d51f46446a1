/* cli_source.h - opening a data directory's store and catalog for query commands. */
#ifndef CL_CLI_SOURCE_H
#define CL_CLI_SOURCE_H

#include "options.h"
#include "query.h"

/* Storage for an open source: src points into it. */
struct cl_cli_source {
    struct cl_store store;
    struct cl_queue catalog;
    struct cl_query_source src;
};

/* Opens DATA/logs (it must exist: nothing is created) and, when DATA/queue.db exists, the
 * catalog in it (else src.catalog is NULL: pruning by partition keys only). With
 * store_url (--store: file:DIR, a directory, or s3://bucket/prefix) that store is read
 * instead, without a catalog. Returns 0, or prints why not (prefixed by cmd) and returns
 * 1. Close with cl_cli_source_close. */
int cl_cli_source_open(const char *cmd, const char *data_dir, const char *store_url,
                       struct cl_cli_source *s);
void cl_cli_source_close(struct cl_cli_source *s);

/* Parses --level values ("warn", "warn+") into a level mask (0 when none). Returns 0, or
 * prints why not (prefixed by cmd) and returns 2. */
int cl_cli_parse_levels(const char *cmd, const struct cl_opt_list *l, unsigned *mask);

/* Parsed --where FIELD=VALUE clauses: v[0..n) point into text (both owned). */
struct cl_cli_wheres {
    struct cl_query_where *v;
    char *text;
    size_t n;
};

/* Parses l into w (free with cl_cli_wheres_free, also on failure). Returns 0, or prints
 * why not (prefixed by cmd) and returns 2. */
int cl_cli_parse_wheres(const char *cmd, const struct cl_opt_list *l, struct cl_cli_wheres *w);
void cl_cli_wheres_free(struct cl_cli_wheres *w);

#endif
