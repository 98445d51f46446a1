/* fuzz_sqs_json.c - SQS's JSON answers as the SQS queue backend reads them: ReceiveMessage
 * (messages, attributes, base64 bodies) and SendMessageBatch (Successful/Failed entries),
 * plus the error code of a JSON error body. No crash; what is parsed is consistent. */
#include "fuzz_check.h"
#include "common.h"
#include "http.h"
#include "log.h"
#include "queue_sqs_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cl_log_set_level(CL_LOG_ERROR);
    struct cl_buf body;
    cl_buf_init(&body, size + 1);
    cl_buf_append(&body, data, size);

    struct sqs_rx *rx;
    size_t n;
    sqs_parse_receive(&body, &rx, &n);
    CHECK(n == 0 || rx);
    for (size_t i = 0; i < n; i++) {
        CHECK(rx[i].msg.id && rx[i].raw);
        CHECK(rx[i].msg.len == 0 || rx[i].msg.body);
        CHECK(rx[i].msg.len * 4 <= rx[i].raw_len * 3 + 3); /* base64 decodes to less */
    }
    sqs_rx_free(rx, n);

    enum { ENTRIES = 10 };
    unsigned char done[ENTRIES + 1] = {0}, retry[ENTRIES + 1] = {0};
    struct sqs_send_result r = {ENTRIES, done, retry, 0};
    sqs_parse_send_result(&body, &r);
    CHECK(done[ENTRIES] == 0 && retry[ENTRIES] == 0);

    char code[64];
    if (cl_aws_error_code((const char *)data, size, code, sizeof code))
        CHECK(strlen(code) < sizeof code);
    cl_buf_free(&body);
    return 0;
}
