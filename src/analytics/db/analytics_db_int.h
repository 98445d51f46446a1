/* analytics_db_int.h - shared by analytics_db.c and analytics_read.c only. */
#ifndef CL_ANALYTICS_DB_INT_H
#define CL_ANALYTICS_DB_INT_H

#include "analytics_db.h"

#include <sqlite3.h>

/* The connection of an open database (borrowed). */
sqlite3 *cl_analytics_db_handle(struct cl_analytics_db *db);

#endif
