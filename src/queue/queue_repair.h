/* queue_repair.h - integrity check, quarantine and salvage behind the queue interface:
 * each answers CL_ERR_UNSUPPORTED (or 0 files) where the backend has none (SQS keeps no
 * local file to damage). Callers never name a backend.
 *
 * LIFECYCLE (a backend that keeps the queue in a local file)
 *
 *   the queue file is damaged at open (CL_ERR_CORRUPT)
 *     -> cl_queue_quarantine_move: DATA/quarantine/<the file, timestamped>
 *     -> the daemon starts on a fresh queue (ingest continues)
 *     -> `cloudlog verify --repair`: cl_queue_salvage copies every readable and valid
 *        message (and DLQ entry) into the live queue, resumably and never twice
 *     -> cl_queue_quarantine_mark_salvaged writes <file>.salvaged (a JSON summary);
 *        the quarantined file itself is kept for the operator.
 */
#ifndef CL_QUEUE_REPAIR_H
#define CL_QUEUE_REPAIR_H

#include "queue.h"

#include <stddef.h>
#include <stdint.h>

/* What a salvage found and copied. */
struct cl_salvage_result {
    uint64_t messages;   /* main-queue messages copied into the live queue */
    uint64_t dlq;        /* DLQ entries copied into the live DLQ */
    uint64_t records;    /* records in those messages */
    uint64_t progress;   /* exactly-once progress rows carried over with them */
    uint64_t unreadable; /* rows the backend could not read (damaged pages) */
    uint64_t invalid;    /* rows read, but refused by the check (e.g. body not decodable) */
    int already_done;    /* an earlier run finished this file; nothing copied now */
};

/* Decides whether a salvaged message is intact enough to queue again (e.g. its body
 * decodes and holds record_count records). Returns 0 to keep it, else writes why into
 * why (for the log). */
typedef int (*cl_salvage_check_fn)(void *arg, const struct cl_msg *m, char *why, size_t why_len);

/* Checks the queue's own storage, calling fn with each problem (at most max_lines).
 * Returns CL_OK, the error that stopped the check, or CL_ERR_UNSUPPORTED. */
int cl_queue_integrity(struct cl_queue *q, size_t max_lines,
                       void (*fn)(void *arg, const char *line), void *arg);

/* Copies every readable message of the quarantined file src_path that check accepts
 * into dst (main-queue messages as new visible ones, DLQ entries into the DLQ, and the
 * exactly-once progress of both); src_path is never written. Returns CL_OK (r filled),
 * CL_ERR_UNSUPPORTED when dst's backend cannot, or an error with err set (r says how
 * far it got; a new run resumes). */
int cl_queue_salvage(struct cl_queue *dst, const char *src_path, cl_salvage_check_fn check,
                     void *check_arg, struct cl_salvage_result *r, char *err, size_t err_len);

/* File-level operations of a backend that keeps its queue in a local file (the
 * registry's quarantine entry; NULL for the others). */
struct cl_queue_quarantine_ops {
    int (*move)(const char *path, const char *dir, int64_t now_ms, char *moved_to, size_t moved_len,
                char *err, size_t err_len);
    int (*list)(const char *dir, int pending_only, int (*fn)(void *arg, const char *path),
                void *arg);
    int (*unpublished)(const char *path,
                       void (*fn)(void *arg, const char *staging_key, const char *key), void *arg);
    int (*mark_salvaged)(const char *path, const char *summary_json);
};

/* Moves the queue file url names (and what belongs to it) into dir (created if needed)
 * under a timestamped name; moved_to gets its new path. CL_ERR_UNSUPPORTED when url's
 * backend keeps no local file; else CL_OK or CL_ERR_IO with err set. */
int cl_queue_quarantine_move(const char *url, const char *dir, int64_t now_ms, char *moved_to,
                             size_t moved_len, char *err, size_t err_len);

/* Calls fn with the path of each quarantined queue file in dir, in name (time) order:
 * only those without a .salvaged marker when pending_only. Returns how many there are
 * (0 when dir does not exist or no backend keeps files), or -1 if dir cannot be read.
 * fn may be NULL (count only); a non-zero return from fn stops the calls. */
int cl_queue_quarantine_list(const char *dir, int pending_only,
                             int (*fn)(void *arg, const char *path), void *arg);

/* Calls fn(arg, staging_key, key) for each catalog row of the quarantined file that was
 * committed but not yet published when it was damaged (its object must be published, not
 * discarded). Returns CL_OK, CL_ERR_IO if the file cannot be read, or CL_ERR_UNSUPPORTED. */
int cl_queue_quarantine_unpublished(const char *path,
                                    void (*fn)(void *arg, const char *staging_key, const char *key),
                                    void *arg);

/* Writes <path>.salvaged (summary_json and a newline, fsync'd) so the file no longer
 * counts as pending. Returns CL_OK, CL_ERR_IO or CL_ERR_UNSUPPORTED. */
int cl_queue_quarantine_mark_salvaged(const char *path, const char *summary_json);

#endif
