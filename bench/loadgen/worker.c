/* worker.c - bench_loadgen's worker threads: each runs an epoll loop over its connections. */
#include "loadgen.h"

#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static bool worker_finished(const struct worker *w)
{
    for (int i = 0; i < w->nconns; i++)
        if (w->conns[i].st != C_DONE)
            return false;
    return true;
}

static int64_t worker_tick(struct worker *w, int64_t now)
{
    int64_t next = w->run->end_ns;
    for (int i = 0; i < w->nconns; i++) {
        int64_t t = conn_timers(&w->conns[i], now);
        if (t < next)
            next = t;
    }
    return next;
}

static void worker_finish(struct worker *w)
{
    for (int i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        if (c->st == C_SENDING || c->st == C_READING)
            w->st.unfinished++;
        conn_close(c);
        free(c->rbuf);
    }
    close(w->ep);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[64];
    int64_t now = now_ns();
    for (int i = 0; i < w->nconns; i++)
        conn_connect(&w->conns[i], now);
    for (;;) {
        now = now_ns();
        if (now >= w->run->end_ns || worker_finished(w))
            break;
        int64_t next = worker_tick(w, now);
        int64_t wait_ms = next <= now ? 0 : (next - now + NS_PER_MS - 1) / NS_PER_MS;
        int n = epoll_wait(w->ep, evs, (int)CL_ARRAY_LEN(evs), (int)CL_MIN(wait_ms, 1000));
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        now = now_ns();
        for (int k = 0; k < n; k++)
            conn_on_event(evs[k].data.ptr, evs[k].events, now);
    }
    worker_finish(w);
    return NULL;
}

struct worker *start_workers(struct run *run)
{
    const struct opts *o = run->o;
    struct worker *ws = cl_calloc((size_t)o->threads, sizeof(*ws));
    for (int t = 0; t < o->threads; t++) {
        struct worker *w = &ws[t];
        w->run = run;
        w->nconns = o->connections / o->threads + (t < o->connections % o->threads);
        w->conns = cl_calloc((size_t)w->nconns, sizeof(*w->conns));
        w->next_body = (unsigned)t * 7919u;
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (w->ep < 0)
            die("epoll_create1: %s", strerror(errno));
        int first = t * (o->connections / o->threads) + CL_MIN(t, o->connections % o->threads);
        for (int i = 0; i < w->nconns; i++) {
            w->conns[i] = (struct conn){.fd = -1, .w = w, .rcap = 16384};
            if (o->rate > 0) /* staggered so the connections share the rate evenly */
                w->conns[i].next_due = run->start_ns + (int64_t)((first + i) * NS_PER_S / o->rate);
            w->conns[i].rbuf = cl_malloc(w->conns[i].rcap);
        }
        if (pthread_create(&w->th, NULL, worker_main, w) != 0)
            die("pthread_create failed");
    }
    return ws;
}

void stats_merge(struct stats *d, const struct stats *s)
{
    d->ok += s->ok;
    d->non2xx += s->non2xx;
    d->st503 += s->st503;
    d->st429 += s->st429;
    d->status_other += s->status_other;
    d->accepted += s->accepted;
    d->rejected += s->rejected;
    d->no_accepted_field += s->no_accepted_field;
    d->raw_bytes += s->raw_bytes;
    d->wire_bytes += s->wire_bytes;
    d->errors += s->errors;
    d->timeouts += s->timeouts;
    d->connect_errors += s->connect_errors;
    d->reconnects += s->reconnects;
    d->warmup += s->warmup;
    d->unfinished += s->unfinished;
    hist_merge(&d->lat, &s->lat);
}
