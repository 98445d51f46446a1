/* retention_thread.h - the daemon's store upkeep thread: retention (--retention), the
 * store's size and horizon gauges (StoreBytes, StoreOldestRecordTimestamp) from the catalog
 * of the embedded (SQLite) queue, and the store's readiness for /readyz. */
#ifndef CL_RETENTION_THREAD_H
#define CL_RETENTION_THREAD_H

#include <stddef.h>

struct cl_daemon;
struct cl_retention_thread;

/* Checks the configuration: --retention needs the embedded queue's catalog and a local
 * store (S3 keeps its lifecycle rules). Returns 0, or -1 with err set. */
int cl_retention_check_config(const struct cl_daemon *d, char *err, size_t err_len);

/* A local store's disk with less free space than this is full: /readyz says not ready. */
#define CL_STORE_MIN_FREE (1 << 20)

/* Registers the metrics in d->metrics (call while no other thread reads the registry;
 * the catalog's only with the embedded queue). cl_retention_thread_run starts the thread;
 * cl_retention_thread_stop joins it and frees t (NULL is ignored by both). */
struct cl_retention_thread *cl_retention_thread_new(struct cl_daemon *d);
void cl_retention_thread_run(struct cl_retention_thread *t);
void cl_retention_thread_stop(struct cl_retention_thread *t);

/* For /readyz: 1 if the store can take objects, else 0 with reason set. A local store:
 * its directory's and the data directory's file systems each have CL_STORE_MIN_FREE
 * bytes free (checked now). A remote store (S3): the thread's last probe, every 10 s,
 * succeeded. Any thread. */
int cl_store_ready(struct cl_retention_thread *t, char *reason, size_t len);

#endif
