/* queue_sqs.c - the Amazon SQS queue backend: opening, queue attributes, stats, ping.
 *
 * Messages (send, receive, delete, visibility) are in queue_sqs_msgs.c and queue_sqs_send.c,
 * the dead-letter queue in queue_sqs_dlq.c. SQS itself keeps receive counts and moves
 * messages to the DLQ (the queue's RedrivePolicy), so this backend only maps the calls. */
#include "queue_sqs.h"

#include "cloudwatch.h"
#include "common.h"
#include "credentials.h"
#include "json_write.h"
#include "log.h"
#include "queue_sqs_int.h"
#include "url.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqs_call(struct sqs_queue *q, const char *op, const struct cl_buf *req, size_t body_max,
             unsigned flags, struct cl_aws_json_result *res, char *err, size_t err_len)
{
    int rc = cl_aws_json_call(q->sqs, op, req, body_max, flags, res);
    if (rc == CL_OK)
        return CL_OK;
    char why[1024];
    cl_aws_json_describe(res, op, why, sizeof why);
    if (err)
        snprintf(err, err_len, "sqs %s: %s", q->name ? q->name : "", why);
    /* Probes of optional operations are expected to fail; the caller logs the outcome. */
    if (!(flags & CL_AWS_JSON_NO_RETRY))
        cl_log(CL_LOG_WARN, "queue sqs: %s: %s%s", q->name ? q->name : "", why,
               rc == CL_ERR_FULL ? "; retry later" : "");
    return rc;
}

void sqs_req_begin(struct cl_buf *b, const char *url)
{
    cl_buf_append_str(b, "{\"QueueUrl\":");
    cl_json_write_string(b, url, strlen(url));
}

/* GetQueueAttributes of url for the named attributes; *attrs is the Attributes object
 * inside res (the caller frees res). */
static int get_attributes(struct sqs_queue *q, const char *url, const char *const *names, size_t n,
                          struct cl_aws_json_result *res, struct cl_json_value *attrs, char *err,
                          size_t err_len)
{
    struct cl_buf b;
    cl_buf_init(&b, 64 * 1024);
    sqs_req_begin(&b, url);
    cl_buf_append_str(&b, ",\"AttributeNames\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            cl_buf_append_char(&b, ',');
        cl_json_write_string(&b, names[i], strlen(names[i]));
    }
    cl_buf_append_str(&b, "]}");
    int rc = sqs_call(q, "GetQueueAttributes", &b, SQS_BODY_MAX, 0, res, err, err_len);
    cl_buf_free(&b);
    struct cl_json_value root;
    if (rc == CL_OK && (cl_aws_json_root(&res->body, &root) != 0 ||
                        !cl_aws_json_member(&root, "Attributes", attrs)))
        *attrs = (struct cl_json_value){CL_JSON_OBJECT, 0, "{}", 2}; /* none: all absent */
    return rc;
}

/* GetQueueUrl for name (owner account optional); *url is a heap string (caller frees). */
static int get_queue_url(struct sqs_queue *q, const char *name, const char *account, char **url,
                         char *err, size_t err_len)
{
    struct cl_buf b;
    cl_buf_init(&b, 4096);
    cl_buf_append_str(&b, "{\"QueueName\":");
    cl_json_write_string(&b, name, strlen(name));
    if (account && *account) {
        cl_buf_append_str(&b, ",\"QueueOwnerAWSAccountId\":");
        cl_json_write_string(&b, account, strlen(account));
    }
    cl_buf_append_char(&b, '}');
    struct cl_aws_json_result res;
    int rc = sqs_call(q, "GetQueueUrl", &b, SQS_BODY_MAX, 0, &res, err, err_len);
    struct cl_json_value root;
    *url = NULL;
    if (rc == CL_OK && cl_aws_json_root(&res.body, &root) == 0)
        *url = cl_aws_json_member_str(&root, "QueueUrl");
    if (rc == CL_OK && !*url) {
        snprintf(err, err_len, "sqs GetQueueUrl %s: no QueueUrl in the response", name);
        rc = CL_ERR_IO;
    }
    cl_aws_json_result_free(&res);
    cl_buf_free(&b);
    return rc;
}

