/* daemon_metrics.h - the daemon's metrics: registry, sampled queue gauges, EMF output. */
#ifndef CL_DAEMON_METRICS_H
#define CL_DAEMON_METRICS_H

#include <stddef.h>

struct cl_daemon;

/* Creates d->metrics with the shared metric set, samples the queue gauges from
 * d->queue (which must be open) at every render, and, if d->cfg->emf_path is set,
 * opens the EMF output and starts a thread writing it every emf_interval_ms.
 * Returns 0, or -1 with err set (bad EMF options, unopenable file); nothing is left
 * to free then. Undo with cl_daemon_metrics_stop. */
int cl_daemon_metrics_start(struct cl_daemon *d, char *err, size_t err_len);

/* Stops the EMF thread after one last write (call once nothing updates the metrics
 * any more, before the queue closes), closes the output and frees the registry. */
void cl_daemon_metrics_stop(struct cl_daemon *d);

#endif
