/* queue_sqs_send.c - SendMessageBatch: packing within SQS's limits, per-entry retries. */
#include "common.h"
#include "json_write.h"
#include "log.h"
#include "queue_sqs_int.h"
#include "message.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Per-entry failures SQS reports as its own fault (SenderFault false) are re-sent this
 * many times, with full-jitter backoff from SEND_RETRY_BASE_MS doubling up to the cap. */
#define SEND_RETRY_ROUNDS 5
#define SEND_RETRY_BASE_MS 100
#define SEND_RETRY_CAP_MS 2000

/* One message attribute as text. */
struct wire_attr {
    const char *name;
    const char *type;
    char value[32];
};

/* The attributes of a, in wire form; returns how many (encoding is left out when empty:
 * SQS rejects empty values). */
static size_t wire_attrs(const struct cl_msg_attrs *a, struct wire_attr out[5])
{
    size_t n = 0;
    out[n] = (struct wire_attr){CL_MSG_ATTR_COUNT, "Number", ""};
    snprintf(out[n++].value, sizeof out[0].value, "%" PRIu32, a->record_count);
    out[n] = (struct wire_attr){CL_MSG_ATTR_RAW_BYTES, "Number", ""};
    snprintf(out[n++].value, sizeof out[0].value, "%" PRIu64, a->raw_bytes);
    out[n] = (struct wire_attr){CL_MSG_ATTR_MIN_TS, "Number", ""};
    snprintf(out[n++].value, sizeof out[0].value, "%" PRId64, a->min_ts_ms);
    out[n] = (struct wire_attr){CL_MSG_ATTR_MAX_TS, "Number", ""};
    snprintf(out[n++].value, sizeof out[0].value, "%" PRId64, a->max_ts_ms);
    if (a->encoding[0]) {
        out[n] = (struct wire_attr){CL_MSG_ATTR_ENCODING, "String", ""};
        snprintf(out[n++].value, sizeof out[0].value, "%.15s", a->encoding);
    }
    return n;
}

size_t sqs_entry_size(const struct sqs_entry *e)
{
    struct wire_attr wa[5];
    size_t n = wire_attrs(e->attrs, wa), size = e->body_len;
    for (size_t i = 0; i < n; i++)
        size += strlen(wa[i].name) + strlen(wa[i].type) + strlen(wa[i].value);
    return size;
}

/* Appends one SendMessageBatch entry with Id "<id>". */
static void write_entry(struct cl_buf *b, const struct sqs_entry *e, size_t id)
{
    struct wire_attr wa[5];
    size_t n = wire_attrs(e->attrs, wa);
    cl_buf_printf(b, "{\"Id\":\"%zu\",\"MessageBody\":", id);
    cl_json_write_string(b, e->body, e->body_len);
    cl_buf_append_str(b, ",\"MessageAttributes\":{");
    for (size_t i = 0; i < n; i++)
        cl_buf_printf(b, "%s\"%s\":{\"DataType\":\"%s\",\"StringValue\":\"%s\"}", i ? "," : "",
                      wa[i].name, wa[i].type, wa[i].value);
    cl_buf_append_str(b, "}}");
}

/* State of one send: which entries SQS has accepted so far. */
struct send_state {
    const struct sqs_entry *e;
    struct sqs_send_result r;
};

/* The entry index an answer's "Id" names, or SIZE_MAX when it is not one of ours. */
static size_t entry_index(const char *id)
{
    char *end = NULL;
    unsigned long long i = id && *id >= '0' && *id <= '9' ? strtoull(id, &end, 10) : 0;
    return end && !*end && i < SIZE_MAX ? (size_t)i : SIZE_MAX;
}

static int on_successful(void *arg, const struct cl_json_value *v)
{
    struct sqs_send_result *s = arg;
    char *id = cl_aws_json_member_str(v, "Id");
    size_t i = entry_index(id);
    if (i < s->n)
        s->done[i] = 1;
    free(id);
    return 0;
}

