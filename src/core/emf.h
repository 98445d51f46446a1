/* emf.h - CloudWatch Embedded Metric Format (EMF) writer over a metrics registry,
 * runtime-agnostic: the daemon's --emf option and the Lambda functions (stdout) use it.
 *
 * Each cl_emf_write prints compact JSON documents, one per line:
 *   - one document with every metric: counters as the delta since the previous write
 *     (labelled counters summed over their series), gauges as their current value,
 *     histograms as an array of at most 100 values (see below), omitted when nothing
 *     was observed in the interval; dimension set = the configured dimensions;
 *   - one document per series of each labelled counter (delta), with the label as an
 *     extra dimension ("status_class" -> "StatusClass": "2xx").
 * Histogram values: EMF accepts a number or an array of at most 100 numbers per metric
 * (no Values/Counts pairs, no statistic sets). With n observations in the interval the
 * writer emits min(n, 100) values placed at evenly spaced quantiles (j + 0.5) / k of
 * the interval's histogram, interpolated within the log-scale buckets, in
 * milliseconds; so CloudWatch percentiles follow the distribution, but its SampleCount
 * is capped at 100 (use IngestRequests or ProcessedLogCount for counts).
 */
#ifndef CL_EMF_H
#define CL_EMF_H

#include "metrics.h"

#include <stdint.h>
#include <stdio.h>

#define CL_EMF_MAX_VALUES 100 /* numeric array members per metric (spec) */
#define CL_EMF_MAX_DIMS 29    /* 30 keys per DimensionSet, one kept for a label */

struct cl_emf_writer;

/* Creates a writer of r's metrics (r borrowed: fully registered, and outliving the
 * writer) for namespace ns (1-1024 chars) and dimensions "k=v,k=v" (NULL or "" for
 * none; at most CL_EMF_MAX_DIMS; keys 1-250 chars, not "_aws", a metric name or a
 * label dimension; values 1-1024 chars). Returns NULL with err set if either is
 * invalid. Caller frees with cl_emf_writer_free. */
struct cl_emf_writer *cl_emf_writer_new(struct cl_metrics *r, const char *ns,
                                        const char *dimensions, char *err, size_t err_len);
void cl_emf_writer_free(struct cl_emf_writer *w);

/* Runs the registry's collectors and writes the documents for the interval since the
 * previous call (since the writer was created, for the first) to f, stamped now_ms,
 * then flushes f. One thread at a time per writer. Returns 0, or -1 if writing failed
 * (the interval's deltas are then lost, not repeated). */
int cl_emf_write(struct cl_emf_writer *w, FILE *f, int64_t now_ms);

/* The EMF dimension name of a label: "status_class" -> "StatusClass" (out: n bytes). */
void cl_emf_label_dimension(const char *label, char *out, size_t n);

/* The EMF unit of a metric ("Count", "Bytes", "Seconds", "Milliseconds"). */
const char *cl_emf_unit(const struct cl_metric *m);

#endif
