/* queue_sqs_dlq.c - listing (peeking) and redriving the SQS dead-letter queue. */
#include "common.h"
#include "json_write.h"
#include "log.h"
#include "queue_sqs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Peek rounds beyond what max needs: SQS returns a sample of the queue per receive, so a
 * few more rounds find messages earlier rounds missed. */
#define PEEK_EXTRA_ROUNDS 3
/* Redrive: how long received DLQ messages stay hidden while being moved, the bound on
 * receive rounds, and the long poll that tells an empty DLQ from a sampled-empty one. */
#define REDRIVE_HIDE_S 60
#define REDRIVE_MAX_ROUNDS 100000
#define REDRIVE_WAIT_S 1

static int msg_seen(const struct cl_msg *list, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].id, id) == 0)
            return 1;
    return 0;
}

static int by_sent_then_id(const void *a, const void *b)
{
    const struct cl_msg *x = a, *y = b;
    if (x->sent_ms != y->sent_ms)
        return x->sent_ms < y->sent_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Adds the messages of rx not yet in list (taking their strings); frees rx. */
static size_t merge_new(struct cl_msg **list, size_t *n, size_t *cap, struct sqs_rx *rx, size_t k,
                        int with_bodies)
{
    size_t added = 0;
    for (size_t i = 0; i < k; i++) {
        struct cl_msg *m = &rx[i].msg;
        if (msg_seen(*list, *n, m->id))
            continue;
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            *list = cl_realloc(*list, *cap * sizeof **list);
        }
        free(m->receipt);
        m->receipt = NULL; /* listed messages have no receipt (queue.h) */
        if (!with_bodies) {
            free(m->body);
            m->body = NULL;
        }
        (*list)[(*n)++] = *m;
        memset(m, 0, sizeof *m);
        added++;
    }
    sqs_rx_free(rx, k);
    return added;
}

/* Peeks the DLQ with VisibilityTimeout 0 (messages stay visible, but each peek counts as a
 * receive of the DLQ message), sorts oldest first and returns those after `after`. SQS
 * cannot list a queue: this sees the sample the receives return (all of a small DLQ; a
 * large one may need several calls). */
int sqs_dlq_list(void *impl, const char *after, size_t max, int with_bodies, struct cl_msg **out,
                 size_t *n)
{
    struct sqs_queue *q = impl;
    struct cl_msg *list = NULL;
    size_t cnt = 0, cap = 0;
    int rc = CL_OK;
    *out = NULL;
    *n = 0;
    if ((rc = sqs_attributes(q)) != CL_OK || !q->dlq_url || max == 0)
        return rc;
    size_t rounds = max / SQS_BATCH_MAX + 1 + PEEK_EXTRA_ROUNDS;
    for (size_t r = 0; r < rounds && rc == CL_OK; r++) {
        struct sqs_rx *rx;
        size_t k;
        rc = sqs_receive_rx(q, q->dlq_url, SQS_BATCH_MAX, 0, 0, &rx, &k);
        if (rc == CL_OK && merge_new(&list, &cnt, &cap, rx, k, with_bodies) == 0)
            break;
    }
    if (rc != CL_OK || cnt == 0) { /* an empty DLQ: qsort/memcpy must not see NULL */
        cl_msgs_free(list, cnt);
        return rc;
    }
    qsort(list, cnt, sizeof *list, by_sent_then_id);
    size_t start = 0;
    for (size_t i = 0; after && i < cnt; i++)
        if (strcmp(list[i].id, after) == 0)
            start = i + 1;
    size_t take = CL_MIN(cnt - start, max);
    *out = take ? cl_calloc(take, sizeof **out) : NULL;
    if (take) {
        memcpy(*out, list + start, take * sizeof *list);
        memset(list + start, 0, take * sizeof *list);
    }
    cl_msgs_free(list, cnt);
    *n = take;
    return CL_OK;
}

/* StartMessageMoveTask from the DLQ back to the main queue (SQS moves them in the
 * background). Returns CL_ERR_UNSUPPORTED where the service lacks it (moto). */