static int on_failed(void *arg, const struct cl_json_value *v)
{
    struct sqs_send_result *s = arg;
    char *id = cl_aws_json_member_str(v, "Id");
    char *code = cl_aws_json_member_str(v, "Code");
    char *msg = cl_aws_json_member_str(v, "Message");
    size_t i = entry_index(id);
    int sender = cl_aws_json_member_true(v, "SenderFault");
    if (i < s->n && !sender)
        s->retry[i] = 1;
    s->sender_fault |= sender;
    cl_log(sender ? CL_LOG_ERROR : CL_LOG_WARN, "queue sqs: SendMessageBatch entry %s: %s: %s%s",
           id ? id : "?", code ? code : "?", msg ? msg : "",
           sender ? " (rejected)" : " (will retry)");
    free(id);
    free(code);
    free(msg);
    return 0;
}

void sqs_parse_send_result(const struct cl_buf *body, struct sqs_send_result *r)
{
    struct cl_json_value root, arr;
    if (cl_aws_json_root(body, &root) != 0)
        return;
    if (cl_aws_json_member(&root, "Successful", &arr))
        cl_aws_json_each(&arr, on_successful, r);
    if (cl_aws_json_member(&root, "Failed", &arr))
        cl_aws_json_each(&arr, on_failed, r);
}

/* Whether SQS refused a request for its size: the batch's total (BatchRequestTooLong,
 * over MaximumMessageSize) or the request as a whole (413). */
static int too_large_answer(const struct cl_aws_json_result *res)
{
    return res->status == 413 || strstr(res->code, "TooLong") || strstr(res->code, "TooLarge") ||
           strstr(res->query_code, "TooLong");
}

/* Sends entries idx[0..k) in one SendMessageBatch call and records the outcome. When SQS
 * answers that the batch is too long (its limit may be below the MaximumMessageSize we
 * read, or have changed), the halves are sent instead, down to single entries; a single
 * entry that is still too long is CL_ERR_TOO_LARGE. Nothing was accepted from a refused
 * request, so resending its entries duplicates nothing. */
static int send_batch(struct sqs_queue *q, const char *url, struct send_state *s, const size_t *idx,
                      size_t k)
{
    struct cl_buf b;
    cl_buf_init(&b, 4 * q->max_msg + 64 * 1024);
    sqs_req_begin(&b, url);
    cl_buf_append_str(&b, ",\"Entries\":[");
    for (size_t j = 0; j < k; j++) {
        if (j)
            cl_buf_append_char(&b, ',');
        write_entry(&b, &s->e[idx[j]], idx[j]);
    }
    cl_buf_append_str(&b, "]}");
    struct cl_aws_json_result res;
    int rc = sqs_call(q, "SendMessageBatch", &b, SQS_BODY_MAX, 0, &res, NULL, 0);
    int split = rc != CL_OK && too_large_answer(&res);
    if (rc == CL_OK)
        sqs_parse_send_result(&res.body, &s->r);
    cl_aws_json_result_free(&res);
    cl_buf_free(&b);
    if (split && k > 1) {
        cl_log(CL_LOG_WARN,
               "queue sqs: %s: SQS refused a batch of %zu as too long; sending %zu + %zu", q->name,
               k, k / 2, k - k / 2);
        rc = send_batch(q, url, s, idx, k / 2);
        if (rc == CL_OK)
            rc = send_batch(q, url, s, idx + k / 2, k - k / 2);
    } else if (split) {
        rc = CL_ERR_TOO_LARGE;
    }
    return rc;
}

/* One pass over the entries not yet accepted: packs them greedily into batches of at most
 * SQS_BATCH_MAX entries and q->max_msg bytes, in order. */
