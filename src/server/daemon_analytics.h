/* daemon_analytics.h - the daemon's patterns and anomalies: one cl_analytics shared by the
 * processor threads, and a thread that ticks it every second and writes what it drained
 * into DATA/analytics.db (analytics_db.h). */
#ifndef CL_DAEMON_ANALYTICS_H
#define CL_DAEMON_ANALYTICS_H

#include "buf.h"

#include <stddef.h>

struct cl_daemon;

/* Registers AnomaliesDetected and AnomalyScoreMax in d->metrics (always, so alarms on them
 * resolve); from cl_daemon_metrics_start, before the EMF writer lists the metrics. */
void cl_daemon_analytics_register(struct cl_daemon *d);

/* Unless --analytics off, opens the database and starts the thread. Returns 0, or -1 with
 * err set. */
int cl_daemon_analytics_start(struct cl_daemon *d, char *err, size_t err_len);

/* The shared object for the processors (NULL when off). */
struct cl_analytics *cl_daemon_analytics(struct cl_daemon *d);

/* Last tick and write, join, free. After the processors stopped. */
void cl_daemon_analytics_stop(struct cl_daemon *d);

/* The alarm engine's describer (alarm.h): the latest anomalies' sentences. */
struct cl_alarm_rule;
void cl_daemon_analytics_describe(void *daemon, const struct cl_alarm_rule *r, char *out, size_t n);

/* GET /metrics: appends the per-series anomaly score gauges. */
void cl_daemon_analytics_render_prom(struct cl_daemon *d, struct cl_buf *out);

/* The path of the database: DATA/analytics.db. */
void cl_daemon_analytics_path(const struct cl_daemon *d, char *out, size_t n);

#endif
