/* json_walk.c - walking validated JSON values (json_walk.h). */
#include "json_walk.h"

#include <stdio.h>
#include <string.h>

int cl_jw_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int cl_jw_array_begin(struct cl_jw_array *it, const struct cl_json_value *v, int depth)
{
    if (v->type != CL_JSON_ARRAY)
        return -1;
    cl_json_reader_init(&it->r, v->ptr, v->len, depth);
    it->r.pos = 1;
    return 0;
}

int cl_jw_array_next(struct cl_jw_array *it, struct cl_json_value *e)
{
    struct cl_json_reader *r = &it->r;
    while (r->pos < r->len && (cl_jw_is_space(r->buf[r->pos]) || r->buf[r->pos] == ','))
        r->pos++;
    if (r->pos >= r->len || r->buf[r->pos] == ']')
        return 0;
    return cl_json_scan_value(r, e) == 0;
}

struct cl_json_value cl_jw_member(const struct cl_json_value *v, const char *name, int depth)
{
    struct cl_json_value none = {0}, key, val;
    struct cl_json_reader r;
    if (v->type != CL_JSON_OBJECT || cl_json_object_enter(&r, v, depth) != 0)
        return none;
    while (cl_json_object_next(&r, &key, &val) == 1)
        if (cl_json_key_is(&key, name, 0))
            return val;
    return none;
}

void cl_jw_members(const struct cl_json_value *v, const char *const *names, size_t n,
                   struct cl_json_value *out, int depth)
{
    struct cl_json_value key, val;
    struct cl_json_reader r;
    memset(out, 0, n * sizeof *out);
    if (v->type != CL_JSON_OBJECT || cl_json_object_enter(&r, v, depth) != 0)
        return;
    while (cl_json_object_next(&r, &key, &val) == 1)
        for (size_t i = 0; i < n; i++)
            if (out[i].type == CL_JSON_INVALID && cl_json_key_is(&key, names[i], 0)) {
                out[i] = val;
                break;
            }
}

int cl_jw_body_array(const char *body, size_t len, int depth, const char *name, const char *what,
                     struct cl_jw_array *it, char *err, size_t err_len)
{
    struct cl_json_reader r;
    struct cl_json_value top;
    cl_json_reader_init(&r, body, len, depth);
    if (cl_json_scan_value(&r, &top) != 0 || !cl_json_at_end(&r) || top.type != CL_JSON_OBJECT) {
        snprintf(err, err_len, "invalid %s: %s at byte %zu", what,
                 r.err.msg ? r.err.msg : "not one JSON object", r.err.offset);
        return -1;
    }
    struct cl_json_value arr = cl_jw_member(&top, name, depth);
    if (cl_jw_array_begin(it, &arr, depth) != 0) {
        snprintf(err, err_len, "invalid %s: %s is not an array", what, name);
        return -1;
    }
    return 0;
}

const char *cl_jw_plain_text(const struct cl_json_value *v, size_t *len)
{
    if (v->type != CL_JSON_STRING || (v->flags & CL_JSON_F_ESCAPED))
        return NULL;
    *len = v->len - 2;
    return v->ptr + 1;
}
