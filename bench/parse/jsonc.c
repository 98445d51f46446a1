/* jsonc.c - bench_parse baseline: json-c tokenize + 2 field reads + plain dump per record. */
#include "dom.h"

#include <json-c/json.h>
#include <string.h>

static struct json_tokener *tok;

void cl_bench_jsonc_init(void)
{
    tok = json_tokener_new();
}

void cl_bench_jsonc_done(void)
{
    json_tokener_free(tok);
}

static const char *field(struct json_object *root, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(root, key, &v) ? json_object_get_string(v) : NULL;
}

size_t cl_bench_jsonc(const char *rec, size_t len, char *out, size_t cap, size_t *sink)
{
    size_t n;
    json_tokener_reset(tok);
    struct json_object *root = json_tokener_parse_ex(tok, rec, (int)len);
    if (!root)
        return 0;
    const char *lvl = field(root, "level"), *msg = field(root, "message");
    *sink += (size_t)(lvl ? lvl[0] : 0) + (size_t)(msg ? msg[0] : 0);
    const char *s = json_object_to_json_string_length(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (n > cap)
        n = 0;
    memcpy(out, s, n);
    json_object_put(root);
    return n;
}
