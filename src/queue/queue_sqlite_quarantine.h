/* queue_sqlite_quarantine.h - the SQLite backend's quarantine and salvage (the registry's
 * quarantine entry and the queue's integrity and salvage ops; callers use
 * queue_repair.h). A damaged queue file is moved aside with its -wal and -shm files (the
 * WAL holds committed transactions of that file) as queue-<YYYYMMDDTHHMMSSZ>.db, never
 * deleted; the salvage copies in batches whose transactions also record how far it got
 * (meta 'salvage:<name>'), so an interrupted salvage resumes and a finished one is never
 * repeated. */
#ifndef CL_QUEUE_SQLITE_QUARANTINE_H
#define CL_QUEUE_SQLITE_QUARANTINE_H

#include "queue_repair.h"

/* The registry's entry (queue.c). */
extern const struct cl_queue_quarantine_ops cl_queue_sqlite_quarantine;

int sq_quarantine_move(const char *db_path, const char *dir, int64_t now_ms, char *moved_to,
                       size_t moved_len, char *err, size_t err_len);
int sq_quarantine_list(const char *dir, int pending_only, int (*fn)(void *arg, const char *path),
                       void *arg);
int sq_quarantine_unpublished(const char *src_path,
                              void (*fn)(void *arg, const char *staging_key, const char *key),
                              void *arg);
int sq_quarantine_mark_salvaged(const char *db_path, const char *summary_json);

/* The queue ops (queue_sqlite.c's table): cl_queue_salvage into the queue impl, and
 * cl_queue_integrity (PRAGMA integrity_check). */
int sq_salvage(void *impl, const char *src_path, cl_salvage_check_fn check, void *check_arg,
               struct cl_salvage_result *r, char *err, size_t err_len);
int sq_integrity(void *impl, size_t max_lines, void (*fn)(void *arg, const char *line), void *arg);

#endif
