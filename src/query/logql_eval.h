/* logql_eval.h - running a LogQL log query (selector and pipeline) over stored records.
 *
 * What the engine can do itself is pushed into its cl_query: `service="x"` (no glob
 * characters) into the service filter, level matchers into the level mask (so the
 * catalog's level counts prune objects), the first `|= "x"` into grep and the first
 * `|~ "re"` into regex. The rest runs per matching record here. The log line is the
 * stored JSON record; labels are service and level, the record's top-level fields, and
 * what `| json` / `| logfmt` extract (docs/query.md "LogQL").
 */
#ifndef CL_LOGQL_EVAL_H
#define CL_LOGQL_EVAL_H

#include "logql.h"
#include "partition.h"
#include "query.h"

#include <stddef.h>

struct cl_lq_eval;

/* Prepares log (which must outlive the evaluator) and fills q's services, level_mask,
 * grep and regex (q's other fields are left alone). Returns 0 with *out (free with
 * cl_lq_eval_free), or -1 with err set (a regex that does not compile, an unsupported
 * line_format action). */
int cl_lq_eval_new(const struct cl_lq_log *log, struct cl_query *q, struct cl_lq_eval **out,
                   char *err, size_t err_len);

/* The record's top-level fields are wanted as labels (cl_lq_eval_labels) even when the
 * query itself reads none (an unwrapped field, detected fields, volume by a field). */
void cl_lq_eval_want_fields(struct cl_lq_eval *ev);

/* 1 when records need evaluating one by one (something was not pushed down). */
int cl_lq_eval_needed(const struct cl_lq_eval *ev);

/* Evaluates one record the engine matched: 1 keep (*out, *out_len: the line to show,
 * the record itself or line_format's output, valid until the next call), 0 drop, -1 a
 * regex match error (err set). */
int cl_lq_eval_record(struct cl_lq_eval *ev, const char *line, size_t len,
                      const struct cl_line_head *h, const char **out, size_t *out_len, char *err,
                      size_t err_len);

/* The labels of the record cl_lq_eval_record last kept, in the order they were set (a
 * later entry of the same name wins): [0, *n_stream) are the record's top-level fields
 * (only when something reads them: see cl_lq_eval_want_fields), then service and level; the rest
 * were extracted by the pipeline's parsers. Valid until the next cl_lq_eval_record. */
void cl_lq_eval_labels(const struct cl_lq_eval *ev, const char *const **names,
                       const char *const **values, size_t *n, size_t *n_stream);

void cl_lq_eval_free(struct cl_lq_eval *ev);

#endif
