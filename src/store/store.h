/* store.h - the object store interface every backend implements (local directory, S3).
 *
 * Keys are relative paths with '/' separators, e.g.
 *   service=api/dt=2026-11-25/hour=15/20261125T150405Z-3f2a9c1d7e6b5a40.ndjson.gz
 * A backend is a table of function pointers behind an opaque handle; callers use the
 * cl_store_* wrappers and never include a backend header.
 */
#ifndef CL_STORE_H
#define CL_STORE_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

struct cl_store_ops {
    const char *name;
    /* Writes the whole object atomically: readers see the old state or all of data,
     * never a part; on return it is durable (local: fsync'd file and directory). */
    int (*put)(void *impl, const char *key, const void *data, size_t len);
    /* Appends the object's bytes to out (bounded by out->max). CL_ERR_NOT_FOUND if absent. */
    int (*get)(void *impl, const char *key, struct cl_buf *out);
    /* Calls fn for every object whose key starts with prefix, in lexicographic key order;
     * a non-zero return from fn stops the listing and is returned. */
    int (*list)(void *impl, const char *prefix,
                int (*fn)(void *arg, const char *key, uint64_t size), void *arg);
    /* Deletes an object; deleting a missing object is CL_OK. */
    int (*del)(void *impl, const char *key);
    /* Moves an object to a new key, atomically where the backend can (local: rename(2)
     * + directory fsync); CL_ERR_NOT_FOUND if from is absent. */
    int (*move)(void *impl, const char *from, const char *to);
    /* Removes what interrupted writes left under prefix (local: temporary files; S3:
     * incomplete multipart uploads). Call only while nothing writes there. May be NULL. */
    int (*sweep)(void *impl, const char *prefix);
    void (*close)(void *impl);
    /* Batches, for backends that sync per directory: put_many is n puts (all durable on
     * CL_OK; on an error some may exist, as after n puts that stopped), move_many n moves
     * with each one's result in results[i], returning the first error. May be NULL: the
     * cl_store_* wrappers then call put and move n times. */
    int (*put_many)(void *impl, const char *const *keys, const void *const *data,
                    const size_t *lens, size_t n);
    int (*move_many)(void *impl, const char *const *from, const char *const *to, size_t n,
                     int *results);
    /* Optional (NULL: none): maps the object read-only instead of copying it (*data NULL
     * for an empty one), released with unmap. An object is never changed in place (put
     * writes a new file and renames it) and a mapping outlives a delete, but one truncated
     * in place by hand while mapped raises SIGBUS in the reader. */
    int (*map)(void *impl, const char *key, const void **data, size_t *len);
    void (*unmap)(void *impl, const void *data, size_t len);
};

struct cl_store {
    const struct cl_store_ops *ops;
    void *impl;
};

/* THE REGISTRY: one line per backend, X(name, URL prefix, open function, capabilities,
 * URL form for help). A new backend is one file (its library, CMake cl_store_<name>)
 * plus one line here: store.c builds its table from this list, and every --store help
 * string and the Lambda processor's CLOUDLOG_STORE check come from it. The open function
 * gets the URL after the prefix for CL_STORE_CAP_LOCAL, else the whole URL. */
#define CL_STORE_BACKENDS(X)                                                                       \
    X(fs, "file:", cl_store_fs_open, CL_STORE_CAP_LOCAL, "file:DIR")                               \
    X(s3, "s3://", cl_store_s3_open, 0, "s3://BUCKET/PREFIX")

/* A directory on this machine; a plain path (no "scheme://") names one too. */
#define CL_STORE_CAP_LOCAL 0x1u

/* "file:DIR, s3://BUCKET/PREFIX, " ...: every registered URL form, for help strings. */
#define CL_STORE_FORM_(name, prefix, open, caps, form) form ", "
#define CL_STORE_URL_FORMS CL_STORE_BACKENDS(CL_STORE_FORM_) "or a directory"

/* Opens the backend named by url: its registered prefix (file:DIR,
 * s3://BUCKET/PREFIX[?endpoint=URL&path_style=1&region=R], docs/aws.md) or a plain
 * directory path (created if missing). On failure returns an error and writes the reason
 * into err. Caller closes with cl_store_close. */
int cl_store_open(struct cl_store *s, const char *url, char *err, size_t err_len);

/* 1 if url starts with a registered backend's prefix (a plain path does not). */
int cl_store_url_has_prefix(const char *url);

int cl_store_put(struct cl_store *s, const char *key, const void *data, size_t len);
int cl_store_get(struct cl_store *s, const char *key, struct cl_buf *out);
int cl_store_list(struct cl_store *s, const char *prefix,
                  int (*fn)(void *arg, const char *key, uint64_t size), void *arg);
int cl_store_delete(struct cl_store *s, const char *key);
int cl_store_move(struct cl_store *s, const char *from, const char *to);
int cl_store_put_many(struct cl_store *s, const char *const *keys, const void *const *data,
                      const size_t *lens, size_t n);
int cl_store_move_many(struct cl_store *s, const char *const *from, const char *const *to, size_t n,
                       int *results);
int cl_store_sweep(struct cl_store *s, const char *prefix);
/* The backend's map (CL_ERR_UNSUPPORTED without one) and unmap. */
int cl_store_map(struct cl_store *s, const char *key, const void **data, size_t *len);
void cl_store_unmap(struct cl_store *s, const void *data, size_t len);
void cl_store_close(struct cl_store *s);

/* Returns 1 if key is a safe relative key: non-empty, no leading '/', no "." or ".."
 * segments, no empty segments, no NUL or control characters. */
int cl_store_key_valid(const char *key);

#endif
