/* sqs_msg.h - how one queue message (a compressed batch + its attributes) travels in SQS.
 *
 * The body is the contract's compressed batch, base64-encoded (SQS bodies must be text);
 * the attributes of struct cl_msg_attrs travel as SQS message attributes named below.
 * Shared by the SQS queue backend and the Lambda handlers (which get the same messages
 * from an SQS event). */
#ifndef CL_AWS_SQS_MSG_H
#define CL_AWS_SQS_MSG_H

#include <stddef.h>

struct cl_msg_attrs; /* queue.h */

/* Message attribute names (SQS message attributes, DataType Number except encoding). */
#define CL_SQS_ATTR_COUNT "count"         /* record_count */
#define CL_SQS_ATTR_RAW_BYTES "raw_bytes" /* uncompressed bytes */
#define CL_SQS_ATTR_MIN_TS "min_ts_ms"
#define CL_SQS_ATTR_MAX_TS "max_ts_ms"
#define CL_SQS_ATTR_ENCODING "encoding" /* String, e.g. "gzip" */

/* base64 (standard alphabet, padded) of body, NUL-terminated heap string (caller frees);
 * *out_len its length. NULL on OOM. */
char *cl_sqs_body_encode(const void *body, size_t len, size_t *out_len);

/* Decodes base64 text into a heap buffer (caller frees). CL_ERR_INVAL on bad base64. */
int cl_sqs_body_decode(const char *text, size_t len, void **out, size_t *out_len);

/* Sets the field of attrs named by one SQS message attribute (name, value text as SQS
 * gives StringValue); unknown names are ignored (CL_OK); CL_ERR_INVAL for a bad number. */
int cl_sqs_attr_set(struct cl_msg_attrs *a, const char *name, const char *value, size_t value_len);

/* Length of the base64 text of a body of len bytes (what SQS counts toward its size). */
size_t cl_sqs_body_encoded_len(size_t len);

#endif
