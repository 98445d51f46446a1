/* queue_sqlite_quarantine.c - moving a damaged queue file aside and listing the files
 * that still wait for a salvage (queue_quarantine.h). */
#include "queue_sqlite_quarantine.h"

#include "common.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QQ_PATH_MAX 4096
#define QQ_MAX_SUFFIX 1000 /* queue-T.db, queue-T-1.db, ... for quarantines in one second */

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Picks DIR/queue-<time>[-N].db that is not taken yet. */
static int pick_name(const char *dir, int64_t now_ms, char *out, size_t len)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int i = 0; i < QQ_MAX_SUFFIX; i++) {
        int n = i ? snprintf(out, len, "%s/queue-%s-%d.db", dir, stamp, i)
                  : snprintf(out, len, "%s/queue-%s.db", dir, stamp);
        if (n < 0 || (size_t)n >= len)
            return -1;
        if (!exists(out))
            return 0;
    }
    return -1;
}

/* Renames from+suffix to to+suffix; a missing source is fine (no WAL, no shm). */
static int move_one(const char *from, const char *to, const char *suffix)
{
    char a[QQ_PATH_MAX], b[QQ_PATH_MAX];
    snprintf(a, sizeof a, "%s%s", from, suffix);
    snprintf(b, sizeof b, "%s%s", to, suffix);
    if (rename(a, b) == 0 || errno == ENOENT)
        return 0;
    return -1;
}

int sq_quarantine_move(const char *db_path, const char *dir, int64_t now_ms, char *moved_to,
                       size_t moved_len, char *err, size_t err_len)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create %s: %s", dir, strerror(errno));
        return CL_ERR_IO;
    }
    if (pick_name(dir, now_ms, moved_to, moved_len) != 0) {
        snprintf(err, err_len, "no free quarantine name in %s", dir);
        return CL_ERR_IO;
    }
    /* The WAL first: a crash between the renames must never leave the old WAL beside a
     * new, empty database (SQLite would replay it into the wrong file). */
    if (move_one(db_path, moved_to, "-wal") != 0 || move_one(db_path, moved_to, "-shm") != 0 ||
        move_one(db_path, moved_to, "") != 0) {
        snprintf(err, err_len, "cannot move %s to %s: %s", db_path, moved_to, strerror(errno));
        return CL_ERR_IO;
    }
    char src_dir[QQ_PATH_MAX] = ".";
    const char *slash = strrchr(db_path, '/');
    if (slash)
        snprintf(src_dir, sizeof src_dir, "%.*s", (int)(slash - db_path), db_path);
    if (fsync_dir(dir) != 0 || fsync_dir(*src_dir ? src_dir : "/") != 0)
        cl_log(CL_LOG_WARN, "queue quarantine: fsync of %s or %s failed: %s", dir, src_dir,
               strerror(errno));
    return CL_OK;
}

/* "queue-*.db" exactly (not its -wal, -shm or .salvaged companions). */
static int is_quarantined_db(const char *name)
{
    size_t n = strlen(name);
    return strncmp(name, "queue-", 6) == 0 && n > 9 && strcmp(name + n - 3, ".db") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of quarantined databases in d (caller frees each and the array). */
static char **read_names(DIR *d, size_t *n_out)
{
    size_t n = 0, cap = 8;
    char **names = cl_malloc(cap * sizeof *names);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_quarantined_db(e->d_name))
            continue;
        if (n == cap)
            names = cl_realloc(names, (cap *= 2) * sizeof *names);
        names[n++] = cl_strdup(e->d_name);
    }
    qsort(names, n, sizeof *names, cmp_names);
    *n_out = n;
    return names;
}

int sq_quarantine_list(const char *dir, int pending_only, int (*fn)(void *arg, const char *path),
                       void *arg)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    size_t n;
    char **names = read_names(d, &n);
    closedir(d);
    int pending = 0, stop = 0;
    for (size_t i = 0; i < n; i++) {
        char path[QQ_PATH_MAX], marker[QQ_PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(marker, sizeof marker, "%s.salvaged", path);
        if (!pending_only || !exists(marker)) {
            pending++;
            if (fn && !stop)
                stop = fn(arg, path);
        }
        free(names[i]);
    }
    free(names);
    return pending;
}

int sq_quarantine_mark_salvaged(const char *db_path, const char *summary_json)
{
    char marker[QQ_PATH_MAX + 16];
    snprintf(marker, sizeof marker, "%s.salvaged", db_path);
    int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return CL_ERR_IO;
    size_t len = strlen(summary_json);
    int ok =
        write(fd, summary_json, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    return ok ? CL_OK : CL_ERR_IO;
}

const struct cl_queue_quarantine_ops cl_queue_sqlite_quarantine = {
    sq_quarantine_move,
    sq_quarantine_list,
    sq_quarantine_unpublished,
    sq_quarantine_mark_salvaged,
};
