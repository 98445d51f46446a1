/* ingest_idem.c - Idempotency-Key: fingerprint, lookup, replay (see ingest_idem.h). */
#include "ingest_idem.h"

#include "common.h"
#include "idem_store.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1..CL_IDEM_KEY_MAX printable ASCII characters (space included, as UUIDs and most
 * client libraries' keys are). */
static int key_ok(const char *key)
{
    size_t len = strlen(key);
    if (len == 0 || len > CL_IDEM_KEY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
            return 0;
    return 1;
}

static void digest_field(EVP_MD_CTX *ctx, const char *v, size_t len)
{
    uint64_t n = v ? len : UINT64_MAX; /* absent differs from empty */
    EVP_DigestUpdate(ctx, &n, sizeof n);
    if (v && len)
        EVP_DigestUpdate(ctx, v, len);
}

static void fingerprint(const struct cl_ingest_request *req, unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        abort(); /* the code base's out-of-memory policy (common.h) */
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    const char *ct = req->content_type, *ce = req->content_encoding, *sh = req->service_header;
    digest_field(ctx, ct, ct ? strlen(ct) : 0);
    digest_field(ctx, ce, ce ? strlen(ce) : 0);
    digest_field(ctx, sh, sh ? strlen(sh) : 0);
    digest_field(ctx, req->body, req->body_len);
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
}

/* Answers from a stored record: the first answer, or 422 for a different request. */
static void answer_from(const struct cl_idem_ctx *ctx, const struct cl_idem_answer *a,
                        struct cl_ingest_response *resp)
{
    const struct cl_idem *idem = &ctx->idem;
    if (memcmp(a->fingerprint, idem->fingerprint, sizeof a->fingerprint) != 0) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "Idempotency-Key '%s' was already used with a different request (body or "
                 "headers differ); use a new key for a new request",
                 idem->key);
        cl_ingest_respond_error(ctx->format, resp, 422, msg);
        return;
    }
    resp->status = a->status;
    resp->replayed = 1;
    cl_ingest_answer_type(ctx->format, resp);
    cl_buf_reset(&resp->body);
    cl_buf_append(&resp->body, a->answer, a->answer_len);
}

/* The stored record for the key, from the queue or from the key store. */
static int lookup(const struct cl_ingest_request *req, struct cl_queue *q,
                  const struct cl_idem_ctx *ctx, struct cl_idem_answer *a)
{
    if (ctx->store)
        return cl_idem_store_get(ctx->store, ctx->idem.key, req->idem_window_ms, cl_now_ms(), a);
    return cl_queue_idem_get(q, ctx->idem.key, a);
}

int cl_idem_begin(const struct cl_ingest_request *req, struct cl_queue *q, enum cl_ingest_format f,
                  struct cl_idem_ctx *ctx, struct cl_ingest_response *resp)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->format = f;
    if (!key_ok(req->idempotency_key)) {
        cl_ingest_respond_error(ctx->format, resp, 400,
                                "invalid Idempotency-Key header (1 to 255 printable ASCII "
                                "characters)");
        return 1;
    }
    if (!q->ops->idem_get) {
        if (!req->idem_store)
            return 0; /* nowhere to keep keys (docs/ingest.md): an ordinary request */
        ctx->store = req->idem_store;
    }
    ctx->idem.key = req->idempotency_key;
    fingerprint(req, ctx->idem.fingerprint);
    struct cl_idem_answer a;
    int rc = lookup(req, q, ctx, &a);
    if (rc == CL_ERR_NOT_FOUND)
        return 0;
    if (rc != CL_OK) {
        resp->retry_after_s = 1;
        cl_ingest_respond_error(ctx->format, resp, 503,
                                "cannot read idempotency keys; retry later");
        return 1;
    }
    answer_from(ctx, &a, resp);
    free(a.answer);
    return 1;
}

/* Another request holds the key: its answer if stored by now, else 409. */
static void answer_existing(struct cl_queue *q, const struct cl_idem_ctx *ctx,
                            struct cl_ingest_response *resp)
{
    struct cl_idem_answer a;
    int rc = ctx->store
                 ? cl_idem_store_get(ctx->store, ctx->idem.key, INT64_MAX / 2, cl_now_ms(), &a)
                 : cl_queue_idem_get(q, ctx->idem.key, &a);
    if (rc != CL_OK) {
        resp->retry_after_s = 1;
        cl_ingest_respond_error(ctx->format, resp, 409,
                                "a request with this Idempotency-Key is in progress; retry "
                                "later");
        return;
    }
    answer_from(ctx, &a, resp);
    free(a.answer);
}

/* The key store's protocol: claim, send, then the answer (or give the claim up). */
static int send_claimed(struct cl_queue *q, struct cl_idem_ctx *ctx, const struct cl_msg_out *msgs,
                        size_t n, struct cl_ingest_response *resp)
{
    int rc = cl_idem_store_claim(ctx->store, &ctx->idem, cl_now_ms());
    if (rc == CL_ERR_EXISTS) {
        answer_existing(q, ctx, resp);
        return CL_IDEM_ANSWERED;
    }
    if (rc != CL_OK) {
        resp->retry_after_s = 1;
        cl_ingest_respond_error(ctx->format, resp, 503,
                                "cannot store the Idempotency-Key; nothing was "
                                "accepted, retry later");
        return CL_IDEM_ANSWERED;
    }
    rc = cl_queue_send(q, msgs, n);
    if (rc == CL_OK)
        cl_idem_store_finish(ctx->store, &ctx->idem, cl_now_ms());
    else
        cl_idem_store_unclaim(ctx->store, ctx->idem.key);
    return rc;
}

int cl_idem_send(struct cl_queue *q, struct cl_idem_ctx *ctx, const struct cl_msg_out *msgs,
                 size_t n, struct cl_ingest_response *resp)
{
    if (ctx->store)
        return send_claimed(q, ctx, msgs, n, resp);
    int rc = cl_queue_send_keyed(q, msgs, n, &ctx->idem);
    if (rc != CL_ERR_EXISTS)
        return rc;
    answer_existing(q, ctx, resp); /* a concurrent request with the key won */
    return CL_IDEM_ANSWERED;
}
