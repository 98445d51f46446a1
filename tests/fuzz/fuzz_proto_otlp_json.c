/* fuzz_proto_otlp_json.c - fuzzes the OTLP JSON decoder, which validates the body as it
 * walks it (one pass): the invariants of proto_check.h, and its answer to a malformed
 * body is the validating reader's for the whole body (same error, same message), as it
 * was when the body was validated before being walked. Seeds: the OTLP JSON bodies of
 * fuzz_proto_text's corpus (real exporters' requests). */
#include "json_walk.h"
#include "proto_check.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cl_proto_opts o = {16, 4096, "", 1 << 20, NULL};
    struct proto_seen s = {.records = 0};
    struct cl_proto_sink sink = {proto_on_record, proto_on_reject, &s, proto_on_document};
    struct cl_json_value top;
    char err[200] = "", want[200] = "";
    proto_check(cl_otlp_json_decode, data, size);
    cl_buf_init(&s.all, SIZE_MAX / 2);
    int rc = cl_otlp_json_decode((const char *)data, size, &o, &sink, err, sizeof err);
    /* the decoder's body limit for max_depth 16: 8 + 4 * 16 */
    if (cl_jw_body_object((const char *)data, size, 8 + 4 * 16, "OTLP JSON", &top, want,
                          sizeof want) != 0) {
        CHECK(rc == -1);
        CHECK(strcmp(err, want) == 0);
    } else if (rc != 0) {
        CHECK(strcmp(err, "invalid OTLP JSON: resourceLogs is not an array") == 0);
    }
    cl_buf_free(&s.all);
    return 0;
}
