/* store_fs.c - object store backend on a local directory: atomic, fsync'd puts and sorted listing.
 */
#include "store.h"

#include "common.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Deepest key (in segments) put accepts and list walks; the layout needs about five. */
#define CL_FS_MAX_DEPTH 32
/* Temp names keep at most this much of the basename so they stay under NAME_MAX. */
#define CL_FS_TMP_BASE_MAX 200

struct cl_store_fs {
    char *root; /* absolute, no trailing '/'; owned */
    /* Serialises directory creation so a thread that finds a partition directory
     * already present knows its creator has fsync'd the parent (see fs_mkdir_p). */
    pthread_mutex_t mkdir_lock;
};

/* Logs the failed operation and maps errno to a store error. */
static int fs_fail(int err, const char *op, const char *path)
{
    cl_log(CL_LOG_WARN, "store fs: %s %s: %s", op, path, strerror(err));
    errno = err; /* kept for callers that report it too */
    return (err == ENOSPC || err == EDQUOT) ? CL_ERR_FULL : CL_ERR_IO;
}

/* Keys are also rejected when a segment starts with '.': those names are reserved for
 * temp files, which list skips, so such an object could never be listed. */
static int fs_key_ok(const char *key)
{
    if (!cl_store_key_valid(key) || key[0] == '.' || strstr(key, "/."))
        return 0;
    int depth = 1;
    for (const char *p = key; *p; p++)
        depth += *p == '/';
    return depth <= CL_FS_MAX_DEPTH;
}

/* Returns root/key in a malloc'd string the caller frees, or NULL if key is invalid. */
static char *fs_path(const struct cl_store_fs *fs, const char *key)
{
    if (!fs_key_ok(key))
        return NULL;
    size_t rl = strlen(fs->root), kl = strlen(key);
    char *p = cl_malloc(rl + 1 + kl + 1);
    memcpy(p, fs->root, rl);
    p[rl] = '/';
    memcpy(p + rl + 1, key, kl + 1);
    return p;
}

/* Length of path's directory part (the root for "/x", "." handled by caller). */
static size_t fs_dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return 0;
    return slash == path ? 1 : (size_t)(slash - path);
}

