/* queue_sqlite_checkpoint.c - WAL checkpoints on a connection and thread of their own.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL past 1000
 * pages, on the committing connection: with one connection per process, that commit held
 * db_mu while it copied ~4 MB into the database file and synced both files, and every
 * send, receive and delete waited behind it (docs/performance.md, issue 14). Here the
 * queue's connection only notices the WAL's size (a WAL hook, after each commit) and wakes
 * a checkpointer thread, which runs a PASSIVE checkpoint on its own connection: SQLite
 * lets it copy and sync while the queue connection keeps committing.
 *
 * A passive checkpoint never waits, so while commits follow each other without a pause
 * it may never catch up, and the WAL is only rewound from its start once one has. As a
 * bound, past CKPT_INLINE_FRAMES (the WAL size limit) the committing connection
 * checkpoints itself, as SQLite would: under db_mu nothing else of this process commits,
 * so that checkpoint catches up and the next write transaction rewinds the WAL. */
#include "queue_sqlite_int.h"

#include "log.h"

#include <stdio.h>

/* In bytes of pages, turned into frames by the file's page size (16 KiB for new files,
 * 4 KiB for older ones: queue_sqlite_schema.c). */
#define CKPT_BYTES (1000 * 4096)         /* SQLite's own autocheckpoint: 1000 4 KiB pages */
#define CKPT_INLINE_BYTES (16384 * 4096) /* 64 MiB: WAL_SIZE_LIMIT */

/* The queue connection's WAL hook, after each commit, with db_mu held. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct sq_queue *s = arg;
    if (sq_wal_failed(s))
        return SQLITE_OK; /* no checkpoint after a failed sync (queue_sqlite_walsync.c) */
    if (frames >= s->ck_inline_frames) {
        int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&s->mu);
        s->counters.inline_checkpoints += rc == SQLITE_OK;
        pthread_mutex_unlock(&s->mu);
        return SQLITE_OK;
    }
    if (frames >= s->ck_frames) {
        pthread_mutex_lock(&s->ck_mu);
        s->ck_wanted = 1;
        pthread_cond_signal(&s->ck_cv);
        pthread_mutex_unlock(&s->ck_mu);
    }
    return SQLITE_OK;
}

static void *checkpointer(void *arg)
{
    struct sq_queue *s = arg;
    int last_rc = SQLITE_OK;
    pthread_mutex_lock(&s->ck_mu);
    for (;;) {
        while (!s->ck_wanted && !s->ck_stop)
            pthread_cond_wait(&s->ck_cv, &s->ck_mu);
        if (s->ck_stop)
            break;
        s->ck_wanted = 0;
        pthread_mutex_unlock(&s->ck_mu);
        if (sq_wal_failed(s)) { /* none after a failed sync (queue_sqlite_walsync.c) */
            pthread_mutex_lock(&s->ck_mu);
            continue;
        }
        int rc = sqlite3_wal_checkpoint_v2(s->ck_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        /* Once per failure streak: a full disk fails every checkpoint until it clears,
         * and the WAL keeps the transactions meanwhile. */
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != last_rc)
            cl_log(CL_LOG_WARN, "queue: checkpoint: %s", sqlite3_errmsg(s->ck_db));
        last_rc = rc == SQLITE_BUSY ? last_rc : rc;
        pthread_mutex_lock(&s->mu);
        s->counters.checkpoints += rc == SQLITE_OK;
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_lock(&s->ck_mu);
    }
    pthread_mutex_unlock(&s->ck_mu);
    return NULL;
}

/* The page size of db's main file (4096 if it cannot be read). */
static int page_size(sqlite3 *db)
{
    sqlite3_stmt *st;
    int page = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            page = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    return page >= 512 ? page : 4096;
}

/* Opens the checkpointer's connection; reading the journal mode opens the WAL. */
static int open_ck_db(struct sq_queue *s, const char *path, char *err, size_t err_len)
{
    int rc = sqlite3_open_v2(path, &s->ck_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->ck_db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL,
                          NULL, NULL);
    if (rc == SQLITE_OK)
        return CL_OK;
    snprintf(err, err_len, "checkpoint connection: %s",
             s->ck_db ? sqlite3_errmsg(s->ck_db) : sqlite3_errstr(rc));
    sqlite3_close(s->ck_db);
    s->ck_db = NULL;
    return sq_err(rc);
}

int sq_checkpointer_start(struct sq_queue *s, const char *path, char *err, size_t err_len)
{
    int rc = open_ck_db(s, path, err, err_len);
    if (rc != CL_OK)
        return rc;
    if (pthread_create(&s->ck_thread, NULL, checkpointer, s) != 0) {
        snprintf(err, err_len, "cannot start the queue checkpoint thread");
        sqlite3_close(s->ck_db);
        s->ck_db = NULL;
        return CL_ERR_NOMEM;
    }
    s->ck_started = 1;
    int page = page_size(s->db);
    s->ck_frames = CKPT_BYTES / page;
    s->ck_inline_frames = CKPT_INLINE_BYTES / page;
    sqlite3_wal_hook(s->db, on_wal_commit, s); /* replaces SQLite's autocheckpoint */
    return CL_OK;
}

void sq_checkpointer_stop(struct sq_queue *s)
{
    if (!s->ck_started)
        return;
    sqlite3_wal_hook(s->db, NULL, NULL);
    pthread_mutex_lock(&s->ck_mu);
    s->ck_stop = 1;
    pthread_cond_signal(&s->ck_cv);
    pthread_mutex_unlock(&s->ck_mu);
    pthread_join(s->ck_thread, NULL);
    sqlite3_close(s->ck_db);
    s->ck_db = NULL;
    s->ck_started = 0;
}
