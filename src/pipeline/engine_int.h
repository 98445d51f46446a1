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
    int pass_failed; /* a commit of the current flush pass failed */
    size_t charged;  /* bytes of acc.buffered counted in o.budget */
    struct cl_engine_counters c;
};

/* engine.c */
void cl_engine_msg_free(struct cl_engine *e, struct cl_engine_msg *m);
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
