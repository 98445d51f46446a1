/* otlp_json_value.c - OTLP JSON attributes and AnyValues (otlp_json.h): an attribute's
 * value is read where the cursor finds it; scalars stay in the body, arrays and maps are
 * written as JSON into the walk's buffers. */
#include "otlp_json.h"

#include "common.h"
#include "json_write.h"

#include <ctype.h>
#include <stdlib.h>

void cl_otlpj_pairs_push(struct pairs *ps, const struct pair *p)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->p = cl_realloc(ps->p, ps->cap * sizeof *ps->p);
    }
    ps->p[ps->n++] = *p;
    if (p->key.flags & CL_JSON_F_ESCAPED)
        ps->seen |= CL_JW_PAIRS_ESCAPED_KEY;
}

void cl_otlpj_pairs_add(struct pairs *ps, struct cl_json_value key, struct cl_json_value val)
{
    struct pair p = {key, val, IN_PLACE, 0};
    cl_otlpj_pairs_push(ps, &p);
}

void cl_otlpj_pairs_reset(struct pairs *ps)
{
    ps->n = 0;
    ps->seen = 0;
    ps->max_nest = 0;
}

/* Appends src's pairs to dst. */
void cl_otlpj_pairs_append(struct pairs *dst, const struct pairs *src)
{
    for (size_t i = 0; i < src->n; i++)
        cl_otlpj_pairs_push(dst, &src->p[i]);
    dst->seen |= src->seen;
    dst->max_nest = CL_MAX(dst->max_nest, src->max_nest);
}

/* ---- AnyValue -> JSON ---- */

/* The text of an intValue string that is a JSON integer ("-12" -> -12), else NULL. */
static const char *int_text(const struct cl_json_value *v, size_t *n)
{
    const char *s = cl_jw_plain_text(v, n);
    size_t d = s && *n && *s == '-' ? 1 : 0;
    if (!s || *n <= d || *n > 20 || (s[d] == '0' && *n > d + 1))
        return NULL; /* "007" is no JSON number: kept as the string it is */
    for (size_t i = d; i < *n; i++)
        if (!isdigit((unsigned char)s[i]))
            return NULL;
    return s;
}

/* What an AnyValue member holds, by its key. */
enum any_kind { ANY_NONE, ANY_SCALAR, ANY_INT, ANY_ARRAY, ANY_KVLIST };

static enum any_kind any_kind(const struct cl_json_value *key)
{
    if (KEY_IS(key, "stringValue") || KEY_IS(key, "boolValue") || KEY_IS(key, "doubleValue") ||
        KEY_IS(key, "bytesValue"))
        return ANY_SCALAR;
    if (KEY_IS(key, "intValue"))
        return ANY_INT;
    if (KEY_IS(key, "arrayValue"))
        return ANY_ARRAY;
    return KEY_IS(key, "kvlistValue") ? ANY_KVLIST : ANY_NONE;
}

/* The JSON of a scalar or intValue member: the value itself (a container where a scalar
 * belongs is null), an intValue's digits as a number. An intValue that is neither is
 * copied as it is; if that is a container, only the normalizer's own reading may take
 * it (its nesting and whitespace were not looked at), so w->reread is set. */
static struct cl_json_value scalar_json(struct walk *w, enum any_kind k,
                                        const struct cl_json_value *val)
{
    size_t n;
    const char *s;
    int container = val->type == CL_JSON_ARRAY || val->type == CL_JSON_OBJECT;
    if (k == ANY_SCALAR)
        return container ? NULL_VALUE : *val; /* scalars hold no whitespace */
    if ((s = int_text(val, &n)) != NULL)
        return (struct cl_json_value){CL_JSON_NUMBER, 0, s, n};
    if (container)
        w->reread = 1;
    return *val;
}

void cl_otlpj_write_any(struct walk *w, struct cl_buf *out, const struct cl_json_value *v);

static void write_array(struct walk *w, struct cl_buf *out, const struct cl_json_value *av)
{
    struct cl_json_value values = cl_jw_member(av, "values", w->depth), e;
    struct cl_jw_array it;
    int first = 1;
    cl_buf_append_char(out, '[');
    w->max_nest = CL_MAX(w->max_nest, ++w->nest);
    if (cl_jw_array_begin(&it, &values, w->depth) == 0)
        while (cl_jw_array_next(&it, &e)) {
            if (!first)
                cl_buf_append_char(out, ',');
            first = 0;
            cl_otlpj_write_any(w, out, &e);
        }
    w->nest--;
    cl_buf_append_char(out, ']');
}

/* An attribute ({"key":..., "value":...}): both members in one pass. */
static void key_value(struct walk *w, const struct cl_json_value *e, struct cl_json_value *key,
                      struct cl_json_value *val)
{
    static const char *const names[] = {"key", "value"};
    struct cl_json_value kv[2];
    cl_jw_members(e, names, 2, kv, w->depth);
    *key = kv[0];
    *val = kv[1];
}

static void write_kvlist(struct walk *w, struct cl_buf *out, const struct cl_json_value *kl)
{
    struct cl_json_value values = cl_jw_member(kl, "values", w->depth), e;
    struct cl_jw_array it;
    int first = 1;
    cl_buf_append_char(out, '{');
    w->max_nest = CL_MAX(w->max_nest, ++w->nest);
    if (cl_jw_array_begin(&it, &values, w->depth) == 0)
        while (cl_jw_array_next(&it, &e)) {
            struct cl_json_value key, val;
            key_value(w, &e, &key, &val);
            if (key.type != CL_JSON_STRING)
                continue;
            if (!first)
                cl_buf_append_char(out, ',');
            first = 0;
            cl_buf_append(out, key.ptr, key.len);
            cl_buf_append_char(out, ':');
            cl_otlpj_write_any(w, out, &val);
        }
    w->nest--;
    cl_buf_append_char(out, '}');
}

