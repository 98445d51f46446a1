/* processor.h - the daemon's pool of processor threads. */
#ifndef CL_SERVER_PROCESSOR_H
#define CL_SERVER_PROCESSOR_H

#include "process.h"

#include <stddef.h>

struct cl_processors;

/* Starts n threads, each running its own cl_processor over q and st; batch_mode (a
 * queue without the SQLite catalog, e.g. SQS) selects the conditional commit strategy
 * (process.h). Caller stops and frees them with cl_processors_stop. */
struct cl_processors *cl_processors_start(struct cl_queue *q, struct cl_store *st,
                                          const struct cl_process_opts *o, size_t n,
                                          int batch_mode);

/* Signals the threads, waits for each to flush what it holds, and frees the pool. */
void cl_processors_stop(struct cl_processors *ps);

/* Sums the threads' counters (approximate while they run: plain reads). */
void cl_processors_counters(struct cl_processors *ps, struct cl_process_counters *sum);

#endif
