/* queue_sqlite.c - durable local queue with SQS semantics in one SQLite file (WAL mode).
 *
 * FILE FORMAT
 *
 * One SQLite database in WAL mode. Tables (schema_version 3 in meta; other tools,
 * such as the end-to-end tests and the query tool, read these tables directly, so they
 * are a contract):
 *
 *   messages  the main queue, one row per message (a compressed batch of records):
 *     id               INTEGER PRIMARY KEY AUTOINCREMENT; the message id is its decimal
 *                      form. AUTOINCREMENT: ids are never reused after a delete, so an
 *                      old receipt can never match a new message.
 *     body             BLOB, the encoded batch, opaque here
 *     record_count, raw_bytes, min_ts, max_ts, encoding   the sender's attributes
 *     sent_at          ms since the epoch, when the message was committed (or redriven)
 *     visible_at       ms; the message is receivable when visible_at <= now
 *     receive_count    times received; first_receive_at, ms of the first receive or NULL
 *     last_error       text given with the last change-visibility, or NULL
 *     holder           owner epoch of the process that received it and still holds it;
 *                      NULL once given back (change_visibility to 0 or with an error,
 *                      release) or when received by a non-owner (queue_sqlite_owner.c)
 *   index messages_visible(visible_at, id)   receive: "the oldest visible messages"
 *   index messages_held(holder) WHERE holder IS NOT NULL   release at open
 *   index messages_sent(sent_at, record_count)  retention, oldest age, and the record
 *                      total at open without reading bodies (an addition to the
 *                      contract schema; readers may ignore it)
 *   dlq       dead-letter queue: the columns of messages (same id) minus visible_at,
 *             plus moved_at (ms). index dlq_moved(moved_at) for DLQ retention.
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
 *   meta      key/value: schema_version = 3; owner_epoch, bumped by each owner's open;
 *             redriven_total.
 *
 * Beside the file: "<file>-owner", flock'ed by the owning daemon for its life.
 *
 * Migrations run at open in one transaction: 1 -> 2 only creates objects and progress;
 * 2 -> 3 adds messages.holder, its index and the idempotency table.
 *
 * MESSAGE LIFECYCLE
 *
 *   send ─► visible ─receive─► in flight ─delete─► gone
 *              ▲                  │
 *              └──────────────────┘  visibility timeout expires, or
 *                                    change_visibility(0, error)
 *   visible with receive_count >= max_receive_count ─(next receive that reaches it)─► dlq
 *   dlq ─redrive─► visible again (same id, receive_count 0, no error, sent_at = now)
 *   in flight ─release─► visible again, that receive not counted (receive_count - 1)
 *   in flight ─dead_letter─► dlq at once (poison), with its error
 *   held by a dead owner ─(next owner's open)─► visible at once, receive_count - 1
 *   sent_at older than retention, or moved_at older than dlq retention (opt-in; 0 =
 *   never, the default) ─► dropped (logged); idempotency rows older than the window too
 *
 * "Visible" and "in flight" are not stored states: a row is in flight exactly while
 * visible_at > now. Receive picks rows with visible_at <= now in (visible_at, id)
 * order, which walks messages_visible and costs O(max) whatever the backlog; for
 * messages never received this is id order (visible_at = sent_at). A message whose
 * timeout expired queues behind those that became visible before it. A message due for
 * the DLQ moves there when a receive reaches it, as in SQS; until then it counts as
 * visible.
 *
 * RECEIPTS
 *
 * A receipt handle is "<id>:<receive_count>" as of the receive that returned it.
 * Every receive increments receive_count, so delete or change_visibility with a receipt
 * from an earlier receive, or for a message that is gone, matches no row: CL_ERR_STALE.
 *
 * GROUP COMMIT (queue_sqlite_commit.c)
 *
 * send() returns only after its rows are committed. Senders queue a request on a list
 * and sleep; one committer thread inserts every pending request in one transaction,
 * commits (one fsync for all), then wakes them with the shared result: all or nothing.
 * The committer starts at once when it was idle. When it finds work already waiting
 * after a commit (i.e. under load), it lingers up to group_commit_max_ms until the
 * senders of the previous commit have rejoined those already waiting, so closed-loop
 * clients share fsyncs instead of alternating between half-full groups.
 *
 * CONCURRENCY
 *
 * One connection, guarded by db_mu, does all reads and writes of this process (SQLite
 * serializes writers anyway, and one connection keeps the prepared-statement cache
 * simple), except the catalog reads of queries: each opens a connection of its own
 * (catalog_read.c), so a long read never holds db_mu. Other processes (the CLI's "dlq
 * list" while the daemon runs) open the same file; busy_timeout makes them wait for the
 * write lock instead of failing, and every write transaction checks PRAGMA data_version
 * to notice their commits and recount.
 *
 * DURABILITY
 *
 * durability_full: synchronous=FULL, the WAL is fsync'd at every commit, so a commit
 * survives power loss. Otherwise synchronous=NORMAL: in WAL mode a commit survives a
 * crash or kill -9 of the process (the WAL is in the OS page cache), but the last
 * transactions may be lost, never corrupted, on power loss or kernel crash. Receives and
 * published marks never wait for the disk (sq_lazy_sync): start-up recovery undoes their
 * loss (docs/pipeline.md, "Exactly-once output").
 *
 * COUNTERS
 *
 * stats() runs on every ingest request, so it reads in-memory counters. Message, byte,
 * record and DLQ totals are exact: loaded by SQL at open (and after another process
 * commits), then adjusted by each committed transaction. "In flight" also changes as
 * timeouts expire, so it is adjusted on receive/delete/visibility changes and recounted
 * with an indexed query when the cached value is older than STATS_REFRESH_MS (never
 * blocking: skipped while a write holds the connection). visible = total - in flight.
 */
