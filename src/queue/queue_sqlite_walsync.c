/* queue_sqlite_walsync.c - durable commits whose WAL sync runs after db_mu is given up.
 *
 * With durability_full SQLite syncs the WAL inside COMMIT, so the committing thread held
 * db_mu through the fdatasync: ingest's group commit (one every ~12 ms under load, ~5 ms
 * of sync each on this project's disk) and each catalog commit kept every receive,
 * delete and visibility change of the processors waiting for the disk (a quarter of a
 * processor thread's wall time end to end at 600 k records/s: docs/performance.md,
 * "Where a processor's time goes"). Here those two commits run with synchronous=NORMAL
 * (the frames are written to the WAL, not synced), the lock is given up, and the
 * committer then fdatasyncs the WAL through a descriptor of its own before anything
 * depends on the commit: before ingest acknowledges, before a catalog commit's deletes
 * and moves. That is the same guarantee, taken after the lock:
 *
 * - The WAL is appended in commit order and recovery keeps the longest prefix of valid
 *   frames (their checksums chain from the header), so a sync that covers a commit's
 *   frames makes it and every earlier commit durable; later, unsynced commits written in
 *   between (receives, deletes) are at most lost, never torn into it.
 * - The frames may be gone from the WAL before the sync only through a restart of the
 *   WAL, which SQLite makes only once a checkpoint has copied every frame into the
 *   database file and synced it (synchronous NORMAL syncs at checkpoints): they are
 *   durable there.
 * - The WAL file is never replaced while this connection is open (SQLite deletes it only
 *   when the last connection of every process closes; a truncation keeps the inode); a
 *   descriptor whose file has no name any more is reopened (st_nlink 0).
 *
 * Syncs are shared: a commit whose sequence number a finished sync covered needs none,
 * and one that finds a sync running waits for it first (it may cover it). A failed sync
 * fails every durable commit from then on, not only those it was to cover: Linux reports
 * a write-back error once, so a later fdatasync would return 0 over the lost pages, and
 * recovery keeps only the WAL's frames before such a hole, so no later commit could be
 * called durable either (review). The queue then refuses sends and flushes until the
 * daemon is restarted, which recovers what the file holds. Without the descriptor
 * (not durability_full, or the WAL cannot be opened) commits sync inside as before. */
#include "queue_sqlite_int.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What syncs the WAL: fdatasync, or a fault test's stand-in. */
static int (*wal_fdatasync)(int fd) = fdatasync;

void cl_queue_sqlite_set_wal_sync_fn(int (*fn)(int fd))
{
    wal_fdatasync = fn ? fn : fdatasync;
}

void sq_walsync_open(struct sq_queue *s)
{
    s->wal_fd = -1;
    pthread_mutex_init(&s->sync_mu, NULL);
    pthread_cond_init(&s->sync_cv, NULL);
    if (!s->opts.durability_full || !s->db)
        return;
    /* SQLite's own name for the WAL, not "<path>-wal": SQLite resolves a symlinked
     * database file and keeps the WAL beside its target (review). */
    const char *db_file = sqlite3_db_filename(s->db, "main");
    const char *wal = db_file ? sqlite3_filename_wal(db_file) : NULL;
    if (!wal || !*wal || strlen(wal) >= sizeof s->wal_path)
        return;
    snprintf(s->wal_path, sizeof s->wal_path, "%s", wal);
    s->wal_fd = open(s->wal_path, O_RDONLY | O_CLOEXEC);
    if (s->wal_fd < 0)
        cl_log(CL_LOG_INFO, "queue: %s: %s; commits sync the WAL under the lock", s->wal_path,
               strerror(errno));
}

/* "<database file>-walfailed" (SQLite's name for the file, a symlink resolved): a failed
 * sync, for every process that opens the file until its owner's next open. */
