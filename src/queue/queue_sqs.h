/* queue_sqs.h - the Amazon SQS queue backend's constructor. */
#ifndef CL_QUEUE_SQS_H
#define CL_QUEUE_SQS_H

#include "queue.h"

/* Opens an SQS queue named by url:
 *   sqs://QUEUE-NAME[?endpoint=URL&region=R&oldest=cloudwatch&max_message_size=BYTES]
 *                                                                   (resolved with GetQueueUrl)
 *   https://sqs.REGION.amazonaws.com/ACCOUNT/NAME[?...]           (a queue URL as CreateQueue
 *   http://127.0.0.1:PORT/ACCOUNT/NAME[?...]                       returns it)
 * Endpoint: ?endpoint=, else AWS_ENDPOINT_URL_SQS, else AWS_ENDPOINT_URL, else the queue
 * URL's own scheme and host (https://sqs.REGION.amazonaws.com for sqs://). Region:
 * ?region=, else the host sqs.REGION.amazonaws.com, else cl_aws_region_resolve(), else
 * us-east-1. oldest=cloudwatch (or opts->stats_oldest) makes stats read the oldest message's age
 * from CloudWatch (one GetMetricData call per stats call; off by default so hot paths never pay
 * it). The queue's MaximumMessageSize and RedrivePolicy (its DLQ) are read once here,
 * unless max_message_size=BYTES (1024..1048576) states the size: then a queue URL opens
 * without a call to SQS (a Lambda's cold start) and the DLQ is read on first use.
 * opts->max_receive_count and the retention options are ignored: SQS's own queue
 * attributes rule. On failure q is zeroed and err says why (AWS code and message). */
int cl_queue_sqs_open(struct cl_queue *q, const char *url, const struct cl_queue_opts *opts,
                      char *err, size_t err_len);

#endif
