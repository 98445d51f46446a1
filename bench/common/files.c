/* files.c - reading a whole file, for the benchmarks. */
#include "files.h"

#include "common.h"

#include <stdio.h>

void *cl_bench_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = cl_malloc(n > 0 ? (size_t)n + 1 : 1);
    *len = n > 0 ? fread(p, 1, (size_t)n, f) : 0;
    p[*len] = '\0';
    fclose(f);
    return p;
}
