/* queue_sqs_msgs.c - ReceiveMessage, DeleteMessageBatch and ChangeMessageVisibility. */
#include "common.h"
#include "json_write.h"
#include "log.h"
#include "queue_sqs_int.h"
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets one error text on m (the first one wins). */
static void set_error(struct cl_msg *m, const char *fmt, const char *detail)
{
    if (m->last_error)
        return;
    char buf[256];
    snprintf(buf, sizeof buf, fmt, detail);
    m->last_error = cl_strdup(buf);
}

static int on_message_attr(void *arg, const struct cl_json_value *key,
                           const struct cl_json_value *val)
{
    struct cl_msg *m = arg;
    char *name = cl_aws_json_strdup(key, NULL);
    size_t vlen = 0;
    struct cl_json_value sv;
    char *value =
        cl_aws_json_member(val, "StringValue", &sv) ? cl_aws_json_strdup(&sv, &vlen) : NULL;
    if (name && value && cl_msg_attr_set(&m->attrs, name, value, vlen) != CL_OK)
        set_error(m, "bad SQS message attribute %s", name);
    free(name);
    free(value);
    return 0;
}

/* Fills rx from one element of ReceiveMessage's Messages. A body that is not base64 is
 * kept with len 0 and a last_error, so the consumer fails it into retry/DLQ as it does a
 * corrupt local message (the processor cannot decode an empty body) rather than losing it. */
static int on_message(void *arg, const struct cl_json_value *v)
{
    struct sqs_rx **slot = arg;
    struct sqs_rx *rx = (*slot)++;
    struct cl_msg *m = &rx->msg;
    int64_t x;
    struct cl_json_value attrs, body;
    m->id = cl_aws_json_member_str(v, "MessageId");
    m->receipt = cl_aws_json_member_str(v, "ReceiptHandle");
    if (!m->id)
        m->id = cl_strdup("");
    if (cl_aws_json_member(v, "Body", &body))
        rx->raw = cl_aws_json_strdup(&body, &rx->raw_len);
    if (!rx->raw)
        rx->raw = cl_strdup("");
    if (cl_aws_json_member(v, "Attributes", &attrs)) {
        if (cl_aws_json_member_i64(&attrs, "ApproximateReceiveCount", &x))
            m->receive_count = (uint32_t)x;
        if (cl_aws_json_member_i64(&attrs, "SentTimestamp", &x))
            m->sent_ms = x;
        if (cl_aws_json_member_i64(&attrs, "ApproximateFirstReceiveTimestamp", &x))
            m->first_receive_ms = x;
    }
    if (cl_msg_body_from_text(rx->raw, rx->raw_len, &m->body, &m->len) != CL_OK) {
        char n[32];
        snprintf(n, sizeof n, "%zu", rx->raw_len);
        set_error(m, "SQS message body is not base64 (%s characters)", n);
        cl_log(CL_LOG_WARN, "queue sqs: message %s: body is not base64 (%zu characters)", m->id,
               rx->raw_len);
    }
    if (cl_aws_json_member(v, "MessageAttributes", &attrs))
        cl_aws_json_each_member(&attrs, on_message_attr, m);
    return 0;
}

static int count_elems(void *arg, const struct cl_json_value *v)
{
    (*(size_t *)arg)++;
    return 0;
}

void sqs_parse_receive(const struct cl_buf *body, struct sqs_rx **out, size_t *n)
{
    struct cl_json_value root, msgs;
    size_t count = 0;
    *out = NULL;
    *n = 0;
    /* "Messages" is absent when nothing arrived. */
    if (cl_aws_json_root(body, &root) == 0 && cl_aws_json_member(&root, "Messages", &msgs))
        cl_aws_json_each(&msgs, count_elems, &count);
    if (count > 0) {
        struct sqs_rx *rx = cl_calloc(count, sizeof *rx), *slot = rx;
        cl_aws_json_each(&msgs, on_message, &slot);
        *out = rx;
        *n = count;
    }
}

int sqs_receive_rx(struct sqs_queue *q, const char *url, size_t max, int visibility_s, int wait_s,
                   struct sqs_rx **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct cl_buf b;
    cl_buf_init(&b, 64 * 1024);
    sqs_req_begin(&b, url);
    cl_buf_printf(&b,
                  ",\"MaxNumberOfMessages\":%zu,\"WaitTimeSeconds\":%d,\"VisibilityTimeout\":%d,"
                  "\"MessageSystemAttributeNames\":[\"ApproximateReceiveCount\","
                  "\"SentTimestamp\",\"ApproximateFirstReceiveTimestamp\"],"
                  "\"MessageAttributeNames\":[\"All\"]}",
                  CL_MAX((size_t)1, CL_MIN(max, (size_t)SQS_BATCH_MAX)),
                  CL_MIN(CL_MAX(wait_s, 0), 20), CL_MIN(CL_MAX(visibility_s, 0), 43200));
    struct cl_aws_json_result res;
    int rc = sqs_call(q, "ReceiveMessage", &b, SQS_RECV_BODY_MAX, 0, &res, NULL, 0);
    if (rc == CL_OK)
        sqs_parse_receive(&res.body, out, n);
    cl_aws_json_result_free(&res);
    cl_buf_free(&b);
    return rc;
}

