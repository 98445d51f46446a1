/* test_analytics_db_rename_evict.c - a pattern renamed (its template generalized) and then
 * evicted before its first row is written: the batch carries the rename and the counts of
 * both ids but no pattern row, and the catalog writer must not leave those counts under an
 * id without a row (readers join counts to pattern rows: they would vanish). They go to
 * the service's "<rare>" pattern (analytics_rare.h). Checked with hold_singletons (the
 * first record held at one drain, renamed and evicted before the next) and without it
 * (created, renamed and evicted within one drain interval), also through a chain of two
 * renames, with shards; and that a renamed pattern that already had a row keeps its
 * counts under its new id. Every check counts what readers see: counts joined to
 * pattern rows, `<rare>` included, and no count row without a pattern row. */
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
#define CAP 8                   /* patterns per service: evictions come soon */

struct fixture {
    char path[512];
    struct cl_analytics_db *db;
    struct cl_analytics *a;
    int64_t ts;
    int records;
};

static void remove_db(const char *path)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static void open_fixture(struct fixture *f, int hold, size_t shards)
{
    memset(f, 0, sizeof *f);
    const char *dir = getenv("TMPDIR");
    snprintf(f->path, sizeof f->path, "%s/andb-rename-evict-%d.db", dir ? dir : "/tmp",
             (int)getpid());
    remove_db(f->path);
    char err[256];
    assert_int_equal(cl_analytics_db_open(f->path, 0, &f->db, err, sizeof err), 0);
    struct cl_analytics_opts o;
    cl_analytics_opts_default(&o);
    o.max_patterns = CAP;
    o.max_new_per_minute = 1u << 20; /* evictions: no budget of new clusters per minute */
    o.hold_singletons = hold;
    o.shards = shards;
    f->a = cl_analytics_new(&o);
    f->ts = BASE_MS;
}

static void feed(struct fixture *f, const char *msg)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    cl_test_line(&b, f->ts, "info", "web", msg);
    cl_analytics_observe_at(f->a, b.data, b.len, f->ts);
    cl_buf_free(&b);
    f->ts++;
    f->records++;
}

/* 2 * CAP new clusters: every older pattern of the service is evicted (LRU). */
static void evict_all(struct fixture *f)
{
    char msg[64];
    for (int i = 0; i < 2 * CAP; i++) {
        snprintf(msg, sizeof msg, "word%c other%c thing", 'a' + i, 'a' + i);
        feed(f, msg);
    }
}

/* Drains (final: holds nothing back) and writes the batch; returns its renames. */
static size_t write_drain(struct fixture *f, int final)
{
    struct cl_analytics_batch b;
    if (final)
        cl_analytics_drain_final(f->a, &b);
    else
        cl_analytics_drain(f->a, &b);
    size_t renames = 0;
    for (size_t i = 0; i < b.n_patterns; i++)
        renames += b.patterns[i].tmpl == NULL;
    char err[256];
    assert_int_equal(cl_analytics_db_apply(f->db, &b, f->ts, err, sizeof err), 0);
    cl_analytics_batch_free(&b);
    return renames;
}

