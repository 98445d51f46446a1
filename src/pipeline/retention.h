/* retention.h - local store retention (--retention): whole expired partitions go,
 * oldest first, catalog rows before objects.
 *
 * A partition service=S/dt=D/hour=H expires when its hour ended more than the retention
 * ago. It is kept while still receiving: when an object was added to it within quiet_ms
 * (late records, a processor's buffer just flushed) or an object of it is not published
 * yet. Rows go first, in one transaction, then the objects: a crash in between leaves
 * orphan objects of an expired hour (`cloudlog verify` lists them; the next pass cannot
 * see them, delete them by hand or let `verify --repair` catalog them back for the next
 * pass), never a catalog row naming a deleted object. Only the SQLite queue has a
 * catalog; S3 stores keep their lifecycle rules. */
#ifndef CL_RETENTION_H
#define CL_RETENTION_H

#include "catalog_retention.h"
#include "queue.h"
#include "store.h"

#include <stdint.h>

struct cl_retention_opts {
    int64_t retention_ms; /* > 0 */
    int64_t quiet_ms;     /* a partition that got an object this recently is kept */
    int dry_run;          /* list, delete nothing */
    const char *fs_root;  /* the file store's directory: empty partition directories are
                             removed; NULL for other stores */
};

struct cl_retention_result {
    uint64_t partitions, objects, records, bytes; /* deleted (dry run: would be) */
    int64_t failed;                               /* objects whose delete failed */
};

/* One pass at now_ms (ms since the epoch). each (may be NULL) is called for every
 * partition deleted (or, in a dry run, that would be). Returns CL_OK or the first
 * catalog error; an object that cannot be deleted is logged and counted in failed. */
int cl_retention_run(struct cl_queue *q, struct cl_store *store, const struct cl_retention_opts *o,
                     int64_t now_ms, void (*each)(void *arg, const struct cl_catalog_partition *p),
                     void *arg, struct cl_retention_result *res);

#endif
