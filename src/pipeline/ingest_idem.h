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

#define CL_IDEM_KEY_MAX 255 /* as Stripe: longer keys get 400 */

/* Sets resp to status with the body {"error": msg} (ingest.c). */
void cl_ingest_respond_error(struct cl_ingest_response *resp, int status, const char *msg);

/* Checks the key and looks it up. Returns 1 if resp is final (400 bad key, replay, 422,
 * 503), else 0 with *idem ready for the send (idem->key NULL when the queue keeps no
 * keys: the request then goes through unkeyed). */
int cl_idem_begin(const struct cl_ingest_request *req, struct cl_queue *q, struct cl_idem *idem,
                  struct cl_ingest_response *resp);

/* The send found the key taken by a concurrent request: answers from the stored record
 * (replay or 422). */
void cl_idem_answer_existing(struct cl_queue *q, const struct cl_idem *idem,
                             struct cl_ingest_response *resp);

#endif
