/* common.c - error strings, aborting allocators and clocks. */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *cl_strerror(int err)
{
    switch (err) {
    case CL_OK:
        return "success";
    case CL_ERR_NOMEM:
        return "out of memory";
    case CL_ERR_INVAL:
        return "invalid argument";
    case CL_ERR_IO:
        return "I/O error";
    case CL_ERR_TOO_LARGE:
        return "size limit exceeded";
    case CL_ERR_FULL:
        return "over capacity";
    case CL_ERR_NOT_FOUND:
        return "not found";
    case CL_ERR_STALE:
        return "stale receipt handle";
    case CL_ERR_CORRUPT:
        return "corrupt data";
    case CL_ERR_CLOSED:
        return "closed";
    case CL_ERR_UNSUPPORTED:
        return "unsupported";
    case CL_ERR_EXISTS:
        return "already exists";
    case CL_ERR_NOT_DURABLE:
        return "committed but not synced";
    }
    return "unknown error";
}

static void *check_alloc(void *p, size_t n)
{
    if (!p && n) {
        fprintf(stderr, "cloudlog: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *cl_malloc(size_t n)
{
    return check_alloc(malloc(n ? n : 1), n ? n : 1);
}

void *cl_calloc(size_t count, size_t size)
{
    return check_alloc(calloc(count ? count : 1, size ? size : 1), 1);
}

void *cl_realloc(void *p, size_t n)
{
    return check_alloc(realloc(p, n ? n : 1), n ? n : 1);
}

char *cl_strdup(const char *s)
{
    return cl_strndup(s, strlen(s));
}

char *cl_strndup(const char *s, size_t n)
{
    char *d = cl_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cl_now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t cl_mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

void cl_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
}

void cl_cond_wait_until_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t due_ms)
{
    struct timespec ts = {(time_t)(due_ms / 1000), (long)(due_ms % 1000) * 1000000};
    pthread_cond_timedwait(cv, mu, &ts);
}
