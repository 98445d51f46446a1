/* tail_int.h - one live tail (GET /loki/api/v1/tail), shared by http_tail.c (handshake,
 * registry) and tail_run.c (its thread: follow, frames, socket). */
#ifndef CL_TAIL_INT_H
#define CL_TAIL_INT_H

#include "daemon.h"
#include "logql.h"
#include "logql_eval.h"
#include "query.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define TAIL_IN_MAX 4096 /* client frames: Loki's clients send none but control frames */

/* A matching record waiting to be sent. */
struct tail_entry {
    int64_t ts_ms;
    int64_t arrived_ms; /* cl_mono_ms() when found: delay_for counts from here */
    char *line;         /* owned: the line to show (line_format's output or the record) */
    size_t len;
    char service[65];
    enum cl_level level;
};

/* A record dropped because the pending list was full (reported in dropped_entries). */
struct tail_drop {
    int64_t ts_ms;
    char service[65];
    enum cl_level level;
};

struct cl_http_tails {
    pthread_mutex_t mu;
    pthread_cond_t ended; /* a thread finished (running went down) */
    int running;          /* detached tail threads not yet finished */
    int slots;            /* tails admitted (handshake accepted) and not yet freed */
    atomic_int stopping;
};

struct tail {
    struct cl_daemon *d;
    struct cl_http_tails *reg;
    int refs; /* the request's and, once upgraded, the thread's; under reg->mu */
    struct cl_lq_expr *expr;
    struct cl_lq_eval *eval;
    struct cl_query q; /* filters from the query; range set per run */
    size_t limit;
    int64_t delay_ms, start_ms;
    /* after the upgrade */
    struct MHD_UpgradeResponseHandle *urh;
    int fd;
    unsigned char in[TAIL_IN_MAX + 16];
    size_t in_len;
    atomic_int peer_closed; /* the client closed or the socket failed */
    int history_sent;       /* the first flush (the newest `limit`) went out */
    int64_t served_ms;      /* cl_mono_ms() of the last look at the socket */
    struct tail_entry *pending;
    size_t n_pending, cap_pending;
    struct tail_drop *drops;
    size_t n_drops;
    uint64_t dropped_total;
    char err[512];
};

/* The tail's thread (tail_run.c): follows, sends frames, answers pings, closes the
 * upgraded connection, drops its reference and counts itself out of reg->running. */
void *cl_tail_run(void *arg);

/* Drops one reference; the last frees t and gives its slot back. */
void cl_tail_unref(struct tail *t);

#endif
