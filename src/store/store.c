/* store.c - cl_store_* wrappers, backend selection by URL, and key validation. */
#include "store.h"

#include "common.h"

#include <stdio.h>
#include <string.h>

/* Backends (each file defines its constructor; only this file names them). */
int cl_store_fs_open(struct cl_store *s, const char *dir, char *err, size_t err_len);
int cl_store_s3_open(struct cl_store *s, const char *url, char *err, size_t err_len);

int cl_store_open(struct cl_store *s, const char *url, char *err, size_t err_len)
{
    memset(s, 0, sizeof *s);
    if (strncmp(url, "file:", 5) == 0)
        return cl_store_fs_open(s, url + 5, err, err_len);
    if (strncmp(url, "s3://", 5) == 0)
        return cl_store_s3_open(s, url, err, err_len);
    const char *colon = strstr(url, "://");
    if (colon) {
        snprintf(err, err_len,
                 "unsupported store URL scheme '%.*s' (use file:DIR, s3://BUCKET/PREFIX or a path)",
                 (int)(colon - url), url);
        return CL_ERR_UNSUPPORTED;
    }
    return cl_store_fs_open(s, url, err, err_len);
}

int cl_store_put(struct cl_store *s, const char *key, const void *data, size_t len)
{
    return s->ops->put(s->impl, key, data, len);
}

int cl_store_get(struct cl_store *s, const char *key, struct cl_buf *out)
{
    return s->ops->get(s->impl, key, out);
}

int cl_store_list(struct cl_store *s, const char *prefix,
                  int (*fn)(void *arg, const char *key, uint64_t size), void *arg)
{
    return s->ops->list(s->impl, prefix, fn, arg);
}

int cl_store_delete(struct cl_store *s, const char *key)
{
    return s->ops->del(s->impl, key);
}

int cl_store_move(struct cl_store *s, const char *from, const char *to)
{
    return s->ops->move(s->impl, from, to);
}

int cl_store_sweep(struct cl_store *s, const char *prefix)
{
    return s->ops->sweep ? s->ops->sweep(s->impl, prefix) : CL_OK;
}

void cl_store_close(struct cl_store *s)
{
    if (s->ops)
        s->ops->close(s->impl);
    s->ops = NULL;
    s->impl = NULL;
}

int cl_store_key_valid(const char *key)
{
    if (!key || !*key || key[0] == '/')
        return 0;
    const char *seg = key;
    for (const char *p = key;; p++) {
        if (*p && (unsigned char)*p < 0x20)
            return 0;
        if (*p == '/' || *p == '\0') {
            size_t len = (size_t)(p - seg);
            if (len == 0 || (len == 1 && seg[0] == '.') ||
                (len == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            if (*p == '\0')
                return 1;
            seg = p + 1;
        }
    }
}