static int send_pass(struct sqs_queue *q, const char *url, struct send_state *s)
{
    size_t idx[SQS_BATCH_MAX], k = 0, bytes = 0;
    int rc = CL_OK;
    memset(s->r.retry, 0, s->r.n);
    for (size_t i = 0; i <= s->r.n && rc == CL_OK; i++) {
        size_t size = i < s->r.n ? sqs_entry_size(&s->e[i]) : 0;
        int flush = k > 0 && (i == s->r.n || k == SQS_BATCH_MAX || bytes + size > q->max_msg);
        if (flush) {
            rc = send_batch(q, url, s, idx, k);
            k = 0;
            bytes = 0;
        }
        if (i < s->r.n && !s->r.done[i]) {
            idx[k++] = i;
            bytes += size;
        }
    }
    return rc;
}

/* Full jitter: a uniform delay in [0, cap) ms (xorshift, seeded per send: thread-safe). */
static int64_t jitter(uint64_t *state, int64_t cap)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return cap > 0 ? (int64_t)(*state % (uint64_t)cap) : 0;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int sqs_send_entries(struct sqs_queue *q, const char *url, const struct sqs_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t size = sqs_entry_size(&e[i]);
        if (size > q->max_msg) {
            cl_log(CL_LOG_ERROR,
                   "queue sqs: %s: message %zu of %zu is %zu bytes as sent (base64 body %zu + "
                   "attributes), over the queue's MaximumMessageSize %zu; nothing sent",
                   q->name, i + 1, n, size, e[i].body_len, q->max_msg);
            return CL_ERR_TOO_LARGE;
        }
    }
    struct send_state s = {e, {n, cl_calloc(n + 1, 1), cl_calloc(n + 1, 1), 0}};
    uint64_t rng = (uint64_t)cl_mono_ms() * 0x9E3779B97F4A7C15ull | 1;
    int rc = CL_OK;
    for (int round = 0; rc == CL_OK; round++) {
        rc = send_pass(q, url, &s);
        size_t left = 0, retry = 0;
        for (size_t i = 0; i < n; i++) {
            left += !s.r.done[i];
            retry += s.r.retry[i];
        }
        if (rc == CL_ERR_TOO_LARGE && left < n) {
            /* Too large for SQS after others were accepted: a caller that split the
             * request again would duplicate those, so this is a plain failure. */
            cl_log(CL_LOG_ERROR, "queue sqs: %s: %zu of %zu messages too large for SQS", q->name,
                   left, n);
            rc = CL_ERR_IO;
        }
        if (rc != CL_OK || left == 0)
            break;
        if (s.r.sender_fault || retry < left || round + 1 >= SEND_RETRY_ROUNDS) {
            cl_log(CL_LOG_ERROR, "queue sqs: %s: %zu of %zu messages not accepted%s", q->name, left,
                   n, s.r.sender_fault ? " (rejected by SQS)" : " after retries");
            rc = s.r.sender_fault ? CL_ERR_INVAL : CL_ERR_FULL;
            break;
        }
        int64_t cap = CL_MIN((int64_t)SEND_RETRY_BASE_MS << round, (int64_t)SEND_RETRY_CAP_MS);
        sleep_ms(jitter(&rng, cap));
    }
    free(s.r.done);
    free(s.r.retry);
    return rc;
}

int sqs_send(void *impl, const struct cl_msg_out *msgs, size_t n)
{
    struct sqs_queue *q = impl;
    struct sqs_entry *e = cl_calloc(n + 1, sizeof *e);
    char **text = cl_calloc(n + 1, sizeof *text);
    int rc = CL_OK;
    for (size_t i = 0; i < n && rc == CL_OK; i++) {
        text[i] = cl_msg_body_to_text(msgs[i].body, msgs[i].len, &e[i].body_len);
        if (!text[i])
            rc = CL_ERR_NOMEM;
        e[i].body = text[i];
        e[i].attrs = &msgs[i].attrs;
    }
    if (rc == CL_OK)
        rc = sqs_send_entries(q, q->url, e, n);
    for (size_t i = 0; i < n; i++)
        free(text[i]);
    free(text);
    free(e);
    return rc;
}
