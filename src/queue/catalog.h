/* catalog.h - the embedded runtime's object catalog and exactly-once ledger: an
 * interface of its own (struct cl_catalog_ops), offered beside a queue by a backend
 * that can keep it (cl_queue_catalog; CL_QUEUE_CAP_CATALOG), NULL where none can (SQS).
 * Callers check for NULL, never for a backend.
 *
 * The SQLite backend keeps it in the queue's database so that, in ONE transaction, a flush can
 * record a new object (catalog row, still unpublished, with its staging key), mark
 * which (message, partition) pairs it stored, and delete the messages all of whose
 * partitions are now stored. The flow per object:
 *
 *   1. put the object under its staging key (durable)
 *   2. cl_catalog_commit_flush: catalog row + progress + deletes, one transaction
 *   3. move staging key -> final key, then cl_catalog_mark_published
 *
 * A crash before 2 leaves only a staging object (removed at start-up: no row names
 * it) and the messages are received again. A crash between 2 and 3 leaves an
 * unpublished row whose staging object start-up recovery moves into place. Messages
 * received again after a crash skip the partitions the progress table says are
 * stored, so no record is stored twice.
 */
#ifndef CL_CATALOG_H
#define CL_CATALOG_H

#include "queue.h"

#include <stddef.h>
#include <stdint.h>

#define CL_CATALOG_LEVELS 6 /* trace, debug, info, warn, error, fatal */

/* The catalog beside q, owned by q (valid until cl_queue_close), or NULL when q's
 * backend has none. */
struct cl_catalog *cl_queue_catalog(struct cl_queue *q);

/* Opens the catalog of the queue url names for reads alone (cl_catalog_select,
 * cl_catalog_objects), without opening the queue: no write, no thread, no lock held
 * between reads; what a query process needs at start-up. Every other call on it answers
 * CL_ERR_UNSUPPORTED. Returns CL_ERR_UNSUPPORTED (err set) when url's backend keeps no
 * catalog or the file's catalog is of another version (open the queue instead: that
 * migrates it). One thread at a time. The caller closes it with cl_catalog_close. */
int cl_catalog_open_reader(const char *url, struct cl_catalog **out, char *err, size_t err_len);
/* Closes a catalog of cl_catalog_open_reader (NULL: nothing). */
void cl_catalog_close(struct cl_catalog *c);

struct cl_catalog_object {
    const char *key;         /* final key: service=S/dt=YYYY-MM-DD/hour=HH/ID.ndjson.gz */
    const char *staging_key; /* where it sits until published */
    const char *service;
    const char *dt; /* "YYYY-MM-DD" */
    int hour;
    uint64_t records;
    uint64_t bytes;     /* stored (compressed) size */
    uint64_t raw_bytes; /* NDJSON size */
    int64_t min_ts_ms, max_ts_ms;
    uint64_t level_counts[CL_CATALOG_LEVELS];
};

/* One flush: the object, the messages whose records for the object's partition it
 * holds (progress rows), and the receipts of messages now fully stored (deleted). */
struct cl_catalog_flush {
    const struct cl_catalog_object *obj;
    const char *const *msg_ids; /* the queue's ids of the messages with records in obj */
    size_t n_msg_ids;
    const char *const *delete_receipts; /* subset now stored in every partition */
    size_t n_delete;
    int64_t *object_id; /* out (may be NULL): the new catalog row's id */
};

