/* idem_store.c - Idempotency-Key records in an object store (see idem_store.h).
 *
 * Object text: "cloudlog-idem 1 <fingerprint hex> <status> <created ms>\n" then, in the
 * answer object, the answer body. */
#include "idem_store.h"

#include "common.h"
#include "log.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBJECT_MAX (4u << 20) /* answers are small JSON documents */

static void hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* "_idempotency/<sha256 hex of key><suffix>" (keys may hold any printable character). */
static void object_key(const char *key, const char *suffix, char *out, size_t len)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(key, strlen(key), d, &n, EVP_sha256(), NULL);
    char h[2 * EVP_MAX_MD_SIZE + 1];
    hex(d, n, h);
    snprintf(out, len, "_idempotency/%s%s", h, suffix);
}

/* Header line + body into *b (caller frees). */
static void format_record(const struct cl_idem *idem, int64_t now_ms, int with_answer,
                          struct cl_buf *b)
{
    char fp[65];
    hex(idem->fingerprint, sizeof idem->fingerprint, fp);
    cl_buf_init(b, OBJECT_MAX);
    cl_buf_printf(b, "cloudlog-idem 1 %s %d %lld\n", fp, idem->status, (long long)now_ms);
    if (with_answer)
        cl_buf_append(b, idem->answer, idem->answer_len);
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* Parses a record; *created gets its time. Returns 0 or -1 if malformed. */
static int parse_record(const struct cl_buf *b, struct cl_idem_answer *out, int64_t *created)
{
    const char *nl = b->data ? memchr(b->data, '\n', b->len) : NULL;
    char fp[65];
    long long t;
    int status;
    if (!nl || sscanf(b->data, "cloudlog-idem 1 %64s %d %lld", fp, &status, &t) != 3 ||
        strlen(fp) != 64 || unhex(fp, out->fingerprint, sizeof out->fingerprint) != 0)
        return -1;
    out->status = status;
    *created = t;
    size_t body = (size_t)(b->data + b->len - (nl + 1));
    out->answer = cl_malloc(body + 1);
    memcpy(out->answer, nl + 1, body);
    out->answer[body] = '\0';
    out->answer_len = body;
    return 0;
}

/* Reads the object of key with suffix: CL_OK with *out and *created, or an error. */
static int read_record(struct cl_store *st, const char *key, const char *suffix,
                       struct cl_idem_answer *out, int64_t *created)
{
    char name[256];
    object_key(key, suffix, name, sizeof name);
    struct cl_buf b;
    cl_buf_init(&b, OBJECT_MAX);
    memset(out, 0, sizeof *out);
    int rc = cl_store_get(st, name, &b);
    if (rc == CL_OK && parse_record(&b, out, created) != 0) {
        cl_log(CL_LOG_WARN, "idempotency: %s is malformed; ignored", name);
        rc = CL_ERR_NOT_FOUND;
    }
    cl_buf_free(&b);
    return rc;
}

static void delete_record(struct cl_store *st, const char *key, const char *suffix)
{
    char name[256];
    object_key(key, suffix, name, sizeof name);
    int rc = cl_store_delete(st, name);
    if (rc != CL_OK && rc != CL_ERR_NOT_FOUND)
        cl_log(CL_LOG_WARN, "idempotency: cannot delete %s: %s", name, cl_strerror(rc));
}

int cl_idem_store_get(struct cl_store *st, const char *key, int64_t window_ms, int64_t now_ms,
                      struct cl_idem_answer *out)
{
    int64_t created = 0;
    int rc = read_record(st, key, ".answer", out, &created);
    if (rc != CL_OK || now_ms - created < window_ms)
        return rc;
    free(out->answer); /* expired: forget it, so the key may be used again */
    memset(out, 0, sizeof *out);
    delete_record(st, key, ".answer");
    delete_record(st, key, ".claim");
    return CL_ERR_NOT_FOUND;
}

static int put_record(struct cl_store *st, const struct cl_idem *idem, const char *suffix,
                      int64_t now_ms)
{
    char name[256];
    object_key(idem->key, suffix, name, sizeof name);
    struct cl_buf b;
    format_record(idem, now_ms, strcmp(suffix, ".answer") == 0, &b);
    int rc = cl_store_put(st, name, b.data, b.len);
    cl_buf_free(&b);
    return rc;
}

int cl_idem_store_claim(struct cl_store *st, const struct cl_idem *idem, int64_t now_ms)
{
    int rc = put_record(st, idem, ".claim", now_ms);
    if (rc != CL_ERR_EXISTS)
        return rc;
    struct cl_idem_answer a;
    int64_t created = now_ms;
    if (read_record(st, idem->key, ".claim", &a, &created) == CL_OK)
        free(a.answer);
    if (now_ms - created < CL_IDEM_CLAIM_STALE_MS)
        return CL_ERR_EXISTS;
    cl_log(CL_LOG_WARN,
           "idempotency: taking over a claim older than %d s without an answer (its holder "
           "died; its records may have been queued already)",
           CL_IDEM_CLAIM_STALE_MS / 1000);
    delete_record(st, idem->key, ".claim");
    return put_record(st, idem, ".claim", now_ms);
}

void cl_idem_store_unclaim(struct cl_store *st, const char *key)
{
    delete_record(st, key, ".claim");
}

int cl_idem_store_finish(struct cl_store *st, const struct cl_idem *idem, int64_t now_ms)
{
    int rc = put_record(st, idem, ".answer", now_ms);
    if (rc != CL_OK)
        cl_log(CL_LOG_ERROR,
               "idempotency: records queued but the answer for the key could not be stored "
               "(%s): a retry gets 409 until the claim is stale",
               cl_strerror(rc));
    return rc;
}
