/* logql_labels.c - label sets and the json / logfmt extraction of LogQL pipelines. */
#include "logql_labels.h"

#include "common.h"
#include "json.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void lq_labels_reset(struct lq_labels *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->names[i]);
        free(l->values[i]);
    }
    l->n = 0;
}

void lq_labels_free(struct lq_labels *l)
{
    lq_labels_reset(l);
    free(l->names);
    free(l->values);
    memset(l, 0, sizeof *l);
}

void lq_labels_add(struct lq_labels *l, const char *name, const char *value, size_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->names = cl_realloc(l->names, l->cap * sizeof *l->names);
        l->values = cl_realloc(l->values, l->cap * sizeof *l->values);
    }
    l->names[l->n] = cl_strdup(name);
    l->values[l->n] = cl_malloc(len + 1);
    memcpy(l->values[l->n], value, len);
    l->values[l->n][len] = '\0';
    l->n++;
}

const char *lq_labels_get(const struct lq_labels *l, const char *name)
{
    for (size_t i = l->n; i-- > 0;)
        if (strcmp(l->names[i], name) == 0)
            return l->values[i];
    return NULL;
}

/* Adds a scalar JSON value under name (strings decoded, null as ""). */
static void add_scalar(struct lq_labels *l, const char *name, const struct cl_json_value *v)
{
    if (v->type == CL_JSON_STRING) {
        size_t n;
        char *s = cl_json_string_dup(v, &n);
        lq_labels_add(l, name, s, n);
        free(s);
    } else if (v->type == CL_JSON_NULL) {
        lq_labels_add(l, name, "", 0);
    } else {
        lq_labels_add(l, name, v->ptr, v->len);
    }
}

/* A key as a label name: characters outside [A-Za-z0-9_] become '_' (caller frees). */
static char *label_name(const char *prefix, const struct cl_json_value *k)
{
    char *key = cl_json_string_dup(k, NULL);
    size_t pl = prefix ? strlen(prefix) + 1 : 0, kl = strlen(key);
    char *name = cl_malloc(pl + kl + 1);
    if (prefix) {
        memcpy(name, prefix, pl - 1);
        name[pl - 1] = '_';
    }
    for (size_t i = 0; i < kl; i++)
        name[pl + i] = isalnum((unsigned char)key[i]) ? key[i] : '_';
    name[pl + kl] = '\0';
    free(key);
    return name;
}

static int walk(struct lq_labels *l, struct cl_json_reader *r, const char *prefix, int nested)
{
    struct cl_json_value k, v;
    int rc;
    while ((rc = cl_json_object_next(r, &k, &v)) == 1) {
        char *name = label_name(prefix, &k);
        if (v.type == CL_JSON_OBJECT && nested) {
            struct cl_json_reader inner;
            if (cl_json_object_enter(&inner, &v, 0) == 0)
                walk(l, &inner, name, nested);
        } else if (v.type != CL_JSON_ARRAY && v.type != CL_JSON_OBJECT) {
            add_scalar(l, name, &v);
        }
        free(name);
    }
    return rc == 0 ? 0 : -1;
}

int lq_extract_json_all(struct lq_labels *l, const char *line, size_t len, int nested)
{
    struct cl_json_reader r;
    cl_json_reader_init(&r, line, len, 0);
    if (cl_json_object_open(&r) != 0)
        return -1;
    return walk(l, &r, NULL, nested);
}

/* The member of object v named seg (seglen bytes); 1 found (*out set), else 0. */
static int member(const struct cl_json_value *v, const char *seg, size_t seglen,
                  struct cl_json_value *out)
{
    struct cl_json_reader r;
    struct cl_json_value k;
    if (v->type != CL_JSON_OBJECT || cl_json_object_enter(&r, v, 0) != 0)
        return 0;
    while (cl_json_object_next(&r, &k, out) == 1) {
        char *key = cl_json_string_dup(&k, NULL);
        int eq = strlen(key) == seglen && memcmp(key, seg, seglen) == 0;
        free(key);
        if (eq)
            return 1;
    }
    return 0;
}

int lq_extract_json_paths(struct lq_labels *l, const char *line, size_t len,
                          const struct cl_lq_extract *x, size_t n)
{
    struct cl_json_reader r;
    struct cl_json_value root;
    cl_json_reader_init(&r, line, len, 0);
    if (cl_json_scan_value(&r, &root) != 0 || root.type != CL_JSON_OBJECT)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *path = x[i].path ? x[i].path : x[i].name;
        struct cl_json_value v = root;
        int found = 1;
        while (found && *path) {
            size_t seg = strcspn(path, ".");
            struct cl_json_value next;
            found = member(&v, path, seg, &next);
            v = next;
            path += seg + (path[seg] == '.');
        }
        if (found && v.type != CL_JSON_ARRAY && v.type != CL_JSON_OBJECT)
            add_scalar(l, x[i].name, &v);
        else if (found)
            lq_labels_add(l, x[i].name, v.ptr, v.len); /* a container: its JSON text */
    }
    return 0;
}

/* Reads one logfmt value at *p (bare up to a blank, or "quoted" with \ escapes) into
 * out (room for end - *p bytes); returns its length. */
static size_t logfmt_value(const char **p, const char *end, char *out)
{
    size_t n = 0;
    const char *s = *p;
    if (s < end && *s == '"') {
        for (s++; s < end && *s != '"'; s++) {
            if (*s == '\\' && s + 1 < end) {
                s++;
                out[n++] = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
            } else {
                out[n++] = *s;
            }
        }
        s += s < end;
    } else {
        while (s < end && !isspace((unsigned char)*s))
            out[n++] = *s++;
    }
    *p = s;
    return n;
}

void lq_extract_logfmt(struct lq_labels *l, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    char *val = cl_malloc(len + 1), *key = cl_malloc(len + 1);
    while (p < end) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        size_t kl = 0;
        while (p < end && !isspace((unsigned char)*p) && *p != '=')
            key[kl++] = isalnum((unsigned char)*p) ? *p++ : (p++, '_');
        key[kl] = '\0';
        size_t vl = 0;
        if (p < end && *p == '=') {
            p++;
            vl = logfmt_value(&p, end, val);
        }
        if (kl)
            lq_labels_add(l, key, val, vl);
    }
    free(val);
    free(key);
}
