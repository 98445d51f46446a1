/* fuzz_proto_text.c - fuzzes the text protocol decoders on every input: OTLP JSON,
 * json_stream, Splunk HEC events and raw, Elasticsearch _bulk (and its action listing),
 * Loki push JSON; the invariants of proto_check.h, and no crash or leak. The corpus starts
 * from bodies the real clients sent (tests/clients). */
#include "proto_check.h"

#include <stdint.h>

static void count_action(void *arg, const struct cl_es_action *a)
{
    CHECK(a->name_len > 0);
    ++*(size_t *)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const cl_proto_decode_fn decoders[] = {
        cl_otlp_json_decode, cl_json_stream_decode, cl_hec_event_decode,
        cl_hec_raw_decode,   cl_es_bulk_decode,     cl_loki_json_decode,
    };
    for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++)
        proto_check(decoders[i], data, size);
    size_t actions = 0;
    cl_es_bulk_actions((const char *)data, size, count_action, &actions);
    return 0;
}
