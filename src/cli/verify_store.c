/* verify_store.c - `cloudlog verify`'s store checks and repairs, with or without the
 * embedded runtime's catalog. Repairs never delete an object: damaged ones move under
 * _quarantine/, rows whose object is gone move to the catalog's objects_lost table. */
#include "verify.h"

#include "catalog_verify.h"
#include "common.h"
#include "object_check.h"
#include "object_index.h"
#include "partition.h"
#include "process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct listed {
    char *key;
    uint64_t size;
};

struct listing {
    struct listed *v;
    size_t n, cap;
};

static int collect(void *arg, const char *key, uint64_t size)
{
    struct listing *l = arg;
    if (l->n == l->cap)
        l->v = cl_realloc(l->v, (l->cap = l->cap ? l->cap * 2 : 256) * sizeof *l->v);
    l->v[l->n++] = (struct listed){cl_strdup(key), size};
    return 0;
}

static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].key);
    free(l->v);
}

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* A valid object whose member index (object_index.h) disagrees with its members is not
 * damaged: the query notices and reads it whole. A warning, so --repair leaves it. */
static void check_index(struct verify_report *r, const char *key, const struct cl_buf *b)
{
    char why[256];
    if (cl_obj_index_check(b->data, b->len, CL_OBJECT_CHECK_MAX_RAW, why, sizeof why) != 0)
        verify_add(r, VERIFY_WARNING, "object_index", key,
                   "%s; queries read this object whole instead of by its index", why);
}

/* Reads the object at key and checks it as the object of as_key: 0 valid, 1 absent, -1
 * damaged (why in err). */
static int fetch_check_as(struct verify_report *r, struct cl_store *st, const char *key,
                          const char *as_key, struct cl_object_summary *s, char *err,
                          size_t err_len)
{
    struct cl_buf b;
    cl_buf_init(&b, CL_OBJECT_CHECK_MAX_RAW);
    int rc = cl_store_get(st, key, &b), res = 0;
    if (rc == CL_ERR_NOT_FOUND)
        res = 1;
    else if (rc != CL_OK) {
        snprintf(err, err_len, "cannot read: %s", cl_strerror(rc));
        res = -1;
    } else {
        res = cl_object_check(as_key, b.data, b.len, s, err, err_len);
        r->objects_checked++;
        check_index(r, key, &b);
        r->records_checked += res == 0 ? s->records : 0;
    }
    cl_buf_free(&b);
    return res;
}

/* Reads and checks one object: 0 valid, 1 absent, -1 damaged (why in err). */
static int fetch_check(struct verify_report *r, struct cl_store *st, const char *key,
                       struct cl_object_summary *s, char *err, size_t err_len)
{
    return fetch_check_as(r, st, key, key, s, err, err_len);
}

/* --repair of a damaged object: moves it to _quarantine/<key> (kept for inspection). */
static int quarantine_object(struct verify_report *r, struct cl_store *st, struct verify_finding *f,
                             const char *key)
{
    if (!r->repair)
        return -1;
    char to[4200];
    snprintf(to, sizeof to, VERIFY_QUARANTINE_PREFIX "%s", key);
    int rc = cl_store_move(st, key, to);
    verify_repaired(f, rc == CL_OK, rc == CL_OK ? "moved to %s" : "cannot move to %s", to);
    return rc == CL_OK ? 0 : -1;
}

static void mark_lost(struct verify_report *r, struct cl_queue *q, struct verify_finding *f,
                      int64_t id, const char *reason)
{
    if (!r->repair)
        return;
    int rc = cl_catalog_mark_lost(cl_queue_catalog(q), id, reason);
    if (rc == CL_OK && f->action)
        verify_repaired(f, f->repaired, "%s; catalog row moved to objects_lost", f->action);
    else if (rc == CL_OK)
        verify_repaired(f, 1, "catalog row moved to objects_lost");
    else
        verify_repaired(f, 0, "cannot update the catalog: %s", cl_strerror(rc));
}

/* Counts the objects kept under _quarantine/: 1 if key is one of them (handled). */
static int special_key(const char *key, size_t *kept)
{
    if (has_prefix(key, VERIFY_QUARANTINE_PREFIX)) {
        (*kept)++;
        return 1;
    }
    return 0;
}

static void report_kept(struct verify_report *r, size_t kept)
{
    if (kept)
        verify_add(r, VERIFY_WARNING, "quarantined_objects", VERIFY_QUARANTINE_PREFIX,
                   "%zu object(s) kept aside (damaged objects moved by --repair, or staging "
                   "objects kept after a queue quarantine): inspect them; nothing reads them",
                   kept);
}

static void staging_leftover(struct verify_report *r, const char *key)
{
    verify_add(r, VERIFY_WARNING, "staging_leftover", key,
               "staging object no catalog row names: an uncommitted write whose records are "
               "still queued (the daemon discards it at its next start)");
}

