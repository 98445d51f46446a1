/* scan_pool.c - the scan threads of one query run, created once and reused for every
 * round of work (a batch of an ordered run, or a count's whole plan).
 *
 * The caller is thread 0 and works too: a pool of n has n - 1 helper threads. A round
 * wakes every helper, runs the function on all n threads at once and returns when each
 * has returned, so a round ends with a join but no thread is created or destroyed. */
#include "query_int.h"

#include "common.h"

#include <pthread.h>
#include <stdlib.h>

struct helper {
    struct cq_pool *p;
    size_t index; /* 1..n-1; the caller is 0 */
    pthread_t tid;
};

struct cq_pool {
    pthread_mutex_t mu;
    pthread_cond_t go;   /* a round started (or quit) */
    pthread_cond_t done; /* the last helper of a round finished */
    cq_pool_fn fn;       /* the round's work; guarded by mu */
    void *arg;
    unsigned long round; /* rounds started; a helper runs each once */
    size_t pending;      /* helpers still working on the current round */
    int quit;            /* set by cq_pool_free */
    size_t n;            /* threads, the caller included */
    struct helper h[CQ_MAX_THREADS];
};

static void *helper_main(void *arg)
{
    struct helper *h = arg;
    struct cq_pool *p = h->p;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->round == seen && !p->quit)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit)
            break;
        seen = p->round;
        cq_pool_fn fn = p->fn;
        void *fn_arg = p->arg;
        pthread_mutex_unlock(&p->mu);
        fn(fn_arg, h->index);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Allocates the pool (free with cq_pool_free); a helper that cannot be started leaves a
 * smaller pool, down to the caller alone. */
struct cq_pool *cq_pool_new(size_t n)
{
    struct cq_pool *p = cl_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n = 1;
    for (size_t i = 1; i < CL_MIN(n, (size_t)CQ_MAX_THREADS); i++) {
        p->h[i] = (struct helper){.p = p, .index = i};
        if (pthread_create(&p->h[i].tid, NULL, helper_main, &p->h[i]) != 0)
            break;
        p->n = i + 1;
    }
    return p;
}

size_t cq_pool_size(const struct cq_pool *p)
{
    return p->n;
}

void cq_pool_run(struct cq_pool *p, cq_pool_fn fn, void *arg)
{
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->pending = p->n - 1;
    p->round++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void cq_pool_free(struct cq_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 1; i < p->n; i++)
        pthread_join(p->h[i].tid, NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
