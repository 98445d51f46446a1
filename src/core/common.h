/* common.h - error codes, borrowed slices and allocation policy shared by every layer. */
#ifndef CL_COMMON_H
#define CL_COMMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Every fallible function returns one of these; detail goes to an out-parameter. */
enum cl_err {
    CL_OK = 0,
    CL_ERR_NOMEM,     /* allocation failed (only where callers opt in; see cl_malloc) */
    CL_ERR_INVAL,     /* invalid argument or input */
    CL_ERR_IO,        /* operating-system or storage I/O failure */
    CL_ERR_TOO_LARGE, /* a configured size limit was exceeded */
    CL_ERR_FULL,      /* over capacity: retry later */
    CL_ERR_NOT_FOUND, /* no such item */
    CL_ERR_STALE,     /* receipt handle no longer valid (message re-received or deleted) */
    CL_ERR_CORRUPT,   /* stored data failed an integrity check */
    CL_ERR_CLOSED,    /* the object is shutting down */
    CL_ERR_UNSUPPORTED,
    CL_ERR_EXISTS,     /* a conditional create found the item already there (S3 If-None-Match) */
    CL_ERR_NOT_DURABLE /* committed (readable) but its sync failed: not known to be on disk */
};

/* Returns a static, human-readable description of err. */
const char *cl_strerror(int err);

/* A borrowed byte range: never owns its memory. */
struct cl_slice {
    const char *ptr;
    size_t len;
};

#define CL_SLICE_LIT(s) ((struct cl_slice){(s), sizeof(s) - 1})

/* Out-of-memory policy (decided once for the whole code base): every size that can
 * grow is bounded by a configured limit, so an allocation failure means the machine
 * is broken; cl_malloc and friends print a message and abort() instead of returning
 * NULL. This keeps hot paths free of unreachable error branches. */
void *cl_malloc(size_t n);
void *cl_calloc(size_t count, size_t size);
void *cl_realloc(void *p, size_t n);
char *cl_strdup(const char *s);
char *cl_strndup(const char *s, size_t n);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t cl_now_ms(void);
/* Initializes cv to time its waits by CLOCK_MONOTONIC (cl_cond_wait_until_ms). */
void cl_cond_init_monotonic(pthread_cond_t *cv);
/* Waits on cv (mu held) until signalled or the monotonic time due_ms (cl_mono_ms). */
void cl_cond_wait_until_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t due_ms);

/* Milliseconds from CLOCK_MONOTONIC, for measuring intervals. */
int64_t cl_mono_ms(void);

#define CL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CL_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
