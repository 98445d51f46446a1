/* queue_sqlite_salvage.c - copies the readable messages of a quarantined (damaged) queue
 * file into the live queue (queue_quarantine.h).
 *
 * HOW IT READS A DAMAGED FILE
 *
 * Debian 12's libsqlite3 (3.40) is built without the recovery extension
 * (sqlite3_recover_*), and its sqlite3 shell's ".recover" fails on every file (it needs
 * the sqlite_dbpage table that library lacks: docs/pipeline.md). The queue's schema is
 * known, so this file reads it table by table through the ordinary API, tolerating
 * errors:
 *
 *   1. ids: "SELECT id ... WHERE id >= ?next ORDER BY id" walks the table's b-tree
 *      (rowids only: leaf pages, no overflow pages). When a step fails (a damaged page),
 *      a search finds the first id from which a walk gets past the damage: galloped
 *      forward from where the damage begins, then bisected (about 2 * log2 of the
 *      damaged range's width in ids, at most ~126 walks, whatever the id values: no
 *      upper bound is needed, and sqlite_sequence, on a page of its own, can be damaged
 *      too). Each damaged range counts one unreadable (its rows' ids are not known).
 *      Where the damage begins is the last id the walk read (in reading order) from
 *      which a walk fails again, and the search's walks pass over the ids the failed
 *      walk read: its last ids can be garbage (larger or smaller than the real ones),
 *      and must not make the search skip intact rows. The ids are then sorted and each
 *      kept once: a partly damaged leaf (a torn or partly overwritten page whose header
 *      survived) reads without an error, and its garbage cells carry arbitrary ids,
 *      often ones that rows on other pages hold; a repeated id counts as unreadable (its
 *      cell's own row is lost).
 *   2. rows: each id is read on its own (a point read by key: an id a damaged cell
 *      repeats reads its own row, or that cell's garbage), so a damaged overflow page
 *      loses one message, not its neighbours; the caller's check
 *      then refuses bodies that do not decode into record_count records (a damaged page
 *      can also return wrong bytes). An id the walk saw that does not read back (a
 *      search misled by a page's out-of-order keys) counts as unreadable.
 *   3. an id in both tables (a message moves between them in one transaction, so one
 *      of the two cells is damaged or stale) is copied from the DLQ only if the main
 *      table's row of that id does not read back whole and valid (then it was not
 *      copied: a garbage cell of the main table carried the id).
 *
 * Rows behind a damaged interior page cannot be reached this way (one damaged range).
 * Nor, at times, an intact leaf between two damaged ones narrower (in ids) than the
 * first damaged range: the gallop can step over it (its rows count in that range).
 * Not detectable: a damaged cell pointer that lands exactly on a stale but intact cell
 * of a message deleted before the damage (already stored) brings that message back,
 * and its records are stored again; a body hash would not see it either (the original
 * is no longer in the file), and two messages with equal bodies are legitimate.
 *
 * WRITING
 *
 * Batches of at most SALVAGE_BATCH messages go into the live queue in one transaction
 * each, which also stores the last source id done in meta ('salvage:<file>:<table>'),
 * so an interrupted salvage resumes where it stopped and never copies a message twice
 * (each batch reads that point under the write lock: two salvages of one file at once
 * share the work), and short transactions let a running daemon keep committing in
 * between.
 */
#include "queue_sqlite_quarantine.h"
#include "queue_sqlite_int.h"

#include "common.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALVAGE_BATCH 256
#define SALVAGE_BATCH_BYTES (64u * 1024 * 1024)
#define SALVAGE_BUSY_MS 5000
#define SALVAGE_PROBE_TRIES 256 /* ids tried for where a walk's damage begins */

struct id_list {
    int64_t *v;
    size_t n, cap;
};

static void id_push(struct id_list *l, int64_t id)
{
    if (l->n == l->cap)
        l->v = cl_realloc(l->v, (l->cap = l->cap ? l->cap * 2 : 256) * sizeof *l->v);
    l->v[l->n++] = id;
}

