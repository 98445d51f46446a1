/* queue_sqlite_schema.c - the SQLite queue file's format: connection settings, the
 * schema and its migrations, run at open.
 *
 * FILE FORMAT
 *
 * One SQLite database in WAL mode. Tables (schema_version 4 in meta; other tools,
 * such as the end-to-end tests and the query tool, read these tables directly, so they
 * are a contract):
 *
 *   messages  the main queue, one row per message (a compressed batch of records),
 *             written once by send and never updated: a receive touches only its lease,
 *             so the pages holding the body are written at send and freed at delete.
 *     id               INTEGER PRIMARY KEY AUTOINCREMENT; the message id is its decimal
 *                      form. AUTOINCREMENT: ids are never reused after a delete, so an
 *                      old receipt can never match a new message.
 *     body             BLOB, the encoded batch, opaque here
 *     record_count, raw_bytes, min_ts, max_ts, encoding   the sender's attributes
 *     sent_at          ms since the epoch, when the message was committed (or redriven)
 *   index messages_sent(sent_at, record_count)  retention, oldest age, and the record
 *                      total at open without reading bodies (an addition to the
 *                      contract schema; readers may ignore it)
 *   leases    one small row per message of messages (same id, inserted and deleted in
 *             the same transactions as it): its delivery state.
 *     msg_id           INTEGER PRIMARY KEY, the message's id
 *     visible_at       ms; the message is receivable when visible_at <= now
 *     receive_count    times received; first_receive_at, ms of the first receive or NULL
 *     last_error       text given with the last change-visibility, or NULL
 *     holder           owner epoch of the process that received it and still holds it;
 *                      NULL once given back (change_visibility to 0 or with an error,
 *                      release) or when received by a non-owner (queue_sqlite_owner.c)
 *   index leases_visible(visible_at, msg_id)   receive: "the oldest visible messages"
 *   index leases_held(holder) WHERE holder IS NOT NULL   release at open
 *   dlq       dead-letter queue: the columns of messages and leases (same id) minus
 *             visible_at and holder, plus moved_at (ms). index dlq_moved(moved_at) for DLQ
 *             retention.
 *   objects   the catalog of stored objects (catalog.h, catalog_sqlite.c), one row per
 *             object, written in the transaction that deletes its messages:
 *     id               INTEGER PRIMARY KEY AUTOINCREMENT
 *     key              TEXT UNIQUE, final store key "service=S/dt=D/hour=HH/ID.ndjson.gz"
 *     staging_key      TEXT, where the object sits until published; NULL once published
 *     service, dt, hour   its partition (dt "YYYY-MM-DD", hour 0-23)
 *     records, bytes (stored, compressed), raw_bytes (NDJSON), min_ts, max_ts (ms)
 *     n_trace, n_debug, n_info, n_warn, n_error, n_fatal   records per level
 *     created_at       ms, when the row was committed
 *     published        0 until the object is under its final key, then 1
 *   index objects_partition(service, dt, hour)   query pruning
 *   index objects_unpublished(staging_key) WHERE published = 0   start-up recovery
 *   index objects_published(dt, hour, service) WHERE published = 1   queries by time
 *                      range (catalog_read.c); created at open if missing, no new version
 *   progress  exactly-once ledger: (msg_id, partition) says an object committed to the
 *             catalog holds all of message msg_id's records for partition
 *             ("service=S/dt=D/hour=HH"). PRIMARY KEY (msg_id, partition), WITHOUT
 *             ROWID. Rows live as long as their message: kept when it moves to the DLQ
 *             (so a redriven message skips what it already stored), deleted with it by
 *             delete or by either retention purge.
 *   idempotency  POST /v1/logs Idempotency-Key records (queue_sqlite_idem.c):
 *     key TEXT PRIMARY KEY, fingerprint BLOB (SHA-256 of the request), status, answer
 *     BLOB (the first answer's body), created_at (ms). Inserted in the transaction that
 *     inserts the request's messages. index idempotency_created(created_at) for expiry.
 *   meta      key/value: schema_version = 4; owner_epoch, bumped by each owner's open;
 *             redriven_total.
 *
 * Beside the file: "<file>-owner", flock'ed by the owning daemon for its life.
 *
 * Migrations run at open in one transaction: 1 -> 2 only creates objects and progress;
 * 2 -> 3 adds messages.holder, its index and the idempotency table; 3 -> 4 moves the
 * delivery columns (visible_at, receive_count, first_receive_at, last_error, holder) out
 * of messages into leases. 3 -> 4 copies the messages table once (SQLite cannot drop
 * NOT NULL columns in place), so it needs free disk about twice the size of the queued
 * bodies (the copy in the WAL, then in the file, whose old pages stay free); if it fails
 * (full disk), the transaction rolls back, the file stays version 3 and the open reports
 * why. A migration runs only under the owner lock (create_schema). The AUTOINCREMENT sequence is
 * carried over, so no id is ever reused.
 *
 * Why leases (issue 14, docs/performance.md): in version 3 a receive updated the row
 * holding the body; the row grew (first_receive_at and holder from NULL to a number),
 * so SQLite rewrote the whole record with its ~19 overflow pages into the WAL, and the
 * checkpoint copied them again. Now a receive rewrites a ~40-byte lease row, many to a
 * page.
 */