static int start_move_task(struct sqs_queue *q, size_t *moved)
{
    struct cl_buf b;
    cl_buf_init(&b, 4096);
    cl_buf_append_str(&b, "{\"SourceArn\":");
    cl_json_write_string(&b, q->dlq_arn, strlen(q->dlq_arn));
    if (q->arn) {
        cl_buf_append_str(&b, ",\"DestinationArn\":");
        cl_json_write_string(&b, q->arn, strlen(q->arn));
    }
    cl_buf_append_char(&b, '}');
    struct cl_aws_json_result res;
    char err[1024];
    int rc = sqs_call(q, "StartMessageMoveTask", &b, SQS_BODY_MAX, CL_AWS_JSON_NO_RETRY, &res, err,
                      sizeof err);
    if (rc == CL_OK) {
        /* The task runs asynchronously: report how many it has to move. */
        uint64_t depth = 0;
        sqs_depth(q, q->dlq_url, &depth);
        *moved = (size_t)depth;
        cl_log(CL_LOG_INFO, "queue sqs: %s: StartMessageMoveTask started (about %zu messages)",
               q->name, *moved);
    } else {
        cl_log(CL_LOG_INFO, "queue %s (falling back to receive, send, delete)", err);
    }
    cl_aws_json_result_free(&res);
    cl_buf_free(&b);
    return rc;
}

/* State of a receive-send-delete redrive. */
struct redrive {
    struct sqs_queue *q;
    const char *const *ids; /* filter; n_ids == 0 moves everything */
    size_t n_ids;
    unsigned char *found; /* found[i]: ids[i] was moved */
    char **kept;          /* owned receipts of DLQ messages not asked for, released at the end */
    size_t n_kept, cap_kept;
    size_t moved;
};

/* 1 if the message is to be moved (marking it found). */
static int wanted(struct redrive *r, const char *id)
{
    if (r->n_ids == 0)
        return 1;
    for (size_t i = 0; i < r->n_ids; i++)
        if (strcmp(r->ids[i], id) == 0)
            return r->found[i] = 1;
    return 0;
}

static int all_found(const struct redrive *r)
{
    for (size_t i = 0; i < r->n_ids; i++)
        if (!r->found[i])
            return 0;
    return r->n_ids > 0;
}

static void keep(struct redrive *r, char *receipt)
{
    if (r->n_kept == r->cap_kept) {
        r->cap_kept = r->cap_kept ? 2 * r->cap_kept : 16;
        r->kept = cl_realloc(r->kept, r->cap_kept * sizeof *r->kept);
    }
    r->kept[r->n_kept++] = receipt;
}

/* Moves the wanted messages of one receive: sends them (raw body text and attributes, so
 * even an undecodable body goes back as it was) to the main queue, and deletes them from
 * the DLQ only once SQS accepted them all (at-least-once: a failure leaves them in the DLQ). */
static int move_received(struct redrive *r, struct sqs_rx *rx, size_t k)
{
    struct sqs_entry e[SQS_BATCH_MAX];
    const char *receipts[SQS_BATCH_MAX];
    int results[SQS_BATCH_MAX];
    size_t m = 0;
    for (size_t i = 0; i < k && i < SQS_BATCH_MAX; i++) {
        if (!wanted(r, rx[i].msg.id)) {
            keep(r, rx[i].msg.receipt);
            rx[i].msg.receipt = NULL;
            continue;
        }
        e[m] = (struct sqs_entry){rx[i].raw, rx[i].raw_len, &rx[i].msg.attrs};
        receipts[m++] = rx[i].msg.receipt;
    }
    if (m == 0)
        return CL_OK;
    int rc = sqs_send_entries(r->q, r->q->url, e, m);
    if (rc != CL_OK) {
        for (size_t i = 0; i < m; i++) /* back to visible in the DLQ, for another try */
            sqs_visibility_on(r->q, r->q->dlq_url, receipts[i], 0);
        return rc;
    }
    rc = sqs_delete_on(r->q, r->q->dlq_url, receipts, m, results);
    for (size_t i = 0; rc == CL_OK && i < m; i++) {
        if (results[i] == CL_OK)
            r->moved++;
        else /* it will show up in the DLQ again: a duplicate, never a loss */
            cl_log(CL_LOG_WARN,
                   "queue sqs: %s: redriven message could not be deleted from the "
                   "DLQ (%s); it will be redriven again",
                   r->q->name, cl_strerror(results[i]));
    }
    return rc;
}

