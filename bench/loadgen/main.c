/* main.c - bench_loadgen: loopback-only HTTP/1.1 load generator for POST /v1/logs. */
#include "loadgen.h"

#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void summarize(const struct opts *o, struct worker *ws, const struct sample *a,
                      const struct sample *b, struct summary *m)
{
    *m = (struct summary){.server_cpu_pct = -1};
    int64_t last = 0;
    for (int t = 0; t < o->threads; t++) {
        stats_merge(&m->st, &ws[t].st);
        last = CL_MAX(last, ws[t].last_done);
    }
    int64_t end = o->requests && last > a->t_ns ? CL_MIN(last, b->t_ns) : b->t_ns;
    m->window_s = (double)(end - a->t_ns) / 1e9;
    double wall = (double)(b->t_ns - a->t_ns) / 1e9;
    if (wall > 0) {
        m->client_cpu_pct = 100 * (b->client_cpu_s - a->client_cpu_s) / wall;
        if (a->server_ok && b->server_ok)
            m->server_cpu_pct = 100 * (b->server_cpu_s - a->server_cpu_s) / wall;
    }
    if (o->server_pid) {
        m->server_hwm_kb = proc_status_kb(o->server_pid, "VmHWM");
        m->server_rss_kb = proc_status_kb(o->server_pid, "VmRSS");
    }
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_opts(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);
    if (o.server_pid && kill(o.server_pid, 0) != 0)
        fprintf(stderr, "loadgen: warning: --server-pid %d: %s\n", o.server_pid, strerror(errno));

    struct body *pool = build_pool(&o);
    struct run run = {.o = &o, .pool = pool};
    run.start_ns = now_ns();
    run.measure_ns = run.start_ns + (int64_t)(o.warmup * NS_PER_S);
    run.end_ns = run.measure_ns + (int64_t)(o.duration * NS_PER_S);

    struct sample a, b;
    struct worker *ws = start_workers(&run);
    sleep_until(run.measure_ns);
    take_sample(&o, &a);
    for (int t = 0; t < o.threads; t++)
        pthread_join(ws[t].th, NULL);
    take_sample(&o, &b);

    struct summary m;
    summarize(&o, ws, &a, &b, &m);
    if (o.json)
        print_json(&o, &m);
    else
        print_text(&o, &m);
    for (int t = 0; t < o.threads; t++)
        free(ws[t].conns);
    free(ws);
    free_pool(pool, o.pool);
    return m.st.ok ? 0 : 1;
}
