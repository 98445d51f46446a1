/* fuzz_lambda_events.c - the events Lambda hands the functions: API Gateway HTTP API 2.0
 * (cl_apigw_parse) and SQS (cl_sqs_event_parse). The first input byte picks the parser
 * (even: HTTP API, odd: SQS) so one corpus covers both. No crash; results consistent. */
#include "fuzz_check.h"
#include "apigw.h"
#include "common.h"
#include "sqs_event.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_apigw(const char *ev, size_t len)
{
    struct cl_apigw_request req;
    char err[256] = "";
    memset(&req, 0, sizeof req);
    if (cl_apigw_parse(ev, len, &req, err, sizeof err) == CL_OK)
        CHECK(req.method && req.path && (req.body_len == 0 || req.body));
    else
        CHECK(err[0]);
    cl_apigw_request_free(&req);
}

static void fuzz_sqs(const char *ev, size_t len)
{
    struct cl_sqs_record *recs = NULL;
    size_t n = 0;
    char err[256] = "";
    if (cl_sqs_event_parse(ev, len, &recs, &n, err, sizeof err) == CL_OK) {
        for (size_t i = 0; i < n; i++)
            CHECK(recs[i].message_id && recs[i].body);
    } else {
        CHECK(err[0]);
    }
    cl_sqs_records_free(recs, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* A copy of exactly the event's size, so a sanitizer sees any read past it. */
    char *ev = malloc(size - 1 ? size - 1 : 1);
    memcpy(ev, data + 1, size - 1);
    if (data[0] & 1)
        fuzz_sqs(ev, size - 1);
    else
        fuzz_apigw(ev, size - 1);
    free(ev);
    return 0;
}
