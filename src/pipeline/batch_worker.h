/* batch_worker.h - a processor thread's loop for a queue without a local catalog (SQS).
 *
 * The embedded processor (process.h) buffers across receives and gets exactly-once from
 * the SQLite catalog; a remote queue has no transaction to share, so each step here
 * receives up to receive_batch messages, writes them with cl_batch_process (one object
 * per partition, deterministic ids: a retried batch rewrites the same keys), deletes the
 * stored messages and releases the others with the same backoff as the embedded
 * processor, so the queue's redrive policy moves repeat failures to the DLQ.
 */
#ifndef CL_BATCH_WORKER_H
#define CL_BATCH_WORKER_H

#include "process.h"

#include <stddef.h>

struct cl_batch_worker;

/* q and st are borrowed and must outlive the worker; o is copied. Caller frees with
 * cl_batch_worker_free. */
struct cl_batch_worker *cl_batch_worker_new(struct cl_queue *q, struct cl_store *st,
                                            const struct cl_process_opts *o);

/* One receive (waiting up to wait_ms) and its batch. Returns the messages received. */
size_t cl_batch_worker_step(struct cl_batch_worker *w, int wait_ms);

void cl_batch_worker_counters(const struct cl_batch_worker *w, struct cl_process_counters *c);
void cl_batch_worker_free(struct cl_batch_worker *w);

#endif
