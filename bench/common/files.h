/* files.h - reading a whole file, for the benchmarks. */
#ifndef CL_BENCH_FILES_H
#define CL_BENCH_FILES_H

#include <stddef.h>

/* The bytes of path plus a NUL (*len excludes it; caller frees), or NULL if unreadable. */
void *cl_bench_read_file(const char *path, size_t *len);

#endif