/* Commits a flush in one transaction, then deletes the messages it finishes
 * (cl_catalog_commit_flushes says how). delete_results[i] (n_delete entries, may be NULL)
 * gets CL_OK or CL_ERR_STALE per receipt, or the failure of its delete; neither fails
 * the flush (a message whose delete failed is given back uncounted and visible; its next
 * receive finds every partition stored and deletes it).
 * Returns CL_OK, CL_ERR_FULL (disk full / busy) or CL_ERR_IO; on those errors nothing
 * changed. CL_ERR_NOT_DURABLE: committed (this process reads its rows: the messages'
 * next receives skip what it stored) but its sync failed, so its rows may not survive a
 * power loss; no message was deleted, and its objects must stay staged and unpublished
 * (never moved into place, where a power loss would leave them beside the same records
 * stored again): start-up recovery publishes them if their rows survived, and drops
 * them if not. After a failed sync every later flush fails with CL_ERR_IO, committing
 * nothing, until a restart.
 * Message ids are the queue's own strings (cl_msg.id): only the catalog's backend reads
 * them (SQLite's are row ids); one it cannot read is CL_ERR_INVAL.
 * Every cl_catalog_* call returns CL_ERR_UNSUPPORTED for a NULL catalog. */
int cl_catalog_commit_flush(struct cl_catalog *c, const struct cl_catalog_flush *f,
                            int *delete_results);
/* Commits n flushes in ONE transaction, one sync of the queue file for all: all or
 * nothing. That commit is what finishes the messages: their progress rows cover every
 * partition, and no processor stores a finished message's records again. Then deletes
 * the messages all n flushes finish (delete_receipts) in short transactions of their
 * own, not synced by themselves; a delete lost to a power loss or a crash is done by the
 * message's next receive (a crash's held messages are given back uncounted at start-up).
 * When a delete transaction fails, the messages left undeleted are given back in one
 * small transaction: visible now, their receive uncounted (so one on its last allowed
 * receive does not go to the DLQ), deleted at their next receive; if that fails too it
 * is logged and they come back after their visibility timeout, counted.
 * delete_results (may be NULL) holds flush k's results array at k (each may be NULL). */
int cl_catalog_commit_flushes(struct cl_catalog *c, const struct cl_catalog_flush *f, size_t n,
                              int *const *delete_results);

/* Sets *done to 1 if an earlier flush stored message msg_id's records for partition
 * (the "service=S/dt=D/hour=H" prefix), else 0. */
int cl_catalog_partition_done(struct cl_catalog *c, const char *msg_id, const char *partition,
                              int *done);

/* Sets *has to 1 if any partition of message msg_id is recorded as stored: only then
 * does a processor need cl_catalog_partition_done per partition (after a crash, a
 * failed flush or a redrive), so the common case costs one lookup per message. */
int cl_catalog_message_has_progress(struct cl_catalog *c, const char *msg_id, int *has);
/* The same for n messages at once (has[i] for msg_ids[i]): one call for a whole receive,
 * so a processor takes the queue's lock once instead of once per message. */
int cl_catalog_messages_have_progress(struct cl_catalog *c, const char *const *msg_ids, size_t n,
                                      int *has);

/* Calls fn for each committed but unpublished object (start-up recovery). */
int cl_catalog_unpublished(struct cl_catalog *c,
                           int (*fn)(void *arg, int64_t object_id, const char *staging_key,
                                     const char *key),
                           void *arg);
/* Marks committed objects published, in one transaction that is not synced by itself
 * (it becomes durable with the next synced commit of the queue file): a mark lost on
 * power loss leaves the row unpublished with its object in place, which start-up
 * recovery marks again. So the object must be durably in place before the call.
 * CL_ERR_NOT_FOUND if some id names no row (the others are marked). */
int cl_catalog_mark_published(struct cl_catalog *c, int64_t object_id);
int cl_catalog_mark_published_many(struct cl_catalog *c, const int64_t *ids, size_t n);

/* 1 if some catalog row (published or not) names key as its staging key. */
int cl_catalog_staging_referenced(struct cl_catalog *c, const char *staging_key, int *referenced);

struct cl_catalog_stats {
    uint64_t objects;
    uint64_t records;
    uint64_t bytes;
    uint64_t raw_bytes;
    int64_t min_ts_ms, max_ts_ms; /* 0 when empty */
};

int cl_catalog_stats(struct cl_catalog *c, struct cl_catalog_stats *st);

