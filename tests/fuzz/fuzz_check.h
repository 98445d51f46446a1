/* fuzz_check.h - CHECK(cond): the fuzz targets' invariant check (abort with the
 * condition's text, so libFuzzer keeps the input as a crash). */
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
