/* queue_sqlite_sql.c - the SQLite queue's prepared statements (one set per connection,
 * compiled at open) and the helpers that run them. The tables are described in
 * queue_sqlite_schema.c. */
#include "queue_sqlite_int.h"

#include "log.h"

#include <stdio.h>

const char *const sq_sql[SQ_NSTMT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_DATA_VERSION] = "PRAGMA data_version",
    [SQ_INSERT] = "INSERT INTO messages (body, record_count, raw_bytes, min_ts, max_ts,"
                  " encoding, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* Every message of messages has one: send and redrive insert both rows. */
    [SQ_LEASE_ADD] = "INSERT INTO leases (msg_id, visible_at) VALUES (?1, ?2)",
    [SQ_LEASE_DEL] = "DELETE FROM leases WHERE msg_id = ?1",
    [SQ_PICK] = "SELECT msg_id, receive_count FROM leases WHERE visible_at <= ?1"
                " ORDER BY visible_at, msg_id LIMIT ?2",
    [SQ_TO_DLQ] = "INSERT INTO dlq (id, body, record_count, raw_bytes, min_ts, max_ts, encoding,"
                  " sent_at, receive_count, first_receive_at, last_error, moved_at)"
                  " SELECT m.id, m.body, m.record_count, m.raw_bytes, m.min_ts, m.max_ts,"
                  " m.encoding, m.sent_at, l.receive_count, l.first_receive_at, l.last_error, ?2"
                  " FROM messages m JOIN leases l ON l.msg_id = m.id WHERE m.id = ?1",
    /* No RETURNING on the statements a receive and a delete run for every message:
     * SQLite codes RETURNING as a trigger, which makes the statement keep a statement
     * journal of every page it changes, and inside a transaction that journal spilled
     * past 64 KiB to a temporary file: 130 KB written per message drained, half the
     * drain's writes (docs/performance.md, "Statement journals"). */
    [SQ_ROW_SIZE] = "SELECT length(body), record_count FROM messages WHERE id = ?1",
    [SQ_DEL_ID] = "DELETE FROM messages WHERE id = ?1",
    /* The lease only: the message's row, body included, is read and left alone. */
    [SQ_RECEIVE] = "UPDATE leases SET visible_at = ?2, receive_count = receive_count + 1,"
                   " first_receive_at = coalesce(first_receive_at, ?3), holder = ?4"
                   " WHERE msg_id = ?1",
    [SQ_LEASE_GET] = "SELECT receive_count, first_receive_at, last_error FROM leases"
                     " WHERE msg_id = ?1",
    [SQ_BODY] = "SELECT body, record_count, raw_bytes, min_ts, max_ts, encoding, sent_at"
                " FROM messages WHERE id = ?1",
    [SQ_VIS_GET] = "SELECT visible_at FROM leases WHERE msg_id = ?1 AND receive_count = ?2",
    /* ?4 = 1: the holder gives the message back (it holds it no more). */
    [SQ_VIS_SET] = "UPDATE leases SET visible_at = ?2, last_error = coalesce(?3, last_error),"
                   " holder = CASE WHEN ?4 THEN NULL ELSE holder END WHERE msg_id = ?1",
    /* A receive that must not count: the failure was the pipeline's, not the message's. */
    [SQ_UNCOUNT] = "UPDATE leases SET receive_count = max(receive_count - 1, 0) WHERE msg_id = ?1",
    [SQ_SET_ERROR] = "UPDATE leases SET last_error = ?3 WHERE msg_id = ?1 AND receive_count = ?2",
    [SQ_EPOCH_NEXT] = "INSERT INTO meta (key, value) VALUES ('owner_epoch', 1) ON CONFLICT(key)"
                      " DO UPDATE SET value = value + 1 RETURNING value",
    /* Messages a previous owner held when it died: visible now, that receive uncounted. */
    [SQ_OWNER_RELEASE] = "UPDATE leases SET visible_at = min(visible_at, ?1),"
                         " receive_count = max(receive_count - 1, 0), holder = NULL"
                         " WHERE holder IS NOT NULL",
    /* A receive undone (its holder could not use it): visible now, uncounted, held by no
     * one; ?2 is the receive count of the holder's receipt. */
    [SQ_GIVE_BACK] = "UPDATE leases SET visible_at = min(visible_at, ?3),"
                     " receive_count = max(receive_count - 1, 0), holder = NULL"
                     " WHERE msg_id = ?1 AND receive_count = ?2",
    /* One statement: the lease goes only if it is still this receive's and the message's
     * row is still gone. */
    [SQ_LEASE_ORPHAN_DEL] = "DELETE FROM leases WHERE msg_id = ?1 AND receive_count = ?2"
                            " AND NOT EXISTS (SELECT 1 FROM messages WHERE id = ?1)",
    /* A row older than the window (?6) is replaced: expired keys may wait for the purge. */
    [SQ_IDEM_PUT] = "INSERT INTO idempotency (key, fingerprint, status, answer, created_at)"
                    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET"
                    " fingerprint = excluded.fingerprint, status = excluded.status,"
                    " answer = excluded.answer, created_at = excluded.created_at"
                    " WHERE idempotency.created_at < ?6",
    [SQ_IDEM_GET] = "SELECT fingerprint, status, answer FROM idempotency WHERE key = ?1"
                    " AND created_at >= ?2",
    [SQ_IDEM_PURGE] = "DELETE FROM idempotency WHERE created_at < ?1",
    [SQ_INFLIGHT] = "SELECT count(*) FROM leases WHERE visible_at > ?1",
    [SQ_OLDEST] = "SELECT min(sent_at) FROM messages",
    [SQ_MAIN_COUNT] = "SELECT count(*), total(record_count) FROM messages",
    /* length() of a blob reads only the row header, never the overflow pages. */
    [SQ_MAIN_BYTES] = "SELECT total(length(body)) FROM messages",
    [SQ_DLQ_COUNT] = "SELECT count(*), total(length(body)) FROM dlq",
    [SQ_DLQ_LIST] = "SELECT id, CASE WHEN ?3 THEN body END, length(body), record_count,"
                    " raw_bytes, min_ts, max_ts, encoding, sent_at, receive_count,"
                    " first_receive_at, last_error FROM dlq WHERE id > ?1 ORDER BY id LIMIT ?2",
    [SQ_DLQ_IDS] = "SELECT id FROM dlq ORDER BY id",
    /* Then SQ_LEASE_ADD: visible at once, never received. */
    [SQ_REDRIVE] = "INSERT INTO messages (id, body, record_count, raw_bytes, min_ts, max_ts,"
                   " encoding, sent_at) SELECT id, body, coalesce(record_count, 0),"
                   " coalesce(raw_bytes, 0), coalesce(min_ts, 0), coalesce(max_ts, 0),"
                   " coalesce(encoding, ''), ?2 FROM dlq WHERE id = ?1",
    [SQ_DLQ_DEL] = "DELETE FROM dlq WHERE id = ?1 RETURNING length(body), record_count",
    [SQ_PURGE_STATS] = "SELECT count(*), total(record_count), total(length(body)) FROM messages"
                       " WHERE sent_at < ?1",
    [SQ_EXPIRE_TO_DLQ] = "INSERT INTO dlq (id, body, record_count, raw_bytes, min_ts, max_ts,"
                         " encoding, sent_at, receive_count, first_receive_at, last_error,"
                         " moved_at) SELECT m.id, m.body, m.record_count, m.raw_bytes,"
                         " m.min_ts, m.max_ts, m.encoding, m.sent_at,"
                         " coalesce(l.receive_count, 0), l.first_receive_at,"
                         " 'retention expired: not stored within the queue retention period"
                         " (--queue-retention); last error: ' || coalesce(l.last_error, 'none'),"
                         " ?2 FROM messages m LEFT JOIN leases l ON l.msg_id = m.id"
                         " WHERE m.sent_at < ?1",
    /* Before SQ_PURGE, which it reads. */
    [SQ_LEASE_PURGE] = "DELETE FROM leases WHERE msg_id IN"
                       " (SELECT id FROM messages WHERE sent_at < ?1)",
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

int sq_prepare_all(struct sq_queue *s, char *err, size_t err_len)
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

void sq_finalize_all(struct sq_queue *s)
{
    for (int i = 0; i < SQ_NSTMT; i++) {
        sqlite3_finalize(s->st[i]);
        s->st[i] = NULL;
    }
}