#include "queue_sqlite_int.h"
#include "queue_sqlite_quarantine.h"

#include "common.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_VERSION SQ_SCHEMA_VERSION
#define BUSY_TIMEOUT_MS 5000
#define STATS_REFRESH_MS 200
#define WAL_SIZE_LIMIT (64 * 1024 * 1024)

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

/* Run at every open: additions that older builds of the same version can ignore. */
static const char indexes_sql[] = "CREATE INDEX IF NOT EXISTS objects_published ON"
                                  " objects(dt, hour, service) WHERE published = 1;";

static const char *const sq_sql[SQ_NSTMT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_DATA_VERSION] = "PRAGMA data_version",
    [SQ_INSERT] = "INSERT INTO messages (body, record_count, raw_bytes, min_ts, max_ts,"
                  " encoding, sent_at, visible_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    [SQ_PICK] = "SELECT id, receive_count FROM messages WHERE visible_at <= ?1"
                " ORDER BY visible_at, id LIMIT ?2",
    [SQ_TO_DLQ] = "INSERT INTO dlq (id, body, record_count, raw_bytes, min_ts, max_ts, encoding,"
                  " sent_at, receive_count, first_receive_at, last_error, moved_at)"
                  " SELECT id, body, record_count, raw_bytes, min_ts, max_ts, encoding, sent_at,"
                  " receive_count, first_receive_at, last_error, ?2 FROM messages WHERE id = ?1",
    [SQ_DEL_ID] = "DELETE FROM messages WHERE id = ?1 RETURNING length(body), record_count",
    [SQ_RECEIVE] = "UPDATE messages SET visible_at = ?2, receive_count = receive_count + 1,"
                   " first_receive_at = coalesce(first_receive_at, ?3), holder = ?4 WHERE id = ?1"
                   " RETURNING body, record_count, raw_bytes, min_ts, max_ts, encoding, sent_at,"
                   " receive_count, first_receive_at, last_error",
    [SQ_DELETE] = "DELETE FROM messages WHERE id = ?1 AND receive_count = ?2"
                  " RETURNING length(body), record_count, visible_at",
    [SQ_VIS_GET] = "SELECT visible_at FROM messages WHERE id = ?1 AND receive_count = ?2",
    /* ?4 = 1: the holder gives the message back (it holds it no more). */
    [SQ_VIS_SET] = "UPDATE messages SET visible_at = ?2, last_error = coalesce(?3, last_error),"
                   " holder = CASE WHEN ?4 THEN NULL ELSE holder END WHERE id = ?1",
    /* A receive that must not count: the failure was the pipeline's, not the message's. */
    [SQ_UNCOUNT] = "UPDATE messages SET receive_count = max(receive_count - 1, 0) WHERE id = ?1",
    [SQ_SET_ERROR] = "UPDATE messages SET last_error = ?3 WHERE id = ?1 AND receive_count = ?2",
    [SQ_EPOCH_NEXT] = "INSERT INTO meta (key, value) VALUES ('owner_epoch', 1) ON CONFLICT(key)"
                      " DO UPDATE SET value = value + 1 RETURNING value",
    /* Messages a previous owner held when it died: visible now, that receive uncounted. */
    [SQ_OWNER_RELEASE] = "UPDATE messages SET visible_at = min(visible_at, ?1),"
                         " receive_count = max(receive_count - 1, 0), holder = NULL"
                         " WHERE holder IS NOT NULL",
    /* A row older than the window (?6) is replaced: expired keys may wait for the purge. */
    [SQ_IDEM_PUT] = "INSERT INTO idempotency (key, fingerprint, status, answer, created_at)"
                    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET"
                    " fingerprint = excluded.fingerprint, status = excluded.status,"
                    " answer = excluded.answer, created_at = excluded.created_at"
                    " WHERE idempotency.created_at < ?6",
    [SQ_IDEM_GET] = "SELECT fingerprint, status, answer FROM idempotency WHERE key = ?1"
                    " AND created_at >= ?2",
    [SQ_IDEM_PURGE] = "DELETE FROM idempotency WHERE created_at < ?1",
    [SQ_INFLIGHT] = "SELECT count(*) FROM messages WHERE visible_at > ?1",
    [SQ_OLDEST] = "SELECT min(sent_at) FROM messages",
    [SQ_MAIN_COUNT] = "SELECT count(*), total(record_count) FROM messages",
    /* length() of a blob reads only the row header, never the overflow pages. */
    [SQ_MAIN_BYTES] = "SELECT total(length(body)) FROM messages",
    [SQ_DLQ_COUNT] = "SELECT count(*), total(length(body)) FROM dlq",
    [SQ_DLQ_LIST] = "SELECT id, CASE WHEN ?3 THEN body END, length(body), record_count,"
                    " raw_bytes, min_ts, max_ts, encoding, sent_at, receive_count,"
                    " first_receive_at, last_error FROM dlq WHERE id > ?1 ORDER BY id LIMIT ?2",
    [SQ_DLQ_IDS] = "SELECT id FROM dlq ORDER BY id",
    [SQ_REDRIVE] = "INSERT INTO messages (id, body, record_count, raw_bytes, min_ts, max_ts,"
                   " encoding, sent_at, visible_at, receive_count) SELECT id, body,"
                   " coalesce(record_count, 0), coalesce(raw_bytes, 0), coalesce(min_ts, 0),"
                   " coalesce(max_ts, 0), coalesce(encoding, ''), ?2, ?2, 0 FROM dlq"
                   " WHERE id = ?1",
    [SQ_DLQ_DEL] = "DELETE FROM dlq WHERE id = ?1 RETURNING length(body), record_count",
    [SQ_PURGE_STATS] = "SELECT count(*), total(record_count), total(length(body)) FROM messages"
                       " WHERE sent_at < ?1",
    [SQ_EXPIRE_TO_DLQ] = "INSERT INTO dlq (id, body, record_count, raw_bytes, min_ts, max_ts,"
                         " encoding, sent_at, receive_count, first_receive_at, last_error,"
                         " moved_at) SELECT id, body, record_count, raw_bytes, min_ts, max_ts,"
                         " encoding, sent_at, receive_count, first_receive_at,"
                         " 'retention expired: not stored within the queue retention period"
                         " (--queue-retention); last error: ' || coalesce(last_error, 'none'), ?2"
                         " FROM messages WHERE sent_at < ?1",
    [SQ_PURGE] = "DELETE FROM messages WHERE sent_at < ?1",
    [SQ_DLQ_PURGE_STATS] = "SELECT count(*), total(length(body)) FROM dlq WHERE moved_at < ?1",
    [SQ_DLQ_PURGE] = "DELETE FROM dlq WHERE moved_at < ?1",
    [SQ_PROGRESS_DEL] = "DELETE FROM progress WHERE msg_id = ?1",
    [SQ_PROGRESS_PURGE] = "DELETE FROM progress WHERE msg_id IN"
                          " (SELECT id FROM messages WHERE sent_at < ?1)",
    [SQ_DLQ_PROGRESS_PURGE] = "DELETE FROM progress WHERE msg_id IN"
                              " (SELECT id FROM dlq WHERE moved_at < ?1)",
    [SQ_OBJ_INSERT] = "INSERT INTO objects (key, staging_key, service, dt, hour, records, bytes,"
                      " raw_bytes, min_ts, max_ts, n_trace, n_debug, n_info, n_warn, n_error,"
                      " n_fatal, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
                      " ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    /* Only for messages that still exist: a message deleted or purged while its
     * records were being stored would otherwise leave rows nothing ever deletes. */
    [SQ_PROGRESS_ADD] = "INSERT OR IGNORE INTO progress (msg_id, partition) SELECT ?1, ?2"
                        " WHERE EXISTS (SELECT 1 FROM messages WHERE id = ?1)"
                        " OR EXISTS (SELECT 1 FROM dlq WHERE id = ?1)",
    [SQ_PROGRESS_GET] = "SELECT 1 FROM progress WHERE msg_id = ?1 AND partition = ?2",
    [SQ_PROGRESS_ANY] = "SELECT 1 FROM progress WHERE msg_id = ?1 LIMIT 1",
    [SQ_REDRIVEN_GET] = "SELECT coalesce((SELECT value FROM meta WHERE key = 'redriven_total'), 0)",
    [SQ_REDRIVEN_ADD] = "INSERT INTO meta(key, value) VALUES ('redriven_total', ?1)"
                        " ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
    [SQ_OBJ_UNPUBLISHED] = "SELECT id, staging_key, key FROM objects WHERE published = 0"
                           " ORDER BY id",
    [SQ_OBJ_PUBLISH] = "UPDATE objects SET published = 1, staging_key = NULL WHERE id = ?1",
    /* Published rows have no staging key, so the partial index finds every match. */
    [SQ_OBJ_STAGING] = "SELECT 1 FROM objects WHERE published = 0 AND staging_key = ?1 LIMIT 1",
    [SQ_OBJ_STATS] = "SELECT count(*), coalesce(sum(records), 0), coalesce(sum(bytes), 0),"
                     " coalesce(sum(raw_bytes), 0), coalesce(min(min_ts), 0),"
                     " coalesce(max(max_ts), 0) FROM objects",
};

