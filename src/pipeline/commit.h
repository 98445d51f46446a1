/* commit.h - the commit strategy: how the engine makes one partition's object durable
 * and its messages acknowledged. Two implementations:
 *
 * - catalog (commit_catalog.c), embedded exactly-once: put under _staging/, then ONE
 *   catalog transaction records the object, the (message, partition) progress rows and
 *   deletes the messages now stored everywhere; then the object moves into place.
 *   Messages received again skip the partitions their progress rows name.
 * - conditional (commit_cond.c), for a queue without a catalog (SQS, the Lambda): the
 *   object id is a hash of the partition and its messages' ids and the put refuses to
 *   overwrite, so a batch retried whole lands on the same keys. The engine acknowledges
 *   the messages afterwards; delivery is at-least-once.
 */
#ifndef CL_COMMIT_H
#define CL_COMMIT_H

#include "part_acc.h"

#include <stddef.h>
#include <stdint.h>

/* One partition's object, handed to commit. Everything is borrowed for the call. */
struct cl_commit_object {
    const struct cl_part *part; /* records, statistics, key */
    const void *gz;             /* the compressed object */
    size_t gz_len;
    const char *const *msg_ids; /* the part's members, each once */
    size_t n_msg;
    /* Receipts of the members this object finishes (stored in every partition now), and
     * per receipt CL_OK or CL_ERR_STALE once deleted (only when acks_in_commit). */
    const char *const *finished;
    size_t n_finished;
    int *finished_results;
};

/* Room for an object's final key: the partition, '/', the id, ".ndjson.gz". */
#define CL_COMMIT_KEY_MAX (CL_PARTITION_MAX + 64)

struct cl_commit_ops {
    const char *name;
    /* 1: commit deletes the finished messages in the same transaction (exactly-once:
     * records of a message given back must leave every buffer); 0: the engine acks. */
    int acks_in_commit;
    /* Progress of earlier deliveries. NULL: none is kept (every record is buffered). */
    int (*has_progress)(void *impl, const char *msg_id, int *has);
    int (*partition_done)(void *impl, const char *msg_id, const char *partition, int *done);
    /* Optional: has_progress for n messages at once (has[i] for msg_ids[i]), asked once
     * per cl_engine_take. NULL: has_progress per message. */
    int (*has_progress_many)(void *impl, const char *const *msg_ids, size_t n, int *has);
    /* Makes o durable; writes its final key into key (key_len bytes). Returns CL_OK (with
     * *published 0 when the object is committed but not yet visible: retried by tick),
     * or an error: nothing was committed. */
    int (*commit)(void *impl, const struct cl_commit_object *o, char *key, size_t key_len,
                  int *published);
    /* Commits n objects at once, all or nothing (NULL: the engine calls commit n times):
     * one sync per store directory and one catalog transaction for all. keys[i] gets
     * object i's final key, published[i] as commit's *published. Receipts in o[i].finished
     * must name messages with no records in o[i+1..n): a message is deleted by the last
     * object of the batch holding its records. */
    int (*commit_batch)(void *impl, const struct cl_commit_object *o, size_t n,
                        char (*keys)[CL_COMMIT_KEY_MAX], int *published);
    /* Run-time upkeep (retrying publications), called once per engine step. */
    void (*tick)(void *impl, int64_t now_ms);
    void (*free)(void *impl);
};

struct cl_commit {
    const struct cl_commit_ops *ops;
    void *impl;
};

struct cl_queue;
struct cl_store;
struct cl_std_metrics;

/* Caller frees with cl_commit_free. q (a queue with a catalog, cl_queue_catalog: without
 * one every commit fails CL_ERR_UNSUPPORTED), st and m are borrowed. */
struct cl_commit *cl_commit_catalog_new(struct cl_queue *q, struct cl_store *st,
                                        int64_t retry_base_ms, int64_t retry_max_ms,
                                        const struct cl_std_metrics *m);
/* Caller frees with cl_commit_free. st is borrowed. */
struct cl_commit *cl_commit_conditional_new(struct cl_store *st);
void cl_commit_free(struct cl_commit *c);

/* The deterministic object id of a partition's object: "<YYYYMMDDTHHMMSSZ>-<16 hex>" as
 * cl_object_id_new writes, where the time is min_ts_ms (the object's oldest record) and
 * the hex is the first 8 bytes of SHA-256 over the partition key and the sorted,
 * distinct message ids (each followed by '\n'). ids need not be sorted. out holds
 * CL_OBJECT_ID_LEN + 1 bytes. */
void cl_commit_object_id(const char *partition, int64_t min_ts_ms, const char *const *ids, size_t n,
                         char *out);

#define CL_STAGING_PREFIX "_staging/"

#endif