static int redrive_by_receiving(struct sqs_queue *q, const char *const *ids, size_t n,
                                size_t *moved)
{
    struct redrive r = {q, ids, n, cl_calloc(n + 1, 1), NULL, 0, 0, 0};
    int rc = CL_OK;
    for (int round = 0; round < REDRIVE_MAX_ROUNDS && rc == CL_OK && !all_found(&r); round++) {
        struct sqs_rx *rx;
        size_t k;
        rc = sqs_receive_rx(q, q->dlq_url, SQS_BATCH_MAX, REDRIVE_HIDE_S, REDRIVE_WAIT_S, &rx, &k);
        if (rc == CL_OK && k == 0)
            break;
        if (rc == CL_OK)
            rc = move_received(&r, rx, k);
        sqs_rx_free(rx, k);
    }
    for (size_t i = 0; i < r.n_kept; i++) {
        sqs_visibility_on(q, q->dlq_url, r.kept[i], 0);
        free(r.kept[i]);
    }
    free(r.kept);
    free(r.found);
    *moved = r.moved;
    return rc;
}

/* Moves DLQ messages back: everything with StartMessageMoveTask where SQS offers it, else
 * (and for a list of ids) by receive, send to the main queue, delete from the DLQ. */
int sqs_dlq_redrive(void *impl, const char *const *ids, size_t n, size_t *moved)
{
    struct sqs_queue *q = impl;
    *moved = 0;
    int rc = sqs_attributes(q);
    if (rc != CL_OK)
        return rc;
    if (!q->dlq_url) {
        cl_log(CL_LOG_INFO, "queue sqs: %s has no RedrivePolicy, so no DLQ to redrive", q->name);
        return CL_OK;
    }
    if (n == 0 && start_move_task(q, moved) == CL_OK)
        return CL_OK;
    return redrive_by_receiving(q, ids, n, moved);
}

/* SQS cannot fetch a message by id: look for ids among what peeks of the DLQ return, in
 * at most this many listings of up to the given sizes (bodies make a listing heavier, so
 * fewer at a time). */
#define FIND_ROUNDS 3
#define FIND_BATCH_BODIES 100
#define FIND_BATCH 1000
#define FIND_ID_MAX 128 /* SQS message ids are 36-character UUIDs; this is a sanity bound */

/* Moves message m out of a listing into *found (a one-element array the caller frees
 * with cl_msgs_free), leaving an emptied slot behind. */
static void take_msg(struct cl_msg *m, struct cl_msg **found)
{
    *found = cl_calloc(1, sizeof **found);
    **found = *m;
    memset(m, 0, sizeof *m);
}

/* Takes the messages of list[0..k) that ids[] names and found[] still lacks; returns how
 * many it took. */
static size_t take_found(struct cl_msg *list, size_t k, const char *const *ids, size_t n,
                         struct cl_msg **found)
{
    size_t took = 0;
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < n; i++)
            if (!found[i] && list[j].id && strcmp(list[j].id, ids[i]) == 0) {
                take_msg(&list[j], &found[i]);
                took++;
            }
    return took;
}

int sqs_dlq_find(void *impl, const char *const *ids, size_t n, int with_body, struct cl_msg **found)
{
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        found[i] = NULL;
        missing += *ids[i] && strlen(ids[i]) <= FIND_ID_MAX;
    }
    size_t batch = with_body ? FIND_BATCH_BODIES : FIND_BATCH;
    for (int round = 0; round < FIND_ROUNDS && missing > 0; round++) {
        struct cl_msg *list = NULL;
        size_t k = 0;
        int rc = sqs_dlq_list(impl, NULL, batch, with_body, &list, &k);
        if (rc != CL_OK)
            return rc;
        size_t took = take_found(list, k, ids, n, found);
        missing -= CL_MIN(took, missing);
        cl_msgs_free(list, k);
        if (k == 0)
            break; /* an empty DLQ: more peeks will not change that */
    }
    return CL_OK;
}
