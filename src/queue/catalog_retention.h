/* catalog_retention.h - the catalog's side of local store retention (--retention):
 * which whole partitions have expired, and removing their rows. The store's objects are
 * deleted by the caller after the rows (src/pipeline/retention.c). */
#ifndef CL_CATALOG_RETENTION_H
#define CL_CATALOG_RETENTION_H

#include "queue.h"

#include <stddef.h>
#include <stdint.h>

/* One partition service=S/dt=D/hour=H as the catalog sees it. */
struct cl_catalog_partition {
    const char *service;
    const char *dt; /* "YYYY-MM-DD" */
    int hour;
    uint64_t objects, records, bytes;
    int64_t newest_created_ms; /* when its newest object was committed */
};

/* Calls fn, oldest first (dt, hour, service), for each partition whose hour ended at or
 * before cutoff_ms (ms since the epoch) and whose newest object was committed before
 * quiet_ms, with every object published. Strings are valid only during the call; a
 * non-zero return of fn stops the walk and is returned. q must be an SQLite queue
 * (CL_ERR_UNSUPPORTED otherwise). */
int cl_catalog_expired(struct cl_queue *q, int64_t cutoff_ms, int64_t quiet_ms,
                       int (*fn)(void *arg, const struct cl_catalog_partition *p), void *arg);

/* Deletes the catalog rows of partition (service, dt, hour) in one transaction, if it
 * still qualifies as cl_catalog_expired says (checked inside the transaction, so a flush
 * that just added an object keeps it). *keys gets the deleted objects' keys (n of them,
 * 0 if it no longer qualified; caller frees each and the array), *bytes their stored size.
 * Returns CL_OK or an error (nothing deleted). */
int cl_catalog_delete_partition(struct cl_queue *q, const struct cl_catalog_partition *p,
                                int64_t cutoff_ms, int64_t quiet_ms, char ***keys, size_t *n,
                                uint64_t *bytes);

#endif
