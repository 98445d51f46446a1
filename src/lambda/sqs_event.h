/* sqs_event.h - the SQS -> Lambda event: {"Records":[{messageId, receiptHandle, body,
 * attributes{ApproximateReceiveCount, SentTimestamp, ...}, messageAttributes{name:
 * {stringValue, dataType}}, ...}]}. Bodies stay base64 text here; decoding them is the
 * processor's job (so an undecodable message fails alone). */
#ifndef CL_LAMBDA_SQS_EVENT_H
#define CL_LAMBDA_SQS_EVENT_H

#include "buf.h"
#include "queue.h"

#include <stddef.h>
#include <stdint.h>

/* One record; strings owned (cl_sqs_records_free). */
struct cl_sqs_record {
    char *message_id;
    char *receipt_handle; /* NULL if absent */
    char *body;           /* the body text as SQS holds it */
    size_t body_len;
    uint32_t receive_count; /* attributes.ApproximateReceiveCount, 0 if absent */
    int64_t sent_ms;        /* attributes.SentTimestamp, 0 if absent */
    struct cl_msg_attrs attrs;
    int attrs_invalid; /* a cloudlog message attribute had a bad value */
};

/* Parses the event into *out (an array of *n records; caller frees with
 * cl_sqs_records_free). Returns CL_OK, or CL_ERR_INVAL with err set when the event is
 * not an SQS event or a record lacks its messageId or body. */
int cl_sqs_event_parse(const char *event, size_t len, struct cl_sqs_record **out, size_t *n,
                       char *err, size_t err_len);
void cl_sqs_records_free(struct cl_sqs_record *recs, size_t n);

/* Appends {"batchItemFailures":[{"itemIdentifier":id},...]} for the ids. */
void cl_sqs_batch_response(struct cl_buf *out, const char *const *ids, size_t n);

#endif