static int64_t default_clock(void *arg)
{
    (void)arg;
    return cl_now_ms();
}

int64_t sq_now(struct sq_queue *s)
{
    return s->now_fn(s->now_arg);
}

int sq_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return CL_OK;
    case SQLITE_FULL:
        return CL_ERR_FULL;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return CL_ERR_FULL; /* another writer holds the file: retry later */
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return CL_ERR_CORRUPT;
    case SQLITE_NOMEM:
        return CL_ERR_NOMEM;
    default:
        return CL_ERR_IO;
    }
}

int sq_exec(struct sq_queue *s, enum sq_stmt id)
{
    sqlite3_stmt *st = s->st[id];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        cl_log(CL_LOG_ERROR, "queue: %s: %s", sq_sql[id], sqlite3_errmsg(s->db));
        return sq_err(rc);
    }
    return CL_OK;
}

int sq_query_int64s(struct sq_queue *s, enum sq_stmt id, int64_t bind1, int64_t *out, int ncol)
{
    sqlite3_stmt *st = s->st[id];
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, bind1);
    int rc = sqlite3_step(st);
    for (int i = 0; i < ncol; i++)
        out[i] = rc == SQLITE_ROW ? (int64_t)sqlite3_column_double(st, i) : 0;
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
        out[0] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cl_log(CL_LOG_ERROR, "queue: %s: %s", sq_sql[id], sqlite3_errmsg(s->db));
        return sq_err(rc);
    }
    return CL_OK;
}