#include "queue_sqlite_int.h"

#include "common.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000
#define WAL_SIZE_LIMIT (64 * 1024 * 1024)
#define SQ_PAGE_SIZE "16384" /* bytes, for new files (configure) */

/* Version 1; a new file gets it, then the migrations. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " body BLOB NOT NULL, record_count INTEGER NOT NULL, raw_bytes INTEGER NOT NULL,"
    " min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, encoding TEXT NOT NULL,"
    " sent_at INTEGER NOT NULL, visible_at INTEGER NOT NULL,"
    " receive_count INTEGER NOT NULL DEFAULT 0, first_receive_at INTEGER, last_error TEXT);"
    "CREATE INDEX IF NOT EXISTS messages_visible ON messages(visible_at, id);"
    "CREATE INDEX IF NOT EXISTS messages_sent ON messages(sent_at, record_count);"
    "CREATE TABLE IF NOT EXISTS dlq (id INTEGER PRIMARY KEY, body BLOB NOT NULL,"
    " record_count, raw_bytes, min_ts, max_ts, encoding TEXT, sent_at INTEGER,"
    " receive_count INTEGER, first_receive_at INTEGER, last_error TEXT,"
    " moved_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS dlq_moved ON dlq(moved_at);"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);"
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', 1);";

static const char migrate_v2_sql[] =
    "CREATE TABLE objects (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE NOT NULL,"
    " staging_key TEXT, service TEXT NOT NULL, dt TEXT NOT NULL, hour INTEGER NOT NULL,"
    " records INTEGER NOT NULL, bytes INTEGER NOT NULL, raw_bytes INTEGER NOT NULL,"
    " min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, n_trace INTEGER, n_debug INTEGER,"
    " n_info INTEGER, n_warn INTEGER, n_error INTEGER, n_fatal INTEGER,"
    " created_at INTEGER NOT NULL, published INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX objects_partition ON objects(service, dt, hour);"
    "CREATE INDEX objects_unpublished ON objects(staging_key) WHERE published = 0;"
    "CREATE TABLE progress (msg_id INTEGER NOT NULL, partition TEXT NOT NULL,"
    " PRIMARY KEY (msg_id, partition)) WITHOUT ROWID;"
    "UPDATE meta SET value = 2 WHERE key = 'schema_version';";

static const char migrate_v3_sql[] =
    "ALTER TABLE messages ADD COLUMN holder INTEGER;"
    "CREATE INDEX messages_held ON messages(holder) WHERE holder IS NOT NULL;"
    "CREATE TABLE idempotency (key TEXT PRIMARY KEY, fingerprint BLOB NOT NULL,"
    " status INTEGER NOT NULL, answer BLOB NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX idempotency_created ON idempotency(created_at);"
    "UPDATE meta SET value = 3 WHERE key = 'schema_version';";

/* The sequence row moves to the new table before the old one is dropped (which would
 * delete it): the new table's own row, from the copy, may be lower than ids already
 * given out and deleted. The rename carries the row's name along. */
