/* workers.c - fixed thread pool with a linked FIFO of jobs. */
#include "workers.h"

#include "common.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
    void (*fn)(void *arg);
    void *arg;
    struct job *next;
};

struct cl_workers {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct job *head, *tail;
    int stopping;
    size_t n;
    pthread_t threads[];
};

static struct job *next_job(struct cl_workers *w)
{
    pthread_mutex_lock(&w->lock);
    while (!w->head && !w->stopping)
        pthread_cond_wait(&w->ready, &w->lock);
    struct job *j = w->head;
    if (j) {
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    return j;
}

static void *worker_main(void *arg)
{
    struct cl_workers *w = arg;
    struct job *j;
    while ((j = next_job(w)) != NULL) {
        j->fn(j->arg);
        free(j);
    }
    return NULL;
}

struct cl_workers *cl_workers_start(size_t n)
{
    struct cl_workers *w = cl_calloc(1, sizeof *w + n * sizeof(pthread_t));
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->ready, NULL);
    for (size_t i = 0; i < n; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0)
            break;
        w->n++;
    }
    if (w->n == 0) {
        cl_workers_free(w);
        return NULL;
    }
    return w;
}

void cl_workers_submit(struct cl_workers *w, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&w->lock);
    int stopped = w->stopping;
    pthread_mutex_unlock(&w->lock);
    if (stopped) {
        fn(arg); /* after stop, the caller's thread does the work itself */
        return;
    }
    struct job *j = cl_malloc(sizeof *j);
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->ready);
    pthread_mutex_unlock(&w->lock);
}

void cl_workers_stop(struct cl_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_broadcast(&w->ready);
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
    w->n = 0;
}

void cl_workers_free(struct cl_workers *w)
{
    if (!w)
        return;
    cl_workers_stop(w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->ready);
    free(w);
}