/* Resolves the DLQ from a RedrivePolicy JSON text: its ARN's name and account. */
static int resolve_dlq(struct sqs_queue *q, const char *policy, char *err, size_t err_len)
{
    size_t n = strlen(policy);
    struct cl_buf pb = {.data = (char *)policy, .len = n, .cap = n, .max = n};
    struct cl_json_value root;
    int64_t mrc = 0;
    if (cl_aws_json_root(&pb, &root) != 0 ||
        !(q->dlq_arn = cl_aws_json_member_str(&root, "deadLetterTargetArn"))) {
        snprintf(err, err_len, "sqs %s: unreadable RedrivePolicy '%.200s'", q->name, policy);
        return CL_ERR_INVAL;
    }
    if (cl_aws_json_member_i64(&root, "maxReceiveCount", &mrc))
        q->max_receive = (int)mrc;
    /* arn:aws:sqs:REGION:ACCOUNT:NAME */
    const char *f[6] = {q->dlq_arn};
    int k = 1;
    for (const char *p = q->dlq_arn; *p && k < 6; p++)
        if (*p == ':')
            f[k++] = p + 1;
    if (k != 6 || !*f[5]) {
        snprintf(err, err_len, "sqs %s: bad deadLetterTargetArn '%s'", q->name, q->dlq_arn);
        return CL_ERR_INVAL;
    }
    char *account = cl_strndup(f[4], (size_t)(f[5] - 1 - f[4]));
    int rc = get_queue_url(q, f[5], account, &q->dlq_url, err, err_len);
    free(account);
    return rc;
}

/* Forgets what load_attributes read (all but max_msg). */
static void free_attributes(struct sqs_queue *q)
{
    free(q->arn);
    free(q->dlq_url);
    free(q->dlq_arn);
    q->arn = q->dlq_url = q->dlq_arn = NULL;
    q->max_receive = 0;
}

/* The queue's MaximumMessageSize from attrs; a size given in the URL rules, with a
 * warning when the queue says otherwise. */
static void take_max_msg(struct sqs_queue *q, const struct cl_json_value *attrs)
{
    int64_t max = 0;
    size_t got = cl_aws_json_member_i64(attrs, "MaximumMessageSize", &max) && max >= 1024
                     ? (size_t)max
                     : 262144; /* the older default, the safe choice if unreadable */
    if (!q->max_msg)
        q->max_msg = got;
    else if (q->max_msg != got)
        cl_log(CL_LOG_WARN,
               "queue sqs: %s: max_message_size=%zu in the queue URL, but the queue's "
               "MaximumMessageSize is %zu",
               q->name, q->max_msg, got);
}

/* Reads QueueArn, MaximumMessageSize and RedrivePolicy. */
static int load_attributes(struct sqs_queue *q, char *err, size_t err_len)
{
    static const char *const names[] = {"QueueArn", "MaximumMessageSize", "RedrivePolicy"};
    struct cl_aws_json_result res;
    struct cl_json_value attrs;
    int rc = get_attributes(q, q->url, names, CL_ARRAY_LEN(names), &res, &attrs, err, err_len);
    if (rc == CL_OK) {
        q->arn = cl_aws_json_member_str(&attrs, "QueueArn");
        take_max_msg(q, &attrs);
        char *policy = cl_aws_json_member_str(&attrs, "RedrivePolicy");
        if (policy && *policy)
            rc = resolve_dlq(q, policy, err, err_len);
        free(policy);
    }
    cl_aws_json_result_free(&res);
    return rc;
}

int sqs_attributes(struct sqs_queue *q)
{
    char err[1024];
    pthread_mutex_lock(&q->attrs_lock);
    int rc = q->attrs_loaded ? CL_OK : load_attributes(q, err, sizeof err);
    if (rc == CL_OK)
        q->attrs_loaded = 1;
    else /* a half-resolved DLQ is read again next time */
        free_attributes(q);
    pthread_mutex_unlock(&q->attrs_lock);
    return rc;
}

/* Sum of the named numeric attributes of the queue at url into *sum. */
static int count_messages(struct sqs_queue *q, const char *url, const char *const *names, size_t n,
                          uint64_t *sum)
{
    struct cl_aws_json_result res;
    struct cl_json_value attrs;
    int rc = get_attributes(q, url, names, n, &res, &attrs, NULL, 0);
    *sum = 0;
    for (size_t i = 0; rc == CL_OK && i < n; i++) {
        int64_t v = 0;
        if (cl_aws_json_member_i64(&attrs, names[i], &v) && v > 0)
            *sum += (uint64_t)v;
    }
    cl_aws_json_result_free(&res);
    return rc;
}

