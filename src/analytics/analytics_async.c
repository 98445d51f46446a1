/* analytics_async.c - the optional observer thread (cl_analytics_opts.async_bytes): the
 * processor threads copy the records they hand over into a bounded buffer and go on; one
 * thread learns them. The processor then pays a copy per message instead of the miner and
 * the lock (docs/analytics.md "Cost inline"), and a spare core does the mining. Nothing is
 * dropped: a producer that finds the buffer full waits (back-pressure).
 *
 * The buffer holds frames: a header (struct frame), then its bytes, either NDJSON lines
 * or one gzip member of them (cl_analytics_observe_member): a member is copied compressed
 * and inflated by this thread, so the processor neither inflates it nor copies its text
 * (docs/analytics.md "Cost inline, sixth round"). */
#include "analytics_int.h"

#include "buf.h"
#include "codec.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>

/* What precedes each hand-over in the buffer (memcpy'd: the buffer is not aligned). */
struct frame {
    uint64_t len;     /* the bytes that follow */
    uint64_t raw_len; /* 0: they are lines; else a gzip member of raw_len bytes of lines */
};

struct cl_an_async {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t more, room; /* more: data or stop for the worker; room: for producers */
    char *in, *work;           /* producers append to in; the worker swaps and learns work */
    size_t in_len, cap;
    int64_t in_wall; /* the newest producer's wall clock */
    int stopping;
    /* Puts so far, and how many of them are learned: a flush waits for the puts made
     * before it only (waiting for an empty, idle buffer starves under steady puts, as
     * the worker swaps in the next buffer without letting go of the lock). */
    uint64_t put_seq, learned_seq;
    uint64_t waits;     /* producers that found the buffer full */
    struct cl_buf text; /* the worker's: one inflated member */
};

/* Learns the frames of buf[0..len) (the worker, without the buffer's lock). */
static void learn_frames(struct cl_analytics *a, struct cl_buf *text, const char *buf, size_t len,
                         int64_t wall)
{
    for (const char *p = buf, *end = buf + len; p + sizeof(struct frame) <= end;) {
        struct frame f;
        memcpy(&f, p, sizeof f);
        p += sizeof f;
        if (f.raw_len == 0)
            cl_an_observe_now(a, p, (size_t)f.len, wall);
        else
            cl_an_observe_gz_now(a, p, (size_t)f.len, f.raw_len, wall, text);
        p += f.len;
    }
}

static void *worker_main(void *arg)
{
    struct cl_analytics *a = arg;
    struct cl_an_async *q = a->async;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->in_len == 0 && !q->stopping)
            pthread_cond_wait(&q->more, &q->mu);
        if (q->in_len == 0)
            break; /* stopping, and everything handed over is learned */
        char *buf = q->in;
        size_t len = q->in_len;
        int64_t wall = q->in_wall;
        uint64_t upto = q->put_seq;
        q->in = q->work;
        q->work = buf;
        q->in_len = 0;
        pthread_cond_broadcast(&q->room);
        pthread_mutex_unlock(&q->mu);
        learn_frames(a, &q->text, buf, len, wall);
        pthread_mutex_lock(&q->mu);
        q->learned_seq = upto;
        pthread_cond_broadcast(&q->room); /* also wakes cl_an_async_flush */
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

int cl_an_async_start(struct cl_analytics *a, size_t bytes)
{
    struct cl_an_async *q = cl_calloc(1, sizeof *q);
    q->cap = CL_MAX(bytes, (size_t)65536);
    q->in = cl_malloc(q->cap);
    q->work = cl_malloc(q->cap);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->more, NULL);
    pthread_cond_init(&q->room, NULL);
    cl_buf_init(&q->text, SIZE_MAX);
    a->async = q;
    if (pthread_create(&q->thread, NULL, worker_main, a) != 0) {
        a->async = NULL;
        cl_an_async_free(q);
        return -1;
    }
    return 0;
}

/* A chunk larger than the buffer is learned by the caller itself (under the lock). */
void cl_an_async_put(struct cl_analytics *a, const char *data, size_t len, uint64_t raw_len,
                     int64_t now_wall)
{
    struct cl_an_async *q = a->async;
    struct frame f = {len, raw_len};
    size_t need = sizeof f + len;
    if (need > q->cap) {
        if (raw_len == 0) {
            cl_an_observe_now(a, data, len, now_wall);
        } else { /* a buffer of its own: q->text is the worker's */
            struct cl_buf text;
            cl_buf_init(&text, SIZE_MAX);
            cl_an_observe_gz_now(a, data, len, raw_len, now_wall, &text);
            cl_buf_free(&text);
        }
        return;
    }
    pthread_mutex_lock(&q->mu);
    if (q->in_len + need > q->cap)
        q->waits++;
    while (q->in_len + need > q->cap)
        pthread_cond_wait(&q->room, &q->mu);
    memcpy(q->in + q->in_len, &f, sizeof f);
    memcpy(q->in + q->in_len + sizeof f, data, len);
    q->in_len += need;
    q->put_seq++;
    q->in_wall = CL_MAX(q->in_wall, now_wall);
    pthread_cond_signal(&q->more);
    pthread_mutex_unlock(&q->mu);
}

void cl_an_async_flush(struct cl_analytics *a)
{
    struct cl_an_async *q = a->async;
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    uint64_t target = q->put_seq;
    while (q->learned_seq < target)
        pthread_cond_wait(&q->room, &q->mu);
    pthread_mutex_unlock(&q->mu);
}

uint64_t cl_an_async_waits(const struct cl_analytics *a)
{
    return a->async ? a->async->waits : 0;
}

void cl_an_async_stop(struct cl_analytics *a)
{
    struct cl_an_async *q = a->async;
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_signal(&q->more);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    a->async = NULL;
    cl_an_async_free(q);
}

void cl_an_async_free(struct cl_an_async *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->more);
    pthread_cond_destroy(&q->room);
    free(q->in);
    free(q->work);
    cl_buf_free(&q->text);
    free(q);
}