static const char migrate_v4_sql[] =
    "CREATE TABLE messages_v4 (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL,"
    " record_count INTEGER NOT NULL, raw_bytes INTEGER NOT NULL, min_ts INTEGER NOT NULL,"
    " max_ts INTEGER NOT NULL, encoding TEXT NOT NULL, sent_at INTEGER NOT NULL);"
    "INSERT INTO messages_v4 (id, body, record_count, raw_bytes, min_ts, max_ts, encoding,"
    " sent_at) SELECT id, body, record_count, raw_bytes, min_ts, max_ts, encoding, sent_at"
    " FROM messages ORDER BY id;"
    "CREATE TABLE leases (msg_id INTEGER PRIMARY KEY, visible_at INTEGER NOT NULL,"
    " receive_count INTEGER NOT NULL DEFAULT 0, first_receive_at INTEGER, last_error TEXT,"
    " holder INTEGER);"
    "INSERT INTO leases (msg_id, visible_at, receive_count, first_receive_at, last_error,"
    " holder) SELECT id, visible_at, receive_count, first_receive_at, last_error, holder"
    " FROM messages ORDER BY id;"
    "DELETE FROM sqlite_sequence WHERE name = 'messages_v4';"
    "UPDATE sqlite_sequence SET name = 'messages_v4' WHERE name = 'messages';"
    "DROP TABLE messages;"
    "ALTER TABLE messages_v4 RENAME TO messages;"
    "CREATE INDEX messages_sent ON messages(sent_at, record_count);"
    "CREATE INDEX leases_visible ON leases(visible_at, msg_id);"
    "CREATE INDEX leases_held ON leases(holder) WHERE holder IS NOT NULL;"
    "UPDATE meta SET value = 4 WHERE key = 'schema_version';";

/* Run at every open: additions that older builds of the same version can ignore. */
static const char indexes_sql[] = "CREATE INDEX IF NOT EXISTS objects_published ON"
                                  " objects(dt, hour, service) WHERE published = 1;";

/* One migration: the version it starts from, its SQL, and what it logs. */
struct migration {
    int64_t from;
    const char *sql;
    const char *what;
};

static const struct migration migrations[] = {
    {1, migrate_v2_sql, "catalog tables"},
    {2, migrate_v3_sql, "message holder, idempotency keys"},
    {3, migrate_v4_sql, "delivery state in leases, apart from message bodies"},
};

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t err_len)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        snprintf(err, err_len, "%s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return rc == SQLITE_OK ? CL_OK : sq_err(rc);
}

static int set_wal_mode(sqlite3 *db, char *err, size_t err_len)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, err_len, "journal_mode: %s", sqlite3_errmsg(db));
        return sq_err(rc);
    }
    rc = sqlite3_step(st);
    int wal =
        rc == SQLITE_ROW && sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!wal) {
        snprintf(err, err_len, "cannot enable WAL mode: %s", sqlite3_errmsg(db));
        return rc == SQLITE_ROW ? CL_ERR_UNSUPPORTED : sq_err(rc);
    }
    return CL_OK;
}

static int configure(struct sq_queue *s, char *err, size_t err_len)
{
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* 16 KiB pages for a new file (an existing one keeps its own: WAL mode cannot change
     * it). A message body of ~76 KiB spans 5 pages instead of 19, and SQLite reads and
     * writes the WAL and checkpoints a page per system call (two for a WAL frame): the
     * end-to-end daemon made 135 pread/pwrite calls per 1,000 records with 4 KiB pages
     * and 65 with 16 KiB (docs/performance.md, "Queue pages of 16 KiB"). 64 KiB pages
     * cut reads a little more but make every small lease or progress change a 64 KiB
     * WAL frame. Must come before journal_mode=WAL, which writes the file's header. */
    int rc = exec_sql(s->db, "PRAGMA page_size=" SQ_PAGE_SIZE ";", err, err_len);
    if (rc == CL_OK)
        rc = set_wal_mode(s->db, err, err_len);
    if (rc != CL_OK)
        return rc;
    /* secure_delete=FAST: Debian builds SQLite with secure_delete on, which writes zeros
     * over every freed page. A delivered message frees ~19 overflow pages of its body:
     * zeroing them tripled the WAL writes and checkpoint copies of a drain
     * (docs/performance.md, issue 14). FAST zeroes only where that costs no extra I/O;
     * the bodies are records the store keeps anyway. cache_size=-512 (KiB, default 2 MiB):
     * the bodies are written once and read once, soon after, from the WAL in the OS page
     * cache; a smaller cache keeps ~1.5 MiB of them out of the daemon's peak RSS. */
    char sql[200];
    snprintf(sql, sizeof sql,
             "PRAGMA synchronous=%s; PRAGMA journal_size_limit=%d; PRAGMA secure_delete=FAST; "
             "PRAGMA cache_size=-512;",
             s->opts.durability_full ? "FULL" : "NORMAL", WAL_SIZE_LIMIT);
    return exec_sql(s->db, sql, err, err_len);
}