int sq_step_row(struct sq_queue *s, enum sq_stmt id)
{
    int rc = sqlite3_step(s->st[id]);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    cl_log(CL_LOG_ERROR, "queue: %s: %s", sq_sql[id], sqlite3_errmsg(s->db));
    return -sq_err(rc);
}

int sq_finish(struct sq_queue *s, enum sq_stmt id, int rc)
{
    sqlite3_reset(s->st[id]);
    sqlite3_clear_bindings(s->st[id]);
    return rc;
}

/* Recounts the cheap-to-query, time-dependent figures (caller holds db_mu). */
static int refresh_inflight(struct sq_queue *s)
{
    int64_t now = sq_now(s), inflight = 0, oldest = 0;
    int rc = sq_query_int64s(s, SQ_INFLIGHT, now, &inflight, 1);
    if (rc == CL_OK)
        rc = sq_query_int64s(s, SQ_OLDEST, 0, &oldest, 1);
    if (rc != CL_OK)
        return rc;
    pthread_mutex_lock(&s->mu);
    s->c.inflight = inflight;
    s->oldest_ms = oldest;
    s->refreshed_ms = now;
    pthread_mutex_unlock(&s->mu);
    return CL_OK;
}

/* Recounts every total from the tables (caller holds db_mu). O(rows), reading row
 * headers and the messages_sent index only, never message bodies. */
