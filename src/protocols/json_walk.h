/* json_walk.h - walking JSON values that were already validated as a whole (the OTLP
 * JSON and Loki decoders): array elements, an object's member by name, plain strings. */
#ifndef CL_JSON_WALK_H
#define CL_JSON_WALK_H

#include "json.h"

#include <stddef.h>

struct cl_jw_array {
    struct cl_json_reader r;
};

/* Starts iterating the array value v (-1 if v is no array); depth as the reader's. */
int cl_jw_array_begin(struct cl_jw_array *it, const struct cl_json_value *v, int depth);
/* 1 with the next element in *e, 0 at the end. */
int cl_jw_array_next(struct cl_jw_array *it, struct cl_json_value *e);
/* The member `name` of object v, or an absent value (ptr NULL, type CL_JSON_INVALID). */
struct cl_json_value cl_jw_member(const struct cl_json_value *v, const char *name, int depth);
/* The members names[0..n) of object v in one pass (the first of each name; absent ones as
 * cl_jw_member gives them) into out[0..n): a decoder reading several members of one
 * object scans it once instead of once per name. */
void cl_jw_members(const struct cl_json_value *v, const char *const *names, size_t n,
                   struct cl_json_value *out, int depth);
/* The text of a string value without quotes when it has no escapes; NULL otherwise. */
const char *cl_jw_plain_text(const struct cl_json_value *v, size_t *len);
int cl_jw_is_space(char c);
/* Validates a body that must be one JSON object whose member `name` is an array, and
 * starts iterating that array. Returns 0, or -1 with err ("invalid <what>: ...") set. */
int cl_jw_body_array(const char *body, size_t len, int depth, const char *name, const char *what,
                     struct cl_jw_array *it, char *err, size_t err_len);

#endif
