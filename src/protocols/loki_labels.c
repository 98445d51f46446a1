/* loki_labels.c - a Loki stream's labels read once per distinct label set: the level
 * (label level or detected_level when it names a level), the service (the first of
 * --loki-service-labels, sanitized) and the labels as a record part (loki.h). */
#include "loki.h"

#include "common.h"
#include "json_walk.h"
#include "json_write.h"
#include "otlp_common.h"
#include "proto_record.h"
#include "record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int label_name_ok(const char *p, size_t n)
{
    if (n == 0 || n > CL_MAX_LOKI_LABEL_NAME || (p[0] >= '0' && p[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(p[i] == '_' || (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
              (p[i] >= '0' && p[i] <= '9')))
            return 0;
    return 1;
}

int cl_loki_service_labels_check(const char *list, char *why, size_t why_len)
{
    size_t count = 0;
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (!label_name_ok(p, n)) {
            snprintf(why, why_len,
                     "'%.*s' is no label name ([A-Za-z_][A-Za-z0-9_]*, at most %d bytes; "
                     "names are separated by single commas)",
                     (int)(n > 80 ? 80 : n), p, CL_MAX_LOKI_LABEL_NAME);
            return -1;
        }
        if (++count > CL_MAX_LOKI_SERVICE_LABELS) {
            snprintf(why, why_len, "more than %d labels", CL_MAX_LOKI_SERVICE_LABELS);
            return -1;
        }
        p += n + (comma != NULL);
        if (comma && !*p) {
            snprintf(why, why_len, "a trailing comma");
            return -1;
        }
    }
    return 0;
}

void cl_loki_split_service_labels(struct cl_loki *l, const struct cl_proto_opts *o)
{
    const char *list = o->service_labels ? o->service_labels : CL_DEFAULT_LOKI_SERVICE_LABELS;
    char *w = l->names;
    for (const char *p = list; *p && l->n_service_labels < CL_MAX_LOKI_SERVICE_LABELS;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (!label_name_ok(p, n))
            return;
        memcpy(w, p, n);
        w[n] = '\0';
        l->service_labels[l->n_service_labels++] = w;
        w += n + 1;
        p += n + (comma != NULL);
    }
}

/* The level the label level or detected_level names, or NULL. */
static const char *label_level(struct cl_loki *l, const struct cl_json_value *labels)
{
    static const char *const names[] = {"level", "detected_level"};
    for (size_t i = 0; i < CL_ARRAY_LEN(names); i++) {
        struct cl_json_value v = cl_jw_member(labels, names[i], l->depth);
        if (v.type != CL_JSON_STRING)
            continue;
        char text[128]; /* longer texts name no level either way (level.c) */
        cl_jw_text(&v, text, sizeof text);
        enum cl_level lv;
        if (cl_parse_level_text(text, strlen(text), &lv) == 0)
            return cl_level_name(lv);
    }
    return NULL;
}

/* The service the first present service label names, cleaned, into name[65]; its length
 * (0: none). */
static size_t label_service(struct cl_loki *l, const struct cl_json_value *labels, char *name)
{
    for (size_t i = 0; i < l->n_service_labels; i++) {
        struct cl_json_value v = cl_jw_member(labels, l->service_labels[i], l->depth);
        if (v.type != CL_JSON_STRING)
            continue;
        char text[128]; /* 64 bytes are kept */
        cl_jw_text(&v, text, sizeof text);
        size_t n = cl_proto_service_clean(text, strlen(text)); /* cut at 64 */
        memcpy(name, text, n);
        return n;
    }
    return 0;
}

int cl_loki_walk_members(struct cl_jw_pairs *m, const struct cl_json_value *v)
{
    return !(cl_jw_pairs_add(m, v) & CL_JW_PAIRS_CONTAINER);
}

/* 1 if key names what the normalizer reads as the level (level, severity, lvl). */
static int level_alias(const struct cl_json_value *key)
{
    char name[16];
    size_t n = cl_jw_text(key, name, sizeof name);
    return (n == 5 && memcmp(name, "level", 5) == 0) ||
           (n == 8 && memcmp(name, "severity", 8) == 0) || (n == 3 && memcmp(name, "lvl", 3) == 0);
}

/* 1 if the value v names a level as the normalizer reads one (a level word, or a number
 * as text or not). */
static int names_level(const struct cl_json_value *v)
{
    enum cl_level lv;
    if (v->type == CL_JSON_NUMBER)
        return cl_parse_level_number(v->ptr, v->len, &lv) == 0;
    if (v->type != CL_JSON_STRING)
        return 0;
    char text[128]; /* longer texts name no level */
    size_t n = cl_jw_text(v, text, sizeof text), digits = 0;
    while (digits < n && text[digits] >= '0' && text[digits] <= '9')
        digits++;
    return n < sizeof text - 1 && (cl_parse_level_text(text, n, &lv) == 0 ||
                                   (n && digits == n && cl_parse_level_number(text, n, &lv) == 0));
}

/* The labels as the record holds them, into l->labels_part: as sent, except that when
 * no level or detected_level label names a level (l->level NULL), a label the normalizer
 * would read as the level but that names none is left out, so the record's level is the
 * line's, else info (docs/shippers.md), instead of the entry being rejected for it. */
static void labels_part(struct cl_loki *l, const struct cl_json_value *labels)
{
    struct cl_buf *out = &l->labels_part;
    struct cl_jw_object it;
    struct cl_json_value key, val;
    cl_buf_reset(out);
    if (l->level || cl_jw_object_begin(&it, labels) != 0) {
        cl_buf_append(out, labels->ptr, labels->len);
        return;
    }
    while (cl_jw_object_next(&it, &key, &val) == 1)
        if (!level_alias(&key) || names_level(&val)) { /* "{" before the first kept */
            cl_buf_append_char(out, out->len ? ',' : '{');
            cl_buf_append(out, key.ptr, key.len);
            cl_buf_append_char(out, ':');
            cl_buf_append(out, val.ptr, val.len);
        }
    if (!out->len)
        cl_buf_append_char(out, '{');
    cl_buf_append_char(out, '}');
}

void cl_loki_labels_info(struct cl_loki *l, const struct cl_json_value *labels)
{
    if (l->labels.data && labels->len == l->labels.len &&
        memcmp(labels->ptr, l->labels.data, labels->len) == 0)
        return;
    cl_buf_reset(&l->labels);
    cl_buf_append(&l->labels, labels->ptr, labels->len);
    l->level = label_level(l, labels);
    l->service_len = label_service(l, labels, l->service);
    labels_part(l, labels);
    /* a copy of validated labels, or of members of them: walkable as they are */
    l->labels_value = (struct cl_json_value){CL_JSON_OBJECT, labels->flags, l->labels_part.data,
                                             l->labels_part.len};
    l->label_mem.n = 0;
    l->labels_plain = cl_loki_walk_members(&l->label_mem, &l->labels_value); /* into the copy */
}
