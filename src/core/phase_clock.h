/* phase_clock.h - where a thread's wall time goes, phase by phase (a diagnostic).
 *
 * A thread binds a clock (cl_phase_bind); from then on every cl_phase_enter charges the
 * time since the previous switch, wall and the thread's own CPU, to the phase it leaves,
 * so the phases tile the thread's life with no gap. Code in any layer (the queue, the
 * store, the engine) marks its phases; a thread with no clock bound pays one load of a
 * thread-local pointer per mark. Off unless the environment says otherwise: the daemon's
 * processor threads and the queue's committer bind one when CLOUDLOG_PHASES=1, and log
 * the breakdown when they stop (docs/performance.md, "Where a processor's time goes").
 */
#ifndef CL_PHASE_CLOCK_H
#define CL_PHASE_CLOCK_H

#include <stdint.h>

enum cl_phase {
    CL_PHASE_OTHER = 0,   /* anything not marked */
    CL_PHASE_IDLE,        /* a receive waiting for messages to arrive */
    CL_PHASE_LOCK_WAIT,   /* waiting for the queue's connection lock (db_mu) */
    CL_PHASE_RECEIVE,     /* a receive's transaction (leases), under the lock */
    CL_PHASE_BODIES,      /* reading received bodies, under the lock */
    CL_PHASE_TAKE,        /* decode and route received messages into partitions */
    CL_PHASE_PROGRESS,    /* progress look-ups of received messages, under the lock */
    CL_PHASE_SEAL,        /* building objects (index, last member) */
    CL_PHASE_PUT,         /* staging puts: writes, file and directory fsyncs */
    CL_PHASE_CATALOG,     /* the catalog transaction, under the lock */
    CL_PHASE_WAL_SYNC,    /* a commit's WAL sync */
    CL_PHASE_DELETE,      /* deleting finished messages, under the lock */
    CL_PHASE_MOVE,        /* moving objects into place: renames, directory fsyncs */
    CL_PHASE_PUBLISH,     /* marking objects published, under the lock */
    CL_PHASE_SETTLE,      /* settling messages, visibility extensions, upkeep */
    CL_PHASE_SEND_WAIT,   /* the committer waiting for sends (idle, linger) */
    CL_PHASE_SEND_INSERT, /* the committer's inserts, under the lock */
    CL_PHASE_SEND_COMMIT, /* the committer's COMMIT, under the lock */
    CL_PHASE_N
};

/* A thread's clock; zero-initialize, then cl_phase_bind. */
struct cl_phase_clock {
    int cur;
    int64_t last_wall_ns, last_cpu_ns;
    int64_t wall_ns[CL_PHASE_N], cpu_ns[CL_PHASE_N];
    uint64_t entries[CL_PHASE_N];
};

/* 1 when CLOUDLOG_PHASES is set to a non-zero value (read once). */
int cl_phase_enabled(void);
/* Binds c to the calling thread (NULL unbinds, charging the current phase first); c must
 * outlive the binding. */
void cl_phase_bind(struct cl_phase_clock *c);
/* Unbinds c if it is the calling thread's clock, charging its current phase. */
void cl_phase_unbind(struct cl_phase_clock *c);
/* Charges the time since the last switch to the current phase and enters p; returns the
 * phase left (to enter again after a nested phase). A no-op returning CL_PHASE_OTHER when
 * no clock is bound. */
int cl_phase_enter(int p);
/* Logs c's breakdown (info) as "who: phase wall ms (share%) cpu ms entries ..." . */
void cl_phase_report(const struct cl_phase_clock *c, const char *who);

#endif