/* The file's schema version into *v (-1: no meta table or no version row: a new file).
 * Returns CL_OK, or the error of reading it (a damaged page: CL_ERR_CORRUPT, which the
 * daemon answers by quarantining the file; it must not be taken for a new file). */
static int read_schema_version(sqlite3 *db, int64_t *v)
{
    static const char *const steps[] = {
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
        "SELECT value FROM meta WHERE key = 'schema_version'"};
    *v = -1;
    int rc = SQLITE_ROW;
    for (size_t i = 0; i < 2 && rc == SQLITE_ROW; i++) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(db, steps[i], -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && i == 1)
            *v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CL_OK : sq_err(rc);
}

static int64_t schema_version(sqlite3 *db)
{
    int64_t v;
    return read_schema_version(db, &v) == CL_OK ? v : -1;
}

/* Runs every migration from the file's version on (inside the caller's transaction).
 * found is the version before the version 1 schema was applied (-1: a new file). */
static int migrate(sqlite3 *db, int64_t found, char *err, size_t err_len)
{
    int rc = CL_OK;
    for (size_t i = 0; rc == CL_OK && i < CL_ARRAY_LEN(migrations); i++) {
        if (schema_version(db) != migrations[i].from)
            continue;
        rc = exec_sql(db, migrations[i].sql, err, err_len);
        if (rc == CL_OK && found >= 1)
            cl_log(CL_LOG_INFO, "queue: schema migrated from version %lld to %lld (%s)",
                   (long long)migrations[i].from, (long long)migrations[i].from + 1,
                   migrations[i].what);
    }
    return rc;
}

/* Creates the version 1 schema if the file is new, then migrates it to the current one
 * in the same transaction. An open without the owner lock (the CLI) takes it for a
 * migration, and refuses one while a daemon (of an older build) holds it. */
static int create_schema(struct sq_queue *s, const char *path, char *err, size_t err_len)
{
    int rc = exec_sql(s->db, "BEGIN IMMEDIATE", err, err_len);
    if (rc != CL_OK)
        return rc;
    int64_t found; /* -1: a new file */
    int upgrade_fd = -1;
    if ((rc = read_schema_version(s->db, &found)) != CL_OK)
        snprintf(err, err_len, "reading the queue schema version: %s", sqlite3_errmsg(s->db));
    if (rc == CL_OK && found >= 1 && found < SQ_SCHEMA_VERSION && s->lock_fd < 0 &&
        (upgrade_fd = sq_lock_for_upgrade(path, err, err_len)) < 0) {
        size_t n = strlen(err);
        snprintf(err + n, err_len - n,
                 "; the file is queue schema version %lld, which this build upgrades to %d "
                 "only while no older daemon runs on it: stop that daemon and start this "
                 "version's cloudlog serve",
                 (long long)found, SQ_SCHEMA_VERSION);
        rc = CL_ERR_UNSUPPORTED;
    }
    /* Only a file without a version gets version 1: its indexes name columns that
     * version 4 moved out of messages. */
    if (rc == CL_OK && found < 1)
        rc = exec_sql(s->db, schema_sql, err, err_len);
    if (rc == CL_OK)
        rc = migrate(s->db, found, err, err_len);
    if (rc == CL_OK) {
        int64_t v = schema_version(s->db);
        if (v != SQ_SCHEMA_VERSION) {
            snprintf(err, err_len, "queue schema version %lld, this build reads %d", (long long)v,
                     SQ_SCHEMA_VERSION);
            rc = CL_ERR_UNSUPPORTED;
        }
    }
    if (rc == CL_OK)
        rc = exec_sql(s->db, indexes_sql, err, err_len);
    if (rc == CL_OK)
        rc = exec_sql(s->db, "COMMIT", err, err_len);
    else
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    if (upgrade_fd >= 0)
        close(upgrade_fd); /* after the commit */
    return rc;
}

int sq_schema_open(struct sq_queue *s, const char *path, char *err, size_t err_len)
{
    int rc = configure(s, err, err_len);
    return rc == CL_OK ? create_schema(s, path, err, err_len) : rc;
}
