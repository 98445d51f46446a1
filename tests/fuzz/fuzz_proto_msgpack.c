/* fuzz_proto_msgpack.c - fuzzes the Fluent Bit msgpack decoder
 * (src/protocols/fluent_msgpack.c): the invariants of proto_check.h, and no crash, leak or
 * huge allocation from a declared container size on any body. The corpus starts from
 * Fluent Bit's event shapes as @msgpack/msgpack encodes them. */
#include "proto_check.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_check(cl_fluent_msgpack_decode, data, size);
    return 0;
}
