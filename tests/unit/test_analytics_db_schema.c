/* test_analytics_db_schema.c - the analytics catalog's physical design (analytics_db.h,
 * schema version 2): a version-1 file is migrated (its minute index dropped, user_version
 * set) with the same answers; the readers give the answers of version 1's SQL on the same
 * data (top, new, by service and level, Loki samples); a newer version is refused; the
 * writer skips pattern upserts that would not change the row; the prune spans every
 * service; counts of patterns evicted before their first write go to "<rare>". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analytics.h"
#include "analytics_db.h"
#include "analytics_test_line.h"
#include "buf.h"
#include "common.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE_MS 1767268800000LL /* 2026-01-01T12:00:00Z */
#define MIN_MS 60000LL

/* Version 1's schema and reads, as they were before version 2 (the reference answers). */
static const char v1_schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE patterns(service TEXT NOT NULL, id INTEGER NOT NULL,"
    " template TEXT NOT NULL, example TEXT, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
    " PRIMARY KEY(service, id));"
    "CREATE TABLE pattern_counts(service TEXT NOT NULL, minute INTEGER NOT NULL,"
    " id INTEGER NOT NULL, level INTEGER NOT NULL, count INTEGER NOT NULL,"
    " PRIMARY KEY(service, minute, id, level)) WITHOUT ROWID;"
    "CREATE INDEX pattern_counts_id ON pattern_counts(service, id);"
    "CREATE INDEX pattern_counts_minute ON pattern_counts(minute);"
    "CREATE TABLE anomalies(ts_ms INTEGER NOT NULL, service TEXT NOT NULL,"
    " kind TEXT NOT NULL, observed REAL, expected REAL, lo REAL, hi REAL, score REAL,"
    " p1 INTEGER, p2 INTEGER, p3 INTEGER, text TEXT NOT NULL);"
    "CREATE INDEX anomalies_ts ON anomalies(ts_ms);";

static const char v1_patterns[] =
    "SELECT c.service, c.id, SUM(c.count), SUM(CASE WHEN c.minute >= ?5 THEN c.count ELSE 0 END),"
    " SUM(CASE WHEN c.level >= 4 THEN c.count ELSE 0 END),"
    " p.template, p.example, p.first_ms, p.last_ms"
    " FROM pattern_counts c JOIN patterns p ON p.service = c.service AND p.id = c.id"
    " WHERE c.minute >= ?1 AND c.minute < ?2 AND (?3 IS NULL OR c.service = ?3)"
    " AND c.level BETWEEN ?6 AND ?7 AND (?8 = 0 OR p.first_ms >= ?9)"
    " GROUP BY c.service, c.id ORDER BY %s LIMIT ?4";

static const char v1_samples[] =
    "SELECT (minute - ?4) / ?5, SUM(count) FROM pattern_counts WHERE service = ?1 AND id = ?2"
    " AND level >= ?6 AND minute >= ?3 AND minute < ?7 GROUP BY 1 ORDER BY 1";

static char path[512];

static void remove_db(void)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static void set_path(const char *name)
{
    const char *dir = getenv("CL_TMPDIR");
    snprintf(path, sizeof path, "%s/andb-%s-%d.db", dir ? dir : "/tmp", name, (int)getpid());
    remove_db();
}

static struct cl_analytics_db *open_db(int readonly)
{
    struct cl_analytics_db *db;
    char err[256];
    assert_int_equal(cl_analytics_db_open(path, readonly, &db, err, sizeof err), 0);
    return db;
}

/* Runs sql on the file with a connection of its own. */
static void exec_raw(const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The first column of the first row of sql, as an integer. */
static int64_t query_int(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Four services, three levels, 30 minutes: templated messages, values that generalize
 * templates over drains (renames), and one message a minute of its own (many patterns),
 * written in one drain per 5 minutes. */
static void fill(struct cl_analytics_db *db)
{
    static const char *const svcs[] = {"api", "db", "web", "auth"};
    static const char *const levels[] = {"info", "warn", "error"};
    struct cl_analytics *a = cl_analytics_new(NULL);
    struct cl_buf b;
    char msg[128], err[256];
    cl_buf_init(&b, SIZE_MAX);
    for (int m = 0; m < 30; m++) {
        for (int i = 0; i < 40; i++) {
            const char *s = svcs[(m + i) % 4];
            if (i % 5 == 0)
                snprintf(msg, sizeof msg, "worker started job pool_%c now", 'a' + (m + i) % 7);
            else if (i % 5 == 1)
                snprintf(msg, sizeof msg, "event number %d of minute %d kind%c%c", i, m,
                         'a' + m % 26, 'a' + m / 26);
            else
                snprintf(msg, sizeof msg, "GET /items/%d took %d ms", i * 7 + m, i);
            cl_test_line(&b, BASE_MS + m * MIN_MS + i * 1000, levels[(i / 3) % 3], s, msg);
        }
        cl_analytics_observe(a, b.data, b.len);
        cl_buf_reset(&b);
        if (m % 5 == 4) {
            struct cl_analytics_batch d;
            cl_analytics_drain(a, &d);
            assert_int_equal(cl_analytics_db_apply(db, &d, BASE_MS, err, sizeof err), 0);
            cl_analytics_batch_free(&d);
        }
    }
    cl_buf_free(&b);
    cl_analytics_free(a);
}

/* Version 1's answer to q (as cl_analytics_db_patterns binds it), compared row by row. */
static void assert_same_patterns(struct cl_analytics_db *db, const struct cl_pattern_query *q)
{
    struct cl_pattern_row *rows;
    size_t n;
    assert_int_equal(cl_analytics_db_patterns(db, q, &rows, &n), 0);
    sqlite3 *raw;
    sqlite3_stmt *st;
    char sql[sizeof v1_patterns + 64];
    snprintf(sql, sizeof sql, v1_patterns, q->new_only ? "p.first_ms DESC" : "3 DESC");
    assert_int_equal(sqlite3_open_v2(path, &raw, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(raw, sql, -1, &st, NULL), SQLITE_OK);
    int64_t from = q->from_ms / 60000, to = (q->to_ms + 59999) / 60000;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    if (q->service)
        sqlite3_bind_text(st, 3, q->service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)q->limit);
    sqlite3_bind_int64(st, 5, from + (to - from) / 2);
    sqlite3_bind_int(st, 6, q->level_min);
    sqlite3_bind_int(st, 7, q->level_max);
    sqlite3_bind_int(st, 8, q->new_only);
    sqlite3_bind_int64(st, 9, q->from_ms);
    size_t i = 0;
    for (; sqlite3_step(st) == SQLITE_ROW; i++) {
        assert_true(i < n);
        /* rows that tie in the ORDER BY may come in another order (and, at the LIMIT,
         * another of them): the sort key by position, the whole row where it is */
        if (q->new_only)
            assert_int_equal(rows[i].first_ms, sqlite3_column_int64(st, 7));
        else
            assert_int_equal(rows[i].count, (uint64_t)sqlite3_column_int64(st, 2));
        size_t k = 0;
        while (k < n && !(strcmp(rows[k].service, (const char *)sqlite3_column_text(st, 0)) == 0 &&
                          rows[k].id == (uint64_t)sqlite3_column_int64(st, 1)))
            k++;
        if (k == n) {
            assert_true(n == q->limit);
            continue;
        }
        assert_int_equal(rows[k].count, (uint64_t)sqlite3_column_int64(st, 2));
        assert_int_equal(rows[k].recent, (uint64_t)sqlite3_column_int64(st, 3));
        assert_int_equal(rows[k].errors, (uint64_t)sqlite3_column_int64(st, 4));
        assert_string_equal(rows[k].tmpl, (const char *)sqlite3_column_text(st, 5));
        const char *example = (const char *)sqlite3_column_text(st, 6);
        if (example || rows[k].example) /* the rare row has none */
            assert_string_equal(rows[k].example, example);
        assert_int_equal(rows[k].first_ms, sqlite3_column_int64(st, 7));
        assert_int_equal(rows[k].last_ms, sqlite3_column_int64(st, 8));
    }
    assert_int_equal(i, n);
    sqlite3_finalize(st);
    sqlite3_close(raw);
    cl_pattern_rows_free(rows, n);
}

struct samples {
    int64_t ts[64];
    uint64_t count[64];
    size_t n;
};

static void add_sample(void *arg, int64_t ts_ms, uint64_t count)
{
    struct samples *s = arg;
    assert_true(s->n < 64);
    s->ts[s->n] = ts_ms;
    s->count[s->n++] = count;
}

/* Version 1's samples of one pattern against cl_analytics_db_samples. */
static void assert_same_samples(struct cl_analytics_db *db, const char *service, uint64_t id,
                                int level_min, int64_t step_ms)
{
    int64_t from_ms = BASE_MS - MIN_MS, to_ms = BASE_MS + 40 * MIN_MS;
    struct samples got = {0};
    assert_int_equal(cl_analytics_db_samples(db, service, id, level_min, from_ms, to_ms, step_ms,
                                             add_sample, &got),
                     0);
    sqlite3 *raw;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &raw, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(raw, v1_samples, -1, &st, NULL), SQLITE_OK);
    int64_t step_min = step_ms / 60000, from = from_ms / 60000;
    sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)id);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, from);
    sqlite3_bind_int64(st, 5, step_min);
    sqlite3_bind_int(st, 6, level_min);
    sqlite3_bind_int64(st, 7, (to_ms + 59999) / 60000);
    size_t i = 0;
    for (; sqlite3_step(st) == SQLITE_ROW; i++) {
        assert_true(i < got.n);
        assert_int_equal(got.ts[i], (from + sqlite3_column_int64(st, 0) * step_min) * 60000);
        assert_int_equal(got.count[i], (uint64_t)sqlite3_column_int64(st, 1));
    }
    assert_int_equal(i, got.n);
    assert_true(got.n > 0);
    sqlite3_finalize(st);
    sqlite3_close(raw);
}

