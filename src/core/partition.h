/* partition.h - where a normalized record belongs in the store, and object ids.
 *
 * Partition: "service=<service>/dt=<YYYY-MM-DD>/hour=<HH>" from the record's service and
 * the UTC date and hour of its timestamp (Hive-style, so Athena, Spark and DuckDB read
 * the keys as columns). Object key: "<partition>/<object-id>.ndjson.gz".
 */
#ifndef CL_PARTITION_H
#define CL_PARTITION_H

#include "record.h"

#include <stddef.h>
#include <stdint.h>

#define CL_PARTITION_MAX 96 /* "service=" + 64 + "/dt=YYYY-MM-DD/hour=HH" + NUL fits */
#define CL_OBJECT_ID_LEN 33 /* "YYYYMMDDTHHMMSSZ-" + 16 hex */

/* The fields of a normalized line the processor needs, read from its fixed prefix
 * {"timestamp":"…Z","level":"…","service":"…",… without a full JSON parse. */
struct cl_line_head {
    int64_t ts_ms;
    enum cl_level level;
    char service[65];
    char dt[11]; /* YYYY-MM-DD */
    int hour;
};

/* Parses the head of one normalized line (without its '\n'). Returns 0, or -1 if the
 * line does not start the way cl_record_normalize writes lines. */
int cl_line_head_parse(const char *line, size_t len, struct cl_line_head *h);

/* Writes "service=S/dt=D/hour=HH" into out (CL_PARTITION_MAX bytes). */
void cl_partition_key(const struct cl_line_head *h, char *out);

/* Parses an object key "service=S/dt=YYYY-MM-DD/hour=HH/NAME.ndjson.gz" (NAME without
 * '/'): S (1 to 64 bytes) into service, the date into dt, the hour (0-23) into *hour.
 * Returns 0, or -1 for any other key (e.g. anything under _staging/). */
int cl_object_key_parse(const char *key, char service[65], char dt[11], int *hour);

/* Writes a new, unique object id "YYYYMMDDTHHMMSSZ-<16 random hex>" for time now_ms
 * into out (CL_OBJECT_ID_LEN + 1 bytes). Ids sort by creation time. */
void cl_object_id_new(int64_t now_ms, char *out);

#endif
