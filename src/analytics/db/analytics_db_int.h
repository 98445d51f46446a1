/* analytics_db_int.h - shared by the files of src/analytics/db only. */
#ifndef CL_ANALYTICS_DB_INT_H
#define CL_ANALYTICS_DB_INT_H

#include "analytics_db.h"

#include <sqlite3.h>

/* The catalog's schema version (PRAGMA user_version; analytics_schema.c). */
#define CL_ANALYTICS_SCHEMA_VERSION 2

/* The connection of an open database (borrowed). */
sqlite3 *cl_analytics_db_handle(struct cl_analytics_db *db);

/* analytics_schema.c: WAL, then creates the schema or migrates an older one to
 * CL_ANALYTICS_SCHEMA_VERSION. Returns 0, or -1 with err set (also for a newer version). */
int cl_analytics_schema_setup(sqlite3 *db, char *err, size_t err_len);

/* The services of pattern_counts, one primary-key seek each (no index on minute since
 * version 2): a CTE "svc(name)" for readers that span every service; ?3 non-NULL names the
 * one service instead. */
#define CL_ANALYTICS_SERVICES_CTE                                                                  \
    "WITH RECURSIVE svc(name) AS (SELECT coalesce(?3, (SELECT min(service) FROM "                  \
    "pattern_counts)) UNION ALL SELECT (SELECT min(service) FROM pattern_counts WHERE service "    \
    "> svc.name) FROM svc WHERE ?3 IS NULL AND svc.name IS NOT NULL) "

#endif