/* Every reader's answer equals version 1's SQL on the same file. */
static void assert_same_answers(struct cl_analytics_db *db)
{
    static const char *const services[] = {NULL, "api", "web", "nosuch"};
    for (size_t s = 0; s < CL_ARRAY_LEN(services); s++)
        for (int lvl = 0; lvl < 2; lvl++)
            for (int new_only = 0; new_only < 2; new_only++) {
                struct cl_pattern_query q = {.service = services[s],
                                             .from_ms = BASE_MS + 3 * MIN_MS,
                                             .to_ms = BASE_MS + 25 * MIN_MS,
                                             .level_min = lvl ? CL_LEVEL_ERROR : 0,
                                             .level_max = CL_LEVEL_COUNT - 1,
                                             .limit = 1000,
                                             .new_only = new_only};
                assert_same_patterns(db, &q);
                q.limit = 3;
                assert_same_patterns(db, &q);
            }
    struct cl_pattern_query all = {.from_ms = BASE_MS,
                                   .to_ms = BASE_MS + 30 * MIN_MS,
                                   .level_max = CL_LEVEL_COUNT - 1,
                                   .limit = 5};
    struct cl_pattern_row *rows;
    size_t n;
    assert_int_equal(cl_analytics_db_patterns(db, &all, &rows, &n), 0);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_same_samples(db, rows[i].service, rows[i].id, 0, MIN_MS);
        assert_same_samples(db, rows[i].service, rows[i].id, CL_LEVEL_WARN, 5 * MIN_MS);
    }
    cl_pattern_rows_free(rows, n);
}

