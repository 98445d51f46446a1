/* fuzz_msg_index.c - the member index of a queue message (message.h), which the
 * processor reads from bodies that come from the queue or SQS. Input: the attributes
 * (u32 LE record count, u64 raw bytes, i64 min and max timestamp ms) then the body. No
 * crash; an index accepted describes members that tile the body after it, in order, and
 * add up to the attributes; each names a partition cl_line_head_parse could have read. */
#include "fuzz_check.h"
#include "common.h"
#include "message.h"
#include "partition.h"
#include "record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ATTRS_LEN 28

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < ATTRS_LEN)
        return 0;
    struct cl_msg_attrs a = {.record_count = (uint32_t)le(data, 4),
                             .raw_bytes = le(data + 4, 8),
                             .min_ts_ms = (int64_t)le(data + 12, 8),
                             .max_ts_ms = (int64_t)le(data + 20, 8)};
    memcpy(a.encoding, "gzip", 5);
    const uint8_t *body = data + ATTRS_LEN;
    size_t len = size - ATTRS_LEN;
    struct cl_msg_member *mm;
    size_t n = cl_msg_index_read(&a, body, len, &mm);
    if (n == 0) {
        CHECK(mm == NULL);
        return 0;
    }
    uint64_t records = 0, raw = 0;
    size_t at = mm[0].gz_off;
    for (size_t i = 0; i < n; i++) {
        CHECK(mm[i].gz_off == at && mm[i].gz_len > 0 && mm[i].gz_len <= len - at);
        at += mm[i].gz_len;
        CHECK(mm[i].records > 0 && mm[i].min_ts_ms <= mm[i].max_ts_ms);
        CHECK(mm[i].min_ts_ms >= a.min_ts_ms && mm[i].max_ts_ms <= a.max_ts_ms);
        records += mm[i].records;
        raw += mm[i].raw_len;
        struct cl_line_head h;
        cl_msg_member_head(&mm[i], &h);
        CHECK(cl_service_valid(h.service, strlen(h.service)));
        CHECK(strlen(h.dt) == 10 && h.hour >= 0 && h.hour <= 23);
    }
    CHECK(at == len && records == a.record_count && raw == a.raw_bytes);
    free(mm);
    return 0;
}
