/* proto_test_util.h - helpers of the protocol decoder tests (test_protocols_*): decoding
 * a body into its records and rejections as text, and checking that a decoder's document
 * path (proto.h) and copy path (proto_record.h) normalize to the same records. */
#ifndef CL_PROTO_TEST_UTIL_H
#define CL_PROTO_TEST_UTIL_H

#include "buf.h"
#include "proto.h"

#include <stddef.h>

/* Records joined by '\n', rejections as "!why\n". */
struct collect {
    struct cl_buf out;
    int records, rejects;
};

/* The options most tests decode with: depth 64, records up to 256 KiB, no path target,
 * 1 MiB decoded. */
extern const struct cl_proto_opts OPTS;

/* A sink that appends to c (as struct collect above); c must be initialized. */
void collect_record(void *arg, const char *json, size_t len);
void collect_reject(void *arg, const char *why);

/* Decodes body with fn and options o into c (initialized here: free it with done). Returns
 * fn's result; err (200 bytes) holds a body error. */
int decode_with(cl_proto_decode_fn fn, const struct cl_proto_opts *o, const void *body, size_t len,
                struct collect *c, char *err);
/* decode_with(fn, &OPTS, ...). */
int decode(cl_proto_decode_fn fn, const void *body, size_t len, struct collect *c, char *err);
void done(struct collect *c);

/* Decodes body through the copy path and the document path (each record normalized as
 * cl_ingest_parse_decoded does, records over max_record rejected) and asserts that both
 * give the same lines and that they contain expect. parts_only: the document path reads
 * its parts again instead of the decoder's members. */
void check_agree_n(cl_proto_decode_fn fn, const void *body, size_t len, size_t max_record,
                   const char *expect, int parts_only);
void check_agree(cl_proto_decode_fn fn, const char *body, size_t max_record, const char *expect,
                 int parts_only);
/* check_agree_n with and without parts_only. */
void check_paths_agree_n(cl_proto_decode_fn fn, const void *body, size_t len, size_t max_record,
                         const char *expect);
void check_paths_agree(cl_proto_decode_fn fn, const char *body, size_t max_record,
                       const char *expect);
/* check_paths_agree with check_agree's signature (the last argument is unused). */
void check_both(cl_proto_decode_fn fn, const char *body, size_t max_record, const char *expect,
                int unused);

#endif