int sqs_depth(struct sqs_queue *q, const char *url, uint64_t *n)
{
    static const char *const all[] = {"ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"};
    return count_messages(q, url, all, CL_ARRAY_LEN(all), n);
}

/* Sent time of the oldest message from CloudWatch's ApproximateAgeOfOldestMessage
 * (0 when there is no recent datapoint: an empty or idle queue). */
static int oldest_from_cloudwatch(struct sqs_queue *q, int64_t *oldest_ms)
{
    struct cl_cw_metric_query mq = {
        "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q->name, "Maximum", 60, 15 * 60};
    double age_s = 0;
    int found = 0;
    char err[1024];
    int rc = cl_cw_latest(q->cw, &mq, &age_s, &found, err, sizeof err);
    if (rc != CL_OK)
        cl_log(CL_LOG_WARN, "queue sqs: %s: %s", q->name, err);
    *oldest_ms = rc == CL_OK && found && age_s > 0 ? cl_now_ms() - (int64_t)(age_s * 1000) : 0;
    return rc;
}

/* Depths from GetQueueAttributes (approximate, as SQS says). bytes, records and redriven
 * are unknown to SQS and stay 0. */
static int sqs_stats(void *impl, struct cl_queue_stats *st)
{
    struct sqs_queue *q = impl;
    static const char *const vis[] = {"ApproximateNumberOfMessages"};
    static const char *const inflight[] = {"ApproximateNumberOfMessagesNotVisible"};
    memset(st, 0, sizeof *st);
    int rc = sqs_attributes(q); /* the DLQ */
    if (rc == CL_OK)
        rc = count_messages(q, q->url, vis, 1, &st->visible);
    if (rc == CL_OK)
        rc = count_messages(q, q->url, inflight, 1, &st->inflight);
    if (rc == CL_OK && q->dlq_url)
        rc = sqs_depth(q, q->dlq_url, &st->dlq_depth);
    if (rc == CL_OK && q->cw)
        rc = oldest_from_cloudwatch(q, &st->oldest_ms);
    return rc;
}

static int sqs_ping(void *impl)
{
    struct sqs_queue *q = impl;
    static const char *const names[] = {"QueueArn"};
    uint64_t unused;
    return count_messages(q, q->url, names, 1, &unused);
}

static void sqs_close(void *impl)
{
    struct sqs_queue *q = impl;
    cl_aws_json_client_free(q->sqs);
    cl_aws_json_client_free(q->cw);
    free(q->url);
    free(q->name);
    free_attributes(q);
    pthread_mutex_destroy(&q->attrs_lock);
    free(q);
}

static const struct cl_queue_ops sqs_ops = {
    .name = "sqs",
    .send = sqs_send,
    .receive = sqs_receive,
    .delete_msgs = sqs_delete,
    .change_visibility = sqs_change_visibility,
    .stats = sqs_stats,
    .dlq_list = sqs_dlq_list,
    .dlq_find = sqs_dlq_find,
    .dlq_redrive = sqs_dlq_redrive,
    .ping = sqs_ping,
    .close = sqs_close,
};

/* What a queue URL names; every string owned (freed with url_free). */
struct sqs_url {
    char *name;      /* queue name */
    char *queue_url; /* full queue URL without options; NULL for sqs://NAME */
    char *host_base; /* scheme://host[:port] of queue_url */
    char *endpoint;  /* ?endpoint= */
    char *region;    /* ?region= */
    char *max_size;  /* ?max_message_size= (checked by max_size_of) */
    int oldest_cw;   /* ?oldest=cloudwatch */
};

static void url_free(struct sqs_url *u)
{
    free(u->name);
    free(u->queue_url);
    free(u->host_base);
    free(u->endpoint);
    free(u->region);
    free(u->max_size);
}

/* The URL options (sqs://NAME?key=value&...): a text value, or (want set) a flag that
 * only that value turns on. */
struct sqs_key {
    const char *name;
    size_t offset;    /* in struct sqs_url: char * (owned), or int for a want key */
    const char *want; /* NULL: any text */
};

static const struct sqs_key sqs_keys[] = {
    {"endpoint", offsetof(struct sqs_url, endpoint), NULL},
    {"region", offsetof(struct sqs_url, region), NULL},
    {"max_message_size", offsetof(struct sqs_url, max_size), NULL},
    {"oldest", offsetof(struct sqs_url, oldest_cw), "cloudwatch"},
};

/* Applies q[0..n) ("key=value"); 0, or -1 for an unknown key or value. */
static int apply_option(const char *q, size_t n, struct sqs_url *u)
{
    size_t kl = CL_MIN(strcspn(q, "="), n);
    const char *v = q + kl + (kl < n);
    size_t vl = n - kl - (kl < n);
    for (size_t i = 0; i < CL_ARRAY_LEN(sqs_keys); i++) {
        const struct sqs_key *k = &sqs_keys[i];
        if (strlen(k->name) != kl || strncmp(q, k->name, kl) != 0)
            continue;
        char *field = (char *)u + k->offset;
        if (!k->want) {
            free(*(char **)field);
            *(char **)field = cl_strndup(v, vl);
            return 0;
        }
        if (strlen(k->want) != vl || strncmp(v, k->want, vl) != 0)
            return -1;
        *(int *)field = 1;
        return 0;
    }
    return -1;
}

/* Parses "k=v&k=v" (values taken literally). */
static int parse_options(const char *q, struct sqs_url *u, char *err, size_t err_len)
{
    while (q && *q) {
        size_t n = strcspn(q, "&");
        if (apply_option(q, n, u) != 0) {
            snprintf(err, err_len, "unknown sqs queue option '%.*s'", (int)n, q);
            return CL_ERR_INVAL;
        }
        q += n + (q[n] == '&');
    }
    return CL_OK;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 80)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

/* Splits sqs://NAME?opts or scheme://host/ACCOUNT/NAME?opts into u. */
static int parse_url(const char *url, struct sqs_url *u, char *err, size_t err_len)
{
    const char *qm = strchr(url, '?');
    size_t len = qm ? (size_t)(qm - url) : strlen(url);
    if (strncmp(url, "sqs://", 6) == 0) {
        u->name = cl_strndup(url + 6, len - 6);
    } else if (!cl_url_is_http(url)) {
        snprintf(err, err_len,
                 "SQS queue URL '%.*s' is not an http(s)://host/ACCOUNT/NAME URL (libcurl "
                 "rejects it, or it has a user:password@ part)",
                 (int)CL_MIN(len, 300), url);
        return CL_ERR_INVAL;
    } else {
        const char *host = strstr(url, "://") + 3;
        const char *path = memchr(host, '/', len - (size_t)(host - url));
        const char *last = path ? memrchr(path, '/', len - (size_t)(path - url)) : NULL;
        if (!path || last == path || last + 1 >= url + len) {
            snprintf(err, err_len, "SQS queue URL '%.*s' is not scheme://host/ACCOUNT/NAME",
                     (int)CL_MIN(len, 300), url);
            return CL_ERR_INVAL;
        }
        u->queue_url = cl_strndup(url, len);
        u->host_base = cl_strndup(url, (size_t)(path - url));
        u->name = cl_strndup(last + 1, (size_t)(url + len - last - 1));
    }
    if (!name_ok(u->name)) {
        snprintf(err, err_len, "invalid SQS queue name '%.100s' in '%.300s'", u->name, url);
        return CL_ERR_INVAL;
    }
    return parse_options(qm ? qm + 1 : NULL, u, err, err_len);
}

/* Region from a host "sqs.REGION.amazonaws.com[...]" in base (scheme://host); heap or NULL. */
static char *region_from_host(const char *base)
{
    const char *h = base ? strstr(base, "://sqs.") : NULL;
    const char *e = h ? strstr(h + 7, ".amazonaws.com") : NULL;
    return e && e > h + 7 ? cl_strndup(h + 7, (size_t)(e - h - 7)) : NULL;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Creates the SQS client (and the CloudWatch one if asked) at the resolved endpoint. */
static int make_clients(struct sqs_queue *q, const struct sqs_url *u, char *err, size_t err_len)
{
    char *region = u->region ? cl_strdup(u->region) : region_from_host(u->host_base);
    if (!region)
        region = cl_aws_region_resolve();
    if (!region) {
        region = cl_strdup("us-east-1");
        cl_log(CL_LOG_INFO, "queue sqs: no region configured, using us-east-1");
    }
    const char *custom = u->endpoint ? u->endpoint : env_nonempty("AWS_ENDPOINT_URL_SQS");
    if (!custom)
        custom = env_nonempty("AWS_ENDPOINT_URL");
    char aws[128];
    snprintf(aws, sizeof aws, "https://sqs.%s.amazonaws.com", region);
    const char *ep = custom ? custom : u->host_base ? u->host_base : aws;
    /* Long polls last up to 20 s: the per-attempt timeout must exceed that. */
    struct cl_http_options opt = {.timeout_ms = 40000};
    q->sqs = cl_aws_json_client_new(ep, region, CL_SQS_SERVICE, CL_SQS_TARGET, &opt, err, err_len);
    if (q->sqs && u->oldest_cw) {
        /* Stand-ins (moto, LocalStack) serve every service on one endpoint. */
        const char *cw = env_nonempty("AWS_ENDPOINT_URL_CLOUDWATCH");
        char cw_aws[128];
        snprintf(cw_aws, sizeof cw_aws, "https://monitoring.%s.amazonaws.com", region);
        /* ... and a queue URL on a host that is not AWS's names such a stand-in. */
        const char *standin =
            u->host_base && !strstr(u->host_base, ".amazonaws.com") ? u->host_base : NULL;
        cw = cw ? cw : custom ? custom : standin ? standin : cw_aws;
        q->cw = cl_aws_json_client_new(cw, region, CL_CLOUDWATCH_SERVICE, CL_CLOUDWATCH_TARGET,
                                       NULL, err, err_len);
    }
    free(region);
    return q->sqs && (q->cw || !u->oldest_cw) ? CL_OK : CL_ERR_NOT_FOUND;
}

/* ?max_message_size=BYTES into *max (0 when absent): SQS's range 1024..1048576. */
static int max_size_of(const struct sqs_url *u, size_t *max, char *err, size_t err_len)
{
    *max = 0;
    if (!u->max_size)
        return CL_OK;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(u->max_size, &end, 10);
    if (errno || end == u->max_size || *end || *u->max_size == '-' || v < SQS_MAX_MSG_MIN ||
        v > SQS_MAX_MSG_MAX) {
        snprintf(err, err_len,
                 "sqs queue option max_message_size=%.40s: expected the queue's "
                 "MaximumMessageSize in bytes, %u to %u",
                 u->max_size, SQS_MAX_MSG_MIN, SQS_MAX_MSG_MAX);
        return CL_ERR_INVAL;
    }
    *max = (size_t)v;
    return CL_OK;
}

int cl_queue_sqs_open(struct cl_queue *q, const char *url, const struct cl_queue_opts *opts,
                      char *err, size_t err_len)
{
    struct sqs_url u;
    memset(&u, 0, sizeof u);
    memset(q, 0, sizeof *q);
    struct sqs_queue *s = cl_calloc(1, sizeof *s);
    pthread_mutex_init(&s->attrs_lock, NULL);
    int rc = parse_url(url, &u, err, err_len);
    if (rc == CL_OK)
        rc = max_size_of(&u, &s->max_msg, err, err_len);
    if (opts && opts->stats_oldest)
        u.oldest_cw = 1;
    if (rc == CL_OK)
        rc = make_clients(s, &u, err, err_len);
    if (rc == CL_OK) {
        s->name = cl_strdup(u.name);
        if (u.queue_url)
            s->url = cl_strdup(u.queue_url);
        else
            rc = get_queue_url(s, u.name, NULL, &s->url, err, err_len);
    }
    /* With the size given, open makes no call (a function's cold start): the DLQ is read
     * when a DLQ operation or stats first needs it (sqs_attributes). */
    if (rc == CL_OK && !s->max_msg)
        rc = load_attributes(s, err, err_len);
    s->attrs_loaded = rc == CL_OK && !u.max_size;
    if (rc == CL_OK) {
        q->ops = &sqs_ops;
        q->impl = s;
        cl_log(CL_LOG_DEBUG, "queue sqs: %s at %s (max message %zu B, DLQ %s)", s->url,
               cl_aws_json_client_endpoint(s->sqs), s->max_msg,
               s->dlq_url        ? s->dlq_url
               : s->attrs_loaded ? "none"
                                 : "read on first use");
    } else {
        sqs_close(s);
    }
    url_free(&u);
    return rc;
}