static int marker_path(struct sq_queue *s, char *out, size_t len)
{
    const char *db_file = s->db ? sqlite3_db_filename(s->db, "main") : NULL;
    if (!db_file || !*db_file)
        return -1;
    int n = snprintf(out, len, "%s-walfailed", db_file);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* The failure lives in the failing process, but a `cloudlog` command opening the same
 * file meanwhile (status, dlq, verify) would checkpoint at its close and could commit
 * behind the hole: the marker tells it (review). */
static void leave_marker(struct sq_queue *s)
{
    char m[4200];
    int fd = marker_path(s, m, sizeof m) == 0 ? open(m, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;
    if (fd >= 0)
        close(fd);
}

void sq_walsync_check_marker(struct sq_queue *s, int owner)
{
    char m[4200];
    if (marker_path(s, m, sizeof m) != 0)
        return;
    if (owner) { /* the restart the failure asked for */
        if (unlink(m) == 0)
            cl_log(CL_LOG_INFO,
                   "queue: %s removed: the failed WAL sync it recorded was "
                   "before this restart",
                   m);
        return;
    }
    if (access(m, F_OK) == 0) {
        atomic_store(&s->wal_failed, 1);
        cl_log(CL_LOG_WARN,
               "queue: %s: the daemon's WAL sync failed; this process commits "
               "and checkpoints nothing until the daemon is restarted",
               m);
    }
}

void sq_walsync_close(struct sq_queue *s)
{
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    s->wal_fd = -1;
    pthread_cond_destroy(&s->sync_cv);
    pthread_mutex_destroy(&s->sync_mu);
}

int sq_durable_begin(struct sq_queue *s)
{
    if (s->wal_fd < 0)
        return 0;
    sq_lazy_sync(s, 1);
    return 1;
}

uint64_t sq_durable_end(struct sq_queue *s, int deferred)
{
    if (!deferred)
        return 0;
    sq_lazy_sync(s, 0);
    return atomic_fetch_add(&s->wal_seq, 1) + 1;
}

/* The descriptor to sync, reopened if its file lost its name (caller holds sync_mu). */
static int wal_fd_checked(struct sq_queue *s)
{
    struct stat st;
    if (fstat(s->wal_fd, &st) == 0 && st.st_nlink > 0)
        return s->wal_fd;
    int fd = open(s->wal_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    close(s->wal_fd);
    s->wal_fd = fd;
    return fd;
}

/* One fdatasync covering every commit numbered up to the wal_seq read before it (on
 * failure every commit, those to come included, is marked failed). Called with sync_mu held and
 * syncing set; returns with sync_mu held. */
static void sync_once(struct sq_queue *s)
{
    uint64_t target = atomic_load(&s->wal_seq);
    int fd = wal_fd_checked(s);
    pthread_mutex_unlock(&s->sync_mu);
    int r = fd >= 0 ? wal_fdatasync(fd) : -1;
    int err = errno;
    pthread_mutex_lock(&s->sync_mu);
    if (r != 0) {
        if (s->failed_seq != UINT64_MAX)
            cl_log(CL_LOG_ERROR,
                   "queue: fdatasync %s: %s; the queue accepts no more writes that must be "
                   "durable: restart the daemon",
                   s->wal_path, strerror(err));
        if (s->failed_seq != UINT64_MAX)
            leave_marker(s);
        s->failed_seq = UINT64_MAX; /* every commit from now on, see the top */
        atomic_store(&s->wal_failed, 1);
        return;
    }
    s->synced_seq = CL_MAX(s->synced_seq, target);
    s->wal_syncs++;
}

int sq_wal_sync(struct sq_queue *s, uint64_t seq)
{
    if (seq == 0)
        return CL_OK;
    int rc = CL_OK, own = 0;
    pthread_mutex_lock(&s->sync_mu);
    for (;;) {
        /* A failed sync meant to cover it fails it, whatever a later sync says: after a
         * failed fdatasync Linux may report the same lost pages clean. */
        if (s->failed_seq >= seq) {
            rc = CL_ERR_IO;
            break;
        }
        if (s->synced_seq >= seq)
            break;
        if (s->syncing) {
            pthread_cond_wait(&s->sync_cv, &s->sync_mu);
            continue;
        }
        s->syncing = 1;
        sync_once(s);
        own = 1;
        s->syncing = 0;
        pthread_cond_broadcast(&s->sync_cv);
    }
    s->wal_sync_shared += rc == CL_OK && !own;
    pthread_mutex_unlock(&s->sync_mu);
    return rc;
}

/* After a failed sync a later durable commit must not even be made, not only be
 * reported failed: a send answered 503 whose messages were committed anyway would be
 * delivered, and its client's retry would store its records twice; a flush committed
 * after the hole could not be durable, and its objects moved into place would be stored
 * again after a power loss took its catalog rows (review). And no checkpoint: it copies
 * WAL frames into the database without checking them, and the frames of a failed
 * write-back may no longer be what was written. */
int sq_wal_failed(struct sq_queue *s)
{
    return atomic_load(&s->wal_failed);
}
