/* fuzz_proto_loki_pb.c - fuzzes the Loki protobuf push decoder (src/protocols/loki_pb.c):
 * snappy, protobuf-c and the label-string parser; the invariants of proto_check.h, and no
 * crash, leak or allocation beyond the decompressed-size limit on any body. The corpus
 * starts from a body the real winston-loki transport sent. */
#include "proto_check.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_check(cl_loki_pb_decode, data, size);
    return 0;
}