void sqs_rx_free(struct sqs_rx *rx, size_t n)
{
    if (!rx)
        return;
    for (size_t i = 0; i < n; i++) {
        free(rx[i].msg.id);
        free(rx[i].msg.receipt);
        free(rx[i].msg.body);
        free(rx[i].msg.last_error);
        free(rx[i].raw);
    }
    free(rx);
}

int sqs_receive(void *impl, size_t max, int visibility_s, int wait_ms, struct cl_msg **out,
                size_t *n)
{
    struct sqs_queue *q = impl;
    struct sqs_rx *rx;
    int rc = sqs_receive_rx(q, q->url, max, visibility_s, (wait_ms + 999) / 1000, &rx, n);
    *out = *n ? cl_calloc(*n, sizeof **out) : NULL;
    for (size_t i = 0; i < *n; i++) {
        (*out)[i] = rx[i].msg; /* moves the strings */
        free(rx[i].raw);
    }
    free(rx);
    return rc;
}

/* Per-handle outcome of one DeleteMessageBatch. */
struct delete_state {
    int *results; /* of this chunk */
    size_t n;
};

static int on_delete_failed(void *arg, const struct cl_json_value *v)
{
    struct delete_state *d = arg;
    char *id = cl_aws_json_member_str(v, "Id");
    char *code = cl_aws_json_member_str(v, "Code");
    size_t i = id ? strtoul(id, NULL, 10) : SIZE_MAX;
    int stale = code && strstr(code, "ReceiptHandleIsInvalid");
    if (i < d->n)
        d->results[i] = stale ? CL_ERR_STALE : CL_ERR_IO;
    if (!stale)
        cl_log(CL_LOG_WARN, "queue sqs: DeleteMessageBatch entry %s: %s", id ? id : "?",
               code ? code : "?");
    free(id);
    free(code);
    return 0;
}

/* One DeleteMessageBatch for up to 10 handles. */
static int delete_chunk(struct sqs_queue *q, const char *url, const char *const *receipts, size_t n,
                        int *results)
{
    struct cl_buf b;
    cl_buf_init(&b, 1 << 20);
    sqs_req_begin(&b, url);
    cl_buf_append_str(&b, ",\"Entries\":[");
    for (size_t i = 0; i < n; i++) {
        cl_buf_printf(&b, "%s{\"Id\":\"%zu\",\"ReceiptHandle\":", i ? "," : "", i);
        cl_json_write_string(&b, receipts[i], strlen(receipts[i]));
        cl_buf_append_char(&b, '}');
        results[i] = CL_OK;
    }
    cl_buf_append_str(&b, "]}");
    struct cl_aws_json_result res;
    int rc = sqs_call(q, "DeleteMessageBatch", &b, SQS_BODY_MAX, 0, &res, NULL, 0);
    struct cl_json_value root, failed;
    struct delete_state d = {results, n};
    if (rc == CL_OK && cl_aws_json_root(&res.body, &root) == 0 &&
        cl_aws_json_member(&root, "Failed", &failed))
        cl_aws_json_each(&failed, on_delete_failed, &d);
    cl_aws_json_result_free(&res);
    cl_buf_free(&b);
    return rc;
}

int sqs_delete_on(struct sqs_queue *q, const char *url, const char *const *receipts, size_t n,
                  int *results)
{
    int rc = CL_OK;
    for (size_t i = 0; i < n && rc == CL_OK; i += SQS_BATCH_MAX)
        rc = delete_chunk(q, url, receipts + i, CL_MIN(n - i, (size_t)SQS_BATCH_MAX), results + i);
    return rc;
}

int sqs_delete(void *impl, const char *const *receipts, size_t n, int *results)
{
    struct sqs_queue *q = impl;
    return sqs_delete_on(q, q->url, receipts, n, results);
}

int sqs_visibility_on(struct sqs_queue *q, const char *url, const char *receipt, int visibility_s)
{
    struct cl_buf b;
    cl_buf_init(&b, 64 * 1024);
    sqs_req_begin(&b, url);
    cl_buf_append_str(&b, ",\"ReceiptHandle\":");
    cl_json_write_string(&b, receipt, strlen(receipt));
    cl_buf_printf(&b, ",\"VisibilityTimeout\":%d}", CL_MIN(CL_MAX(visibility_s, 0), 43200));
    struct cl_aws_json_result res;
    int rc = sqs_call(q, "ChangeMessageVisibility", &b, SQS_BODY_MAX, 0, &res, NULL, 0);
    if (rc != CL_OK &&
        (strstr(res.code, "ReceiptHandleIsInvalid") || strstr(res.code, "MessageNotInflight") ||
         strstr(res.query_code, "MessageNotInflight")))
        rc = CL_ERR_STALE;
    cl_aws_json_result_free(&res);
    cl_buf_free(&b);
    return rc;
}

/* SQS has no per-message error field: the error is recorded in this log line only (a DLQ
 * message listed later has last_error NULL). */
int sqs_change_visibility(void *impl, const char *receipt, int visibility_s, const char *error)
{
    struct sqs_queue *q = impl;
    if (error)
        cl_log(CL_LOG_WARN, "queue sqs: %s: message released for %d s: %s", q->name, visibility_s,
               error);
    return sqs_visibility_on(q, q->url, receipt, visibility_s);
}
