/* queue_sqlite_idem.c - idempotency records of the SQLite queue (table idempotency).
 *
 * A request sent with an Idempotency-Key stores (key, fingerprint, status, answer) in
 * the transaction that inserts its messages (queue_sqlite_commit.c), so the key exists
 * exactly when the records do. Rows older than idempotency_window_s are not found and
 * are deleted by the retention pass (queue_sqlite_ops.c). */
#include "queue_sqlite_int.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>

int sq_idem_put(struct sq_queue *s, const struct cl_idem *idem, int64_t now)
{
    sqlite3_stmt *st = s->st[SQ_IDEM_PUT];
    sqlite3_bind_text(st, 1, idem->key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, idem->fingerprint, sizeof idem->fingerprint, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, idem->status);
    sqlite3_bind_blob64(st, 4, idem->answer ? idem->answer : "", idem->answer_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, now - s->opts.idempotency_window_s * 1000);
    int r = sq_finish(s, SQ_IDEM_PUT, sq_step_row(s, SQ_IDEM_PUT));
    if (r < 0)
        return -r;
    return sqlite3_changes(s->db) ? CL_OK : CL_ERR_EXISTS;
}

/* Copies the current row of SQ_IDEM_GET into out (answer heap-allocated). */
static void read_answer(sqlite3_stmt *st, struct cl_idem_answer *out)
{
    size_t fp_len = (size_t)sqlite3_column_bytes(st, 0);
    memset(out->fingerprint, 0, sizeof out->fingerprint);
    memcpy(out->fingerprint, sqlite3_column_blob(st, 0), CL_MIN(fp_len, sizeof out->fingerprint));
    out->status = sqlite3_column_int(st, 1);
    const void *a = sqlite3_column_blob(st, 2);
    out->answer_len = (size_t)sqlite3_column_bytes(st, 2);
    out->answer = cl_malloc(out->answer_len + 1);
    if (out->answer_len)
        memcpy(out->answer, a, out->answer_len);
    out->answer[out->answer_len] = '\0';
}

int sq_idem_get(void *impl, const char *key, struct cl_idem_answer *out)
{
    struct sq_queue *s = impl;
    memset(out, 0, sizeof *out);
    if (!key)
        return CL_ERR_INVAL;
    sqlite3_stmt *st = s->st[SQ_IDEM_GET];
    pthread_mutex_lock(&s->db_mu);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, sq_now(s) - s->opts.idempotency_window_s * 1000);
    int r = sq_step_row(s, SQ_IDEM_GET);
    if (r == 1)
        read_answer(st, out);
    sq_finish(s, SQ_IDEM_GET, r);
    uint64_t seq = atomic_load(&s->wal_seq); /* the commits this read may have seen */
    pthread_mutex_unlock(&s->db_mu);
    if (r < 0)
        return -r;
    /* A record read between its group's commit and that commit's WAL sync must not
     * answer a retry before the first request could be (queue_sqlite_walsync.c). */
    if (r == 1 && sq_wal_sync(s, seq) != CL_OK) {
        free(out->answer);
        memset(out, 0, sizeof *out);
        return CL_ERR_IO;
    }
    return r == 1 ? CL_OK : CL_ERR_NOT_FOUND;
}
