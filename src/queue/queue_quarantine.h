/* queue_quarantine.h - a damaged SQLite queue file is moved aside, never deleted, and
 * its readable messages are salvaged back into a live queue later.
 *
 * LIFECYCLE
 *
 *   DATA/queue.db malformed at open
 *     -> cl_queue_quarantine_move: DATA/quarantine/queue-<UTC time>.db (+ -wal, -shm)
 *     -> the daemon starts on a fresh DATA/queue.db (ingest continues)
 *     -> `cloudlog verify --repair`: cl_queue_sqlite_salvage copies every readable and
 *        valid message (and DLQ entry) into the live queue, in batches whose
 *        transactions also record how far the salvage got (meta 'salvage:<name>'), so an
 *        interrupted salvage resumes and a finished one is never repeated
 *     -> cl_queue_quarantine_mark_salvaged writes <file>.salvaged (a JSON summary);
 *        the quarantined file itself is kept for the operator.
 */
#ifndef CL_QUEUE_QUARANTINE_H
#define CL_QUEUE_QUARANTINE_H

#include "queue.h"

#include <stddef.h>
#include <stdint.h>

/* Moves db_path and its -wal and -shm files (the WAL holds committed transactions of
 * that file, so it moves with it) into dir (created if needed) as
 * queue-<YYYYMMDDTHHMMSSZ>.db, with a numeric suffix if that name exists. Writes the new
 * path of the database into moved_to. Returns CL_OK or CL_ERR_IO with err set. */
int cl_queue_quarantine_move(const char *db_path, const char *dir, int64_t now_ms, char *moved_to,
                             size_t moved_len, char *err, size_t err_len);

/* Calls fn with the path of each quarantined queue file in dir, in name (time) order:
 * only those without a .salvaged marker when pending_only. Returns how many there are
 * (0 when dir does not exist), or -1 if dir cannot be read. fn may be NULL (count only);
 * a non-zero return from fn stops the calls (the count goes on). */
int cl_queue_quarantine_list(const char *dir, int pending_only,
                             int (*fn)(void *arg, const char *path), void *arg);

/* What a salvage found and copied. */
struct cl_salvage_result {
    uint64_t messages;   /* main-queue messages copied into the live queue */
    uint64_t dlq;        /* DLQ entries copied into the live DLQ */
    uint64_t records;    /* records in those messages */
    uint64_t progress;   /* exactly-once progress rows carried over with them */
    uint64_t unreadable; /* rows SQLite could not read (damaged pages) */
    uint64_t invalid;    /* rows read, but refused by the check (e.g. body not decodable) */
    int already_done;    /* an earlier run finished this file; nothing copied now */
};

/* Decides whether a salvaged message is intact enough to queue again (e.g. its body
 * decodes and holds record_count records). Returns 0 to keep it, else writes why into
 * why (for the log). */
typedef int (*cl_salvage_check_fn)(void *arg, const struct cl_msg *m, char *why, size_t why_len);

/* Copies every readable message of the quarantined queue file src_path that check
 * accepts into dst (an open SQLite queue; CL_ERR_UNSUPPORTED otherwise): main-queue
 * messages as new visible messages (receive count 0, sent now, as a redrive does), DLQ
 * entries into the DLQ with their receive count and last error, and the progress rows
 * of both (so partitions already stored are not stored twice). src_path and its WAL
 * are never written (SQLite may rebuild its -shm index). Returns CL_OK (r filled), or
 * an error with err set when dst fails or src cannot be opened at all (r says how far
 * it got). */
int cl_queue_sqlite_salvage(struct cl_queue *dst, const char *src_path, cl_salvage_check_fn check,
                            void *check_arg, struct cl_salvage_result *r, char *err,
                            size_t err_len);

/* Calls fn(arg, staging_key, key) for each catalog row of the quarantined file src_path
 * that was committed but not yet published when it was damaged: its object holds
 * records whose messages that commit deleted, so it must be published, not discarded.
 * Unreadable rows are skipped. Returns CL_OK, or CL_ERR_IO if the file cannot be read. */
int cl_queue_quarantine_unpublished(const char *src_path,
                                    void (*fn)(void *arg, const char *staging_key, const char *key),
                                    void *arg);

/* Writes <db_path>.salvaged (summary_json and a newline, fsync'd) so the file no longer
 * counts as pending. Returns CL_OK or CL_ERR_IO. */
int cl_queue_quarantine_mark_salvaged(const char *db_path, const char *summary_json);

#endif
