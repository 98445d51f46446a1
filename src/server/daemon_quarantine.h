/* daemon_quarantine.h - the daemon's side of a damaged queue file: move it aside and
 * start on a fresh queue, keep staging objects it can no longer classify, and report it
 * (log, metrics, the built-in QueueQuarantined alarm). */
#ifndef CL_DAEMON_QUARANTINE_H
#define CL_DAEMON_QUARANTINE_H

#include "queue.h"

#include <stddef.h>

struct cl_daemon;

/* Opens the queue at url like cl_queue_open. When url names a SQLite file that SQLite
 * reports as damaged (CL_ERR_CORRUPT), moves it with its -wal and -shm to
 * DATA/quarantine/ (never deleting it), logs an error naming the file and the command
 * that salvages it, sets d->queue_quarantined and opens a fresh queue at the same path.
 * Returns cl_queue_open's result with err set. */
int cl_daemon_open_queue(struct cl_daemon *d, const char *url, const struct cl_queue_opts *qo,
                         char *err, size_t err_len);

/* After a quarantine, before start-up recovery: the fresh catalog names no staging
 * object, so recovery would discard committed ones. Moves every object under _staging/
 * to _quarantine/staging/ instead (`cloudlog verify` lists them). No-op otherwise. */
void cl_daemon_keep_staging(struct cl_daemon *d);

/* Counts this start's quarantine in QueueQuarantined and samples QueueQuarantinePending
 * (files in DATA/quarantine not yet salvaged) at every collection of d->metrics. */
void cl_daemon_quarantine_metrics(struct cl_daemon *d);

#endif
