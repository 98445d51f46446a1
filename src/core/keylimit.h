/* keylimit.h - per-API-key token buckets (records/s, bytes/s) and usage counters.
 *
 * A key's buckets hold at most one second of its rate and start full. A request is
 * admitted while neither bucket is in debt; what it then uses (accepted records, body
 * bytes) is taken afterwards and may put a bucket into debt, so one large request is never
 * refused for its size alone and the long-run rate still holds. The table is keyed by
 * name and outlives key reloads: renaming a key starts it afresh, rotating its secret
 * under the same name keeps its buckets and counters. */
#ifndef CL_KEYLIMIT_H
#define CL_KEYLIMIT_H

#include "apikeys.h"
#include "buf.h"

#include <stdint.h>

struct cl_key_usage;

/* An empty table. Caller frees with cl_key_usage_free. */
struct cl_key_usage *cl_key_usage_new(void);
void cl_key_usage_free(struct cl_key_usage *u);

/* Refills key's buckets to now_ms (monotonic) and decides. Returns 0 if the request may
 * go on, else the seconds until the key's buckets are out of debt (>= 1, the Retry-After
 * of a 429); a refusal is counted. Thread-safe. */
int cl_key_usage_admit(struct cl_key_usage *u, const struct cl_api_key_info *key, int64_t now_ms);

/* Counts an answered ingest request of key (status: its HTTP status) and takes what it
 * used from the key's buckets: accepted records, body bytes. Thread-safe. */
void cl_key_usage_record(struct cl_key_usage *u, const struct cl_api_key_info *key, int status,
                         uint64_t records, uint64_t bytes, int64_t now_ms);

/* Appends the per-key counters in Prometheus text format, label key="NAME" (never the
 * secret): cloudlog_key_requests_total, cloudlog_key_throttled_total,
 * cloudlog_key_records_total, cloudlog_key_bytes_total. Nothing when no key was used. */
void cl_key_usage_render_prom(struct cl_key_usage *u, struct cl_buf *out);

/* Appends one CloudWatch EMF document per key used since the last call (dimension
 * ApiKey = the name; KeyRequests, KeyThrottled, KeyRecords in Count, KeyBytes in Bytes, each
 * the interval's delta) under namespace ns. */
void cl_key_usage_emf(struct cl_key_usage *u, const char *ns, int64_t now_ms, struct cl_buf *out);

/* Calls fn for each key seen, with its counters (for EMF). */
void cl_key_usage_each(struct cl_key_usage *u,
                       void (*fn)(void *arg, const char *name, uint64_t requests,
                                  uint64_t throttled, uint64_t records, uint64_t bytes),
                       void *arg);

#endif
