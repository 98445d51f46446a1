/* verify.h - `cloudlog verify`: findings, the checks over a queue and a store, and the
 * report (human text or JSON). */
#ifndef CL_VERIFY_H
#define CL_VERIFY_H

#include "queue.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* problem: exit status 1 unless repaired; warning and info never change it. */
enum verify_sev { VERIFY_PROBLEM, VERIFY_WARNING, VERIFY_INFO };

struct verify_finding {
    enum verify_sev sev;
    char *kind;   /* e.g. "object_missing" (owned) */
    char *key;    /* object key or file, NULL if none (owned) */
    char *detail; /* what is wrong (owned) */
    char *action; /* what --repair did, NULL if nothing (owned) */
    int repaired;
};

struct verify_report {
    int repair; /* --repair given */
    struct verify_finding *v;
    size_t n, cap;
    uint64_t objects_checked, records_checked, catalog_rows;
};

/* Adds a finding; returns it so a repair can fill action/repaired. */
struct verify_finding *verify_add(struct verify_report *r, enum verify_sev sev, const char *kind,
                                  const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Records what a repair did to f (repaired: the problem is gone). */
void verify_repaired(struct verify_finding *f, int repaired, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t verify_count(const struct verify_report *r, enum verify_sev sev, int unrepaired_only);
void verify_print_text(const struct verify_report *r, const char *what);
void verify_print_json(const struct verify_report *r, const char *what);
void verify_report_free(struct verify_report *r);

/* Objects committed but unpublished when a queue file was quarantined, from the
 * catalogs of the files in DATA/quarantine: staging key -> final key (owned). */
struct verify_committed {
    char **staging, **key;
    size_t n, cap;
};

/* Loads c from every quarantined queue file of data_dir (salvaged or not). */
void verify_committed_load(const char *data_dir, struct verify_committed *c);
void verify_committed_free(struct verify_committed *c);

/* Store checks. catalog NULL: a store without a catalog (S3, --store): every object must
 * decompress into valid records of its partition. With a catalog: each row's object
 * exists and holds its record count, objects without a row are orphans. --repair
 * republishes, re-catalogs valid orphans, moves damaged objects under _quarantine/ and
 * marks rows whose object is gone as lost. Never deletes an object. With a catalog,
 * objects under _quarantine/staging/ that committed (may be NULL) names are published. */
int verify_store(struct verify_report *r, struct cl_store *st, struct cl_queue *catalog,
                 const struct verify_committed *committed);

/* Queue checks of a data directory: quarantined queue files (salvaged with --repair
 * into q), PRAGMA integrity_check, and the DLQ. q may be NULL when queue.db could not be
 * opened. */
void verify_queue(struct verify_report *r, const char *data_dir, struct cl_queue *q);

#define VERIFY_QUARANTINE_PREFIX "_quarantine/"
#define VERIFY_KEPT_STAGING_PREFIX "_quarantine/staging/" /* daemon_quarantine.c */

#endif
