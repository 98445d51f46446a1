/* json_get.c - small helpers for reading validated JSON documents (json.h). */
#include "json.h"

#include "common.h"

#include <string.h>
#include <strings.h>

char *cl_json_string_dup(const struct cl_json_value *v, size_t *len)
{
    char *s = cl_malloc(v->len + 1);
    size_t n = cl_json_unescape(v, s);
    s[n] = '\0';
    if (len)
        *len = n;
    return s;
}

int cl_json_key_is(const struct cl_json_value *key, const char *name, int icase)
{
    size_t n = strlen(name);
    if (key->len != n + 2 || (key->flags & CL_JSON_F_ESCAPED))
        return 0;
    return icase ? strncasecmp(key->ptr + 1, name, n) == 0 : memcmp(key->ptr + 1, name, n) == 0;
}

int cl_json_object_enter(struct cl_json_reader *r, const struct cl_json_value *v, int max_depth)
{
    cl_json_reader_init(r, v->ptr, v->len, max_depth);
    return cl_json_object_open(r);
}

int64_t cl_json_uint(const struct cl_json_value *v)
{
    if (v->type != CL_JSON_NUMBER || v->len == 0 || v->len > 18)
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (v->ptr[i] < '0' || v->ptr[i] > '9')
            return -1;
        n = n * 10 + (v->ptr[i] - '0');
    }
    return n;
}
