/* jansson.c - bench_parse baseline: jansson load + 2 field reads + compact dump per record. */
#include "dom.h"

#include <jansson.h>

/* json_object_getn, not json_object_get: json-c exports a json_object_get of its own, and
 * this binary links both libraries. */
static const char *field(const json_t *root, const char *key, size_t n)
{
    return json_string_value(json_object_getn(root, key, n));
}

size_t cl_bench_jansson(const char *rec, size_t len, char *out, size_t cap, size_t *sink)
{
    json_error_t e;
    json_t *root = json_loadb(rec, len, 0, &e);
    if (!root)
        return 0;
    const char *lvl = field(root, "level", 5), *msg = field(root, "message", 7);
    *sink += (size_t)(lvl ? lvl[0] : 0) + (size_t)(msg ? msg[0] : 0);
    size_t n = json_dumpb(root, out, cap, JSON_COMPACT);
    json_decref(root);
    return n <= cap ? n : 0;
}