/* Opens and fsyncs the directory named by the first len bytes of path ("." if len is 0). */
static int fs_fsync_dir(const char *path, size_t len)
{
    char *dir = len ? cl_strndup(path, len) : cl_strdup(".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = CL_OK;
    if (fd < 0 || fsync(fd) != 0)
        rc = fs_fail(errno, "fsync dir", dir);
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

/* Creates every missing directory of path[0..len) after offset skip, fsyncing the parent
 * of each one created so its entry is durable. Caller holds mkdir_lock (or is alone). */
static int fs_mkdir_p_locked(const char *path, size_t len, size_t skip)
{
    char *p = cl_strndup(path, len);
    int rc = CL_OK;
    struct stat st;
    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
        goto out;
    for (size_t i = skip + 1; i <= len && rc == CL_OK; i++) {
        if (i < len && p[i] != '/')
            continue;
        p[i] = '\0';
        if (mkdir(p, 0755) == 0)
            rc = fs_fsync_dir(p, fs_dir_len(p));
        else if (errno != EEXIST)
            rc = fs_fail(errno, "mkdir", p);
        if (i < len)
            p[i] = '/';
    }
out:
    free(p);
    return rc;
}

/* mkdir -p of the directory holding the object at path (which lies under the root). */
static int fs_mkdir_parent(struct cl_store_fs *fs, const char *path)
{
    pthread_mutex_lock(&fs->mkdir_lock);
    int rc = fs_mkdir_p_locked(path, fs_dir_len(path), strlen(fs->root));
    pthread_mutex_unlock(&fs->mkdir_lock);
    return rc;
}

static int fs_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Creates dir/.<base>.tmp.<random> exclusively; writes its malloc'd name to *tmp_out
 * (caller frees) and returns the fd, or -1 with errno set. */
static int fs_open_tmp(const char *path, char **tmp_out)
{
    size_t dl = fs_dir_len(path);
    const char *base = path + dl + 1;
    size_t cap = dl + strlen(base) + 40;
    char *tmp = cl_malloc(cap);
    int fd = -1;
    for (int attempt = 0; attempt < 8 && fd < 0; attempt++) {
        uint64_t r;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
            r = (uint64_t)cl_mono_ms() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&r;
        snprintf(tmp, cap, "%.*s/.%.*s.tmp.%016llx", (int)dl, path, CL_FS_TMP_BASE_MAX, base,
                 (unsigned long long)r);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    *tmp_out = tmp;
    return fd;
}

/* Writes data to a fresh temp file beside path, fsyncs it and renames it over path.
 * The temp file is removed on every failure. */
static int fs_replace(const char *path, const void *data, size_t len)
{
    char *tmp = NULL;
    int fd = fs_open_tmp(path, &tmp);
    if (fd < 0) {
        int rc = fs_fail(errno, "create", tmp);
        free(tmp);
        return rc;
    }
    const char *op = NULL;
    if (fs_write_all(fd, data, len) != 0)
        op = "write";
    else if (fsync(fd) != 0)
        op = "fsync";
    int err = errno;
    if (close(fd) != 0 && !op) {
        op = "close";
        err = errno;
    }
    if (!op && rename(tmp, path) != 0) {
        op = "rename";
        err = errno;
    }
    int rc = CL_OK;
    if (op) {
        rc = fs_fail(err, op, tmp);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

static int fs_put(void *impl, const char *key, const void *data, size_t len)
{
    struct cl_store_fs *fs = impl;
    char *path = fs_path(fs, key);
    if (!path)
        return CL_ERR_INVAL;
    int rc = fs_mkdir_parent(fs, path);
    if (rc == CL_OK)
        rc = fs_replace(path, data, len);
    if (rc == CL_OK)
        rc = fs_fsync_dir(path, fs_dir_len(path));
    free(path);
    return rc;
}

static ssize_t fs_read_some(int fd, void *p, size_t n)
{
    ssize_t r;
    do
        r = read(fd, p, n);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Appends everything readable from fd to out (never past out->max); on failure out is
 * left as it was. */
static int fs_read_fd(int fd, size_t size_hint, struct cl_buf *out, const char *path)
{
    size_t start = out->len;
    int rc = cl_buf_reserve(out, size_hint);
    while (rc == CL_OK) {
        size_t room = CL_MIN(out->cap - 1, out->max) - out->len;
        char probe;
        if (room == 0 && out->len < out->max) {
            rc = cl_buf_reserve(out, CL_MIN((size_t)65536, out->max - out->len));
            continue;
        }
        /* At max, one more byte tells EOF (fits) from a larger object (does not). */
        ssize_t n =
            room ? fs_read_some(fd, out->data + out->len, room) : fs_read_some(fd, &probe, 1);
        if (n < 0)
            rc = fs_fail(errno, "read", path);
        else if (n > 0 && room == 0)
            rc = CL_ERR_TOO_LARGE;
        else if (n == 0)
            break;
        else
            out->len += (size_t)n;
    }
    if (rc != CL_OK)
        out->len = start;
    if (out->data)
        out->data[out->len] = '\0';
    return rc;
}

/* Opens key's regular file for reading: *fd (close it) and *size, or an error
 * (CL_ERR_NOT_FOUND when absent or not a regular file). *path is key's path (free it). */
static int fs_open_object(struct cl_store_fs *fs, const char *key, int *fd, size_t *size,
                          char **path)
{
    *fd = -1;
    if (!(*path = fs_path(fs, key)))
        return CL_ERR_INVAL;
    struct stat st;
    int f = open(*path, O_RDONLY | O_CLOEXEC), rc = CL_ERR_NOT_FOUND;
    if (f < 0 && errno != ENOENT && errno != ENOTDIR)
        rc = fs_fail(errno, "open", *path);
    else if (f >= 0 && fstat(f, &st) != 0)
        rc = fs_fail(errno, "fstat", *path);
    else if (f >= 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > (uintmax_t)SIZE_MAX)
        rc = CL_ERR_TOO_LARGE; /* 32-bit: the size would wrap (and no buffer could hold it) */
    else if (f >= 0 && S_ISREG(st.st_mode))
        rc = CL_OK;
    if (rc == CL_OK) {
        *fd = f;
        *size = (size_t)st.st_size;
    } else if (f >= 0) {
        close(f);
    }
    return rc;
}

static int fs_get(void *impl, const char *key, struct cl_buf *out)
{
    char *path;
    int fd;
    size_t size;
    int rc = fs_open_object(impl, key, &fd, &size, &path);
    if (rc == CL_OK) {
        rc = fs_read_fd(fd, size, out, path);
        close(fd);
    }
    free(path);
    return rc;
}

/* A private read-only mapping shares the page cache's pages: nothing is copied. */
static int fs_map(void *impl, const char *key, const void **data, size_t *len)
{
    char *path;
    int fd;
    size_t size = 0;
    int rc = fs_open_object(impl, key, &fd, &size, &path);
    void *p = NULL;
    if (rc == CL_OK && size > 0 &&
        (p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
        rc = fs_fail(errno, "mmap", path);
        p = NULL;
    }
    if (fd >= 0)
        close(fd); /* the mapping holds the file */
    free(path);
    *data = rc == CL_OK ? p : NULL;
    *len = rc == CL_OK ? size : 0;
    return rc;
}

static void fs_unmap(void *impl, const void *data, size_t len)
{
    (void)impl;
    if (data)
        munmap((void *)data, len);
}

static int fs_del(void *impl, const char *key)
{
    struct cl_store_fs *fs = impl;
    char *path = fs_path(fs, key);
    if (!path)
        return CL_ERR_INVAL;
    int rc = CL_OK;
    if (unlink(path) == 0)
        rc = fs_fsync_dir(path, fs_dir_len(path));
    else if (errno != ENOENT && errno != ENOTDIR)
        rc = fs_fail(errno, "unlink", path);
    free(path);
    return rc;
}

/* Renames one object without syncing a directory; only regular files count as objects. */
static int fs_rename_unsynced(struct cl_store_fs *fs, const char *src, const char *dst)
{
    struct stat st;
    if (lstat(src, &st) != 0)
        return (errno == ENOENT || errno == ENOTDIR) ? CL_ERR_NOT_FOUND
                                                     : fs_fail(errno, "stat", src);
    if (!S_ISREG(st.st_mode))
        return CL_ERR_NOT_FOUND;
    int rc = fs_mkdir_parent(fs, dst);
    if (rc != CL_OK)
        return rc;
    if (rename(src, dst) != 0)
        return errno == ENOENT ? CL_ERR_NOT_FOUND : fs_fail(errno, "rename", src);
    return CL_OK;
}

static int fs_rename(struct cl_store_fs *fs, const char *src, const char *dst)
{
    int rc = fs_rename_unsynced(fs, src, dst);
    if (rc != CL_OK)
        return rc;
    size_t sl = fs_dir_len(src), dl = fs_dir_len(dst);
    rc = fs_fsync_dir(dst, dl);
    if (rc == CL_OK && (sl != dl || memcmp(src, dst, sl) != 0))
        rc = fs_fsync_dir(src, sl);
    return rc;
}

static int fs_move(void *impl, const char *from, const char *to)
{
    struct cl_store_fs *fs = impl;
    char *src = fs_path(fs, from), *dst = fs_path(fs, to);
    int rc = (src && dst) ? fs_rename(fs, src, dst) : CL_ERR_INVAL;
    free(src);
    free(dst);
    return rc;
}

/* ---- batches: one fsync per distinct directory instead of one per object ---- */

/* The distinct directories a batch touched (owned strings). */
struct fs_dirs {
    char **v;
    size_t n, cap;
};

static void fs_dirs_add(struct fs_dirs *d, const char *path)
{
    size_t len = fs_dir_len(path);
    for (size_t i = 0; i < d->n; i++)
        if (strlen(d->v[i]) == len && memcmp(d->v[i], path, len) == 0)
            return;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->v = cl_realloc(d->v, d->cap * sizeof *d->v);
    }
    char *dir = cl_malloc(len + 1);
    memcpy(dir, path, len);
    dir[len] = '\0';
    d->v[d->n++] = dir;
}

/* fsyncs of one batch, run at the same time (fs_fsync_parallel). */
struct fs_sync_set {
    const int *fds;
    int *errs; /* 0, or the errno of fds[i]'s fsync */
    size_t n;
    atomic_size_t next;
};

static void *fs_sync_worker(void *arg)
{
    struct fs_sync_set *set = arg;
    for (size_t i; (i = atomic_fetch_add(&set->next, 1)) < set->n;)
        set->errs[i] = fsync(set->fds[i]) == 0 ? 0 : errno;
    return NULL;
}

/* Up to this many threads beside the caller fsync one batch's files or directories. */
#define CL_FS_SYNC_THREADS 7

/* fsyncs fds[0..n) at the same time, from short-lived threads (the caller's included):
 * a batch's objects, then its directories, each waited for one after the other cost one
 * journal commit each, while fsyncs issued together share them (the file system commits
 * every change pending at once). errs[i] gets 0 or the errno of fds[i]. A thread that
 * cannot be created leaves its share to the others. */
static void fs_fsync_parallel(const int *fds, int *errs, size_t n)
{
    struct fs_sync_set set = {fds, errs, n, 0};
    pthread_t th[CL_FS_SYNC_THREADS];
    size_t started = 0;
    while (started + 1 < n && started < CL_FS_SYNC_THREADS &&
           pthread_create(&th[started], NULL, fs_sync_worker, &set) == 0)
        started++;
    fs_sync_worker(&set);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

/* Fsyncs every directory once, all at the same time, and frees the set. Returns the
 * first error. */
static int fs_dirs_sync(struct fs_dirs *d)
{
    int rc = CL_OK;
    int *fds = cl_malloc(CL_MAX(d->n, 1) * sizeof *fds);
    int *errs = cl_calloc(CL_MAX(d->n, 1), sizeof *errs);
    size_t n = 0;
    for (size_t i = 0; i < d->n && rc == CL_OK; i++) {
        fds[n] = open(d->v[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fds[n] < 0)
            rc = fs_fail(errno, "fsync dir", d->v[i]);
        else
            n++;
    }
    if (rc == CL_OK)
        fs_fsync_parallel(fds, errs, n);
    for (size_t i = 0; i < n; i++) {
        if (errs[i] && rc == CL_OK)
            rc = fs_fail(errs[i], "fsync dir", d->v[i]);
        close(fds[i]);
    }
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i]);
    free(d->v);
    free(fds);
    free(errs);
    return rc;
}

/* One object of fs_put_many: its final path and its temp file (owned). */
struct fs_put_item {
    char *path, *tmp;
    int fd;
};

/* Creates object i's temp file beside its path and writes it (not synced). */
static int fs_put_write(struct cl_store_fs *fs, const char *key, const void *data, size_t len,
                        struct fs_put_item *it)
{
    it->path = fs_path(fs, key);
    int rc = it->path ? fs_mkdir_parent(fs, it->path) : CL_ERR_INVAL;
    if (rc != CL_OK)
        return rc;
    it->fd = fs_open_tmp(it->path, &it->tmp);
    if (it->fd < 0)
        return fs_fail(errno, "create", it->tmp);
    return fs_write_all(it->fd, data, len) == 0 ? CL_OK : fs_fail(errno, "write", it->tmp);
}

/* As put does for each object (temp file, fsync, rename), but every object is written
 * first and their fsyncs issued together, then each directory fsync'd once, all at the
 * same time: n objects cost about one wait for the disk, then another, instead of n + 1
 * (docs/performance.md, "Where a processor's time goes"). On failure no temp file is
 * left; objects already renamed stay (the caller discards its keys). */
static int fs_put_many(void *impl, const char *const *keys, const void *const *data,
                       const size_t *lens, size_t n)
{
    struct cl_store_fs *fs = impl;
    struct fs_put_item *it = cl_calloc(CL_MAX(n, 1), sizeof *it);
    int *fds = cl_malloc(CL_MAX(n, 1) * sizeof *fds), *errs = cl_calloc(CL_MAX(n, 1), sizeof *errs);
    int rc = CL_OK;
    size_t opened = 0;
    for (; opened < n && rc == CL_OK; opened++) {
        it[opened].fd = -1;
        rc = fs_put_write(fs, keys[opened], data[opened], lens[opened], &it[opened]);
        fds[opened] = it[opened].fd;
    }
    if (rc == CL_OK)
        fs_fsync_parallel(fds, errs, n);
    struct fs_dirs dirs = {0};
    for (size_t i = 0; i < opened; i++) {
        if (rc == CL_OK && errs[i])
            rc = fs_fail(errs[i], "fsync", it[i].tmp);
        if (it[i].fd >= 0 && close(it[i].fd) != 0 && rc == CL_OK)
            rc = fs_fail(errno, "close", it[i].tmp);
        int renamed = 0;
        if (rc == CL_OK && !(renamed = rename(it[i].tmp, it[i].path) == 0))
            rc = fs_fail(errno, "rename", it[i].tmp);
        if (renamed)
            fs_dirs_add(&dirs, it[i].path);
        else if (it[i].tmp)
            unlink(it[i].tmp);
        free(it[i].path);
        free(it[i].tmp);
    }
    int sync_rc = fs_dirs_sync(&dirs);
    free(it);
    free(fds);
    free(errs);
    return rc == CL_OK ? sync_rc : rc;
}

/* Every rename first, then each directory (source and destination) fsync'd once. */
static int fs_move_many(void *impl, const char *const *from, const char *const *to, size_t n,
                        int *results)
{
    struct cl_store_fs *fs = impl;
    struct fs_dirs dirs = {0};
    int rc = CL_OK;
    for (size_t i = 0; i < n; i++) {
        char *src = fs_path(fs, from[i]), *dst = fs_path(fs, to[i]);
        results[i] = (src && dst) ? fs_rename_unsynced(fs, src, dst) : CL_ERR_INVAL;
        if (results[i] == CL_OK) {
            fs_dirs_add(&dirs, dst);
            fs_dirs_add(&dirs, src);
        }
        rc = rc == CL_OK ? results[i] : rc;
        free(src);
        free(dst);
    }
    int sync_rc = fs_dirs_sync(&dirs);
    for (size_t i = 0; sync_rc != CL_OK && i < n; i++)
        results[i] = results[i] == CL_OK ? sync_rc : results[i];
    return rc == CL_OK ? sync_rc : rc;
}

/* ---- list: a depth-first walk that visits each directory's entries in key order ---- */

struct fs_entry {
    char *name; /* owned; directories carry a trailing '/' so they sort as their keys do */
    uint64_t size;
    int is_dir;
};

struct fs_walk {
    const char *root;
    const char *prefix;
    size_t prefix_len;
    int (*fn)(void *arg, const char *key, uint64_t size);
    void *arg;
    char key[PATH_MAX]; /* key of the directory being walked, with trailing '/' */
};

static int fs_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct fs_entry *)a)->name, ((const struct fs_entry *)b)->name);
}

static void fs_entries_free(struct fs_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

/* Classifies one directory entry; returns 1 to keep it (filling e), 0 to skip it. */
static int fs_entry_make(struct fs_walk *w, int dfd, size_t klen, const char *name,
                         struct fs_entry *e)
{
    struct stat st;
    if (name[0] == '.' || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0; /* temp files and hidden names; entries that vanished meanwhile */
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return 0;
    size_t nl = strlen(name);
    e->is_dir = S_ISDIR(st.st_mode);
    e->size = (uint64_t)st.st_size;
    e->name = cl_malloc(nl + 2);
    memcpy(e->name, name, nl);
    e->name[nl] = '/';
    e->name[nl + e->is_dir] = '\0';
    nl += (size_t)e->is_dir;
    /* The directory being read already matches; the entry's key (w->key + name) can
     * match only if name agrees with the rest of the prefix. A directory is kept if
     * keys below it could still match; this is where whole partitions are pruned. */
    int keep = 1;
    if (w->prefix_len > klen)
        keep = memcmp(e->name, w->prefix + klen, CL_MIN(nl, w->prefix_len - klen)) == 0 &&
               (e->is_dir || klen + nl >= w->prefix_len);
    if (!keep)
        free(e->name);
    return keep;
}

/* Reads the matching entries of the directory w->key[0..klen); caller frees *out. */
static int fs_read_dir(struct fs_walk *w, size_t klen, struct fs_entry **out, size_t *n_out)
{
    char *path = cl_malloc(strlen(w->root) + 1 + klen + 1);
    sprintf(path, "%s/%.*s", w->root, (int)klen, w->key);
    DIR *d = opendir(path);
    if (!d) {
        int rc = (errno == ENOENT && klen > 0) ? CL_OK : fs_fail(errno, "opendir", path);
        free(path);
        *out = NULL;
        *n_out = 0;
        return rc;
    }
    size_t n = 0, cap = 16;
    struct fs_entry *e = cl_malloc(cap * sizeof *e);
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (n == cap)
            e = cl_realloc(e, (cap *= 2) * sizeof *e);
        n += (size_t)fs_entry_make(w, dirfd(d), klen, de->d_name, &e[n]);
        errno = 0;
    }
    int rc = errno ? fs_fail(errno, "readdir", path) : CL_OK;
    closedir(d);
    free(path);
    qsort(e, n, sizeof *e, fs_entry_cmp);
    *out = e;
    *n_out = n;
    return rc;
}

/* Calls w->fn for every matching object under w->key[0..klen), in key order. */
static int fs_walk_dir(struct fs_walk *w, size_t klen, int depth)
{
    if (depth > CL_FS_MAX_DEPTH) {
        cl_log(CL_LOG_WARN, "store fs: %s/%.*s: deeper than %d levels, cannot list", w->root,
               (int)klen, w->key, CL_FS_MAX_DEPTH);
        return CL_ERR_IO;
    }
    struct fs_entry *e;
    size_t n;
    int rc = fs_read_dir(w, klen, &e, &n);
    for (size_t i = 0; i < n && rc == CL_OK; i++) {
        size_t nl = strlen(e[i].name);
        if (klen + nl >= sizeof w->key) {
            cl_log(CL_LOG_WARN, "store fs: key under %s/%.*s too long to list", w->root, (int)klen,
                   w->key);
            rc = CL_ERR_IO;
            break;
        }
        memcpy(w->key + klen, e[i].name, nl + 1);
        rc = e[i].is_dir ? fs_walk_dir(w, klen + nl, depth + 1) : w->fn(w->arg, w->key, e[i].size);
    }
    fs_entries_free(e, n);
    return rc;
}

static int fs_list(void *impl, const char *prefix,
                   int (*fn)(void *arg, const char *key, uint64_t size), void *arg)
{
    struct cl_store_fs *fs = impl;
    struct fs_walk *w = cl_malloc(sizeof *w); /* heap: the key buffer is PATH_MAX bytes */
    w->root = fs->root;
    w->prefix = prefix ? prefix : "";
    w->prefix_len = strlen(w->prefix);
    w->fn = fn;
    w->arg = arg;
    w->key[0] = '\0';
    int rc = fs_walk_dir(w, 0, 1);
    free(w);
    return rc;
}

/* Removes the temporary files of puts a crash interrupted in the directory named by
 * prefix (one level). Only safe while no put into that directory is in progress. */
static int fs_sweep(void *impl, const char *prefix)
{
    struct cl_store_fs *fs = impl;
    char key[PATH_MAX];
    snprintf(key, sizeof key, "%s", prefix);
    for (size_t n = strlen(key); n > 0 && key[n - 1] == '/'; n--)
        key[n - 1] = '\0';
    char *dir = fs_path(fs, key);
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        int rc = dir && errno == ENOENT ? CL_OK : CL_ERR_IO;
        free(dir);
        return rc;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp.") &&
            unlinkat(dirfd(d), e->d_name, 0) == 0)
            cl_log(CL_LOG_INFO, "store: removed interrupted write %s/%s", dir, e->d_name);
    closedir(d);
    free(dir);
    return CL_OK;
}

static void fs_close(void *impl)
{
    struct cl_store_fs *fs = impl;
    if (!fs)
        return;
    pthread_mutex_destroy(&fs->mkdir_lock);
    free(fs->root);
    free(fs);
}

static const struct cl_store_ops fs_ops = {
    .name = "fs",
    .put = fs_put,
    .get = fs_get,
    .list = fs_list,
    .del = fs_del,
    .move = fs_move,
    .put_many = fs_put_many,
    .move_many = fs_move_many,
    .sweep = fs_sweep,
    .close = fs_close,
    .map = fs_map,
    .unmap = fs_unmap,
};

/* Creates dir (mkdir -p) and opens it as a store; the root is kept as an absolute path
 * so a later chdir does not move the store. */
int cl_store_fs_open(struct cl_store *s, const char *dir, char *err, size_t err_len)
{
    size_t len = dir ? strlen(dir) : 0;
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len == 0) {
        snprintf(err, err_len, "store directory is empty");
        return CL_ERR_INVAL;
    }
    char *trimmed = cl_strndup(dir, len);
    char *root = NULL; /* malloc'd by realpath; owned by the store */
    struct stat st;
    int rc = fs_mkdir_p_locked(trimmed, len, 0);
    if (rc != CL_OK)
        snprintf(err, err_len, "cannot create store directory %s: %s", trimmed, strerror(errno));
    else if (!(root = realpath(trimmed, NULL)) || stat(root, &st) != 0)
        snprintf(err, err_len, "store directory %s: %s", trimmed, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        snprintf(err, err_len, "store directory %s: not a directory", trimmed);
    if (rc == CL_OK && (!root || !S_ISDIR(st.st_mode)))
        rc = CL_ERR_IO;
    free(trimmed);
    if (rc != CL_OK) {
        free(root);
        return rc;
    }
    struct cl_store_fs *fs = cl_calloc(1, sizeof *fs);
    fs->root = root;
    pthread_mutex_init(&fs->mkdir_lock, NULL);
    s->ops = &fs_ops;
    s->impl = fs;
    return CL_OK;
}