/* Writes the JSON of the value of an AnyValue member of kind k (not ANY_NONE) to out. */
static void write_member(struct walk *w, struct cl_buf *out, enum any_kind k,
                         const struct cl_json_value *val)
{
    if (k == ANY_ARRAY) {
        write_array(w, out, val);
    } else if (k == ANY_KVLIST) {
        write_kvlist(w, out, val);
    } else {
        struct cl_json_value j = scalar_json(w, k, val);
        cl_buf_append(out, j.ptr, j.len);
    }
}

/* A nested AnyValue (in an array or map) to out; its first known member counts. */
void cl_otlpj_write_any(struct walk *w, struct cl_buf *out, const struct cl_json_value *v)
{
    struct cl_json_value key, val;
    struct cl_jw_object it;
    if (cl_jw_object_begin(&it, v) == 0)
        while (cl_jw_object_next(&it, &key, &val) == 1) {
            enum any_kind k = any_kind(&key);
            if (k != ANY_NONE) {
                write_member(w, out, k, &val);
                return;
            }
        }
    cl_buf_append_str(out, "null");
}

/* The AnyValue at the cursor (a record's or resource's attribute) as the pair's value:
 * in place for scalars, made in w->made[w->target] for arrays and maps. */
static void any_value(struct walk *w, struct cl_jw_cursor *c, struct pair *p)
{
    struct cl_json_value key, val;
    enum any_kind k = ANY_NONE;
    p->val = NULL_VALUE;
    p->where = IN_PLACE;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &val);
        return;
    }
    cl_jw_cursor_enter(c);
    while (cl_jw_cursor_key_guess(c, &key, CL_JW_GUESS("\"stringValue\":"))) {
        cl_jw_cursor_take(c, &val);
        if (k != ANY_NONE || (k = any_kind(&key)) == ANY_NONE)
            continue;
        if (k == ANY_SCALAR || k == ANY_INT) {
            p->val = scalar_json(w, k, &val);
            continue;
        }
        struct cl_buf *m = &w->made[w->target];
        p->off = m->len;
        p->where = w->target;
        write_member(w, m, k, &val);
        p->val = (struct cl_json_value){k == ANY_ARRAY ? CL_JSON_ARRAY : CL_JSON_OBJECT, 0, NULL,
                                        m->len - p->off};
    }
}

/* ---- attributes ---- */

/* One attribute ({"key":..., "value":{AnyValue}}) at the cursor into ps; svc (resource
 * attributes) leaves service.name out and notes its value. A log record's attribute
 * value is read where it is, whatever the order of key and value. */
static void attribute(struct walk *w, struct cl_jw_cursor *c, struct pairs *ps,
                      struct service_ref *svc)
{
    struct cl_json_value mk, key = {0}, val = {0}, skip;
    struct pair p = {.val = NULL_VALUE};
    int have_value = 0;
    if (cl_jw_cursor_type(c) != CL_JSON_OBJECT) {
        cl_jw_cursor_take(c, &skip);
        return;
    }
    cl_jw_cursor_enter(c);
    w->nest = w->max_nest = w->reread = 0;
    /* exporters send "key" first, then "value": compared before they are scanned */
    while (key.type == CL_JSON_INVALID ? cl_jw_cursor_key_guess(c, &mk, CL_JW_GUESS("\"key\":"))
                                       : cl_jw_cursor_key_guess(c, &mk, CL_JW_GUESS("\"value\":")))
        if (key.type == CL_JSON_INVALID && KEY_IS(&mk, "key")) {
            cl_jw_cursor_take(c, &key);
        } else if (!have_value && KEY_IS(&mk, "value")) {
            have_value = 1;
            if (svc)
                cl_jw_cursor_take(c, &val); /* read below, once service.name is ruled out */
            else
                any_value(w, c, &p);
        } else {
            cl_jw_cursor_take(c, &skip);
        }
    if (key.type != CL_JSON_STRING)
        return;
    if (svc && cl_json_key_is(&key, "service.name", 0)) {
        /* the first service.name with a string value, as otlp_pb.c's service_name */
        if (svc->value.type != CL_JSON_STRING)
            svc->value = cl_jw_member(&val, "stringValue", w->depth);
        svc->seen = 1;
        return;
    }
    if (svc) {
        struct cl_jw_cursor vc;
        cl_jw_cursor_at(&vc, &val);
        any_value(w, &vc, &p);
    }
    p.key = key;
    ps->max_nest = CL_MAX(ps->max_nest, w->max_nest);
    ps->seen |= w->reread ? CL_JW_PAIRS_SPACE : 0u; /* read by the normalizer, as whitespace is */
    cl_otlpj_pairs_push(ps, &p);
}

/* The attributes array at the cursor into ps (anything else is skipped). */
void cl_otlpj_attributes(struct walk *w, struct cl_jw_cursor *c, struct pairs *ps,
                         struct service_ref *svc)
{
    struct cl_json_value skip;
    if (cl_jw_cursor_type(c) != CL_JSON_ARRAY) {
        cl_jw_cursor_take(c, &skip);
        return;
    }
    cl_jw_cursor_enter(c);
    while (cl_jw_cursor_element(c))
        attribute(w, c, ps, svc);
}
