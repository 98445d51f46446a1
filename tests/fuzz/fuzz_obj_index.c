/* fuzz_obj_index.c - the member index of a stored object (object_index.h), which the
 * query and `cloudlog verify` read from objects of any store. Input: an object. No
 * crash; an index accepted lists segments that tile the object after it, each starting
 * with a gzip header, with spans and level counts that add up; checking it against the
 * members (verify's inflate) never crashes either. */
#include "fuzz_check.h"
#include "common.h"
#include "object_index.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cl_obj_seg *g;
    size_t n, off = 0;
    enum cl_obj_index_state st = cl_obj_index_read(data, size, 1, &g, &n, &off);
    if (st != CL_OBJ_INDEX_OK) {
        CHECK(g == NULL && n == 0);
        return 0;
    }
    uint64_t at = off;
    for (size_t i = 0; i < n; i++) {
        CHECK(g[i].gz_off == at && g[i].gz_len >= 18 && data[at] == 0x1f && data[at + 1] == 0x8b);
        CHECK(g[i].raw_len >= g[i].records);
        if (g[i].known) {
            uint64_t sum = 0;
            for (int l = 0; l < CL_LEVEL_COUNT; l++)
                sum += g[i].levels[l];
            CHECK(sum == g[i].records && g[i].min_ts_ms <= g[i].max_ts_ms);
        }
        at += g[i].gz_len;
    }
    CHECK(at == size);
    free(g);
    char err[256];
    (void)cl_obj_index_check(data, size, 1u << 20, err, sizeof err);
    return 0;
}
