/* fuzz_proto_otlp_pb.c - fuzzes the OTLP protobuf decoder (src/protocols/otlp_pb.c):
 * the invariants of proto_check.h, and no crash, leak or deep recursion on any body. The
 * corpus starts from bodies the real OpenTelemetry JS exporter sent. */
#include "proto_check.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_check(cl_otlp_pb_decode, data, size);
    return 0;
}