static void test_readers_answer_as_version_1(void **state)
{
    (void)state;
    set_path("same");
    struct cl_analytics_db *db = open_db(0);
    fill(db);
    assert_int_equal(query_int("PRAGMA user_version"), 2);
    assert_int_equal(query_int("SELECT count(*) FROM sqlite_master WHERE name = "
                               "'pattern_counts_minute'"),
                     0);
    assert_true(query_int("SELECT count(DISTINCT service) FROM pattern_counts") == 4);
    assert_true(query_int("SELECT count(*) FROM pattern_counts") > 100);
    assert_same_answers(db);
    cl_analytics_db_close(db);
    struct cl_analytics_db *ro = open_db(1);
    assert_same_answers(ro);
    cl_analytics_db_close(ro);
    remove_db();
}

/* A version-1 file (written by version 1's schema, then filled): readable as it is, then
 * migrated by the writer's open with the same answers, and written to after. */
static void test_migrates_version_1(void **state)
{
    (void)state;
    set_path("v1");
    exec_raw(v1_schema);
    assert_int_equal(query_int("PRAGMA user_version"), 0);
    /* fill it through version 2's writer on a copy of the schema, then rebuild as v1 */
    struct cl_analytics_db *db = open_db(0);
    exec_raw("CREATE INDEX pattern_counts_minute ON pattern_counts(minute);"
             "PRAGMA user_version=0;");
    fill(db);
    cl_analytics_db_close(db);
    assert_int_equal(query_int("PRAGMA user_version"), 0);
    assert_int_equal(query_int("SELECT count(*) FROM sqlite_master WHERE name = "
                               "'pattern_counts_minute'"),
                     1);
    struct cl_analytics_db *ro = open_db(1); /* a reader does not migrate */
    assert_same_answers(ro);
    cl_analytics_db_close(ro);
    assert_int_equal(query_int("PRAGMA user_version"), 0);

    int64_t rows = query_int("SELECT count(*) FROM pattern_counts");
    int64_t sum = query_int("SELECT sum(count) FROM pattern_counts");
    db = open_db(0); /* the writer migrates */
    assert_int_equal(query_int("PRAGMA user_version"), 2);
    assert_int_equal(query_int("SELECT count(*) FROM sqlite_master WHERE name = "
                               "'pattern_counts_minute'"),
                     0);
    assert_int_equal(query_int("SELECT count(*) FROM sqlite_master WHERE name = "
                               "'pattern_counts_id'"),
                     1);
    assert_int_equal(query_int("SELECT count(*) FROM pattern_counts"), rows);
    assert_int_equal(query_int("SELECT sum(count) FROM pattern_counts"), sum);
    assert_same_answers(db);
    fill(db); /* and it goes on writing: every count twice now */
    assert_int_equal(query_int("SELECT sum(count) FROM pattern_counts"), 2 * sum);
    assert_same_answers(db);
    cl_analytics_db_close(db);
    remove_db();
}