/* The source side of a salvage: the damaged file, read only. */
struct salvage_src {
    sqlite3 *db;
    const char *table; /* "messages" or "dlq" */
    sqlite3_stmt *range, *row, *progress;
    sqlite3_stmt *main_row; /* the DLQ's pass only: the same row of the messages table */
    uint64_t seeks;         /* walks the search past damaged ranges started (logged) */
};

/* Statements on the live queue's connection, prepared for this salvage only. */
struct salvage_dst {
    struct sq_queue *s;
    const char *name; /* basename of the source file: the meta keys' middle part */
    sqlite3_stmt *ins_msg, *del_msg, *ins_dlq, *ins_progress, *meta_get, *meta_set, *ins_lease;
};

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts l and drops repeated ids; returns how many were dropped. */
static uint64_t sort_unique(struct id_list *l)
{
    if (l->n == 0)
        return 0;
    qsort(l->v, l->n, sizeof *l->v, cmp_id);
    size_t w = 1;
    for (size_t i = 1; i < l->n; i++)
        if (l->v[i] != l->v[w - 1])
            l->v[w++] = l->v[i];
    uint64_t dropped = l->n - w;
    l->n = w;
    return dropped;
}

/* Whether id is in the sorted list l. */
static int id_in(const struct id_list *l, int64_t id)
{
    return l->n && bsearch(&id, l->v, l->n, sizeof *l->v, cmp_id) != NULL;
}

/* What failed walks leave to the probe: the ids the last walk read (sorted), and its start. */
struct walk_seen {
    const struct id_list *ids;
    int64_t from;
};

/* Whether a walk from x gets past what the last walk read: it reads an id that walk did
 * not read (nor one below that walk's start: out of order, a garbage cell's), or reaches
 * the table's end, before a step fails. The ids that walk read are passed over, so a
 * walk from inside its range fails where it failed. Costs one seek and one step per id
 * passed over: those of the last walk after x (a leaf's worth when x is near its end). */
