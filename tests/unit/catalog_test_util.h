/* catalog_test_util.h - what the catalog tests (test_queue_catalog_*.c) share: a SQLite
 * queue opened with the fake clock (queue_test_util.h), messages sent and received, an
 * object to commit, and reads of the ledger. */
#ifndef CL_CATALOG_TEST_UTIL_H
#define CL_CATALOG_TEST_UTIL_H

#include "catalog.h"
#include "queue.h"

#include <stddef.h>
#include <stdint.h>

#define PART "service=api/dt=2026-11-25/hour=07"

/* Opens the queue at path (no fsync, DLQ retention 14 days) with the fake clock. */
void open_path(struct cl_queue *q, const char *path, int max_receive_count);
/* open_path on a fresh database cl_qt_dir/name, the fake clock set to now. */
void open_fresh(struct cl_queue *q, const char *name, int max_receive_count);
/* Sends n messages of 10 records, one per call. */
void send_n(struct cl_queue *q, int n);
/* Receives exactly want messages (visibility 30 s); caller frees them with cl_msgs_free. */
struct cl_msg *receive_exactly(struct cl_queue *q, size_t want);
/* An object of PART's service, day and hour: 30 records, the given key and staging key. */
struct cl_catalog_object make_obj(const char *key, const char *staging);
/* The single integer the SQL query answers, on the queue's connection. */
int64_t count_rows(struct cl_queue *q, const char *sql);
/* cl_catalog_partition_done's answer (asserted CL_OK). */
int done_of(struct cl_queue *q, const char *msg_id, const char *partition);
/* cl_catalog_staging_referenced's answer (asserted CL_OK). */
int referenced(struct cl_queue *q, const char *staging_key);
/* Copies the ids of m[0..n) into idb (they outlive the messages) and points ids[i] at them. */
void copy_ids(const struct cl_msg *m, size_t n, char (*idb)[24], const char **ids);
/* Commits obj with progress for the n msg ids and no deletes; returns the object's id. */
int64_t commit_progress(struct cl_queue *q, const struct cl_catalog_object *obj,
                        const char *const *ids, size_t n);

#endif