/* A file of a newer schema (a newer cloudlog wrote it) is refused by the writer with a
 * message that names both versions; readers still open it. */
static void test_newer_version_refused(void **state)
{
    (void)state;
    set_path("v3");
    cl_analytics_db_close(open_db(0));
    exec_raw("PRAGMA user_version=3;");
    struct cl_analytics_db *db = NULL;
    char err[256] = "";
    assert_int_equal(cl_analytics_db_open(path, 0, &db, err, sizeof err), -1);
    assert_null(db);
    assert_non_null(strstr(err, "schema version 3 is newer than this build's 2"));
    cl_analytics_db_close(open_db(1));
    remove_db();
}

/* One pattern, drained every 10 s: its row is written when it is new and when its last
 * record moves to a later minute, not at every drain; counts are all written. */
static void test_unchanged_pattern_not_rewritten(void **state)
{
    (void)state;
    set_path("skip");
    struct cl_analytics_db *db = open_db(0);
    struct cl_analytics *a = cl_analytics_new(NULL);
    struct cl_buf b;
    char err[256];
    cl_buf_init(&b, SIZE_MAX);
    exec_raw("CREATE TABLE writes(n INTEGER);"
             "CREATE TRIGGER pattern_writes AFTER UPDATE ON patterns BEGIN"
             " INSERT INTO writes VALUES(1); END;");
    for (int k = 0; k < 12; k++) { /* 12 drains, 10 s apart: minutes 0 and 1 */
        cl_test_line(&b, BASE_MS + 5000 + k * 10000, "info", "api",
                     "cache refreshed for pool_a now");
        cl_analytics_observe(a, b.data, b.len);
        cl_buf_reset(&b);
        struct cl_analytics_batch d;
        cl_analytics_drain(a, &d);
        assert_int_equal(d.n_patterns, 1); /* the analytics side pushes it every drain */
        assert_int_equal(cl_analytics_db_apply(db, &d, BASE_MS, err, sizeof err), 0);
        cl_analytics_batch_free(&d);
    }
    /* an insert at the first drain, one update when minute 1 began (k = 6: 65 s) */
    assert_int_equal(query_int("SELECT count(*) FROM writes"), 1);
    assert_int_equal(query_int("SELECT last_ms FROM patterns"), BASE_MS + 65000);
    assert_int_equal(query_int("SELECT first_ms FROM patterns"), BASE_MS + 5000);
    assert_int_equal(query_int("SELECT sum(count) FROM pattern_counts"), 12);
    /* a rename forgets both rows: the generalized one is written, with everything folded */
    cl_test_line(&b, BASE_MS + 200000, "info", "api", "cache refreshed for pool_b now");
    cl_test_line(&b, BASE_MS + 201000, "info", "api", "cache refreshed for pool_c now");
    cl_test_line(&b, BASE_MS + 202000, "info", "api", "cache refreshed for pool_a now");
    cl_analytics_observe(a, b.data, b.len);
    struct cl_analytics_batch d;
    cl_analytics_drain(a, &d);
    assert_int_equal(cl_analytics_db_apply(db, &d, BASE_MS, err, sizeof err), 0);
    cl_analytics_batch_free(&d);
    assert_int_equal(query_int("SELECT count(*) FROM patterns"), 1);
    assert_int_equal(query_int("SELECT count(*) FROM patterns WHERE template = "
                               "'cache refreshed for <*> now'"),
                     1);
    assert_int_equal(query_int("SELECT first_ms FROM patterns"), BASE_MS + 5000);
    assert_int_equal(query_int("SELECT last_ms FROM patterns"), BASE_MS + 202000);
    assert_int_equal(query_int("SELECT sum(count) FROM pattern_counts"), 15);
    cl_buf_free(&b);
    cl_analytics_free(a);
    cl_analytics_db_close(db);
    remove_db();
}

