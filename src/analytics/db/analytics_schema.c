/* analytics_schema.c - the catalog's schema and its versions (PRAGMA user_version), and the
 * migration of an older file when the writer opens it (docs/analytics.md "The catalog").
 *
 * Version 1 (before 2026-12-07, user_version 0): pattern_counts had two indexes besides its
 * primary key, (service, id) and (minute). Version 2 drops the minute index: every count
 * row paid a third B-tree insert for it, and the reads it served (all services over a
 * window, the hourly prune) now walk the primary key service by service. */
#include "analytics_db_int.h"

#include <sqlite3.h>
#include <stdio.h>

static const char tables[] =
    "CREATE TABLE IF NOT EXISTS patterns(service TEXT NOT NULL, id INTEGER NOT NULL,"
    " template TEXT NOT NULL, example TEXT, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
    " PRIMARY KEY(service, id));"
    "CREATE TABLE IF NOT EXISTS pattern_counts(service TEXT NOT NULL, minute INTEGER NOT NULL,"
    " id INTEGER NOT NULL, level INTEGER NOT NULL, count INTEGER NOT NULL,"
    " PRIMARY KEY(service, minute, id, level)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS pattern_counts_id ON pattern_counts(service, id);"
    "CREATE TABLE IF NOT EXISTS anomalies(ts_ms INTEGER NOT NULL, service TEXT NOT NULL,"
    " kind TEXT NOT NULL, observed REAL, expected REAL, lo REAL, hi REAL, score REAL,"
    " p1 INTEGER, p2 INTEGER, p3 INTEGER, text TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS anomalies_ts ON anomalies(ts_ms);";

/* From version 1 (user_version 0) to 2. */
static const char to_v2[] = "DROP INDEX IF EXISTS pattern_counts_minute;";

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

/* Creates or migrates in one transaction, so a crash leaves the old version or the new. */
static int migrate(sqlite3 *db, int version, char *err, size_t err_len)
{
    char set[64];
    snprintf(set, sizeof set, "PRAGMA user_version=%d;", CL_ANALYTICS_SCHEMA_VERSION);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, tables, NULL, NULL, NULL) != SQLITE_OK ||
        (version < 2 && sqlite3_exec(db, to_v2, NULL, NULL, NULL) != SQLITE_OK) ||
        sqlite3_exec(db, set, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_len, "analytics database: schema: %s", sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

int cl_analytics_schema_setup(sqlite3 *db, char *err, size_t err_len)
{
    /* Derived data: synchronous=NORMAL in WAL mode may lose the last transactions on power
     * loss, never the file's consistency; OFF could corrupt it, so not OFF. */
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) !=
        SQLITE_OK) {
        snprintf(err, err_len, "analytics database: schema: %s", sqlite3_errmsg(db));
        return -1;
    }
    int v = user_version(db);
    if (v > CL_ANALYTICS_SCHEMA_VERSION) {
        snprintf(err, err_len,
                 "analytics database: schema version %d is newer than this build's %d (a newer "
                 "cloudlog wrote it; it is derived data: delete the file to start it anew)",
                 v, CL_ANALYTICS_SCHEMA_VERSION);
        return -1;
    }
    return v == CL_ANALYTICS_SCHEMA_VERSION ? 0 : migrate(db, v, err, err_len);
}
