/* queue_sqs_int.h - state and helpers shared by the SQS backend's files. */
#ifndef CL_QUEUE_SQS_INT_H
#define CL_QUEUE_SQS_INT_H

#include "queue.h"
#include "sqs.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Response bound for ReceiveMessage (10 messages of up to 1 MiB as JSON-escaped text). */
#define SQS_RECV_BODY_MAX (24u << 20)
/* Response bound for the other calls. */
#define SQS_BODY_MAX (1u << 20)
/* SQS batch calls take at most this many entries. */
#define SQS_BATCH_MAX 10
/* The range of a queue's MaximumMessageSize attribute. */
#define SQS_MAX_MSG_MIN 1024u
#define SQS_MAX_MSG_MAX 1048576u

struct sqs_queue {
    struct cl_aws_json_client *sqs; /* owned; thread-safe (pooled HTTP clients) */
    struct cl_aws_json_client *cw;  /* owned; NULL unless stats read CloudWatch */
    char *url;                      /* owned: the queue URL */
    char *name;                     /* owned: the queue name (last path segment) */
    size_t max_msg;                 /* MaximumMessageSize: per message and per batch */
    /* Read at open, or (max_message_size= in the URL) by sqs_attributes on first use. */
    pthread_mutex_t attrs_lock;
    int attrs_loaded; /* the fields below are read */
    char *arn;        /* owned: QueueArn */
    char *dlq_url;    /* owned; NULL without a RedrivePolicy */
    char *dlq_arn;    /* owned; NULL without a RedrivePolicy */
    int max_receive;  /* RedrivePolicy maxReceiveCount (0 without DLQ) */
};

/* One message as it goes on the wire: base64 body text (borrowed) and attributes. */
struct sqs_entry {
    const char *body;
    size_t body_len;
    const struct cl_msg_attrs *attrs;
};

/* A received message plus its raw body text (kept for redrive). */
struct sqs_rx {
    struct cl_msg msg;
    char *raw; /* owned: body as SQS returned it */
    size_t raw_len;
};

/* Calls the SQS operation op; on failure logs one line ("queue sqs: ...") and, when err is
 * not NULL, writes the same reason there. The caller frees res. */
int sqs_call(struct sqs_queue *q, const char *op, const struct cl_buf *req, size_t body_max,
             unsigned flags, struct cl_aws_json_result *res, char *err, size_t err_len);

/* ApproximateNumberOfMessages + ...NotVisible of the queue at url into *n. */
int sqs_depth(struct sqs_queue *q, const char *url, uint64_t *n);

/* Reads the queue's attributes (ARN, DLQ) once, if open did not; CL_OK when they are
 * read. Thread-safe. */
int sqs_attributes(struct sqs_queue *q);

/* Appends `{"QueueUrl":"<url>"` (an open object) to b. */
void sqs_req_begin(struct cl_buf *b, const char *url);

/* Size SQS counts for one message: body plus attribute names, types and values. */
size_t sqs_entry_size(const struct sqs_entry *e);
/* Sends entries to the queue at url, packed into SendMessageBatch calls of at most 10
 * entries and q->max_msg bytes; entries SQS failed on its side are re-sent with backoff
 * (bounded). CL_OK only when every entry was accepted; CL_ERR_TOO_LARGE (nothing sent)
 * when one entry alone exceeds q->max_msg. */
/* What SendMessageBatch answered for a send of n entries (Ids are their indexes). */
struct sqs_send_result {
    size_t n;
    unsigned char *done;  /* done[i]: accepted */
    unsigned char *retry; /* retry[i]: failed on SQS's side, send again */
    int sender_fault;     /* an entry was rejected for good */
};
/* Marks r's entries from a SendMessageBatch answer body ({"Successful":[{"Id"}],
 * "Failed":[{"Id","Code","Message","SenderFault"}]}); Ids out of range are ignored. */
void sqs_parse_send_result(const struct cl_buf *body, struct sqs_send_result *r);
int sqs_send_entries(struct sqs_queue *q, const char *url, const struct sqs_entry *e, size_t n);

/* ReceiveMessage on url: up to max (<= 10) messages hidden for visibility_s, waiting up to
 * wait_s. *out is an array of *n (caller frees with sqs_rx_free). */
int sqs_receive_rx(struct sqs_queue *q, const char *url, size_t max, int visibility_s, int wait_s,
                   struct sqs_rx **out, size_t *n);
void sqs_rx_free(struct sqs_rx *rx, size_t n);
/* The messages of a ReceiveMessage answer body into *out (an array of *n, caller frees
 * with sqs_rx_free; none when the body is not a JSON object with "Messages"). */
void sqs_parse_receive(const struct cl_buf *body, struct sqs_rx **out, size_t *n);

/* DeleteMessageBatch on url, 10 per call; results[i] as in cl_queue_ops.delete_msgs. */
int sqs_delete_on(struct sqs_queue *q, const char *url, const char *const *receipts, size_t n,
                  int *results);
/* ChangeMessageVisibility on url. CL_ERR_STALE for an invalid or expired receipt. */
int sqs_visibility_on(struct sqs_queue *q, const char *url, const char *receipt, int visibility_s);

/* vtable entries in queue_sqs_send.c, queue_sqs_msgs.c and queue_sqs_dlq.c */
int sqs_send(void *impl, const struct cl_msg_out *msgs, size_t n);
int sqs_receive(void *impl, size_t max, int visibility_s, int wait_ms, struct cl_msg **out,
                size_t *n);
int sqs_delete(void *impl, const char *const *receipts, size_t n, int *results);
int sqs_change_visibility(void *impl, const char *receipt, int visibility_s, const char *error);
int sqs_dlq_list(void *impl, const char *after, size_t max, int with_bodies, struct cl_msg **out,
                 size_t *n);
int sqs_dlq_find(void *impl, const char *const *ids, size_t n, int with_body,
                 struct cl_msg **found);
int sqs_dlq_redrive(void *impl, const char *const *ids, size_t n, size_t *moved);

#endif
