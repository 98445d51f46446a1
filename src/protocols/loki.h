/* loki.h - the Loki entry mapping shared by the JSON (loki_json.c) and protobuf (loki_pb.c)
 * push decoders: an entry is written from its labels, time, line and structured metadata,
 * each given as JSON values (the protobuf decoder renders its labels and metadata as JSON
 * objects first, so both encodings map alike). */
#ifndef CL_LOKI_H
#define CL_LOKI_H

#include "cl_limits.h"
#include "json.h"
#include "json_walk.h"
#include "proto.h"
#include "proto_record.h"

#include <stdint.h>

struct cl_loki {
    const struct cl_proto_sink *sink;
    int depth;
    int norm_depth; /* the normalizer's max_depth, which a line's members are checked at */
    struct cl_buf out;
    struct cl_proto_rec rec;
    struct cl_buf line; /* an entry's line unescaped, reused */
    /* What the last labels named (a stream's entries share them): compared by bytes. */
    struct cl_buf labels;
    const char *level;
    char service[65];
    size_t service_len;
    /* The last labels as records hold them (a level label naming none left out, loki.c),
     * and as a value (into labels_part). */
    struct cl_buf labels_part;
    struct cl_json_value labels_value;
    /* The last labels' members (into labels.data); plain: no value is a container, so
     * they are within any depth the normalizer reads at. */
    struct cl_jw_pairs label_mem;
    int labels_plain;
    struct cl_jw_pairs line_mem; /* the line object's */
    struct cl_jw_pairs mem;      /* the record's, handed to the sink */
    /* The service labels of o->service_labels, split once per body into names[]. */
    char names[CL_MAX_LOKI_SERVICE_LABELS * (CL_MAX_LOKI_LABEL_NAME + 1)];
    const char *service_labels[CL_MAX_LOKI_SERVICE_LABELS];
    size_t n_service_labels;
};

void cl_loki_init(struct cl_loki *l, const struct cl_proto_sink *sink,
                  const struct cl_proto_opts *o);
void cl_loki_free(struct cl_loki *l);
/* Writes one entry and hands it to the sink. labels and meta (may be NULL) are JSON
 * objects, line a JSON string value. */
void cl_loki_write_entry(struct cl_loki *l, const struct cl_json_value *labels, uint64_t ns,
                         const struct cl_json_value *line, const struct cl_json_value *meta);
/* As cl_loki_write_entry with the line as its text (the protobuf push), without a JSON
 * string round trip. Returns -1, writing nothing, for a line that starts with '{' but is
 * no JSON object as it is: the caller then passes it through cl_loki_write_entry (where
 * invalid UTF-8 is replaced first), so both give the same record. */
int cl_loki_write_entry_text(struct cl_loki *l, const struct cl_json_value *labels, uint64_t ns,
                             const char *line, size_t n, const struct cl_json_value *meta);

/* Between loki.c, loki_labels.c and loki_json.c. */
/* Splits o's service label list into l->names; a list that fails the check (callers
 * check it at start-up) is cut at its first bad name. */
void cl_loki_split_service_labels(struct cl_loki *l, const struct cl_proto_opts *o);
/* Level, service and the labels part of labels: worked out once per distinct labels (a
 * stream's entries share them), remembered in l; l->labels_value is the part. */
void cl_loki_labels_info(struct cl_loki *l, const struct cl_json_value *labels);
/* Appends the members of the walkable object v to m; 0 if one of its values is a
 * container (then its depth is not known here: the normalizer reads the part itself). */
int cl_loki_walk_members(struct cl_jw_pairs *m, const struct cl_json_value *v);
/* The document path's entry whose line (the JSON string token line) is unescaped in
 * text[0..n) already (NULL: not unescaped). */
void cl_loki_write_doc_entry(struct cl_loki *l, const struct cl_json_value *labels, uint64_t ns,
                             const struct cl_json_value *line, const char *text, size_t n,
                             const struct cl_json_value *meta);

#endif
