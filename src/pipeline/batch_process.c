/* batch_process.c - one batch of messages -> one object per partition, deterministic ids.
 *
 * Steps: sort the messages by id (so a retried batch yields the same bytes, whatever
 * order the queue delivers it in); decode each whole before using any of its records (a
 * corrupt message fails alone); route every line to its partition with the core's
 * cl_line_head_parse / cl_partition_key, as the embedded processor does; then put each
 * partition in key order while the deadline allows. A message is stored when every
 * partition holding its records was put. */
#include "batch_process.h"

#include "analytics.h"

#include "codec.h"
#include "common.h"
#include "log.h"
#include "message.h"
#include "part_map.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cl_bp_opts_default(struct cl_bp_opts *o)
{
    o->compression_level = 1;
    o->max_message_raw = 64u << 20;
    o->deadline_ms = 0;
    o->reserve_ms = 1000;
    o->metrics = NULL;
    o->analytics = NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void cl_bp_object_id(const char *partition, int64_t min_ts_ms, const char *const *ids, size_t n,
                     char *out)
{
    const char **sorted = cl_malloc((n ? n : 1) * sizeof *sorted);
    memcpy(sorted, ids, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_str);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        abort(); /* the code base's out-of-memory policy (common.h) */
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, partition, strlen(partition));
    EVP_DigestUpdate(ctx, "\n", 1);
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp(sorted[i], sorted[i - 1]) == 0)
            continue;
        EVP_DigestUpdate(ctx, sorted[i], strlen(sorted[i]));
        EVP_DigestUpdate(ctx, "\n", 1);
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    EVP_DigestFinal_ex(ctx, d, NULL);
    EVP_MD_CTX_free(ctx);
    free(sorted);
    time_t secs = (time_t)(min_ts_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int len = snprintf(out, CL_OBJECT_ID_LEN + 1, "%04d%02d%02dT%02d%02d%02dZ-", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    for (size_t i = 0; i < 8 && len + 2 <= CL_OBJECT_ID_LEN; i++, len += 2)
        snprintf(out + len, 3, "%02x", d[i]);
}

/* Records of one partition. */
struct group {
    char key[CL_PARTITION_MAX];
    struct cl_buf data; /* NDJSON lines */
    uint64_t records;
    int64_t min_ts;
    size_t *members; /* caller's message indexes with records here, each once */
    size_t n_members, cap_members;
};

struct run {
    const struct cl_bp_message *msgs;
    const struct cl_bp_opts *o;
    const struct cl_std_metrics *m;
    struct cl_bp_result *res;
    uint64_t *lines; /* per message: records routed */
    struct group **groups;
    size_t n_groups, cap_groups;
    struct cl_part_map index; /* key -> struct group *, for O(1) routing */
};

static struct group *group_for(struct run *r, const char *key)
{
    struct group *found = cl_part_map_get(&r->index, key);
    if (found)
        return found;
    struct group *g = cl_calloc(1, sizeof *g);
    snprintf(g->key, sizeof g->key, "%s", key);
    cl_buf_init(&g->data, SIZE_MAX);
    g->min_ts = INT64_MAX;
    if (r->n_groups == r->cap_groups) {
        r->cap_groups = r->cap_groups ? r->cap_groups * 2 : 8;
        r->groups = cl_realloc(r->groups, r->cap_groups * sizeof *r->groups);
    }
    r->groups[r->n_groups++] = g;
    cl_part_map_put(&r->index, g->key, g);
    return g;
}

static void add_member(struct group *g, size_t index)
{
    if (g->n_members && g->members[g->n_members - 1] == index)
        return; /* a message's lines arrive together: the last member is enough */
    if (g->n_members == g->cap_members) {
        g->cap_members = g->cap_members ? g->cap_members * 2 : 8;
        g->members = cl_realloc(g->members, g->cap_members * sizeof *g->members);
    }
    g->members[g->n_members++] = index;
}

static int check_line(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    return 0; /* cl_msg_lines has checked the line: nothing more to do on this pass */
}

/* Decodes msg into raw and checks that every line is a normalized record, before any
 * of them is routed. Returns 0, or -1 with err set. */
static int decode(const struct cl_bp_message *msg, struct cl_buf *raw, char *err, size_t err_len)
{
    if (!msg->body) {
        snprintf(err, err_len, "body is not valid base64");
        return -1;
    }
    if (cl_msg_decode(&msg->attrs, msg->body, msg->len, raw, err, err_len) != 0)
        return -1;
    return cl_msg_lines(raw, check_line, NULL, err, err_len);
}

struct route_ctx {
    struct run *r;
    size_t index;
};

/* cl_msg_lines callback: appends one line to its partition's group. */
static int route_line(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct route_ctx *c = arg;
    char key[CL_PARTITION_MAX];
    cl_partition_key(h, key);
    struct group *g = group_for(c->r, key);
    cl_buf_append(&g->data, line, len);
    cl_buf_append_char(&g->data, '\n');
    g->records++;
    g->min_ts = CL_MIN(g->min_ts, h->ts_ms);
    add_member(g, c->index);
    c->r->lines[c->index]++;
    return 0;
}

/* Appends every line of a decoded (and checked) message to its partition's group. */
static void route(struct run *r, size_t index, const struct cl_buf *raw)
{
    struct route_ctx c = {r, index};
    char err[8];
    cl_msg_lines(raw, route_line, &c, err, sizeof err);
}

static void fail_members(struct run *r, const struct group *g, enum cl_bp_status why)
{
    for (size_t i = 0; i < g->n_members; i++)
        if (r->res->status[g->members[i]] == CL_BP_STORED)
            r->res->status[g->members[i]] = why;
}

/* Compresses and puts one group. Returns CL_OK or the store's error. */
static int write_group(struct run *r, struct cl_store *st, const struct group *g)
{
    const char **ids = cl_malloc(g->n_members * sizeof *ids);
    for (size_t i = 0; i < g->n_members; i++)
        ids[i] = r->msgs[g->members[i]].id;
    char id[CL_OBJECT_ID_LEN + 1], key[CL_PARTITION_MAX + 64];
    cl_bp_object_id(g->key, g->min_ts, ids, g->n_members, id);
    free(ids);
    snprintf(key, sizeof key, "%s/%s.ndjson.gz", g->key, id);
    struct cl_buf gz;
    cl_buf_init(&gz, SIZE_MAX);
    int rc = cl_gzip_compress(g->data.data, g->data.len, r->o->compression_level, &gz);
    if (rc == CL_OK)
        rc = cl_store_put(st, key, gz.data, gz.len);
    /* Patterns and anomalies (issue 17): once per partition object stored for the first
     * time, so a retried batch is not counted again. */
    if (rc == CL_OK)
        cl_analytics_observe(r->o->analytics, g->data.data, g->data.len);
    if (rc == CL_ERR_EXISTS) {
        /* A store with if_none_match=1 refuses to overwrite: the deterministic key already
         * holds this partition's records from an earlier delivery of the same batch. */
        cl_log(CL_LOG_INFO, "batch: %s already stored (a retried batch)", key);
        rc = CL_OK;
    }
    if (rc == CL_OK) {
        struct cl_bp_result *res = r->res;
        res->keys = cl_realloc(res->keys, (res->n_keys + 1) * sizeof *res->keys);
        res->keys[res->n_keys++] = cl_strdup(key);
        res->records_stored += g->records;
        res->bytes_stored += gz.len;
        cl_counter_add(r->m->objects_written, 1);
        cl_counter_add(r->m->stored_bytes, gz.len);
    } else {
        cl_log(CL_LOG_WARN, "batch: cannot store %s (%zu message(s)): %s", key, g->n_members,
               cl_strerror(rc));
    }
    cl_buf_free(&gz);
    return rc;
}

static int cmp_group(const void *a, const void *b)
{
    return strcmp((*(const struct group *const *)a)->key, (*(const struct group *const *)b)->key);
}

static void write_groups(struct run *r, struct cl_store *st)
{
    qsort(r->groups, r->n_groups, sizeof *r->groups, cmp_group);
    for (size_t i = 0; i < r->n_groups; i++) {
        const struct group *g = r->groups[i];
        int64_t left = r->o->deadline_ms ? r->o->deadline_ms - cl_now_ms() : INT64_MAX;
        if (left < r->o->reserve_ms) {
            fail_members(r, g, CL_BP_DEADLINE);
            cl_counter_add_at(r->m->processing_errors, CL_PERR_STORE, 1);
        } else if (write_group(r, st, g) != CL_OK) {
            fail_members(r, g, CL_BP_STORE_FAILED);
            cl_counter_add_at(r->m->processing_errors, CL_PERR_STORE, 1);
        }
    }
}

/* Message indexes ordered by message id. Caller frees. */
static size_t *order_by_id(const struct cl_bp_message *msgs, size_t n)
{
    size_t *order = cl_malloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    /* insertion sort: SQS batches hold at most 10,000 messages, usually 10 */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(msgs[order[j - 1]].id, msgs[order[j]].id) > 0; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    return order;
}

/* Counts the stored messages' records and their end-to-end latency. */
static void count_stored(struct run *r, size_t n)
{
    int64_t now = cl_now_ms();
    for (size_t i = 0; i < n; i++) {
        if (r->res->status[i] != CL_BP_STORED) {
            r->res->failed++;
            continue;
        }
        cl_counter_add(r->m->processed_log_count, r->lines[i]);
        if (r->msgs[i].sent_ms > 0)
            cl_histogram_observe(r->m->end_to_end_latency,
                                 (uint64_t)CL_MAX(now - r->msgs[i].sent_ms, 0) * 1000);
    }
}

int cl_batch_process(struct cl_store *st, const struct cl_bp_message *msgs, size_t n,
                     const struct cl_bp_opts *o, struct cl_bp_result *res)
{
    memset(res, 0, sizeof *res);
    if (!st || (n && !msgs) || !o)
        return CL_ERR_INVAL;
    res->n = n;
    res->status = cl_calloc(n ? n : 1, sizeof *res->status);
    struct run r = {.msgs = msgs, .o = o, .res = res};
    r.m = o->metrics ? o->metrics : &cl_std_metrics_none;
    r.lines = cl_calloc(n ? n : 1, sizeof *r.lines);
    struct cl_buf raw; /* scratch: one decoded message at a time */
    cl_buf_init(&raw, o->max_message_raw);
    size_t *order = order_by_id(msgs, n);
    char err[200];
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        if (decode(&msgs[i], &raw, err, sizeof err) != 0) {
            cl_log(CL_LOG_WARN, "batch: message %s: %s", msgs[i].id, err);
            res->status[i] = CL_BP_UNDECODABLE;
            cl_counter_add_at(r.m->processing_errors, CL_PERR_DECODE, 1);
            continue;
        }
        route(&r, i, &raw); /* copies the lines into the groups */
    }
    cl_buf_free(&raw);
    write_groups(&r, st);
    count_stored(&r, n);
    for (size_t i = 0; i < r.n_groups; i++) {
        cl_buf_free(&r.groups[i]->data);
        free(r.groups[i]->members);
        free(r.groups[i]);
    }
    free(r.groups);
    cl_part_map_free(&r.index);
    free(order);
    free(r.lines);
    return CL_OK;
}

void cl_bp_result_free(struct cl_bp_result *res)
{
    for (size_t i = 0; i < res->n_keys; i++)
        free(res->keys[i]);
    free(res->keys);
    free(res->status);
    memset(res, 0, sizeof *res);
}
