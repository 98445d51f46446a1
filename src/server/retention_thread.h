/* retention_thread.h - the daemon's store retention thread (--retention) and the store's
 * size and horizon gauges (StoreBytes, StoreOldestRecordTimestamp), both from the catalog
 * of the embedded (SQLite) queue. */
#ifndef CL_RETENTION_THREAD_H
#define CL_RETENTION_THREAD_H

#include <stddef.h>

struct cl_daemon;
struct cl_retention_thread;

/* Checks the configuration: --retention needs the embedded queue's catalog and a local
 * store (S3 keeps its lifecycle rules). Returns 0, or -1 with err set. */
int cl_retention_check_config(const struct cl_daemon *d, char *err, size_t err_len);

/* Registers the metrics in d->metrics (call while no other thread reads the registry);
 * NULL without a catalog (remote queue). cl_retention_thread_run starts the thread;
 * cl_retention_thread_stop joins it and frees t (NULL is ignored by both). */
struct cl_retention_thread *cl_retention_thread_new(struct cl_daemon *d);
void cl_retention_thread_run(struct cl_retention_thread *t);
void cl_retention_thread_stop(struct cl_retention_thread *t);

#endif
