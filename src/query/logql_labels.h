/* logql_labels.h - a record's LogQL labels: stream labels, top-level fields, and what
 * `| json` and `| logfmt` extract. Internal to logql_eval.c. */
#ifndef CL_LOGQL_LABELS_H
#define CL_LOGQL_LABELS_H

#include "logql.h"

#include <stddef.h>

struct lq_labels {
    char **names, **values; /* owned; a later entry of the same name wins */
    size_t n, cap;
};

void lq_labels_reset(struct lq_labels *l);
void lq_labels_free(struct lq_labels *l);
/* Adds name=value (copies both; value is len bytes). */
void lq_labels_add(struct lq_labels *l, const char *name, const char *value, size_t len);
/* The latest value of name, or NULL. */
const char *lq_labels_get(const struct lq_labels *l, const char *name);

/* Top-level members of the JSON object line as labels (strings decoded, other scalars
 * as JSON text, null as ""), nested objects flattened with '_' (a.b -> a_b), arrays
 * skipped, as Loki's json parser does. Returns 0, or -1 when line is not an object. */
int lq_extract_json_all(struct lq_labels *l, const char *line, size_t len, int nested);

/* `| json name="a.b"`: the value at each path (missing: not added). */
int lq_extract_json_paths(struct lq_labels *l, const char *line, size_t len,
                          const struct cl_lq_extract *x, size_t n);

/* key=value pairs of a logfmt text (values bare or "quoted" with escapes). */
void lq_extract_logfmt(struct lq_labels *l, const char *text, size_t len);

#endif
