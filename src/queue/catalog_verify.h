/* catalog_verify.h - what `cloudlog verify` needs of a catalog beyond the processor's
 * interface (catalog.h): every row and the repairs, CL_ERR_UNSUPPORTED for a NULL
 * catalog or one that offers none; and the SQLite queue file's integrity check. */
#ifndef CL_CATALOG_VERIFY_H
#define CL_CATALOG_VERIFY_H

#include "catalog.h"
#include "queue.h"

#include <stddef.h>
#include <stdint.h>

/* One catalog row as verify sees it; strings owned by the array (cl_catalog_rows_free). */
struct cl_catalog_row {
    int64_t id;
    char *key;
    char *staging_key; /* NULL once published */
    int published;
    uint64_t records;
    uint64_t bytes;
};

/* Every catalog row, ordered by key (byte order, as store listings). Caller frees with
 * cl_catalog_rows_free. */
int cl_catalog_rows(struct cl_catalog *c, struct cl_catalog_row **rows, size_t *n);
void cl_catalog_rows_free(struct cl_catalog_row *rows, size_t n);

/* Catalogs an object found in the store without a row (re-derived from its content) as
 * published. CL_ERR_EXISTS if a row names its key already. */
int cl_catalog_add_published(struct cl_catalog *c, const struct cl_catalog_object *o);

/* Moves catalog row object_id into the objects_lost table (created on first use) with
 * reason and the time: queries stop planning an object that is gone or damaged, and the
 * record of it stays. */
int cl_catalog_mark_lost(struct cl_catalog *c, int64_t object_id, const char *reason);

/* Rows moved to objects_lost so far (0 when the table does not exist). */
int cl_catalog_lost_count(struct cl_catalog *c, uint64_t *n);

#endif
