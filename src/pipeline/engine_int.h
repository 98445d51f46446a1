/* engine_int.h - the engine's state, shared by engine.c (take) and engine_flush.c
 * (commit and settle); not for other modules. */
#ifndef CL_ENGINE_INT_H
#define CL_ENGINE_INT_H

#include "engine.h"

struct cl_engine {
    struct cl_engine_opts o;
    struct cl_commit *commit;
    struct cl_engine_sink sink;
    struct cl_part_acc acc;
    struct cl_engine_msg **held; /* owned */
    size_t n_held, cap_held;
    struct cl_engine_msg **done; /* stored, waiting for the end of a flush pass */
    size_t n_done, cap_done;
    struct cl_buf decoded; /* scratch: one decompressed message */
    int64_t deadline_ms, reserve_ms;
    int pass_failed;      /* a commit of the current flush pass failed */
    size_t charged;       /* bytes of acc.buffered counted in o.budget */
    size_t reserved;      /* bytes of o.budget's flushing this engine's flush still holds */
    size_t slack_charged; /* bytes of acc's pool slack counted in o.budget's slack */
    /* Progress of the messages of the current cl_engine_take, asked at once
     * (has_progress_many); pf_n 0: none asked, ask per message. Owned. */
    const char **pf_ids;
    int *pf_has;
    size_t pf_n;
    struct cl_engine_counters c;
};

/* engine.c */
void cl_engine_msg_free(struct cl_engine *e, struct cl_engine_msg *m);

/* A message's distinct partitions, so each is looked up once per message. */
struct cl_engine_route {
    const struct cl_line_head *head; /* of its first line (or member) */
    struct cl_part *part;            /* NULL: stored by an earlier delivery */
};

/* Whether the commit strategy holds progress of msg_id (an earlier delivery stored some
 * of its partitions). Returns 0, or -1 if progress cannot be read. */
int cl_engine_has_progress(struct cl_engine *e, const char *msg_id, int *has_progress);
/* The partition of records with head h (created if new), or NULL when an earlier
 * delivery of msg_id stored it; routes[0..*n) caches this message's. *err set to 1 if
 * progress cannot be read. */
struct cl_part *cl_engine_route(struct cl_engine *e, const char *msg_id, int has_progress,
                                const struct cl_line_head *h, struct cl_engine_route *routes,
                                size_t *n, int *err);
/* Holds a copy of in (the engine owns it until settled). */
struct cl_engine_msg *cl_engine_hold(struct cl_engine *e, const struct cl_engine_in *in);
/* After a held message's records are buffered: charges the budget, and settles it as
 * stored at once when no partition holds its records. */
void cl_engine_taken(struct cl_engine *e, struct cl_engine_msg *m);
/* Tells the sink about a message the engine does not hold. */
void cl_engine_fail_unheld(struct cl_engine *e, const struct cl_engine_in *in,
                           enum cl_engine_outcome why, const char *error);
/* Progress of in could not be read: gives it and everything held back; CL_ERR_IO. */
int cl_engine_progress_failed(struct cl_engine *e, const struct cl_engine_in *in);

/* Patterns and anomalies (analytics.h) see the records that enter a partition: runs of
 * consecutive lines go in one call, so the analytics lock is taken once per message (twice
 * or more only around lines an earlier delivery stored, which are not seen again). */
struct cl_observed_run {
    const char *start, *end; /* start == NULL: no run open */
};
/* Adds the line (or run of lines) [ptr, ptr + len), without its last '\n', to r. */
void cl_engine_observe(struct cl_engine *e, struct cl_observed_run *r, const char *ptr, size_t len);
/* Hands the open run to analytics. */
void cl_engine_observe_end(struct cl_engine *e, struct cl_observed_run *r);

/* engine_index.c */
#define CL_ENGINE_NO_INDEX (-1) /* no CL_ERR_* value: take it from its lines */
/* Buffers in by its member index (message.h), without inflating unless analytics wants
 * the text. Returns CL_ENGINE_NO_INDEX when in has no usable index, else as take_one. */
int cl_engine_take_indexed(struct cl_engine *e, const struct cl_engine_in *in);
/* Brings the shared budget up to date with what this engine holds. */
void cl_engine_charge(struct cl_engine *e);
/* 1 when the budget (or buffer_max alone) is exceeded. */
int cl_engine_over_budget(const struct cl_engine *e);

/* engine_flush.c */
/* A systemic failure: drops every partition, fails every held message (given back
 * uncounted, or counted when the breaker was on trial) and opens the breaker. */
void cl_engine_fail_all(struct cl_engine *e, const char *error);
/* Hands the messages stored since the last call to the sink. */
void cl_engine_emit_done(struct cl_engine *e);

#endif
