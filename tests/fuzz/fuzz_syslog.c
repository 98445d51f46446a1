/* fuzz_syslog.c - fuzzes the syslog parser, the record writer and the RFC 6587 framer.
 *
 * Invariants: every input parses; its slices lie inside the input; the record written
 * for it is accepted by the normalizer (so no syslog message is ever rejected as bad
 * JSON); the framer, fed the input in small reads, always makes progress, never returns
 * a message longer than its maximum, and consumes exactly the input in LF mode. */
#include "common.h"
#include "fuzz_check.h"
#include "record.h"
#include "syslog.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_MSG 64
#define FUZZ_STEP 7

static void check_inside(struct cl_slice s, const char *data, size_t size)
{
    if (s.ptr)
        CHECK(s.ptr >= data && s.ptr + s.len <= data + size);
}

static void check_message(const char *data, size_t size)
{
    struct cl_syslog_msg m;
    cl_syslog_parse(data, size, 1796644800000LL, &m);
    CHECK(m.facility >= 0 && m.facility < 24 && m.severity >= 0 && m.severity < 8);
    check_inside(m.hostname, data, size);
    check_inside(m.app_name, data, size);
    check_inside(m.procid, data, size);
    check_inside(m.msgid, data, size);
    check_inside(m.sd, data, size);
    check_inside(m.msg, data, size);
    struct cl_buf rec, out;
    cl_buf_init(&rec, SIZE_MAX / 2);
    cl_buf_init(&out, SIZE_MAX / 2);
    CHECK(cl_syslog_record(&m, 1796644800000LL, &rec) == CL_OK);
    /* designated: fields left out (limits the record contract may add) are off */
    struct cl_norm_opts o = {.received_ms = 0,
                             .default_service = CL_SLICE_LIT("default"),
                             .max_record_bytes = rec.len + 1,
                             .max_depth = 8};
    struct cl_record_meta meta;
    char err[256];
    if (cl_record_normalize(rec.data, rec.len - 1, &o, &out, &meta, err, sizeof err) != CL_OK) {
        fprintf(stderr, "record rejected (%s): %.*s\n", err, (int)rec.len, rec.data);
        abort();
    }
    cl_buf_free(&rec);
    cl_buf_free(&out);
}

/* Feeds the input to a framer FUZZ_STEP bytes at a time, as a connection would. */
static void check_framing(const char *data, size_t size)
{
    char buf[FUZZ_MAX_MSG + 32];
    size_t have = 0, pos = 0, total = 0;
    struct cl_syslog_framer f;
    cl_syslog_framer_init(&f, FUZZ_MAX_MSG);
    for (size_t rounds = 0; rounds < 4 * size + 8; rounds++) {
        size_t add = CL_MIN(CL_MIN((size_t)FUZZ_STEP, size - pos), sizeof buf - have);
        memcpy(buf + have, data + pos, add);
        have += add;
        pos += add;
        size_t used, len;
        const char *msg;
        int trunc;
        enum cl_syslog_frame_rc rc = cl_syslog_frame_next(&f, buf, have, &used, &msg, &len, &trunc);
        if (rc == CL_SYSLOG_FRAME_ERROR)
            return;
        CHECK(used <= have);
        if (rc == CL_SYSLOG_FRAME_MSG) {
            CHECK(len <= FUZZ_MAX_MSG && msg >= buf && msg + len <= buf + have);
            check_message(msg, len);
        }
        /* a full buffer always yields progress */
        CHECK(have < sizeof buf || used > 0);
        memmove(buf, buf + used, have - used);
        have -= used;
        total += used;
        if (rc == CL_SYSLOG_FRAME_NEED && pos == size)
            break;
    }
    CHECK(total + have == pos);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_message((const char *)data, size);
    check_framing((const char *)data, size);
    return 0;
}
