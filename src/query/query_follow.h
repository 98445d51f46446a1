/* query_follow.h - the newest N matches of a query in time order, then (follow) the
 * matches of objects as they are published, each record once: `cloudlog tail [-f]`'s
 * algorithm, in the query layer so the server can serve it too. */
#ifndef CL_QUERY_FOLLOW_H
#define CL_QUERY_FOLLOW_H

#include "query.h"

#include <stddef.h>
#include <stdint.h>

/* Where the records go and how long to follow. */
struct cl_query_follow {
    int lines;                /* the newest N matches first, oldest first; 0: none */
    int64_t interval_ms;      /* between polls for newly published objects (at least 10) */
    int64_t window_ms;        /* partitions watched, this far back (late records older are not
                                 shown) */
    cl_query_emit_fn emit;    /* each record; non-zero stops */
    cl_query_warn_fn warn;    /* an object that could not be read (may be NULL) */
    void (*flush)(void *arg); /* after each batch of records (may be NULL) */
    int (*stop)(void *arg);   /* polled often; non-zero stops (may be NULL): say so here
                                 too once emit failed */
    void *arg;
};

/* Emits the newest o->lines matches of q's range (filters and range of q; order and
 * limit are set here), oldest first, ties in stored order. Returns CL_OK or an error
 * of cl_query_run with err set. */
int cl_query_newest(const struct cl_query_source *src, const struct cl_query *q,
                    const struct cl_query_follow *o, char *err, size_t err_len);

/* cl_query_newest, then polls every o->interval_ms and emits the matches of objects
 * published since, until stop() or emit asks to stop or a store error. Returns CL_OK or
 * an error with err set. */
int cl_query_follow(const struct cl_query_source *src, const struct cl_query *q,
                    const struct cl_query_follow *o, char *err, size_t err_len);

#endif
