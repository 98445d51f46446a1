/* fuzz_check.h - the fuzz targets' invariant check: abort (a finding for libFuzzer, a
 * failed replay under CTest) naming the invariant that failed. */
#ifndef CL_FUZZ_CHECK_H
#define CL_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
