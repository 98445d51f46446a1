/* follow.h - following a query as objects are published: its newest N matches first,
 * then the matches of each object published since (`cloudlog tail -f`,
 * GET /loki/api/v1/tail). The algorithm is described in follow.c. */
#ifndef CL_FOLLOW_H
#define CL_FOLLOW_H

#include "query.h"

#include <stddef.h>
#include <stdint.h>

/* Emits the newest n matches of q's range [from_ms, to_ms) oldest first (ties in the
 * engine's order: object key, then line). q->order and q->limit are ignored; q->cancelled
 * stops it. Returns cl_query_run's result. */
int cl_query_newest(const struct cl_query_source *src, const struct cl_query *q, size_t n,
                    cl_query_emit_fn emit, cl_query_warn_fn warn, void *arg, char *err,
                    size_t err_len);

/* A filter the engine cannot run itself (a LogQL pipeline): 1 keeps the record. */
typedef int (*cl_query_keep_fn)(void *arg, const char *line, size_t len,
                                const struct cl_line_head *head);

/* cl_query_newest over the records keep (not NULL) accepts: as the engine cannot count
 * them, the whole range is scanned oldest first, keeping the last n in a ring. */
int cl_query_newest_kept(const struct cl_query_source *src, const struct cl_query *q, size_t n,
                         cl_query_keep_fn keep, void *keep_arg, cl_query_emit_fn emit,
                         cl_query_warn_fn warn, void *arg, char *err, size_t err_len);

struct cl_query_follow;

/* A follower of q's filters (q is copied; the strings and arrays it points to must
 * outlive the follower) over src, watching partitions up to window_ms behind now.
 * Caller frees it with cl_query_follow_free. */
struct cl_query_follow *cl_query_follow_new(const struct cl_query_source *src,
                                            const struct cl_query *q, int64_t window_ms);

/* Makes cl_query_follow_start's newest n those keep accepts (see cl_query_newest_kept). */
void cl_query_follow_keep(struct cl_query_follow *f, cl_query_keep_fn keep, void *keep_arg);

/* Marks the window's published objects as seen and emits the newest n matches of q's
 * range (n 0: none), oldest first. Call once, before cl_query_follow_poll. */
int cl_query_follow_start(struct cl_query_follow *f, size_t n, cl_query_emit_fn emit,
                          cl_query_warn_fn warn, void *arg, char *err, size_t err_len);

/* Emits, in timestamp order, the matches of the objects published since the last call
 * (each record once, even after a failure). Returns CL_OK or the error. */
int cl_query_follow_poll(struct cl_query_follow *f, cl_query_emit_fn emit, cl_query_warn_fn warn,
                         void *arg, char *err, size_t err_len);

void cl_query_follow_free(struct cl_query_follow *f);

#endif
