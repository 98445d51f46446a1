/* syslog_int.h - what the syslog listener (syslog_listen.c) and its connections
 * (syslog_conn.c) share. */
#ifndef CL_SYSLOG_INT_H
#define CL_SYSLOG_INT_H

#include "buf.h"
#include "daemon.h"
#include "syslog_listen.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

enum syslog_transport { SYSLOG_TCP, SYSLOG_UDP };

struct syslog_sink;

/* A batch handed to an ingest worker (d->workers) for normalization and commit. */
struct syslog_commit {
    struct syslog_sink *k;
    struct cl_buf ndjson;
    uint32_t n;
    atomic_int running; /* set by the reader, cleared by the worker under k->mu */
};

/* A connection's batches: one filling (ndjson) while the previous one commits (job), so
 * reading and parsing overlap the fsync; the reader waits only when the next batch is
 * due before the previous one is durable. */
struct syslog_sink {
    struct cl_syslog_server *s;
    enum syslog_transport transport;
    struct cl_buf ndjson;
    uint32_t n;
    int64_t first_mono_ms; /* when the oldest pending record arrived */
    struct syslog_commit job;
    pthread_mutex_t mu;
    pthread_cond_t done;
};

struct syslog_listener {
    enum syslog_transport transport;
    int fd;
    int tls;        /* tls://: RFC 5425, TCP with TLS (src/server/tls.c) */
    char addr[300]; /* as bound, for logs */
    pthread_t thread;
    int started;
    struct cl_syslog_server *s;
};

struct cl_syslog_server {
    struct cl_daemon *d;
    struct syslog_listener *ls;
    size_t n_ls;
    size_t max_msg;
    int max_conns;
    atomic_int stopping;
    pthread_mutex_t mu;
    pthread_cond_t idle; /* signalled when conns drops to 0 */
    int conns;           /* TCP connection threads running */
};

/* A batch is handed over when its oldest record is SYSLOG_BATCH_MS old and the previous
 * batch is durable; while that one commits, records keep accumulating up to
 * SYSLOG_BATCH_RECORDS or SYSLOG_BATCH_BYTES (then the reader waits). So batches grow
 * with the commit latency, as a group commit does, and a quiet sender waits 2 ms. */
#define SYSLOG_BATCH_RECORDS 16384
#define SYSLOG_BATCH_BYTES ((size_t)4 << 20)
#define SYSLOG_BATCH_MS 2
/* How long a blocked poll waits before looking at the stop flag again. */
#define SYSLOG_POLL_MS 200
/* The longest a TLS handshake may take before the connection is dropped. */
#define SYSLOG_TLS_HANDSHAKE_MS 10000

void syslog_sink_init(struct syslog_sink *k, struct cl_syslog_server *s, enum syslog_transport t);
void syslog_sink_free(struct syslog_sink *k);
/* Parses one framed message into the batch. */
void syslog_sink_add(struct syslog_sink *k, const char *msg, size_t len, int truncated,
                     int64_t now_ms);
/* 1 when the batch should be handed over now (see SYSLOG_BATCH_MS). */
int syslog_sink_due(const struct syslog_sink *k);
/* poll timeout (ms) until the batch may be due, SYSLOG_POLL_MS when empty. */
int syslog_sink_wait_ms(const struct syslog_sink *k);
/* Hands the batch to an ingest worker, after waiting for the previous one to be durable.
 * The worker normalizes it and waits for the queue's group commit; for TCP it retries
 * while the queue is full or failing (so the reader, waiting on it, stops reading), for
 * UDP it drops the batch and counts it. */
void syslog_sink_flush(struct syslog_sink *k);
/* Flushes and waits until everything added is committed (or dropped). */
void syslog_sink_drain(struct syslog_sink *k);

/* Thread bodies. */
void *syslog_udp_main(void *arg);
void *syslog_accept_main(void *arg);

#endif