/* A store without a catalog: each object must be valid on its own. */
static void check_uncataloged(struct verify_report *r, struct cl_store *st, const struct listing *l)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        const char *key = l->v[i].key;
        struct cl_object_summary s;
        char err[256];
        if (special_key(key, &kept))
            continue;
        if (has_prefix(key, CL_STAGING_PREFIX)) {
            staging_leftover(r, key);
            continue;
        }
        if (cl_object_key_parse(key, s.service, s.dt, &s.hour) != 0) {
            verify_add(r, VERIFY_WARNING, "unknown_object", key, "not a cloudlog object key");
            continue;
        }
        if (fetch_check(r, st, key, &s, err, sizeof err) < 0)
            quarantine_object(r, st,
                              verify_add(r, VERIFY_PROBLEM, "object_corrupt", key, "%s", err), key);
    }
    report_kept(r, kept);
}

struct cataloged {
    struct verify_report *r;
    struct cl_store *st;
    struct cl_queue *q;
    struct cl_catalog_row *rows;
    size_t n_rows;
    char *seen;   /* per row: its final object was listed */
    char *staged; /* per row: its staging object was listed */
    const struct verify_committed *committed;
    const struct listing *l;
};

static int row_cmp(const void *key, const void *row)
{
    return strcmp(key, ((const struct cl_catalog_row *)row)->key);
}

static long staging_row(const struct cataloged *c, const char *key)
{
    for (size_t i = 0; i < c->n_rows; i++)
        if (c->rows[i].staging_key && strcmp(c->rows[i].staging_key, key) == 0)
            return (long)i;
    return -1;
}

/* An object with a catalog row: it must hold the row's records. */
static void check_row_object(struct cataloged *c, size_t i, const struct listed *o)
{
    const struct cl_catalog_row *row = &c->rows[i];
    struct cl_object_summary s;
    char err[256];
    c->seen[i] = 1;
    int res = fetch_check(c->r, c->st, o->key, &s, err, sizeof err);
    if (res == 0 && s.records != row->records) {
        snprintf(err, sizeof err, "holds %llu records, the catalog says %llu",
                 (unsigned long long)s.records, (unsigned long long)row->records);
        res = -1;
    }
    if (res < 0) {
        struct verify_finding *f =
            verify_add(c->r, VERIFY_PROBLEM, "object_corrupt", o->key, "%s", err);
        if (quarantine_object(c->r, c->st, f, o->key) == 0)
            mark_lost(c->r, c->q, f, row->id, err);
    } else if (res == 0 && !row->published) {
        struct verify_finding *f =
            verify_add(c->r, VERIFY_PROBLEM, "object_unpublished", o->key,
                       "in place, but its catalog row is not marked published");
        if (c->r->repair) {
            int rc = cl_catalog_mark_published(cl_queue_catalog(c->q), row->id);
            verify_repaired(f, rc == CL_OK, "marked published%s", rc == CL_OK ? "" : " failed");
        }
    }
}

/* An object no row names: catalog it if valid, else move it aside. */
static void check_orphan(struct cataloged *c, const struct listed *o)
{
    struct cl_object_summary s;
    char err[256];
    if (cl_object_key_parse(o->key, s.service, s.dt, &s.hour) != 0) {
        verify_add(c->r, VERIFY_WARNING, "unknown_object", o->key, "not a cloudlog object key");
        return;
    }
    if (fetch_check(c->r, c->st, o->key, &s, err, sizeof err) < 0) {
        quarantine_object(c->r, c->st,
                          verify_add(c->r, VERIFY_PROBLEM, "object_corrupt", o->key,
                                     "not in the catalog, and %s", err),
                          o->key);
        return;
    }
    struct verify_finding *f =
        verify_add(c->r, VERIFY_PROBLEM, "object_orphan", o->key,
                   "valid object (%llu records) that no catalog row names: queries that use "
                   "the catalog miss it",
                   (unsigned long long)s.records);
    if (!c->r->repair)
        return;
    struct cl_catalog_object row;
    cl_object_catalog_row(o->key, o->size, &s, &row);
    int rc = cl_catalog_add_published(cl_queue_catalog(c->q), &row);
    verify_repaired(f, rc == CL_OK, rc == CL_OK ? "added to the catalog" : "cannot catalog: %s",
                    cl_strerror(rc));
}

/* A committed row whose object is still under its staging key: publish it as start-up
 * recovery would (a running processor may race us to it: then it is already moved). */
static void publish_staged(struct cataloged *c, const struct cl_catalog_row *row)
{
    struct verify_finding *f =
        verify_add(c->r, VERIFY_PROBLEM, "object_unpublished", row->key,
                   "committed, still under its staging key %s", row->staging_key);
    if (!c->r->repair)
        return;
    int rc = cl_store_move(c->st, row->staging_key, row->key);
    if (rc == CL_OK || rc == CL_ERR_NOT_FOUND)
        rc = cl_catalog_mark_published(cl_queue_catalog(c->q), row->id);
    verify_repaired(f, rc == CL_OK, rc == CL_OK ? "published" : "cannot publish: %s",
                    cl_strerror(rc));
}

static int listed(const struct listing *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].key, key) == 0)
            return 1;
    return 0;
}

