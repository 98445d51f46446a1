/* analytics_read.c - the reads of analytics_db.h: top or new patterns over a window,
 * anomalies, and one pattern's counts per step (Loki's samples). */
#include "analytics_db_int.h"

#include "common.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? cl_strdup((const char *)t) : NULL;
}

/* One range of pattern_counts' primary key per service (svc: analytics_db_int.h). */
static const char patterns_sql[] = CL_ANALYTICS_SERVICES_CTE
    "SELECT c.service, c.id, SUM(c.count), SUM(CASE WHEN c.minute >= ?5 THEN c.count ELSE 0 END),"
    " SUM(CASE WHEN c.level >= 4 THEN c.count ELSE 0 END),"
    " p.template, p.example, p.first_ms, p.last_ms"
    " FROM svc CROSS JOIN pattern_counts c ON c.service = svc.name"
    " JOIN patterns p ON p.service = c.service AND p.id = c.id"
    " WHERE c.minute >= ?1 AND c.minute < ?2"
    " AND c.level BETWEEN ?6 AND ?7 AND (?8 = 0 OR p.first_ms >= ?9)"
    " GROUP BY c.service, c.id ORDER BY %s LIMIT ?4";

int cl_analytics_db_patterns(struct cl_analytics_db *d, const struct cl_pattern_query *q,
                             struct cl_pattern_row **rows, size_t *n)
{
    char sql[sizeof patterns_sql + 64];
    snprintf(sql, sizeof sql, patterns_sql, q->new_only ? "p.first_ms DESC" : "3 DESC");
    sqlite3_stmt *st;
    *rows = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(cl_analytics_db_handle(d), sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int64_t from = q->from_ms / 60000, to = (q->to_ms + 59999) / 60000;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    if (q->service)
        sqlite3_bind_text(st, 3, q->service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)(q->limit ? q->limit : 20));
    sqlite3_bind_int64(st, 5, from + (to - from) / 2);
    sqlite3_bind_int(st, 6, q->level_min);
    sqlite3_bind_int(st, 7, q->level_max);
    sqlite3_bind_int(st, 8, q->new_only);
    sqlite3_bind_int64(st, 9, q->from_ms);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *rows = cl_realloc(*rows, cap * sizeof **rows);
        }
        struct cl_pattern_row *r = &(*rows)[(*n)++];
        memset(r, 0, sizeof *r);
        snprintf(r->service, sizeof r->service, "%s", (const char *)sqlite3_column_text(st, 0));
        r->id = (uint64_t)sqlite3_column_int64(st, 1);
        r->count = (uint64_t)sqlite3_column_int64(st, 2);
        r->recent = (uint64_t)sqlite3_column_int64(st, 3);
        r->errors = (uint64_t)sqlite3_column_int64(st, 4);
        r->tmpl = col_dup(st, 5);
        r->example = col_dup(st, 6);
        r->first_ms = sqlite3_column_int64(st, 7);
        r->last_ms = sqlite3_column_int64(st, 8);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

void cl_pattern_rows_free(struct cl_pattern_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].tmpl);
        free(rows[i].example);
    }
    free(rows);
}

static enum cl_anomaly_kind kind_of(const char *s)
{
    for (int k = 0; k < CL_ANOMALY_KINDS; k++)
        if (strcmp(cl_anomaly_kind_name((enum cl_anomaly_kind)k), s) == 0)
            return (enum cl_anomaly_kind)k;
    return CL_ANOMALY_RATE;
}

int cl_analytics_db_anomalies(struct cl_analytics_db *d, int64_t since_ms, const char *service,
                              size_t limit, struct cl_anomaly_event **rows, size_t *n)
{
    static const char sql[] = "SELECT ts_ms, service, kind, observed, expected, lo, hi, score,"
                              " p1, p2, p3, text FROM anomalies WHERE ts_ms >= ?1"
                              " AND (?2 IS NULL OR service = ?2) ORDER BY ts_ms DESC LIMIT ?3";
    sqlite3_stmt *st;
    *rows = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(cl_analytics_db_handle(d), sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, since_ms);
    if (service)
        sqlite3_bind_text(st, 2, service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)(limit ? limit : 100));
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *rows = cl_realloc(*rows, cap * sizeof **rows);
        }
        struct cl_anomaly_event *e = &(*rows)[(*n)++];
        memset(e, 0, sizeof *e);
        e->ts_ms = sqlite3_column_int64(st, 0);
        snprintf(e->service, sizeof e->service, "%s", (const char *)sqlite3_column_text(st, 1));
        e->kind = kind_of((const char *)sqlite3_column_text(st, 2));
        double *v[] = {&e->observed, &e->expected, &e->lo, &e->hi, &e->score};
        for (int k = 0; k < 5; k++)
            *v[k] = sqlite3_column_double(st, 3 + k);
        for (int k = 0; k < CL_ANOMALY_PATTERNS; k++)
            e->patterns[k] = (uint64_t)sqlite3_column_int64(st, 8 + k);
        snprintf(e->text, sizeof e->text, "%s", (const char *)sqlite3_column_text(st, 11));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* By the (service, id) index: the rows of this pattern in the window only, where the
 * primary key (the planner's choice without INDEXED BY) reads every pattern of the service
 * in the window, once per pattern of a Loki answer. */
int cl_analytics_db_samples(struct cl_analytics_db *d, const char *service, uint64_t id,
                            int level_min, int64_t from_ms, int64_t to_ms, int64_t step_ms,
                            void (*fn)(void *arg, int64_t ts_ms, uint64_t count), void *arg)
{
    static const char sql[] =
        "SELECT (minute - ?4) / ?5, SUM(count) FROM pattern_counts INDEXED BY pattern_counts_id"
        " WHERE service = ?1 AND id = ?2"
        " AND level >= ?6 AND minute >= ?3 AND minute < ?7 GROUP BY 1 ORDER BY 1";
    int64_t step_min = CL_MAX(step_ms / 60000, (int64_t)1);
    int64_t from = from_ms / 60000;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cl_analytics_db_handle(d), sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)id);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, from);
    sqlite3_bind_int64(st, 5, step_min);
    sqlite3_bind_int(st, 6, level_min);
    sqlite3_bind_int64(st, 7, (to_ms + 59999) / 60000);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (from + sqlite3_column_int64(st, 0) * step_min) * 60000,
           (uint64_t)sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}
