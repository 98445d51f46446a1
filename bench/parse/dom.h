/* dom.h - DOM-library parsers for bench_parse, one translation unit each (their headers clash). */
#ifndef CL_BENCH_DOM_H
#define CL_BENCH_DOM_H

#include <stddef.h>

/* Each parses one record, reads "level" and "message" (adding a byte of each to *sink),
 * writes the record as compact JSON to out and returns its length, or 0 on failure. */
size_t cl_bench_jansson(const char *rec, size_t len, char *out, size_t cap, size_t *sink);
size_t cl_bench_jsonc(const char *rec, size_t len, char *out, size_t cap, size_t *sink);
void cl_bench_jsonc_init(void);
void cl_bench_jsonc_done(void);

#endif