static int walk_gets_past(struct salvage_src *src, int64_t x, const struct walk_seen *seen)
{
    src->seeks++;
    sqlite3_bind_int64(src->range, 1, x);
    int rc;
    while ((rc = sqlite3_step(src->range)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(src->range, 0);
        if (id >= seen->from && !id_in(seen->ids, id))
            break;
    }
    sqlite3_reset(src->range);
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

/* Where the damage the last walk failed at begins: an x from which a walk fails, as near
 * the damage as the walk's ids tell. The walk failed after its last id in b-tree order,
 * but the last ids it read can be garbage (any values, larger or smaller than the real
 * ones): the last id read, in reading order, from which a walk fails again is taken
 * (a garbage id leads elsewhere, and a walk from there reads past it). Only the last
 * SALVAGE_PROBE_TRIES ids are tried (each try passes over a few ids); else the walk's
 * start, from which a walk fails as it did. */
static int64_t damage_start(struct salvage_src *src, const int64_t *walked, size_t n,
                            const struct walk_seen *seen)
{
    for (size_t k = 0; k < n && k < SALVAGE_PROBE_TRIES; k++) {
        int64_t id = walked[n - 1 - k];
        if (id >= seen->from && !walk_gets_past(src, id, seen))
            return id;
    }
    return seen->from;
}

/* The smallest x > fail (a walk from fail fails) from which a walk gets past the damage,
 * or 0 if none up to INT64_MAX: x galloped forward (steps of 1, 2, 4, ... from the last
 * x that failed) until a walk from it gets past, then bisected below that. Ids route
 * through the b-tree's interior pages in order, so the x whose walks fail form one
 * interval after fail (up to the next intact leaf): about 2 * log2(gap) walks per
 * damaged range, whatever the id values (a range of ids deleted or never used costs
 * nothing). Two damaged ranges closer together than the first one is wide can hide the
 * intact leaves between them from the gallop (their rows are lost with the range). */
static int64_t damage_end(struct salvage_src *src, int64_t fail, const struct walk_seen *seen)
{
    int64_t ok = 0;
    for (int64_t step = 1; !ok; step = step > INT64_MAX / 2 ? INT64_MAX : step * 2) {
        int64_t x = step > INT64_MAX - fail ? INT64_MAX : fail + step; /* saturates */
        if (walk_gets_past(src, x, seen))
            ok = x;
        else if (x == INT64_MAX)
            return 0;
        else
            fail = x;
    }
    while (ok - fail > 1) {
        int64_t mid = fail + (ok - fail) / 2;
        if (walk_gets_past(src, mid, seen))
            ok = mid;
        else
            fail = mid;
    }
    return ok;
}

/* Walks src->table from id `from` on, pushing every id it reads onto ids (an id below 1
 * is a garbage cell's: counted unreadable instead); returns 1 if it reached the table's
 * end, 0 if a step failed (a damaged page). */
static int walk(struct salvage_src *src, int64_t from, struct id_list *ids, uint64_t *unreadable)
{
    sqlite3_bind_int64(src->range, 1, from);
    int rc;
    while ((rc = sqlite3_step(src->range)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(src->range, 0);
        if (id < 1)
            (*unreadable)++;
        else
            id_push(ids, id);
    }
    sqlite3_reset(src->range);
    return rc == SQLITE_DONE;
}

/* Collects the readable ids of src->table into ids, sorted, each once.
 *
 * A walk that fails (a damaged page) goes on after the damage: from where the damage
 * begins (damage_start) a search finds the first id from which a walk gets past it
 * (damage_end); its cost depends on the damage, not on the id values, and it needs no
 * upper bound (sqlite_sequence and max(id) can be damaged too). Each damaged range
 * counts one unreadable: the ids of its rows are not known.
 *
 * A partly damaged leaf (a torn write, garbage over some of its cells but not its header)
 * reads without an error, but its damaged cells carry arbitrary ids, out of order: the id
 * of a row on another page (which the walk also finds there, and whose point read returns
 * that row, valid), or ids no row has. Each id is therefore kept once (a row is copied at
 * most once), and a repeated id counts as unreadable: it stands for a damaged cell whose
 * own row is lost. */
static void scan_ids(struct salvage_src *src, struct id_list *ids, uint64_t *unreadable)
{
    int64_t next = 1; /* AUTOINCREMENT's first id */
    uint64_t ranges = 0;
    src->seeks = 0;
    for (;;) {
        size_t walk_from = ids->n;
        if (walk(src, next, ids, unreadable))
            break;
        ranges++;
        /* The walk's last ids in reading order, then all of them sorted in place for the
         * search (the list is sorted at the end anyway). */
        int64_t tail[SALVAGE_PROBE_TRIES];
        size_t n_tail = CL_MIN(ids->n - walk_from, (size_t)SALVAGE_PROBE_TRIES);
        struct id_list walked = {0};
        if (ids->n > walk_from) { /* ids->v may still be NULL otherwise */
            memcpy(tail, ids->v + ids->n - n_tail, n_tail * sizeof *tail);
            walked = (struct id_list){ids->v + walk_from, ids->n - walk_from, 0};
            qsort(walked.v, walked.n, sizeof *walked.v, cmp_id);
        }
        struct walk_seen seen = {&walked, next};
        int64_t past = damage_end(src, damage_start(src, tail, n_tail, &seen), &seen);
        if (past <= next)
            break; /* 0: damaged up to the end of the table; each turn starts further on */
        next = past;
    }
    if (ranges)
        cl_log(CL_LOG_DEBUG, "salvage: %s: %llu damaged range(s) passed with %llu seeks",
               src->table, (unsigned long long)ranges, (unsigned long long)src->seeks);
    *unreadable += ranges + sort_unique(ids);
}

/* The point read of a whole row of table into sql. A salvaged main-queue message starts
 * over (never received), so its delivery state is not read: the same statement reads
 * schema 3 (delivery columns in messages) and 4 (in leases), and a damaged leases table
 * loses nothing. */
static void row_sql(char *sql, size_t len, const char *table)
{
    int main_queue = strcmp(table, "messages") == 0;
    snprintf(sql, len,
             "SELECT body, record_count, raw_bytes, min_ts, max_ts, encoding, sent_at, %s"
             " FROM %s WHERE id = ?1",
             main_queue ? "0, NULL, NULL" : "receive_count, first_receive_at, last_error", table);
}

static int prepare_src(struct salvage_src *src)
{
    char sql[4][256];
    snprintf(sql[0], sizeof sql[0], "SELECT id FROM %s WHERE id >= ?1 ORDER BY id", src->table);
    row_sql(sql[1], sizeof sql[1], src->table);
    row_sql(sql[2], sizeof sql[2], "messages");
    snprintf(sql[3], sizeof sql[3], "SELECT partition FROM progress WHERE msg_id = ?1");
    sqlite3_stmt **st[4] = {&src->range, &src->row, &src->main_row, &src->progress};
    for (int i = 0; i < 4; i++) {
        if (i == 2 && strcmp(src->table, "dlq") != 0)
            continue; /* main_row: the DLQ's pass only */
        /* progress may be missing (schema 1) or unreadable: optional; main_row too (the
         * messages pass then copied nothing) */
        if (sqlite3_prepare_v2(src->db, sql[i], -1, st[i], NULL) != SQLITE_OK && i < 2)
            return -1;
    }
    return 0;
}

static void finalize_src(struct salvage_src *src)
{
    sqlite3_finalize(src->range);
    sqlite3_finalize(src->row);
    sqlite3_finalize(src->progress);
    sqlite3_finalize(src->main_row);
    src->range = src->row = src->progress = src->main_row = NULL;
}

/* Opens the quarantined file without changing it: read-write only because a WAL
 * database needs its -shm to be readable at all; no checkpoint at close, no writes. */
static int open_src(const char *path, sqlite3 **db, char *err, size_t err_len)
{
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(*db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(*db, "PRAGMA query_only = 1", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return sqlite3_busy_timeout(*db, SALVAGE_BUSY_MS) == SQLITE_OK ? CL_OK : CL_ERR_IO;
    snprintf(err, err_len, "cannot open %s: %s", path, *db ? sqlite3_errmsg(*db) : "out of memory");
    sqlite3_close(*db);
    *db = NULL;
    return CL_ERR_IO;
}

static const char *const dst_sql[7] = {
    "INSERT INTO messages (body, record_count, raw_bytes, min_ts, max_ts, encoding, sent_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "DELETE FROM messages WHERE id = ?1",
    "INSERT INTO dlq (id, body, record_count, raw_bytes, min_ts, max_ts, encoding, sent_at,"
    " receive_count, first_receive_at, last_error, moved_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?8)",
    "INSERT OR IGNORE INTO progress (msg_id, partition) VALUES (?1, ?2)",
    "SELECT value FROM meta WHERE key = ?1",
    "INSERT INTO meta (key, value) VALUES (?1, ?2)"
    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    "INSERT INTO leases (msg_id, visible_at) VALUES (?1, ?2)",
};

static int prepare_dst(struct salvage_dst *d, char *err, size_t err_len)
{
    sqlite3_stmt **st[7] = {&d->ins_msg,  &d->del_msg,  &d->ins_dlq,  &d->ins_progress,
                            &d->meta_get, &d->meta_set, &d->ins_lease};
    for (int i = 0; i < 7; i++)
        if (sqlite3_prepare_v2(d->s->db, dst_sql[i], -1, st[i], NULL) != SQLITE_OK) {
            snprintf(err, err_len, "salvage: %s", sqlite3_errmsg(d->s->db));
            return CL_ERR_IO;
        }
    return CL_OK;
}

static void finalize_dst(struct salvage_dst *d)
{
    sqlite3_finalize(d->ins_msg);
    sqlite3_finalize(d->del_msg);
    sqlite3_finalize(d->ins_dlq);
    sqlite3_finalize(d->ins_progress);
    sqlite3_finalize(d->meta_get);
    sqlite3_finalize(d->meta_set);
    sqlite3_finalize(d->ins_lease);
}

/* Steps a write statement once and resets it: CL_OK or the mapped SQLite error. */
static int step_write(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? CL_OK : sq_err(rc);
}

/* meta value of 'salvage:<name><suffix>' as an integer into *v (0 if absent): CL_OK or
 * the read's error (a resume point taken as 0 would copy its ids again). */
static int meta_get(struct salvage_dst *d, const char *suffix, int64_t *v)
{
    char key[512];
    snprintf(key, sizeof key, "salvage:%s%s", d->name, suffix);
    sqlite3_bind_text(d->meta_get, 1, key, -1, SQLITE_TRANSIENT);
    *v = 0;
    int rc = sqlite3_step(d->meta_get);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(d->meta_get, 0);
    sqlite3_reset(d->meta_get);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CL_OK : sq_err(rc);
}

static int meta_set(struct salvage_dst *d, const char *suffix, int64_t v)
{
    char key[512];
    snprintf(key, sizeof key, "salvage:%s%s", d->name, suffix);
    sqlite3_bind_text(d->meta_set, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(d->meta_set, 2, v);
    return step_write(d->meta_set);
}

/* A source row as a message, borrowing the statement's memory (valid until its reset). */
static void row_to_msg(sqlite3_stmt *st, struct cl_msg *m)
{
    memset(m, 0, sizeof *m);
    m->body = (void *)sqlite3_column_blob(st, 0);
    m->len = (size_t)sqlite3_column_bytes(st, 0);
    m->attrs.record_count = (uint32_t)sqlite3_column_int64(st, 1);
    m->attrs.raw_bytes = (uint64_t)sqlite3_column_int64(st, 2);
    m->attrs.min_ts_ms = sqlite3_column_int64(st, 3);
    m->attrs.max_ts_ms = sqlite3_column_int64(st, 4);
    const char *enc = (const char *)sqlite3_column_text(st, 5);
    snprintf(m->attrs.encoding, sizeof m->attrs.encoding, "%s", enc ? enc : "");
    m->sent_ms = sqlite3_column_int64(st, 6);
    m->receive_count = (uint32_t)sqlite3_column_int64(st, 7);
    m->first_receive_ms = sqlite3_column_int64(st, 8);
    m->last_error = (char *)sqlite3_column_text(st, 9);
}

static void bind_attrs(sqlite3_stmt *st, int first, const struct cl_msg *m)
{
    sqlite3_bind_blob(st, first, m->body, (int)m->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, first + 1, m->attrs.record_count);
    sqlite3_bind_int64(st, first + 2, (sqlite3_int64)m->attrs.raw_bytes);
    sqlite3_bind_int64(st, first + 3, m->attrs.min_ts_ms);
    sqlite3_bind_int64(st, first + 4, m->attrs.max_ts_ms);
    sqlite3_bind_text(st, first + 5, m->attrs.encoding, -1, SQLITE_STATIC);
}

/* Inserts m as a new message (a fresh id from the live queue's sequence) and, for the
 * DLQ, moves it there at once, as a receive past max_receive_count would. */
static int insert_msg(struct salvage_dst *d, const struct cl_msg *m, int to_dlq, int64_t now,
                      int64_t *new_id)
{
    bind_attrs(d->ins_msg, 1, m);
    sqlite3_bind_int64(d->ins_msg, 7, now);
    int rc = step_write(d->ins_msg);
    *new_id = sqlite3_last_insert_rowid(d->s->db);
    if (rc != CL_OK)
        return rc;
    if (!to_dlq) {
        sqlite3_bind_int64(d->ins_lease, 1, *new_id);
        sqlite3_bind_int64(d->ins_lease, 2, now);
        return step_write(d->ins_lease);
    }
    sqlite3_bind_int64(d->del_msg, 1, *new_id);
    rc = step_write(d->del_msg);
    if (rc != CL_OK)
        return rc;
    sqlite3_bind_int64(d->ins_dlq, 1, *new_id);
    bind_attrs(d->ins_dlq, 2, m);
    sqlite3_bind_int64(d->ins_dlq, 8, now);
    sqlite3_bind_int64(d->ins_dlq, 9, m->receive_count);
    if (m->first_receive_ms)
        sqlite3_bind_int64(d->ins_dlq, 10, m->first_receive_ms);
    if (m->last_error)
        sqlite3_bind_text(d->ins_dlq, 11, m->last_error, -1, SQLITE_STATIC);
    return step_write(d->ins_dlq);
}

/* Carries the source message's progress rows over to its new id; unreadable rows are
 * skipped (the message's partitions are then stored again: at least once). */
static int copy_progress(struct salvage_src *src, struct salvage_dst *d, int64_t old_id,
                         int64_t new_id, struct cl_salvage_result *r)
{
    if (!src->progress)
        return CL_OK;
    sqlite3_bind_int64(src->progress, 1, old_id);
    int rc = CL_OK;
    while (rc == CL_OK && sqlite3_step(src->progress) == SQLITE_ROW) {
        sqlite3_bind_int64(d->ins_progress, 1, new_id);
        sqlite3_bind_text(d->ins_progress, 2, (const char *)sqlite3_column_text(src->progress, 0),
                          -1, SQLITE_TRANSIENT);
        rc = step_write(d->ins_progress);
        r->progress += rc == CL_OK;
    }
    sqlite3_reset(src->progress);
    return rc;
}

struct salvage_job {
    struct salvage_src *src;
    struct salvage_dst *dst;
    cl_salvage_check_fn check;
    void *check_arg;
    struct cl_salvage_result *r;
    int to_dlq;
    const struct id_list *main_ids; /* the DLQ's pass: the ids the messages walk saw */
};

/* Whether the messages pass copied id (the DLQ's pass): the messages walk saw it, and its
 * row reads back whole and passes the check, as it did then. An id is in one table only
 * (moves between them are single transactions), so one of its two cells is damaged or
 * stale; copying both would store its records twice. The main-queue copy is kept (it is
 * delivered again either way; a failing one returns to the DLQ). A garbage cell carrying
 * the id does not read back (or fails the check): the DLQ's row is then the only copy. */
static int copied_from_main(struct salvage_job *j, int64_t id)
{
    if (!j->to_dlq || !j->main_ids || !id_in(j->main_ids, id))
        return 0;
    sqlite3_stmt *st = j->src->main_row;
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, id);
    int copied = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        struct cl_msg m;
        char why[200] = "";
        row_to_msg(st, &m);
        copied = m.body && j->check(j->check_arg, &m, why, sizeof why) == 0;
    }
    sqlite3_reset(st);
    return copied;
}

/* Reads source row old_id and, if it is whole and valid, copies it; adds to *bytes and d.
 * Returns CL_OK (also when the row is skipped) or the live queue's error. */
static int salvage_one(struct salvage_job *j, int64_t old_id, int64_t now, size_t *bytes,
                       struct sq_delta *delta)
{
    if (copied_from_main(j, old_id)) {
        cl_log(CL_LOG_WARN, "salvage: dlq id %lld skipped: copied from messages",
               (long long)old_id);
        j->r->invalid++;
        return CL_OK;
    }
    sqlite3_stmt *st = j->src->row;
    sqlite3_bind_int64(st, 1, old_id);
    int step = sqlite3_step(st);
    struct cl_msg m;
    char why[200] = "";
    if (step == SQLITE_ROW)
        row_to_msg(st, &m);
    int rc = CL_OK;
    if (step != SQLITE_ROW) {
        j->r->unreadable++; /* also DONE: the walk saw this id, its page misleads a search */
    } else if (!m.body || j->check(j->check_arg, &m, why, sizeof why) != 0) {
        cl_log(CL_LOG_WARN, "salvage: %s id %lld skipped: %s", j->src->table, (long long)old_id,
               m.body ? why : "empty body");
        j->r->invalid++;
    } else {
        int64_t new_id = 0;
        rc = insert_msg(j->dst, &m, j->to_dlq, now, &new_id);
        if (rc == CL_OK)
            rc = copy_progress(j->src, j->dst, old_id, new_id, j->r);
        *bytes += m.len;
        delta->msgs += !j->to_dlq;
        delta->bytes += j->to_dlq ? 0 : (int64_t)m.len;
        delta->records += j->to_dlq ? 0 : (int64_t)m.attrs.record_count;
        delta->dlq += j->to_dlq;
        delta->dlq_bytes += j->to_dlq ? (int64_t)m.len : 0;
        j->r->messages += !j->to_dlq;
        j->r->dlq += j->to_dlq;
        j->r->records += m.attrs.record_count;
    }
    sqlite3_reset(st);
    return rc;
}

/* One transaction: ids[*pos..] past the resume point, up to a batch's size, and the new
 * resume point. */
static int salvage_batch(struct salvage_job *j, const struct id_list *ids, size_t *pos,
                         const char *suffix)
{
    struct sq_queue *s = j->dst->s;
    struct cl_salvage_result before = *j->r;
    pthread_mutex_lock(&s->db_mu);
    int rc = sq_begin(s), began = rc == CL_OK;
    struct sq_delta delta = {0};
    size_t bytes = 0, i = *pos;
    /* The resume point again, under the write lock (BEGIN IMMEDIATE): a second salvage of
     * the same file running beside this one (two `verify --repair`) may have copied these
     * ids since this one read it. */
    int64_t done = 0;
    if (rc == CL_OK)
        rc = meta_get(j->dst, suffix, &done);
    while (i < ids->n && ids->v[i] <= done)
        i++;
    size_t first = i;
    int64_t now = sq_now(s);
    for (; rc == CL_OK && i < ids->n && i - first < SALVAGE_BATCH && bytes < SALVAGE_BATCH_BYTES;
         i++)
        rc = salvage_one(j, ids->v[i], now, &bytes, &delta);
    if (rc == CL_OK && i > first)
        rc = meta_set(j->dst, suffix, ids->v[i - 1]);
    if (began)
        rc = sq_end(s, rc, &delta);
    pthread_mutex_unlock(&s->db_mu);
    if (rc != CL_OK)
        *j->r = before; /* rolled back: nothing of this batch was copied */
    else
        sq_notify_arrival(s);
    *pos = i;
    return rc;
}

/* Copies the ids of one table (sorted, each once) into the live queue; each batch skips
 * those up to the resume point an earlier or concurrent run recorded. */
static int salvage_table(struct salvage_job *j, const struct id_list *ids, char *err,
                         size_t err_len)
{
    char suffix[16];
    snprintf(suffix, sizeof suffix, ":%s", j->src->table);
    int rc = CL_OK;
    for (size_t pos = 0; rc == CL_OK && pos < ids->n;)
        rc = salvage_batch(j, ids, &pos, suffix);
    if (rc != CL_OK)
        snprintf(err, err_len, "writing salvaged %s into the live queue: %s", j->src->table,
                 cl_strerror(rc));
    return rc;
}

static int salvage_tables(struct salvage_src *src, struct salvage_dst *dst, struct salvage_job *j,
                          char *err, size_t err_len)
{
    static const char *const tables[2] = {"messages", "dlq"};
    /* Every readable id of each table, from 1 on even when resuming: the DLQ's are checked
     * against all of the main table's. */
    struct id_list ids[2] = {{0}, {0}};
    int rc = CL_OK;
    for (int t = 0; rc == CL_OK && t < 2; t++) {
        src->table = tables[t];
        j->to_dlq = t == 1;
        if (prepare_src(src) != 0) {
            cl_log(CL_LOG_WARN, "salvage: table %s unreadable: %s", tables[t],
                   sqlite3_errmsg(src->db));
            j->r->unreadable++;
        } else {
            scan_ids(src, &ids[t], &j->r->unreadable);
            j->main_ids = t == 1 ? &ids[0] : NULL;
            rc = salvage_table(j, &ids[t], err, err_len);
        }
        finalize_src(src);
    }
    free(ids[0].v);
    free(ids[1].v);
    if (rc == CL_OK) {
        pthread_mutex_lock(&dst->s->db_mu);
        int brc = sq_begin(dst->s);
        if (brc == CL_OK)
            brc = sq_end(dst->s, meta_set(dst, "", 1), NULL);
        pthread_mutex_unlock(&dst->s->db_mu);
        rc = brc;
    }
    return rc;
}

int sq_salvage(void *impl, const char *src_path, cl_salvage_check_fn check, void *check_arg,
               struct cl_salvage_result *r, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    struct salvage_dst dst = {.s = impl};
    const char *slash = strrchr(src_path, '/');
    dst.name = slash ? slash + 1 : src_path;
    pthread_mutex_lock(&dst.s->db_mu);
    int rc = prepare_dst(&dst, err, err_len);
    int64_t done = 0;
    if (rc == CL_OK && (rc = meta_get(&dst, "", &done)) != CL_OK)
        snprintf(err, err_len, "reading the salvage's state: %s", cl_strerror(rc));
    r->already_done = rc == CL_OK && done == 1;
    pthread_mutex_unlock(&dst.s->db_mu);
    struct salvage_src src = {0};
    if (rc == CL_OK && !r->already_done)
        rc = open_src(src_path, &src.db, err, err_len);
    if (rc == CL_OK && !r->already_done) {
        struct salvage_job j = {
            .src = &src, .dst = &dst, .check = check, .check_arg = check_arg, .r = r};
        rc = salvage_tables(&src, &dst, &j, err, err_len);
    }
    sqlite3_close(src.db);
    pthread_mutex_lock(&dst.s->db_mu);
    finalize_dst(&dst);
    pthread_mutex_unlock(&dst.s->db_mu);
    return rc;
}

/* Reads (staging_key, key) of unpublished rows with sql; 0 if the read went to the end. */
static int read_unpublished(sqlite3 *db, const char *sql,
                            void (*fn)(void *arg, const char *staging_key, const char *key),
                            void *arg)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *staging = (const char *)sqlite3_column_text(st, 0);
        const char *key = (const char *)sqlite3_column_text(st, 1);
        if (staging && key)
            fn(arg, staging, key);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int sq_quarantine_unpublished(const char *src_path,
                              void (*fn)(void *arg, const char *staging_key, const char *key),
                              void *arg)
{
    sqlite3 *db = NULL;
    char err[256];
    if (open_src(src_path, &db, err, sizeof err) != CL_OK)
        return CL_ERR_IO;
    /* The partial index first; if its pages are damaged, the table itself (a row found
     * twice is harmless: the caller keys by staging key). */
    if (read_unpublished(db, "SELECT staging_key, key FROM objects WHERE published = 0", fn, arg) !=
        0)
        read_unpublished(db, "SELECT staging_key, key FROM objects NOT INDEXED WHERE published = 0",
                         fn, arg);
    sqlite3_close(db);
    return CL_OK;
}