/* CATALOG READS (cl_catalog_objects, cl_catalog_select) run on a connection of their
 * own, opened for the read and closed after it: WAL lets it read a snapshot while the
 * queue's connection commits, so a query over a million rows never holds up group
 * commit, receive or /readyz (they wait on the queue's connection lock, which a read
 * never takes beyond copying the file name). A queue without a file (":memory:") reads
 * on the queue's connection, locked, as before. fn may call into the catalog. */

/* Calls fn for each published object whose dt lies in [dt_from, dt_to] (inclusive,
 * "YYYY-MM-DD"), ordered by service, dt, hour, key: one row per object, so a query
 * prunes without listing the store. Strings in *o are valid only during the call
 * (staging_key is NULL); a non-zero return stops the walk and is returned. */
int cl_catalog_objects(struct cl_catalog *c, const char *dt_from, const char *dt_to,
                       int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg);

/* What a query wants from the catalog, evaluated by SQLite (index objects_published on
 * dt, hour, service, and objects_partition on service, dt, hour). */
struct cl_catalog_filter {
    const char *dt_from, *dt_to; /* "YYYY-MM-DD", inclusive */
    int hour_from;               /* first hour wanted on dt_from */
    int hour_to;                 /* last hour wanted on dt_to */
    const char *const *services; /* names or fnmatch(3) globs; n_services 0: all */
    size_t n_services;
    int prune; /* also: max_ts >= from_ms, min_ts < to_ms, a record of level_mask */
    int64_t from_ms, to_ms;
    unsigned level_mask; /* bit per level (CL_CATALOG_LEVELS); 0: all */
};

/* Calls fn, in no particular order, for each published object of f's partitions that
 * f's pruning keeps; *considered (may be NULL) gets the number of objects in those
 * partitions before pruning, from the same snapshot. Strings in *o are valid only
 * during the call; a non-zero return of fn stops the walk and is returned. */
int cl_catalog_select(struct cl_catalog *c, const struct cl_catalog_filter *f,
                      int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg,
                      uint64_t *considered);

struct cl_catalog_row; /* catalog_verify.h */

/* What a backend implements (impl is its own handle); the cl_catalog_* functions above
 * call these. */
struct cl_catalog_ops {
    int (*commit_flushes)(void *impl, const struct cl_catalog_flush *f, size_t n,
                          int *const *delete_results);
    int (*partition_done)(void *impl, const char *msg_id, const char *partition, int *done);
    int (*message_has_progress)(void *impl, const char *msg_id, int *has);
    /* Optional (NULL: message_has_progress per message). */
    int (*messages_have_progress)(void *impl, const char *const *msg_ids, size_t n, int *has);
    int (*unpublished)(void *impl,
                       int (*fn)(void *arg, int64_t object_id, const char *staging_key,
                                 const char *key),
                       void *arg);
    int (*mark_published)(void *impl, const int64_t *ids, size_t n);
    int (*staging_referenced)(void *impl, const char *staging_key, int *referenced);
    int (*stats)(void *impl, struct cl_catalog_stats *st);
    int (*objects)(void *impl, const char *dt_from, const char *dt_to,
                   int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg);
    int (*select)(void *impl, const struct cl_catalog_filter *f,
                  int (*fn)(void *arg, const struct cl_catalog_object *o), void *arg,
                  uint64_t *considered);
    /* `cloudlog verify`'s reads and repairs (catalog_verify.h); NULL where not offered. */
    int (*rows)(void *impl, struct cl_catalog_row **rows, size_t *n);
    int (*add_published)(void *impl, const struct cl_catalog_object *o);
    int (*mark_lost)(void *impl, int64_t object_id, const char *reason);
    int (*lost_count)(void *impl, uint64_t *n);
    /* Frees a catalog of cl_catalog_open_reader; NULL for one its queue owns. */
    void (*close)(void *impl);
};

struct cl_catalog {
    const struct cl_catalog_ops *ops;
    void *impl;
};

#endif
