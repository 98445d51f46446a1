/* cloudwatch.c - GetMetricData for the newest datapoint of one metric. */
#include "cloudwatch.h"

#include "common.h"
#include "json_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CW_BODY_MAX (1024 * 1024)

/* Appends the GetMetricData request: one MetricStat query, newest datapoint first. */
static void cw_request(struct cl_buf *b, const struct cl_cw_metric_query *q, int64_t now_s)
{
    cl_buf_append_str(b, "{\"MetricDataQueries\":[{\"Id\":\"m0\",\"ReturnData\":true,"
                         "\"MetricStat\":{\"Metric\":{\"Namespace\":");
    cl_json_write_string(b, q->namespace_, strlen(q->namespace_));
    cl_buf_append_str(b, ",\"MetricName\":");
    cl_json_write_string(b, q->metric, strlen(q->metric));
    cl_buf_append_str(b, ",\"Dimensions\":[{\"Name\":");
    cl_json_write_string(b, q->dim_name, strlen(q->dim_name));
    cl_buf_append_str(b, ",\"Value\":");
    cl_json_write_string(b, q->dim_value, strlen(q->dim_value));
    cl_buf_printf(b, "}]},\"Period\":%d,\"Stat\":", q->period_s);
    cl_json_write_string(b, q->stat, strlen(q->stat));
    /* JSON 1.0 timestamps are epoch seconds. */
    cl_buf_printf(b,
                  "}}],\"StartTime\":%lld,\"EndTime\":%lld,\"ScanBy\":\"TimestampDescending\","
                  "\"MaxDatapoints\":100}",
                  (long long)(now_s - q->lookback_s), (long long)(now_s + 60));
}

/* The first number of the array value arr (newest with TimestampDescending). */
static int cw_first_value(void *arg, const struct cl_json_value *v)
{
    double *out = arg;
    char tmp[64];
    if (v->type != CL_JSON_NUMBER || v->len >= sizeof tmp)
        return -1;
    memcpy(tmp, v->ptr, v->len);
    tmp[v->len] = '\0';
    *out = strtod(tmp, NULL);
    return 1;
}

static int cw_result(void *arg, const struct cl_json_value *r)
{
    struct cl_json_value values;
    if (!cl_aws_json_member(r, "Values", &values))
        return 0;
    return cl_aws_json_each(&values, cw_first_value, arg);
}

int cl_cw_latest(struct cl_aws_json_client *c, const struct cl_cw_metric_query *q, double *value,
                 int *found, char *err, size_t err_len)
{
    struct cl_buf req;
    cl_buf_init(&req, 64 * 1024);
    cw_request(&req, q, cl_now_ms() / 1000);
    struct cl_aws_json_result res;
    int rc = cl_aws_json_call(c, "GetMetricData", &req, CW_BODY_MAX, 0, &res);
    *found = 0;
    if (rc != CL_OK) {
        cl_aws_json_describe(&res, "cloudwatch GetMetricData", err, err_len);
    } else {
        struct cl_json_value root, results;
        cl_aws_json_root(&res.body, &root);
        if (cl_aws_json_member(&root, "MetricDataResults", &results))
            *found = cl_aws_json_each(&results, cw_result, value) == 1;
    }
    cl_aws_json_result_free(&res);
    cl_buf_free(&req);
    return rc;
}