/* One number from the catalog, read through a connection of its own (as readers do). */
static int64_t q1(struct fixture *f, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* What readers see adds up to the records fed; no count row lacks its pattern row. */
static void check_visible(struct fixture *f)
{
    assert_int_equal(q1(f, "SELECT coalesce(sum(c.count), 0) FROM pattern_counts c"
                           " JOIN patterns p ON p.service = c.service AND p.id = c.id"),
                     f->records);
    assert_int_equal(q1(f, "SELECT count(*) FROM pattern_counts c WHERE NOT EXISTS"
                           " (SELECT 1 FROM patterns p WHERE p.service = c.service"
                           " AND p.id = c.id)"),
                     0);
}

/* The visible count of the pattern rows whose template starts with "alpha " (the renamed
 * pattern's, under any of its ids). */
static int64_t alpha_count(struct fixture *f)
{
    return q1(f, "SELECT coalesce(sum(c.count), 0) FROM pattern_counts c JOIN patterns p"
                 " ON p.service = c.service AND p.id = c.id WHERE p.template LIKE 'alpha %'");
}

static void close_fixture(struct fixture *f)
{
    cl_analytics_db_close(f->db);
    cl_analytics_free(f->a);
    remove_db(f->path);
}

/* The reviewer's sequence: one record held at a drain, a second that generalizes it (its
 * id moves), eviction, then the drain that carries the rename and both counts. */
static void test_held_renamed_evicted(void **state)
{
    (void)state;
    for (size_t shards = 0; shards <= 2; shards += 2) {
        struct fixture f;
        open_fixture(&f, 1, shards);
        feed(&f, "alpha beta gamma delta user:bob");
        write_drain(&f, 0); /* held: no row, no count */
        feed(&f, "alpha beta gamma delta user:alice");
        evict_all(&f);
        assert_int_equal(write_drain(&f, 0), 1);
        write_drain(&f, 1);
        check_visible(&f);                    /* both records of the evicted pattern: */
        assert_int_equal(alpha_count(&f), 0); /* in "<rare>" */
        close_fixture(&f);
    }
}

/* Without holding: created, renamed and evicted between two drains. */
static void test_one_interval_no_hold(void **state)
{
    (void)state;
    for (size_t shards = 0; shards <= 2; shards += 2) {
        struct fixture f;
        open_fixture(&f, 0, shards);
        feed(&f, "alpha beta gamma delta user:bob");
        feed(&f, "alpha beta gamma delta user:alice");
        evict_all(&f);
        assert_int_equal(write_drain(&f, 0), 1);
        write_drain(&f, 1);
        check_visible(&f);
        assert_int_equal(alpha_count(&f), 0);
        close_fixture(&f);
    }
}

/* Two renames of one pattern in one batch (X to Y to Z), then eviction. */
static void test_rename_chain(void **state)
{
    (void)state;
    for (int hold = 0; hold < 2; hold++) {
        struct fixture f;
        open_fixture(&f, hold, 0);
        feed(&f, "alpha beta gamma delta epsilon zeta eta theta user:bob host:web");
        if (hold)
            write_drain(&f, 0);
        feed(&f, "alpha beta gamma delta epsilon zeta eta theta user:alice host:web");
        feed(&f, "alpha beta gamma delta epsilon zeta eta theta user:alice host:db");
        evict_all(&f);
        assert_int_equal(write_drain(&f, 0), 2);
        write_drain(&f, 1);
        check_visible(&f);
        assert_int_equal(alpha_count(&f), 0);
        close_fixture(&f);
    }
}

/* A pattern with a row from an earlier write, renamed then evicted: its counts and row move
 * to the new id (exec_rename), none goes to "<rare>". */
static void test_written_then_renamed_keeps_counts(void **state)
{
    (void)state;
    for (int hold = 0; hold < 2; hold++) {
        struct fixture f;
        open_fixture(&f, hold, 0);
        feed(&f, "alpha beta gamma delta user:bob");
        feed(&f, "alpha beta gamma delta user:bob"); /* two records: never held */
        write_drain(&f, 0);
        feed(&f, "alpha beta gamma delta user:alice");
        evict_all(&f);
        assert_int_equal(write_drain(&f, 0), 1);
        write_drain(&f, 1);
        check_visible(&f);
        assert_int_equal(alpha_count(&f), 3);
        close_fixture(&f);
    }
}

/* A stream of key:value messages (renames as templates generalize) over more clusters than
 * the cap (evictions), drained every few records: with and without holding, with shards,
 * every record is seen by readers once. */
static void test_stream_with_renames(void **state)
{
    (void)state;
    static const char *const words[] = {"request", "failed", "cache", "retry", "queue",
                                        "worker",  "lock",   "read",  "client"};
    static const char *const names[] = {"bob", "alice", "carol", "dave", "eve"};
    const size_t nw = sizeof words / sizeof *words, nn = sizeof names / sizeof *names;
    for (int variant = 0; variant < 4; variant++) {
        struct fixture f;
        open_fixture(&f, variant & 1, variant & 2 ? 2 : 0);
        unsigned seed = 11;
        size_t renames = 0;
        for (int i = 0; i < 2000; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned x = seed >> 8;
            char msg[160];
            snprintf(msg, sizeof msg, "%s %s %s alpha beta gamma delta user:%s host:%s",
                     words[x % nw], words[x / nw % nw], words[x / nw / nw % nw],
                     names[x / 729 % nn], names[x / 729 / nn % nn]);
            feed(&f, msg);
            if ((i + 1) % 23 == 0)
                renames += write_drain(&f, 0);
        }
        write_drain(&f, 1);
        assert_true(renames > 0);
        check_visible(&f);
        close_fixture(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_renamed_evicted),
        cmocka_unit_test(test_one_interval_no_hold),
        cmocka_unit_test(test_rename_chain),
        cmocka_unit_test(test_written_then_renamed_keeps_counts),
        cmocka_unit_test(test_stream_with_renames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
