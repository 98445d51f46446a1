/* ingest_idem.h - Idempotency-Key handling of the ingest stage (ingest.c only).
 *
 * A request with an Idempotency-Key is fingerprinted (SHA-256 over its Content-Type,
 * Content-Encoding, X-Cloudlog-Service and body as received). If the queue already holds
 * the key (within its window), the first answer is replayed (same status and body, and
 * nothing is added) when the fingerprint matches, and 422 answers a different request
 * under the same key. Otherwise the key, fingerprint and 202 answer are stored in the
 * transaction that queues the request's records (cl_queue_send_keyed). */
#ifndef CL_INGEST_IDEM_H
#define CL_INGEST_IDEM_H

#include "ingest.h"
#include "ingest_format.h"
#include "store.h"

#define CL_IDEM_KEY_MAX 255 /* as Stripe: longer keys get 400 */

/* Sets resp to status with msg in the shape of format f (ingest.c). */
void cl_ingest_respond_error(enum cl_ingest_format f, struct cl_ingest_response *resp, int status,
                             const char *msg);

/* One request's key: idem.key NULL when no key is honoured (none sent, or nowhere to
 * keep it); store non-NULL when the keys live in an object store (idem_store.h) because
 * the queue keeps none. */
struct cl_idem_ctx {
    struct cl_idem idem;
    struct cl_store *store;
    enum cl_ingest_format format; /* the request's: answers (and replays) take its shape */
};

/* Checks the key and looks it up. Returns 1 if resp is final (400 bad key, replay, 422,
 * 503), else 0 with *ctx ready for cl_idem_send. f: the request's format. */
int cl_idem_begin(const struct cl_ingest_request *req, struct cl_queue *q, enum cl_ingest_format f,
                  struct cl_idem_ctx *ctx, struct cl_ingest_response *resp);

#define CL_IDEM_ANSWERED (-1) /* cl_idem_send: resp already holds the final answer */

/* Sends msgs with ctx->idem (status and answer filled by the caller). Returns the
 * queue's result, or CL_IDEM_ANSWERED when another request holds the key (its answer
 * replayed, 422, or 409 while it runs) or the key store failed (503). */
int cl_idem_send(struct cl_queue *q, struct cl_idem_ctx *ctx, const struct cl_msg_out *msgs,
                 size_t n, struct cl_ingest_response *resp);

#endif
