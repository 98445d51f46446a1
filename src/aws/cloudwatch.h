/* cloudwatch.h - reading one CloudWatch metric (GetMetricData over AWS JSON 1.0). */
#ifndef CL_AWS_CLOUDWATCH_H
#define CL_AWS_CLOUDWATCH_H

#include "sqs.h"

/* One metric statistic over a single dimension. Strings are borrowed. */
struct cl_cw_metric_query {
    const char *namespace_; /* e.g. "AWS/SQS" */
    const char *metric;     /* e.g. "ApproximateAgeOfOldestMessage" */
    const char *dim_name;   /* e.g. "QueueName" */
    const char *dim_value;
    const char *stat; /* "Maximum", "Average", ... */
    int period_s;     /* datapoint period, a multiple of 60 */
    int lookback_s;   /* how far back from now to look for the latest datapoint */
};

/* Fetches the newest datapoint of q with GetMetricData on c (a client made with
 * CL_CLOUDWATCH_TARGET / CL_CLOUDWATCH_SERVICE). Returns CL_OK with *found = 1 and *value
 * set, CL_OK with *found = 0 when the window has no datapoint, or the call's error (err
 * says why: code and message). */
int cl_cw_latest(struct cl_aws_json_client *c, const struct cl_cw_metric_query *q, double *value,
                 int *found, char *err, size_t err_len);

#endif