/* The prune (no index on minute since version 2) deletes old counts of every service. */
static void test_prune_spans_every_service(void **state)
{
    (void)state;
    set_path("prune");
    struct cl_analytics_db *db = open_db(0);
    fill(db);
    int64_t later = BASE_MS + CL_ANALYTICS_RETENTION_MS + 20 * MIN_MS; /* minutes 0..19 go */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pattern_counts WHERE minute >= %lld",
             (long long)((BASE_MS + 20 * MIN_MS) / MIN_MS));
    int64_t kept = query_int(sql);
    assert_true(kept > 0 && kept < query_int("SELECT count(*) FROM pattern_counts"));
    struct cl_analytics_batch none = {0};
    char err[256];
    assert_int_equal(cl_analytics_db_apply(db, &none, later, err, sizeof err), 0);
    assert_int_equal(query_int("SELECT min(minute) FROM pattern_counts"),
                     (BASE_MS + 20 * MIN_MS) / MIN_MS);
    assert_int_equal(query_int("SELECT count(*) FROM pattern_counts"), kept);
    assert_int_equal(query_int("SELECT count(DISTINCT service) FROM pattern_counts"), 4);
    cl_analytics_db_close(db);
    remove_db();
}

/* The count of the pattern of service jobs with template tmpl (0: none), and its id. */
static uint64_t count_of(struct cl_analytics_db *db, const char *tmpl, uint64_t *id)
{
    struct cl_pattern_query q = {.service = "jobs",
                                 .from_ms = BASE_MS - MIN_MS,
                                 .to_ms = BASE_MS + 10 * MIN_MS,
                                 .level_max = CL_LEVEL_COUNT - 1,
                                 .limit = 100};
    struct cl_pattern_row *rows;
    size_t n;
    uint64_t count = 0;
    assert_int_equal(cl_analytics_db_patterns(db, &q, &rows, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].tmpl, tmpl) == 0) {
            count = rows[i].count;
            if (id)
                *id = rows[i].id;
        }
    cl_pattern_rows_free(rows, n);
    return count;
}