static int load_counts(struct sq_queue *s)
{
    int64_t main_count[2], main_bytes, dlq[2];
    int rc = sq_query_int64s(s, SQ_MAIN_COUNT, 0, main_count, 2);
    if (rc == CL_OK)
        rc = sq_query_int64s(s, SQ_MAIN_BYTES, 0, &main_bytes, 1);
    if (rc == CL_OK)
        rc = sq_query_int64s(s, SQ_DLQ_COUNT, 0, dlq, 2);
    int64_t redriven = 0;
    if (rc == CL_OK)
        rc = sq_query_int64s(s, SQ_REDRIVEN_GET, 0, &redriven, 1);
    if (rc != CL_OK)
        return rc;
    pthread_mutex_lock(&s->mu);
    s->c.msgs = main_count[0];
    s->c.records = main_count[1];
    s->c.bytes = main_bytes;
    s->c.dlq = dlq[0];
    s->c.dlq_bytes = dlq[1];
    s->c.redriven = redriven;
    pthread_mutex_unlock(&s->mu);
    return refresh_inflight(s);
}

/* Recounts if another process committed since we last looked (caller holds db_mu). */
static int check_data_version(struct sq_queue *s)
{
    int64_t v = 0;
    int rc = sq_query_int64s(s, SQ_DATA_VERSION, 0, &v, 1);
    if (rc != CL_OK || v == s->data_version)
        return rc;
    s->data_version = v;
    return load_counts(s);
}

int sq_begin(struct sq_queue *s)
{
    int rc = sq_exec(s, SQ_BEGIN);
    if (rc != CL_OK)
        return rc;
    rc = check_data_version(s);
    if (rc != CL_OK)
        sq_rollback(s);
    return rc;
}

int sq_commit(struct sq_queue *s)
{
    int rc = sq_exec(s, SQ_COMMIT);
    if (rc != CL_OK)
        sq_rollback(s);
    return rc;
}

int sq_end(struct sq_queue *s, int rc, const struct sq_delta *d)
{
    if (rc == CL_OK)
        rc = sq_commit(s);
    else
        sq_rollback(s);
    if (rc == CL_OK && d)
        sq_apply(s, d);
    return rc;
}