/* The final key the quarantined catalogs give the staging object kept as kept_key. */
static const char *committed_key(const struct verify_committed *vc, const char *kept_key)
{
    const char *name = kept_key + strlen(VERIFY_KEPT_STAGING_PREFIX);
    size_t sp = strlen(CL_STAGING_PREFIX);
    for (size_t i = 0; vc && i < vc->n; i++)
        if (strncmp(vc->staging[i], CL_STAGING_PREFIX, sp) == 0 &&
            strcmp(vc->staging[i] + sp, name) == 0)
            return vc->key[i];
    return NULL;
}

/* A staging object the daemon kept after a queue quarantine that the old catalog says
 * was committed: the commit deleted its messages, so it is published and catalogued.
 * Returns 1 if handled, 0 to leave it among the kept objects. */
static int publish_kept(struct cataloged *c, const struct listed *o)
{
    const char *final = committed_key(c->committed, o->key);
    struct cl_object_summary s;
    char err[256];
    if (!final || listed(c->l, final) ||
        fetch_check_as(c->r, c->st, o->key, final, &s, err, sizeof err) != 0)
        return 0;
    struct verify_finding *f =
        verify_add(c->r, VERIFY_PROBLEM, "object_unpublished", final,
                   "committed before the queue file was quarantined, kept as %s", o->key);
    if (!c->r->repair)
        return 1;
    struct cl_catalog_object row;
    cl_object_catalog_row(final, o->size, &s, &row);
    int rc = cl_store_move(c->st, o->key, final);
    if (rc == CL_OK)
        rc = cl_catalog_add_published(cl_queue_catalog(c->q), &row);
    verify_repaired(f, rc == CL_OK, rc == CL_OK ? "published and catalogued" : "failed: %s",
                    cl_strerror(rc));
    return 1;
}

/* Rows whose object was not listed. */
static void check_unseen_rows(struct cataloged *c)
{
    for (size_t i = 0; i < c->n_rows; i++) {
        const struct cl_catalog_row *row = &c->rows[i];
        if (c->seen[i])
            continue;
        if (!row->published && c->staged[i]) {
            publish_staged(c, row);
            continue;
        }
        struct verify_finding *f =
            verify_add(c->r, VERIFY_PROBLEM, "object_missing", row->key,
                       "catalog row %lld (%llu records) names an object the store lacks",
                       (long long)row->id, (unsigned long long)row->records);
        mark_lost(c->r, c->q, f, row->id, "object missing from the store");
    }
}

static int check_cataloged(struct verify_report *r, struct cl_store *st, struct cl_queue *q,
                           const struct listing *l, const struct verify_committed *committed)
{
    struct cataloged c = {r, st, q, NULL, 0, NULL, NULL, committed, l};
    int rc = cl_catalog_rows(cl_queue_catalog(q), &c.rows, &c.n_rows);
    if (rc != CL_OK) {
        verify_add(r, VERIFY_PROBLEM, "catalog_unreadable", NULL, "reading the catalog: %s",
                   cl_strerror(rc));
        return rc;
    }
    r->catalog_rows = c.n_rows;
    c.seen = cl_calloc(c.n_rows + 1, 1);
    c.staged = cl_calloc(c.n_rows + 1, 1);
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct listed *o = &l->v[i];
        if (has_prefix(o->key, VERIFY_KEPT_STAGING_PREFIX) && publish_kept(&c, o))
            continue;
        if (special_key(o->key, &kept))
            continue;
        if (has_prefix(o->key, CL_STAGING_PREFIX)) {
            long row = staging_row(&c, o->key);
            if (row >= 0)
                c.staged[row] = 1;
            else
                staging_leftover(r, o->key);
            continue;
        }
        const struct cl_catalog_row *row =
            bsearch(o->key, c.rows, c.n_rows, sizeof *c.rows, row_cmp);
        if (row)
            check_row_object(&c, (size_t)(row - c.rows), o);
        else
            check_orphan(&c, o);
    }
    check_unseen_rows(&c);
    report_kept(r, kept);
    uint64_t lost = 0;
    if (cl_catalog_lost_count(cl_queue_catalog(q), &lost) == CL_OK && lost)
        verify_add(r, VERIFY_INFO, "objects_lost", NULL,
                   "%llu catalog row(s) recorded in objects_lost by earlier repairs",
                   (unsigned long long)lost);
    free(c.seen);
    free(c.staged);
    cl_catalog_rows_free(c.rows, c.n_rows);
    return CL_OK;
}

int verify_store(struct verify_report *r, struct cl_store *st, struct cl_queue *catalog,
                 const struct verify_committed *committed)
{
    struct listing l = {0};
    int rc = cl_store_list(st, "", collect, &l);
    if (rc != CL_OK) {
        verify_add(r, VERIFY_PROBLEM, "store_unreadable", NULL, "listing the store failed: %s",
                   cl_strerror(rc));
    } else if (catalog) {
        rc = check_cataloged(r, st, catalog, &l, committed);
    } else {
        check_uncataloged(r, st, &l);
    }
    listing_free(&l);
    return rc;
}
