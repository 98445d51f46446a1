/* gen.h - deterministic synthetic NDJSON log records shared by the benchmarks. */
#ifndef CL_BENCH_GEN_H
#define CL_BENCH_GEN_H

#include "buf.h"

#include <stdint.h>

/* A record looks like (one line, ~250 bytes with the newline):
 *   {"timestamp":"2026-11-25T15:04:05.123Z","level":"info","service":"checkout",
 *    "host":"ip-10-0-12-34.ec2.internal","trace_id":"<32 hex>","message":"<5-14 words>",
 *    "duration_ms":123.45,"status":200}
 * Levels: 70% info, 15% debug, 12% warn, 3% error; one of 20 services. The same seed and
 * now_ms always give the same bytes. */
struct cl_gen {
    uint64_t state;        /* splitmix64 state */
    unsigned quote_one_in; /* 0: plain words; N: about one message word in N is \"quoted\" */
    /* 0: the message is 5-14 random words (almost every message a pattern of its own, the
     * worst case for pattern mining); 1: one of 48 application-log templates with variable
     * fields (numbers, IPs, hex ids, users, paths, durations), as real services log. */
    unsigned templated;
};

void cl_gen_init(struct cl_gen *g, uint64_t seed);
uint64_t cl_gen_next(struct cl_gen *g);
/* Uniform in [0, n). */
uint32_t cl_gen_below(struct cl_gen *g, uint32_t n);
/* Appends one record stamped within the minute before now_ms (ms since the epoch).
 * Returns CL_OK, or CL_ERR_TOO_LARGE with b unchanged when b's limit would be exceeded. */
int cl_gen_record(struct cl_gen *g, struct cl_buf *b, int64_t now_ms);

/* Returns the normalized NDJSON (cl_record_normalize) of n records of g, the i-th stamped
 * within the minute before now_ms + i * step_ms (owned by the caller: cl_buf_free); exits
 * on an error. For the analytics benchmarks, which take what the processor hands over. */
struct cl_buf cl_gen_normalized(struct cl_gen *g, long n, int64_t now_ms, int64_t step_ms);

#endif
