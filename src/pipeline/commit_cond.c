/* commit_cond.c - the conditional-put commit strategy (commit.h): deterministic object
 * ids and puts that refuse to overwrite, for queues without a catalog (SQS, the Lambda).
 *
 * A batch delivered again whole (same messages, any order: the engine takes them in id
 * order and commits partitions in key order) writes the same keys with the same bytes;
 * a store that refuses the overwrite (S3 If-None-Match, CL_ERR_EXISTS) means the records
 * are already there, which counts as stored. */
#include "commit.h"

#include "common.h"
#include "log.h"
#include "store.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void cl_commit_object_id(const char *partition, int64_t min_ts_ms, const char *const *ids, size_t n,
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

static int commit(void *impl, const struct cl_commit_object *o, char *key, size_t key_len,
                  int *published)
{
    struct cl_store *st = impl;
    char id[CL_OBJECT_ID_LEN + 1];
    cl_commit_object_id(o->part->key, o->part->min_ts, o->msg_ids, o->n_msg, id);
    snprintf(key, key_len, "%s/%s.ndjson.gz", o->part->key, id);
    int rc = cl_store_put(st, key, o->gz, o->gz_len);
    if (rc == CL_ERR_EXISTS) {
        cl_log(CL_LOG_INFO, "processor: %s already stored (a retried batch)", key);
        rc = CL_OK;
    }
    *published = rc == CL_OK;
    return rc;
}

static void cond_free(void *impl)
{
    (void)impl; /* the store is borrowed */
}

static const struct cl_commit_ops cond_ops = {
    .name = "conditional",
    .acks_in_commit = 0,
    .commit = commit,
    .free = cond_free,
};

struct cl_commit *cl_commit_conditional_new(struct cl_store *st)
{
    struct cl_commit *out = cl_calloc(1, sizeof *out);
    *out = (struct cl_commit){&cond_ops, st};
    return out;
}
