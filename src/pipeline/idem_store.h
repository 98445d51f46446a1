/* idem_store.h - Idempotency-Key records in an object store, for a queue that cannot
 * keep them (SQS: the Lambda ingestor). Best effort, not a transaction (docs/ingest.md):
 *
 *   claim   create-only put of "_idempotency/<sha256(key)>.claim" (If-None-Match: *):
 *           exactly one concurrent request with a key wins it;
 *   send    the winner sends its messages to the queue;
 *   finish  create-only put of "..answer": fingerprint, status, time and answer body.
 *           A failed send deletes the claim instead, so the client may retry.
 *
 * A retry finds the answer and replays it. A process that dies between claim and finish
 * leaves a claim without an answer: retries get 409 until the claim is older than
 * CL_IDEM_CLAIM_STALE_MS, then proceed anew — the one case where the records may be
 * queued twice (if the dead process had sent them). The store must refuse to overwrite
 * (S3 with if_none_match=1). */
#ifndef CL_IDEM_STORE_H
#define CL_IDEM_STORE_H

#include "queue.h"
#include "store.h"

#define CL_IDEM_CLAIM_STALE_MS (15 * 60 * 1000) /* Lambda's longest timeout */

/* The stored answer to key, if it is younger than window_ms: CL_OK and *out (answer
 * caller-freed), CL_ERR_NOT_FOUND, or a store error. An older one is deleted. */
int cl_idem_store_get(struct cl_store *st, const char *key, int64_t window_ms, int64_t now_ms,
                      struct cl_idem_answer *out);

/* Claims idem->key: CL_OK, CL_ERR_EXISTS (another request holds it), or a store error.
 * A claim older than CL_IDEM_CLAIM_STALE_MS is taken over. */
int cl_idem_store_claim(struct cl_store *st, const struct cl_idem *idem, int64_t now_ms);

/* Gives the claim up (the send failed). */
void cl_idem_store_unclaim(struct cl_store *st, const char *key);

/* Stores the answer (after a successful send). */
int cl_idem_store_finish(struct cl_store *st, const struct cl_idem *idem, int64_t now_ms);

#endif
