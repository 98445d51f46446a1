/* queue_sqlite_owner.c - one owner per queue file, and what a dead owner held.
 *
 * A receive stores the receiving process's owner epoch in the message's lease (holder);
 * a give-back (change_visibility to 0 or with an error, release, delete) clears it. The
 * owner (cloudlog serve) holds an exclusive flock on "<queue file>-owner" for its life;
 * the kernel drops it when the process dies, kill -9 included. So when an owner opens
 * the file and gets the lock, every message with a holder was held by a process that is
 * gone: it failed no delivery, so those messages become visible at once and that
 * receive is taken back (receive_count - 1), instead of waiting out the visibility
 * timeout and creeping towards the DLQ with each crash. */
#include "queue_sqlite_int.h"

#include "common.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* Opens and locks the owner file; returns the fd or -1 with err set. write_pid: the
 * owner notes its pid there (a schema upgrade by the CLI does not). */
static int lock_owner_file(const char *path, int write_pid, char *err, size_t err_len)
{
    char lock_path[4200];
    snprintf(lock_path, sizeof lock_path, "%s-owner", path);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, err_len, "cannot open %s: %s", lock_path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (e == EWOULDBLOCK)
            snprintf(err, err_len,
                     "queue %s is in use by another cloudlog serve (pid %s): one daemon per "
                     "queue file",
                     path, *pid ? pid : "?");
        else
            snprintf(err, err_len, "cannot lock %s: %s", lock_path, strerror(e));
        close(fd);
        return -1;
    }
    if (!write_pid)
        return fd;
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        cl_log(CL_LOG_WARN, "queue: cannot write the pid to %s-owner: %s", path, strerror(errno));
    return fd;
}

/* New epoch (into s->epoch), then the release, in one transaction; *released counts
 * the messages. */
static int release_dead_holders(struct sq_queue *s, int64_t *released)
{
    int rc = sq_begin(s);
    if (rc == CL_OK) {
        int r = sq_step_row(s, SQ_EPOCH_NEXT);
        int64_t epoch = r == 1 ? sqlite3_column_int64(s->st[SQ_EPOCH_NEXT], 0) : 0;
        sq_finish(s, SQ_EPOCH_NEXT, r);
        rc = r < 0 ? -r : epoch > 0 ? CL_OK : CL_ERR_CORRUPT;
        s->epoch = epoch;
    }
    if (rc == CL_OK) {
        sqlite3_bind_int64(s->st[SQ_OWNER_RELEASE], 1, sq_now(s));
        rc = sq_exec(s, SQ_OWNER_RELEASE);
        *released = rc == CL_OK ? sqlite3_changes(s->db) : 0;
    }
    rc = sq_end(s, rc, NULL);
    if (rc != CL_OK)
        s->epoch = 0;
    return rc;
}

int sq_lock_owner(struct sq_queue *s, const char *path, char *err, size_t err_len)
{
    s->lock_fd = lock_owner_file(path, 1, err, err_len);
    return s->lock_fd < 0 ? CL_ERR_FULL : CL_OK;
}

int sq_lock_for_upgrade(const char *path, char *err, size_t err_len)
{
    return lock_owner_file(path, 0, err, err_len);
}

int sq_claim_ownership(struct sq_queue *s, char *err, size_t err_len)
{
    int64_t released = 0;
    pthread_mutex_lock(&s->db_mu);
    int rc = release_dead_holders(s, &released);
    if (rc == CL_OK)
        sq_invalidate_stats(s);
    pthread_mutex_unlock(&s->db_mu);
    if (rc != CL_OK) {
        snprintf(err, err_len, "releasing messages of a previous run: %s", cl_strerror(rc));
        sq_drop_ownership(s);
        return rc;
    }
    if (released > 0)
        cl_log(CL_LOG_WARN,
               "queue: %lld message(s) were held by a previous run that did not stop cleanly "
               "(crash or kill -9): visible again now, that receive not counted",
               (long long)released);
    return CL_OK;
}

void sq_drop_ownership(struct sq_queue *s)
{
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* drops the flock */
    s->lock_fd = -1;
}
