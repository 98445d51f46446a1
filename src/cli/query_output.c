/* query_output.c - formats stored records as json (as stored), text or RFC 4180 csv. */
#include "query_output.h"

#include "json.h"
#include "record.h"

#include <ctype.h>
#include <string.h>

static const char *const formats[] = {"json", "text", "csv", NULL};

const struct cl_option cl_qout_format_options[] = {
    {"format", "CLOUDLOG_FORMAT", CL_OPT_STR, "json", 0, "FMT", "output format", formats, 0, 0},
    {0},
};

enum cl_qout_format cl_qout_parse_format(const char *name)
{
    return strcmp(name, "text") == 0  ? CL_QOUT_TEXT
           : strcmp(name, "csv") == 0 ? CL_QOUT_CSV
                                      : CL_QOUT_JSON;
}

void cl_qout_init(struct cl_qout *o, enum cl_qout_format format, int color, FILE *f)
{
    o->format = format;
    o->color = color;
    o->f = f;
    cl_buf_init(&o->line, SIZE_MAX);
    cl_buf_init(&o->tmp, SIZE_MAX);
}

void cl_qout_free(struct cl_qout *o)
{
    cl_buf_free(&o->line);
    cl_buf_free(&o->tmp);
}

int cl_qout_header(struct cl_qout *o)
{
    if (o->format != CL_QOUT_CSV)
        return 0;
    return fputs("timestamp,level,service,message,fields\r\n", o->f) < 0 ? -1 : 0;
}

/* A string value decoded into o->tmp (NUL-terminated; may hold NULs before the end). */
static struct cl_slice decoded(struct cl_qout *o, const struct cl_json_value *v)
{
    cl_buf_reset(&o->tmp);
    cl_buf_reserve(&o->tmp, v->len + 1);
    size_t n = cl_json_unescape(v, o->tmp.data);
    o->tmp.data[n] = '\0';
    return (struct cl_slice){o->tmp.data, n};
}

/* Appends s with control characters escaped, so a record stays on one line. */
static void append_oneline(struct cl_buf *b, struct cl_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '\n')
            cl_buf_append_str(b, "\\n");
        else if (c == '\t')
            cl_buf_append_str(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            cl_buf_printf(b, "\\x%02x", c);
        else
            cl_buf_append_char(b, (char)c);
    }
}

/* k=v: plain strings bare; strings with spaces, '=' or quotes, and empty ones, as JSON;
 * other values as their compact JSON text. */
static void append_field(struct cl_qout *o, const struct cl_json_value *k,
                         const struct cl_json_value *v)
{
    cl_buf_append_char(&o->line, ' ');
    append_oneline(&o->line, decoded(o, k));
    cl_buf_append_char(&o->line, '=');
    if (v->type != CL_JSON_STRING) {
        cl_buf_append(&o->line, v->ptr, v->len);
        return;
    }
    struct cl_slice s = decoded(o, v);
    int bare = s.len > 0 && !memchr(s.ptr, ' ', s.len) && !memchr(s.ptr, '=', s.len) &&
               !memchr(s.ptr, '"', s.len);
    if (bare)
        append_oneline(&o->line, s);
    else
        cl_buf_append(&o->line, v->ptr, v->len);
}

static const char *level_color(enum cl_level l)
{
    static const char *const c[] = {"\033[2m",  "\033[36m", "\033[32m",
                                    "\033[33m", "\033[31m", "\033[1;31m"};
    return (int)l >= 0 && l < CL_LEVEL_COUNT ? c[l] : "";
}

static void text_head(struct cl_qout *o, const struct cl_line_head *h)
{
    char ts[25], lvl[8];
    cl_format_timestamp(h->ts_ms, ts);
    snprintf(lvl, sizeof lvl, "%s", cl_level_name(h->level));
    for (char *c = lvl; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    cl_buf_printf(&o->line, "%.24s %s%-5s%s %s ", ts, o->color ? level_color(h->level) : "", lvl,
                  o->color ? "\033[0m" : "", h->service);
}

static void format_text(struct cl_qout *o, const char *line, size_t len,
                        const struct cl_line_head *h)
{
    struct cl_json_reader r;
    struct cl_json_value k, v;
    text_head(o, h);
    cl_json_reader_init(&r, line, len, 0);
    if (cl_json_object_open(&r) != 0)
        return;
    for (int i = 0; cl_json_object_next(&r, &k, &v) == 1; i++) {
        if (i == 3 && v.type == CL_JSON_STRING) {
            cl_buf_append_char(&o->line, ' ');
            append_oneline(&o->line, decoded(o, &v));
        } else if (i > 3) {
            append_field(o, &k, &v);
        }
    }
}

/* Appends s as one csv field, quoted when it holds a comma, quote, CR or LF. */
static void csv_field(struct cl_buf *b, const char *s, size_t n)
{
    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n)) {
        cl_buf_append(b, s, n);
        return;
    }
    cl_buf_append_char(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            cl_buf_append_char(b, '"');
        cl_buf_append_char(b, s[i]);
    }
    cl_buf_append_char(b, '"');
}

/* The message (4th member) goes to its own column, the other non-head members into a
 * JSON object in the last one, copied as stored. */
static void format_csv(struct cl_qout *o, const char *line, size_t len,
                       const struct cl_line_head *h)
{
    char ts[25];
    cl_format_timestamp(h->ts_ms, ts);
    cl_buf_printf(&o->line, "%.24s,%s,%s,", ts, cl_level_name(h->level), h->service);
    struct cl_buf rest;
    cl_buf_init(&rest, SIZE_MAX);
    cl_buf_append_char(&rest, '{');
    struct cl_json_reader r;
    struct cl_json_value k, v;
    cl_json_reader_init(&r, line, len, 0);
    if (cl_json_object_open(&r) == 0)
        for (int i = 0; cl_json_object_next(&r, &k, &v) == 1; i++) {
            if (i == 3 && v.type == CL_JSON_STRING) {
                struct cl_slice s = decoded(o, &v);
                csv_field(&o->line, s.ptr, s.len);
            } else if (i > 3) {
                if (rest.len > 1)
                    cl_buf_append_char(&rest, ',');
                cl_buf_append(&rest, k.ptr, (size_t)(v.ptr + v.len - k.ptr));
            }
        }
    cl_buf_append_str(&rest, "}");
    cl_buf_append_char(&o->line, ',');
    csv_field(&o->line, rest.data, rest.len);
    cl_buf_free(&rest);
}

int cl_qout_record(struct cl_qout *o, const char *line, size_t len, const struct cl_line_head *h)
{
    cl_buf_reset(&o->line);
    if (o->format == CL_QOUT_JSON)
        cl_buf_append(&o->line, line, len);
    else if (o->format == CL_QOUT_TEXT)
        format_text(o, line, len, h);
    else
        format_csv(o, line, len, h);
    cl_buf_append_str(&o->line, o->format == CL_QOUT_CSV ? "\r\n" : "\n");
    return fwrite(o->line.data, 1, o->line.len, o->f) == o->line.len ? 0 : -1;
}