void sq_lazy_sync(struct sq_queue *s, int on)
{
    if (!s->opts.durability_full)
        return;
    /* SQLite applies this pragma when it is compiled and refuses it inside a
     * transaction, so it is run as text, outside one. */
    const char *sql = on ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL";
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        cl_log(CL_LOG_WARN, "queue: %s: %s", sql, sqlite3_errmsg(s->db));
}

void sq_rollback(struct sq_queue *s)
{
    /* A failed COMMIT may already have rolled back (e.g. SQLITE_FULL). */
    if (!sqlite3_get_autocommit(s->db))
        sq_exec(s, SQ_ROLLBACK);
}

void sq_apply(struct sq_queue *s, const struct sq_delta *d)
{
    pthread_mutex_lock(&s->mu);
    s->c.msgs += d->msgs;
    s->c.bytes += d->bytes;
    s->c.records += d->records;
    s->c.inflight = CL_MAX(0, CL_MIN(s->c.inflight + d->inflight, s->c.msgs));
    s->c.dlq += d->dlq;
    s->c.dlq_bytes += d->dlq_bytes;
    s->c.redriven += d->redriven;
    if (d->msgs > 0 && s->oldest_ms == 0)
        s->oldest_ms = sq_now(s);
    if (s->c.msgs == 0)
        s->oldest_ms = 0;
    pthread_mutex_unlock(&s->mu);
}

void sq_invalidate_stats(struct sq_queue *s)
{
    pthread_mutex_lock(&s->mu);
    s->refreshed_ms = INT64_MIN / 2;
    pthread_mutex_unlock(&s->mu);
}

void sq_notify_arrival(struct sq_queue *s)
{
    pthread_mutex_lock(&s->mu);
    s->arrival_gen++;
    pthread_cond_broadcast(&s->arrival_cv);
    pthread_mutex_unlock(&s->mu);
}

static int sq_stats(void *impl, struct cl_queue_stats *st)
{
    struct sq_queue *s = impl;
    int64_t now = sq_now(s);
    pthread_mutex_lock(&s->mu);
    int stale = now - s->refreshed_ms >= STATS_REFRESH_MS || now < s->refreshed_ms;
    pthread_mutex_unlock(&s->mu);
    /* Never wait behind a commit's fsync: a busy connection means cached figures. */
    if (stale && pthread_mutex_trylock(&s->db_mu) == 0) {
        int rc = check_data_version(s);
        if (rc == CL_OK)
            rc = refresh_inflight(s);
        pthread_mutex_unlock(&s->db_mu);
        if (rc != CL_OK)
            return rc;
    }
    pthread_mutex_lock(&s->mu);
    st->inflight = (uint64_t)CL_MIN(s->c.inflight, s->c.msgs);
    st->visible = (uint64_t)s->c.msgs - st->inflight;
    st->bytes = (uint64_t)s->c.bytes;
    st->records = (uint64_t)s->c.records;
    st->dlq_depth = (uint64_t)s->c.dlq;
    st->dlq_bytes = (uint64_t)s->c.dlq_bytes;
    st->redriven = (uint64_t)s->c.redriven;
    st->oldest_ms = s->oldest_ms;
    pthread_mutex_unlock(&s->mu);
    return CL_OK;
}

static int sq_ping(void *impl)
{
    struct sq_queue *s = impl;
    pthread_mutex_lock(&s->db_mu);
    int rc = sq_exec(s, SQ_BEGIN);
    if (rc == CL_OK)
        sq_rollback(s);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

static void free_db(struct sq_queue *s)
{
    for (int i = 0; i < SQ_NSTMT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
}

static void sq_free(struct sq_queue *s)
{
    free_db(s);
    sq_drop_ownership(s); /* after the close: no other owner may open it before */
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->done_cv);
    pthread_cond_destroy(&s->arrival_cv);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->db_mu);
    free(s);
}

/* Finishes pending sends, stops the committer and folds the WAL into the database.
 * The caller must have stopped every other use of the queue. */
