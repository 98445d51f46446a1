/* syslog_listen.h - the daemon's syslog listeners (--syslog-listen tcp://... udp://...).
 *
 * Messages are framed (RFC 6587 on TCP, one per datagram on UDP), parsed and turned into
 * input records (core/syslog.h), batched per connection and sent through the same
 * normalization (cl_ingest_parse) and durable queue as POST /v1/logs. Durability and
 * limits are in docs/syslog.md.
 */
#ifndef CL_SYSLOG_LISTEN_H
#define CL_SYSLOG_LISTEN_H

#include "metrics.h"

#include <stddef.h>

struct cl_daemon;
struct cl_syslog_server;

/* SyslogDropped reasons (cloudlog_syslog_dropped_total{reason}). */
enum cl_syslog_drop {
    CL_SYSLOG_DROP_QUEUE_FULL,  /* UDP: queue over capacity, batch not stored */
    CL_SYSLOG_DROP_QUEUE_ERROR, /* the queue kept failing until shutdown */
    CL_SYSLOG_DROP_INVALID,     /* rejected by record validation */
    CL_SYSLOG_DROP_FRAMING      /* TCP: bad octet count; the connection was closed */
};

struct cl_syslog_metrics {
    struct cl_metric *messages;  /* series: tcp, udp */
    struct cl_metric *dropped;   /* series: enum cl_syslog_drop */
    struct cl_metric *truncated; /* messages cut to --syslog-max-message */
    struct cl_metric *refused;   /* TCP connections over --syslog-max-connections */
    struct cl_metric *connections;
};

/* Registers the syslog metrics in r (start-up, before anything renders). */
void cl_syslog_metrics_register(struct cl_metrics *r, struct cl_syslog_metrics *m);

/* Checks every --syslog-listen entry ("tcp://HOST:PORT" or "udp://HOST:PORT", each
 * possibly a comma-separated list). A non-loopback address needs --insecure (syslog has no
 * authentication). Returns 0, or -1 with err set. */
int cl_syslog_check_config(const struct cl_daemon *d, char *err, size_t err_len);

/* Binds every listener and starts its thread; logs "syslog: listening on tcp://H:P".
 * Returns the server (NULL when no listener is configured; *err empty then), or NULL
 * with err set. Stop it with cl_syslog_stop. */
struct cl_syslog_server *cl_syslog_start(struct cl_daemon *d, char *err, size_t err_len);

/* Closes the listeners, lets every connection commit what it has read, joins the
 * threads and frees s (NULL is allowed). Call before the queue closes. */
void cl_syslog_stop(struct cl_syslog_server *s);

#endif
