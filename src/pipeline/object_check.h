/* object_check.h - reading a stored object back as `cloudlog verify` does: it must
 * decompress, hold only valid normalized records of the partition its key names, and
 * its catalog row can be re-derived from it. */
#ifndef CL_OBJECT_CHECK_H
#define CL_OBJECT_CHECK_H

#include "catalog.h"

#include <stddef.h>
#include <stdint.h>

/* Largest decompressed object verify reads (objects are flush_size, 8 MiB by default). */
#define CL_OBJECT_CHECK_MAX_RAW (1024u * 1024 * 1024)

/* What a valid object holds; the strings of a catalog row derived from it point into
 * the summary. */
struct cl_object_summary {
    char service[65];
    char dt[11];
    int hour;
    uint64_t records;
    uint64_t raw_bytes;
    int64_t min_ts_ms, max_ts_ms;
    uint64_t level_counts[CL_CATALOG_LEVELS];
};

/* Checks the gzip object gz[0..len) stored under key: it decompresses (bounded by
 * CL_OBJECT_CHECK_MAX_RAW), every line is a JSON object written as a normalized record,
 * and each record belongs to the key's partition. Fills s. Returns 0, or -1 with the
 * first reason in err. */
int cl_object_check(const char *key, const void *gz, size_t len, struct cl_object_summary *s,
                    char *err, size_t err_len);

/* The catalog row of a checked object (published; bytes = its stored size). The
 * strings point into key and s. */
void cl_object_catalog_row(const char *key, uint64_t bytes, const struct cl_object_summary *s,
                           struct cl_catalog_object *o);

#endif