static void sq_close(void *impl)
{
    struct sq_queue *s = impl;
    sq_committer_stop(s);
    pthread_mutex_lock(&s->db_mu);
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        cl_log(CL_LOG_WARN, "queue: checkpoint at close: %s", sqlite3_errmsg(s->db));
    pthread_mutex_unlock(&s->db_mu);
    sq_free(s);
}

static struct cl_catalog *sq_catalog(void *impl)
{
    struct sq_queue *s = impl;
    return &s->catalog;
}

static const struct cl_queue_ops sq_ops = {
    .name = "sqlite",
    .send = sq_send,
    .receive = sq_receive,
    .delete_msgs = sq_delete,
    .change_visibility = sq_change_visibility,
    .stats = sq_stats,
    .dlq_list = sq_dlq_list,
    .dlq_find = sq_dlq_find,
    .dlq_redrive = sq_dlq_redrive,
    .release = sq_release,
    .dead_letter = sq_dead_letter,
    .send_keyed = sq_send_keyed,
    .idem_get = sq_idem_get,
    .catalog = sq_catalog,
    .integrity = sq_integrity,
    .salvage = sq_salvage,
    .ping = sq_ping,
    .close = sq_close,
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
    int rc = set_wal_mode(s->db, err, err_len);
    if (rc != CL_OK)
        return rc;
    /* secure_delete=FAST: Debian builds SQLite with secure_delete on, which writes zeros
     * over every freed page. A delivered message frees ~19 overflow pages of its body (and
     * a receive, which rewrites the row, as many again): zeroing them tripled the WAL
     * writes and checkpoint copies of a drain (docs/performance.md, issue 14). FAST zeroes
     * only where that costs no extra I/O; the bodies are records the store keeps anyway. */
    char sql[200];
    snprintf(sql, sizeof sql,
             "PRAGMA synchronous=%s; PRAGMA journal_size_limit=%d; PRAGMA secure_delete=FAST;",
             s->opts.durability_full ? "FULL" : "NORMAL", WAL_SIZE_LIMIT);
    return exec_sql(s->db, sql, err, err_len);
}

static int64_t schema_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, NULL);
    int64_t v = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

/* Creates the version 1 schema if the file is new, then migrates it to the current one
 * in the same transaction. */
static int create_schema(struct sq_queue *s, char *err, size_t err_len)
{
    int rc = exec_sql(s->db, "BEGIN IMMEDIATE", err, err_len);
    if (rc != CL_OK)
        return rc;
    int64_t found = schema_version(s->db); /* -1: a new file */
    rc = exec_sql(s->db, schema_sql, err, err_len);
    if (rc == CL_OK && schema_version(s->db) == 1) {
        rc = exec_sql(s->db, migrate_v2_sql, err, err_len);
        if (rc == CL_OK && found == 1)
            cl_log(CL_LOG_INFO, "queue: schema migrated from version 1 to 2 (catalog tables)");
    }
    if (rc == CL_OK && schema_version(s->db) == 2) {
        rc = exec_sql(s->db, migrate_v3_sql, err, err_len);
        if (rc == CL_OK && found >= 1)
            cl_log(CL_LOG_INFO, "queue: schema migrated to version 3 (message holder, "
                                "idempotency keys)");
    }
    if (rc == CL_OK) {
        int64_t v = schema_version(s->db);
        if (v != SCHEMA_VERSION) {
            snprintf(err, err_len, "queue schema version %lld, this build reads %d", (long long)v,
                     SCHEMA_VERSION);
            rc = CL_ERR_UNSUPPORTED;
        }
    }
    if (rc == CL_OK)
        rc = exec_sql(s->db, indexes_sql, err, err_len);
    if (rc == CL_OK)
        return exec_sql(s->db, "COMMIT", err, err_len);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int prepare_all(struct sq_queue *s, char *err, size_t err_len)
{
    for (int i = 0; i < SQ_NSTMT; i++) {
        int rc =
            sqlite3_prepare_v3(s->db, sq_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
        if (rc != SQLITE_OK) {
            snprintf(err, err_len, "prepare %s: %s", sq_sql[i], sqlite3_errmsg(s->db));
            return sq_err(rc);
        }
    }
    return CL_OK;
}

static int check_opts(const struct cl_queue_opts *o, char *err, size_t err_len)
{
    if (o->max_receive_count < 1 || o->retention_s < 1 || o->dlq_retention_s < 0 ||
        o->idempotency_window_s < 0 || o->group_commit_max_ms < 0) {
        snprintf(err, err_len,
                 "invalid queue options (max_receive_count >= 1, retention > 0, "
                 "DLQ retention and idempotency window >= 0)");
        return CL_ERR_INVAL;
    }
    return CL_OK;
}

/* Allocates the backend with its locks; freed by sq_free. */
static struct sq_queue *sq_new(const struct cl_queue_opts *opts)
{
    struct sq_queue *s = cl_calloc(1, sizeof *s);
    s->opts = *opts;
    s->now_fn = default_clock;
    s->lock_fd = -1;
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->work_cv, &ca);
    pthread_cond_init(&s->done_cv, &ca);
    pthread_cond_init(&s->arrival_cv, &ca);
    pthread_condattr_destroy(&ca);
    return s;
}

static int open_db(struct sq_queue *s, const char *path, char *err, size_t err_len)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, err_len, "open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        return sq_err(rc);
    }
    sqlite3_extended_result_codes(s->db, 1);
    int crc = configure(s, err, err_len);
    if (crc == CL_OK)
        crc = create_schema(s, err, err_len);
    if (crc == CL_OK)
        crc = prepare_all(s, err, err_len);
    if (crc == CL_OK && (crc = check_data_version(s)) != CL_OK)
        snprintf(err, err_len, "reading queue totals: %s", sqlite3_errmsg(s->db));
    return crc;
}

