/* phase_clock.c - per-thread phase timers (phase_clock.h). */
#include "phase_clock.h"

#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Thread_local struct cl_phase_clock *bound;

static const char *const names[CL_PHASE_N] = {
    [CL_PHASE_OTHER] = "other",
    [CL_PHASE_IDLE] = "idle",
    [CL_PHASE_LOCK_WAIT] = "lock_wait",
    [CL_PHASE_RECEIVE] = "receive",
    [CL_PHASE_BODIES] = "bodies",
    [CL_PHASE_TAKE] = "take",
    [CL_PHASE_PROGRESS] = "progress",
    [CL_PHASE_SEAL] = "seal",
    [CL_PHASE_PUT] = "put",
    [CL_PHASE_CATALOG] = "catalog",
    [CL_PHASE_WAL_SYNC] = "wal_sync",
    [CL_PHASE_DELETE] = "delete",
    [CL_PHASE_MOVE] = "move",
    [CL_PHASE_PUBLISH] = "publish",
    [CL_PHASE_SETTLE] = "settle",
    [CL_PHASE_SEND_WAIT] = "send_wait",
    [CL_PHASE_SEND_INSERT] = "send_insert",
    [CL_PHASE_SEND_COMMIT] = "send_commit",
};

static int enabled = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void read_env(void)
{
    const char *v = getenv("CLOUDLOG_PHASES");
    enabled = v && *v && atoi(v) != 0;
}

int cl_phase_enabled(void)
{
    pthread_once(&once, read_env);
    return enabled;
}

static int64_t ns_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Charges the time since the last switch to c's current phase. */
static void charge(struct cl_phase_clock *c)
{
    int64_t wall = ns_of(CLOCK_MONOTONIC), cpu = ns_of(CLOCK_THREAD_CPUTIME_ID);
    c->wall_ns[c->cur] += wall - c->last_wall_ns;
    c->cpu_ns[c->cur] += cpu - c->last_cpu_ns;
    c->last_wall_ns = wall;
    c->last_cpu_ns = cpu;
}

void cl_phase_bind(struct cl_phase_clock *c)
{
    if (bound)
        charge(bound);
    bound = c;
    if (c) {
        c->last_wall_ns = ns_of(CLOCK_MONOTONIC);
        c->last_cpu_ns = ns_of(CLOCK_THREAD_CPUTIME_ID);
    }
}

void cl_phase_unbind(struct cl_phase_clock *c)
{
    if (bound == c)
        cl_phase_bind(NULL);
}

int cl_phase_enter(int p)
{
    struct cl_phase_clock *c = bound;
    if (!c)
        return CL_PHASE_OTHER;
    int prev = c->cur;
    charge(c);
    c->cur = p;
    c->entries[p]++;
    return prev;
}

void cl_phase_report(const struct cl_phase_clock *c, const char *who)
{
    int64_t total = 0, cpu = 0;
    for (int p = 0; p < CL_PHASE_N; p++) {
        total += c->wall_ns[p];
        cpu += c->cpu_ns[p];
    }
    char line[1000];
    int at =
        snprintf(line, sizeof line, "%s: wall %.0f ms, cpu %.0f ms;", who, total / 1e6, cpu / 1e6);
    for (int p = 0; p < CL_PHASE_N && at < (int)sizeof line; p++) {
        if (c->entries[p] == 0 && c->wall_ns[p] == 0)
            continue;
        at += snprintf(line + at, sizeof line - (size_t)at, " %s %.0f/%.0f ms %.1f%% n=%llu;",
                       names[p], c->wall_ns[p] / 1e6, c->cpu_ns[p] / 1e6,
                       total ? 100.0 * (double)c->wall_ns[p] / (double)total : 0.0,
                       (unsigned long long)c->entries[p]);
    }
    cl_log(CL_LOG_INFO, "phases %s", line);
}
