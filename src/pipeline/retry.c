/* retry.c - backoff of the retry policy (retry.h). */
#include "retry.h"

#include "common.h"

#include <stdlib.h>

int cl_retry_backoff_s(int64_t base_ms, int64_t max_ms, uint32_t receive_count, unsigned *rng)
{
    int64_t ms = base_ms;
    for (uint32_t i = 1; i < receive_count && ms < max_ms; i++)
        ms *= 2;
    ms = CL_MIN(ms, max_ms);
    /* jitter in [50%, 100%] so the retries of one failed batch spread out */
    ms = ms / 2 + (int64_t)(rand_r(rng) % (unsigned)(ms / 2 + 1));
    return (int)((ms + 999) / 1000);
}