int cl_queue_sqlite_open(struct cl_queue *q, const char *path, const struct cl_queue_opts *opts,
                         char *err, size_t err_len)
{
    memset(q, 0, sizeof *q);
    int rc = check_opts(opts, err, err_len);
    if (rc != CL_OK)
        return rc;
    struct sq_queue *s = sq_new(opts);
    s->catalog = (struct cl_catalog){&sq_catalog_ops, s};
    s->data_version = -1; /* forces the first check to load the totals */
    rc = open_db(s, path, err, err_len);
    if (rc == CL_OK && opts->owner)
        rc = sq_claim_ownership(s, path, err, err_len);
    if (rc == CL_OK && (rc = sq_committer_start(s)) != CL_OK)
        snprintf(err, err_len, "cannot start the queue committer thread");
    if (rc != CL_OK) {
        sq_free(s);
        return rc;
    }
    pthread_mutex_lock(&s->db_mu);
    sq_purge_expired(s);
    pthread_mutex_unlock(&s->db_mu);
    q->ops = &sq_ops;
    q->impl = s;
    return CL_OK;
}

struct sq_queue *sq_from_queue(struct cl_queue *q)
{
    return q && q->ops == &sq_ops ? q->impl : NULL;
}

int cl_queue_sqlite_counters(struct cl_queue *q, struct cl_queue_sqlite_counters *c)
{
    struct sq_queue *s = sq_from_queue(q);
    if (!s)
        return CL_ERR_INVAL;
    pthread_mutex_lock(&s->mu);
    *c = s->counters;
    pthread_mutex_unlock(&s->mu);
    return CL_OK;
}

int cl_queue_sqlite_set_clock(struct cl_queue *q, int64_t (*now)(void *arg), void *arg)
{
    struct sq_queue *s = sq_from_queue(q);
    if (!s)
        return CL_ERR_INVAL;
    pthread_mutex_lock(&s->mu);
    s->now_fn = now ? now : default_clock;
    s->now_arg = now ? arg : NULL;
    s->refreshed_ms = INT64_MIN / 2;
    pthread_mutex_unlock(&s->mu);
    return CL_OK;
}

struct sqlite3 *cl_queue_sqlite_db(struct cl_queue *q)
{
    struct sq_queue *s = sq_from_queue(q);
    return s ? s->db : NULL;
}