/* A cap of 4 patterns: of 20 patterns seen once before a drain, the 16 evicted before it
 * have no row and get none; their counts go to the service's "<rare>" row (every record
 * still counted), while a pattern with a row from an earlier drain keeps its counts. */
static void test_evicted_unwritten_patterns_fold_into_rare(void **state)
{
    (void)state;
    set_path("rare");
    struct cl_analytics_db *db = open_db(0);
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    o.max_patterns = 4;
    o.max_new_per_minute = 1u << 20; /* evictions: no budget of new clusters per minute */
    struct cl_analytics *a = cl_analytics_new(&o);
    struct cl_buf b;
    char msg[96], err[256];
    cl_buf_init(&b, SIZE_MAX);
    static const char *const words[] = {"alpha", "bravo", "charlie", "delta", "echo"};
    for (int round = -1; round < 2; round++) {
        if (round != 0) /* the backup pattern: alone (a row), then evicted before the drain */
            cl_test_line(&b, BASE_MS + round * MIN_MS, "info", "jobs", "nightly backup finished");
        for (int i = 0; i < 20 && round >= 0; i++) {
            snprintf(msg, sizeof msg, "%s %s %s step", words[i % 5], words[(i / 5 + round) % 5],
                     round ? "late" : "early");
            cl_test_line(&b, BASE_MS + round * MIN_MS + 1000 + i, i % 4 ? "info" : "error", "jobs",
                         msg);
        }
        cl_analytics_observe(a, b.data, b.len);
        cl_buf_reset(&b);
        struct cl_analytics_batch d;
        cl_analytics_drain(a, &d);
        assert_int_equal(cl_analytics_db_apply(db, &d, BASE_MS, err, sizeof err), 0);
        cl_analytics_batch_free(&d);
    }
    uint64_t rare_id = 0;
    assert_int_equal(count_of(db, "<rare>", &rare_id), 16 + 16);
    assert_int_equal(count_of(db, "nightly backup finished", NULL), 2);
    assert_int_equal(query_int("SELECT count(*) FROM patterns"), 4 + 4 + 1 + 1);
    assert_int_equal(query_int("SELECT sum(count) FROM pattern_counts"), 42);
    /* one count row per minute and level for the 32 folded records */
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pattern_counts WHERE id = %lld",
             (long long)rare_id);
    assert_int_equal(query_int(sql), 4);
    struct cl_pattern_query q = {.from_ms = BASE_MS - MIN_MS,
                                 .to_ms = BASE_MS + 10 * MIN_MS,
                                 .level_max = CL_LEVEL_COUNT - 1,
                                 .limit = 100};
    assert_same_patterns(db, &q);
    q.level_min = CL_LEVEL_ERROR;
    assert_same_patterns(db, &q);
    assert_same_samples(db, "jobs", rare_id, 0, MIN_MS);
    cl_buf_free(&b);
    cl_analytics_free(a);
    cl_analytics_db_close(db);
    remove_db();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_answer_as_version_1),
        cmocka_unit_test(test_migrates_version_1),
        cmocka_unit_test(test_newer_version_refused),
        cmocka_unit_test(test_unchanged_pattern_not_rewritten),
        cmocka_unit_test(test_prune_spans_every_service),
        cmocka_unit_test(test_evicted_unwritten_patterns_fold_into_rare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
