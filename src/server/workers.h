/* workers.h - a fixed pool of threads running submitted jobs in FIFO order. */
#ifndef CL_WORKERS_H
#define CL_WORKERS_H

#include <stddef.h>

struct cl_workers;

/* Starts n threads; NULL if none could be created. Caller frees the pool with
 * cl_workers_free. */
struct cl_workers *cl_workers_start(size_t n);

/* Queues fn(arg) to run on a pool thread. Never blocks: the caller bounds how many
 * jobs can be outstanding (the daemon: at most one per connection). After
 * cl_workers_stop, runs fn(arg) in the calling thread instead. */
void cl_workers_submit(struct cl_workers *w, void (*fn)(void *arg), void *arg);

/* Runs every queued job to completion and joins the threads; the pool stays valid. */
void cl_workers_stop(struct cl_workers *w);
/* Stops the pool if needed and frees it. */
void cl_workers_free(struct cl_workers *w);

#endif
