/* otlp_json.h - the OTLP JSON decoder's walk, shared by its files (otlp_json.c: the
 * request, resource and scope levels; otlp_json_record.c: one log record;
 * otlp_json_value.c: attributes and AnyValues). Not a public interface: proto.h has
 * cl_otlp_json_decode. */
#ifndef CL_OTLP_JSON_H
#define CL_OTLP_JSON_H

#include "buf.h"
#include "json.h"
#include "json_walk.h"
#include "proto.h"
#include "proto_record.h"

#include <string.h>

/* Where a pair's value is: in the body or a static text (ptr set), or made in one of the
 * walk's buffers (ptr NULL until the record is handed on; off is the offset). */
enum where { IN_PLACE, IN_RECORD, IN_RESOURCE, N_WHERE };

struct pair {
    struct cl_json_value key, val;
    enum where where;
    size_t off;
};

/* Pairs of one record or resource, with what the copy path must know about them. */
struct pairs {
    struct pair *p;
    size_t n, cap;
    unsigned seen; /* CL_JW_PAIRS_ESCAPED_KEY, CL_JW_PAIRS_SPACE among them */
    int max_nest;  /* deepest nesting of containers in their values */
};

struct walk {
    int depth; /* reader depth for nested values */
    const struct cl_proto_sink *sink;
    int norm_depth;              /* the normalizer's max_depth */
    int nest, max_nest;          /* containers open in the value being made; the deepest */
    int reread;                  /* a value only the normalizer's reading may take (scalar_json) */
    enum where target;           /* where values are made now */
    struct cl_buf made[N_WHERE]; /* [IN_RECORD] per record, [IN_RESOURCE] per resource */
    struct pairs body, attrs, res, all;
    char ts[32];  /* the record's timestamp token */
    char svc[80]; /* the resource's service token (svc_len 0: none) */
    size_t svc_len;
    struct cl_buf out; /* the record's copy */
    struct cl_proto_rec rec;
    struct cl_jw_pairs mem; /* the copy's members, for the sink's document callback */
};

#define LIT(tok) ((struct cl_json_value){CL_JSON_STRING, 0, tok, sizeof(tok) - 1})
#define NULL_VALUE ((struct cl_json_value){CL_JSON_NULL, 0, "null", 4})

/* cl_json_key_is(key, lit, 0) for a string literal, its length known at compile time. */
#define KEY_IS(key, lit)                                                                           \
    ((key)->len == sizeof(lit) + 1 && !((key)->flags & CL_JSON_F_ESCAPED) &&                       \
     memcmp((key)->ptr + 1, lit, sizeof(lit) - 1) == 0)

/* The resource's service.name: the stringValue of the first attribute of that key. */
struct service_ref {
    int seen;
    struct cl_json_value value;
};

/* otlp_json_value.c: pairs, attributes, AnyValues. */
void cl_otlpj_pairs_push(struct pairs *ps, const struct pair *p);
void cl_otlpj_pairs_add(struct pairs *ps, struct cl_json_value key, struct cl_json_value val);
void cl_otlpj_pairs_reset(struct pairs *ps);
/* Appends src's pairs to dst. */
void cl_otlpj_pairs_append(struct pairs *dst, const struct pairs *src);
/* A nested AnyValue (in an array or map) to out; its first known member counts. */
void cl_otlpj_write_any(struct walk *w, struct cl_buf *out, const struct cl_json_value *v);
/* The attributes array at the cursor into ps (anything else is skipped); svc (resource
 * attributes) leaves service.name out and notes its value. */
void cl_otlpj_attributes(struct walk *w, struct cl_jw_cursor *c, struct pairs *ps,
                         struct service_ref *svc);

/* otlp_json_record.c: the log record at the cursor, handed to w->sink (scope: its
 * scope's name). */
void cl_otlpj_log_record(struct walk *w, struct cl_jw_cursor *c, const struct cl_json_value *scope);

#endif
