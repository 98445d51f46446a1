/* retry.h - the one retry policy of the processing engine (docs/pipeline.md, "Failures,
 * retries and the dead-letter queue").
 *
 * - A message that can never be decoded is poison: dead-lettered at once where the
 *   queue can, else released with the backoff below (the queue's redrive moves it).
 * - A commit that fails is the store's (or catalog's) failure, not the messages': the
 *   circuit breaker opens (breaker.h). Under the exactly-once strategy every held message
 *   goes back uncounted (its records leave every buffer), unless the breaker was on trial
 *   (a probe passed, this batch still failed): then they count, with the backoff. Under
 *   conditional puts the failed partition's messages are released with the backoff
 *   and the other partitions are still written.
 * - Backoff for a message received n times: min(max, base * 2^(n-1)) times a jitter in
 *   [0.5, 1], rounded up to whole seconds (the queue's visibility unit).
 */
#ifndef CL_RETRY_H
#define CL_RETRY_H

#include <stdint.h>

int cl_retry_backoff_s(int64_t base_ms, int64_t max_ms, uint32_t receive_count, unsigned *rng);

#endif
