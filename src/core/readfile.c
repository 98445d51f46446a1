/* readfile.c - reading a whole file under a size limit. */
#include "readfile.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The first allocation: most files read this way are small; larger ones double up to max. */
#define FIRST_CHUNK ((size_t)64 << 10)

/* Reads f to its end or past max into a heap buffer (caller frees); *n is the count read,
 * max + 1 when the file is larger. Returns the buffer, with room for a NUL after *n. */
static char *read_upto(FILE *f, size_t max, size_t *n)
{
    /* One byte past max tells a file of exactly max bytes from a larger one. */
    size_t want = max + 1, cap = CL_MIN(want, FIRST_CHUNK);
    char *buf = cl_malloc(cap + 1);
    size_t got;
    *n = 0;
    while ((got = fread(buf + *n, 1, cap - *n, f)) > 0) {
        *n += got;
        if (*n == want)
            break;
        if (*n == cap) {
            cap = CL_MIN(cap * 2, want);
            buf = cl_realloc(buf, cap + 1);
        }
    }
    return buf;
}

int cl_read_file(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? CL_ERR_NOT_FOUND : CL_ERR_IO;
    size_t n;
    char *buf = read_upto(f, max, &n);
    int failed = ferror(f), saved_errno = errno;
    fclose(f);
    if (failed || n > max) {
        free(buf);
        errno = saved_errno;
        return failed ? CL_ERR_IO : CL_ERR_TOO_LARGE;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CL_OK;
}
