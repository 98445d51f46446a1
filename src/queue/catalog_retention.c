/* catalog_retention.c - expired partitions of the catalog (catalog_retention.h).
 *
 * Statements are prepared per call: retention runs once an interval, so caching them in
 * the queue's statement table would buy nothing. */
#include "catalog_retention.h"

#include "common.h"
#include "queue_sqlite_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR_MS 3600000LL

/* The last partition start hour that ends at or before cutoff_ms, as dt and hour. */
static void last_expired(int64_t cutoff_ms, char dt[32], int *hour)
{
    int64_t start_ms = cutoff_ms - HOUR_MS;
    time_t t = (time_t)((start_ms >= 0 ? start_ms : start_ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(dt, 32, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    *hour = tm.tm_hour;
}

static const char expired_sql[] =
    "SELECT service, dt, hour, count(*), sum(records), sum(bytes), max(created_at)"
    " FROM objects WHERE (dt < ?1 OR (dt = ?1 AND hour <= ?2))"
    " GROUP BY service, dt, hour HAVING max(created_at) < ?3 AND min(published) = 1"
    " ORDER BY dt, hour, service";

struct part_row {
    char *service, *dt;
    int hour;
    uint64_t objects, records, bytes;
    int64_t newest;
};

/* Reads the expired partitions (caller frees the strings and *rows). db_mu held. */
static int read_expired(struct sq_queue *s, int64_t cutoff_ms, int64_t quiet_ms,
                        struct part_row **rows, size_t *n)
{
    char dt[32];
    int hour;
    last_expired(cutoff_ms, dt, &hour);
    sqlite3_stmt *st;
    *rows = NULL, *n = 0;
    int rc = sqlite3_prepare_v2(s->db, expired_sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_err(rc);
    sqlite3_bind_text(st, 1, dt, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, hour);
    sqlite3_bind_int64(st, 3, quiet_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *rows = cl_realloc(*rows, (*n + 1) * sizeof **rows);
        struct part_row *r = &(*rows)[(*n)++];
        r->service = cl_strdup((const char *)sqlite3_column_text(st, 0));
        r->dt = cl_strdup((const char *)sqlite3_column_text(st, 1));
        r->hour = sqlite3_column_int(st, 2);
        r->objects = (uint64_t)sqlite3_column_int64(st, 3);
        r->records = (uint64_t)sqlite3_column_int64(st, 4);
        r->bytes = (uint64_t)sqlite3_column_int64(st, 5);
        r->newest = sqlite3_column_int64(st, 6);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? CL_OK : sq_err(rc);
}

int cl_catalog_expired(struct cl_queue *q, int64_t cutoff_ms, int64_t quiet_ms,
                       int (*fn)(void *arg, const struct cl_catalog_partition *p), void *arg)
{
    struct sq_queue *s = sq_from_queue(q);
    if (!s)
        return CL_ERR_UNSUPPORTED;
    struct part_row *rows;
    size_t n;
    pthread_mutex_lock(&s->db_mu);
    int rc = read_expired(s, cutoff_ms, quiet_ms, &rows, &n);
    pthread_mutex_unlock(&s->db_mu);
    /* fn runs without the lock: it may delete the partition */
    for (size_t i = 0; i < n; i++) {
        struct cl_catalog_partition p = {rows[i].service, rows[i].dt,      rows[i].hour,
                                         rows[i].objects, rows[i].records, rows[i].bytes,
                                         rows[i].newest};
        if (rc == CL_OK)
            rc = fn(arg, &p);
        free(rows[i].service);
        free(rows[i].dt);
    }
    free(rows);
    return rc;
}

static const char keys_sql[] = "SELECT key, bytes, created_at, published FROM objects"
                               " WHERE service = ?1 AND dt = ?2 AND hour = ?3";
static const char delete_sql[] = "DELETE FROM objects WHERE service = ?1 AND dt = ?2 AND hour = ?3";

static sqlite3_stmt *prepare_partition(struct sq_queue *s, const char *sql,
                                       const struct cl_catalog_partition *p, int *rc)
{
    sqlite3_stmt *st = NULL;
    *rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (*rc != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, p->service, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, p->dt, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, p->hour);
    return st;
}

/* The partition's keys, or 0 of them if a row is unpublished or too new. In the
 * transaction. Returns an SQLite result code. */
static int partition_keys(struct sq_queue *s, const struct cl_catalog_partition *p,
                          int64_t quiet_ms, char ***keys, size_t *n, uint64_t *bytes)
{
    int rc, keep = 0;
    sqlite3_stmt *st = prepare_partition(s, keys_sql, p, &rc);
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        keep |= sqlite3_column_int64(st, 2) >= quiet_ms || sqlite3_column_int(st, 3) != 1;
        *keys = cl_realloc(*keys, (*n + 1) * sizeof **keys);
        (*keys)[(*n)++] = cl_strdup((const char *)sqlite3_column_text(st, 0));
        *bytes += (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (keep) { /* still receiving: not this time */
        for (size_t i = 0; i < *n; i++)
            free((*keys)[i]);
        free(*keys);
        *keys = NULL, *n = 0, *bytes = 0;
    }
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int cl_catalog_delete_partition(struct cl_queue *q, const struct cl_catalog_partition *p,
                                int64_t cutoff_ms, int64_t quiet_ms, char ***keys, size_t *n,
                                uint64_t *bytes)
{
    struct sq_queue *s = sq_from_queue(q);
    *keys = NULL, *n = 0, *bytes = 0;
    if (!s)
        return CL_ERR_UNSUPPORTED;
    char dt[32];
    int hour;
    last_expired(cutoff_ms, dt, &hour);
    int cmp = strcmp(p->dt, dt);
    if (cmp > 0 || (cmp == 0 && p->hour > hour))
        return CL_OK; /* not expired */
    /* The objects are deleted after this commit, for good: it must be durable first, or a
     * power loss would bring back rows naming nothing. So it is a durable commit, synced
     * after the lock (queue_sqlite_walsync.c), and none is made after a failed sync. */
    pthread_mutex_lock(&s->db_mu);
    if (sq_wal_failed(s)) {
        pthread_mutex_unlock(&s->db_mu);
        return CL_ERR_IO;
    }
    int deferred = sq_durable_begin(s);
    int rc = sq_begin(s);
    int src = rc == CL_OK ? partition_keys(s, p, quiet_ms, keys, n, bytes) : SQLITE_OK;
    if (rc == CL_OK && src == SQLITE_OK && *n) {
        sqlite3_stmt *st = prepare_partition(s, delete_sql, p, &src);
        if (st && (src = sqlite3_step(st)) == SQLITE_DONE)
            src = SQLITE_OK;
        sqlite3_finalize(st);
    }
    if (rc == CL_OK && src != SQLITE_OK)
        rc = sq_err(src);
    rc = sq_end(s, rc, NULL);
    uint64_t seq = sq_durable_end(s, deferred);
    pthread_mutex_unlock(&s->db_mu);
    if (rc == CL_OK && sq_wal_sync(s, seq) != CL_OK)
        rc = CL_ERR_IO; /* its objects stay: rows may come back, never without them */
    if (rc != CL_OK) {
        for (size_t i = 0; i < *n; i++)
            free((*keys)[i]);
        free(*keys);
        *keys = NULL, *n = 0, *bytes = 0;
    }
    return rc;
}
