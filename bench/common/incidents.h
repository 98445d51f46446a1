/* incidents.h - the benchmark generator's "incident days": simulated days of logs of a few
 * services with a daily cycle (busy afternoons, quiet nights), Poisson noise, a steady
 * error ratio and realistic templated messages, and on the last day five injected
 * incidents (docs/analytics.md, "The incident day"). Deterministic for a seed. */
#ifndef CL_BENCH_INCIDENTS_H
#define CL_BENCH_INCIDENTS_H

#include "buf.h"
#include "gen.h"

#include <stdint.h>

enum cl_incident_kind {
    CL_INC_ERROR_BURST, /* one service: 30% errors for 10 minutes */
    CL_INC_NEW_PATTERN, /* one service: a new exception, 5 a minute for 30 minutes */
    CL_INC_SILENCE,     /* one service sends nothing for 40 minutes */
    CL_INC_SPIKE,       /* one service: 5x its traffic for 10 minutes */
    CL_INC_DRIFT,       /* one service: errors climb from 1% to 12% over 4 hours */
    CL_INC_COUNT
};

struct cl_incident {
    enum cl_incident_kind kind;
    const char *name;
    const char *service;
    int64_t start_ms, end_ms;
};

#define CL_INC_SERVICES 6
#define CL_INC_DAY_MS 86400000LL

struct cl_incident_gen {
    struct cl_gen g;
    int64_t start_ms; /* midnight UTC of day 0 */
    int days;         /* incidents on the last day */
    struct cl_incident inc[CL_INC_COUNT];
};

/* days >= 2; start_ms is rounded down to midnight UTC. */
void cl_incident_gen_init(struct cl_incident_gen *ig, uint64_t seed, int64_t start_ms, int days);

/* Appends the normalized NDJSON records of [t, t + step_ms) of every service to b. Returns
 * the number of records. */
size_t cl_incident_gen_slice(struct cl_incident_gen *ig, int64_t t, int64_t step_ms,
                             struct cl_buf *b);

#endif
