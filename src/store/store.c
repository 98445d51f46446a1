/* store.c - the store backend registry (its list is CL_STORE_BACKENDS in store.h),
 * backend selection by URL, the cl_store_* wrappers and key validation. */
#include "store.h"

#include "common.h"

#include <stdio.h>
#include <string.h>

/* Each backend's library defines its open function. Declared weak: a program linked
 * without a backend's library finds NULL in the table (and says so), and each backend
 * library makes the programs that link it pull its open in (CMake: LINKER:-u). */
#define CL_STORE_DECLARE_(name, prefix, open, caps, form)                                          \
    int open(struct cl_store *s, const char *url, char *err, size_t err_len) __attribute__((weak));
CL_STORE_BACKENDS(CL_STORE_DECLARE_)

struct store_backend {
    const char *name, *prefix, *form;
    unsigned caps;
    int (*open)(struct cl_store *s, const char *url, char *err, size_t err_len);
};

#define CL_STORE_ENTRY_(name, prefix, open, caps, form) {#name, prefix, form, caps, open},
static const struct store_backend backends[] = {CL_STORE_BACKENDS(CL_STORE_ENTRY_)};

static int open_with(const struct store_backend *be, struct cl_store *s, const char *rest,
                     const char *url, char *err, size_t err_len)
{
    if (!be->open) {
        snprintf(err, err_len, "store backend '%s' is not built into this program", be->name);
        return CL_ERR_UNSUPPORTED;
    }
    return be->open(s, (be->caps & CL_STORE_CAP_LOCAL) ? rest : url, err, err_len);
}

int cl_store_url_has_prefix(const char *url)
{
    for (size_t i = 0; i < CL_ARRAY_LEN(backends); i++)
        if (strncmp(url, backends[i].prefix, strlen(backends[i].prefix)) == 0)
            return 1;
    return 0;
}

int cl_store_open(struct cl_store *s, const char *url, char *err, size_t err_len)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < CL_ARRAY_LEN(backends); i++)
        if (strncmp(url, backends[i].prefix, strlen(backends[i].prefix)) == 0)
            return open_with(&backends[i], s, url + strlen(backends[i].prefix), url, err, err_len);
    const char *colon = strstr(url, "://");
    if (colon) {
        snprintf(err, err_len, "unsupported store URL scheme '%.*s' (use " CL_STORE_URL_FORMS ")",
                 (int)(colon - url), url);
        return CL_ERR_UNSUPPORTED;
    }
    /* A plain path: the first local backend. */
    for (size_t i = 0; i < CL_ARRAY_LEN(backends); i++)
        if (backends[i].caps & CL_STORE_CAP_LOCAL)
            return open_with(&backends[i], s, url, url, err, err_len);
    snprintf(err, err_len, "no local store backend is built into this program");
    return CL_ERR_UNSUPPORTED;
}

int cl_store_put(struct cl_store *s, const char *key, const void *data, size_t len)
{
    return s->ops->put(s->impl, key, data, len);
}

int cl_store_get(struct cl_store *s, const char *key, struct cl_buf *out)
{
    return s->ops->get(s->impl, key, out);
}

int cl_store_map(struct cl_store *s, const char *key, const void **data, size_t *len)
{
    return s->ops->map ? s->ops->map(s->impl, key, data, len) : CL_ERR_UNSUPPORTED;
}

void cl_store_unmap(struct cl_store *s, const void *data, size_t len)
{
    if (s->ops->unmap)
        s->ops->unmap(s->impl, data, len);
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

int cl_store_put_many(struct cl_store *s, const char *const *keys, const void *const *data,
                      const size_t *lens, size_t n)
{
    if (s->ops->put_many)
        return s->ops->put_many(s->impl, keys, data, lens, n);
    int rc = CL_OK;
    for (size_t i = 0; rc == CL_OK && i < n; i++)
        rc = s->ops->put(s->impl, keys[i], data[i], lens[i]);
    return rc;
}

int cl_store_move_many(struct cl_store *s, const char *const *from, const char *const *to, size_t n,
                       int *results)
{
    if (s->ops->move_many)
        return s->ops->move_many(s->impl, from, to, n, results);
    int rc = CL_OK;
    for (size_t i = 0; i < n; i++) {
        results[i] = s->ops->move(s->impl, from[i], to[i]);
        rc = rc == CL_OK ? results[i] : rc;
    }
    return rc;
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
