/* logql_print.c - freeing a LogQL AST, and printing it back in one canonical form:
 * strings double-quoted with Go escapes, label filters with only the parentheses they need, the
 * range last inside a range aggregation, grouping before the arguments. */
#include "logql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_filter(struct cl_lq_label_filter *f)
{
    if (!f)
        return;
    free_filter(f->left);
    free_filter(f->right);
    free(f->name);
    free(f->str);
    free(f);
}

static void free_stage(struct cl_lq_stage *st)
{
    for (size_t i = 0; i < st->line.n_values; i++)
        free(st->line.values[i]);
    free(st->line.values);
    for (size_t i = 0; i < st->n_extract; i++) {
        free(st->extract[i].name);
        free(st->extract[i].path);
    }
    free(st->extract);
    free_filter(st->filter);
    free(st->format);
}

static void free_log(struct cl_lq_log *log)
{
    for (size_t i = 0; i < log->n_matchers; i++) {
        free(log->matchers[i].name);
        free(log->matchers[i].value);
    }
    free(log->matchers);
    for (size_t i = 0; i < log->n_stages; i++)
        free_stage(&log->stages[i]);
    free(log->stages);
}

void cl_logql_free(struct cl_lq_expr *e)
{
    if (!e)
        return;
    free_log(&e->log);
    free(e->unwrap);
    for (size_t i = 0; i < e->n_labels; i++)
        free(e->labels[i]);
    free(e->labels);
    cl_logql_free(e->inner);
    free(e);
}

struct out {
    char *buf;
    size_t len, used; /* used may pass len: the length needed */
};

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->used < o->len ? o->len - o->used : 0;
    int n = vsnprintf(room ? o->buf + o->used : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->used += (size_t)n;
}

static void put_string(struct out *o, const char *s)
{
    put(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c == '\n')
            put(o, "\\n");
        else if (c == '\t')
            put(o, "\\t");
        else if (c == '\r')
            put(o, "\\r");
        else if (c < 0x20 || c == 0x7f)
            put(o, "\\x%02x", c);
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

static const char *const match_ops[] = {"=", "!=", "=~", "!~"};
static const char *const line_ops[] = {"|=", "!=", "|~", "!~"};
static const char *const cmp_ops[] = {">", ">=", "<", "<=", "==", "!="};

static void put_number(struct out *o, double v, enum cl_lq_unit unit)
{
    /* Durations print in seconds and sizes in bytes: one spelling per value. */
    put(o, "%.17g%s", v, unit == CL_LQ_DURATION ? "s" : unit == CL_LQ_BYTES ? "B" : "");
}

static void put_filter(struct out *o, const struct cl_lq_label_filter *f);

static int is_junction(const struct cl_lq_label_filter *f)
{
    return f->kind == CL_LQ_LF_AND || f->kind == CL_LQ_LF_OR;
}

/* Whether child, an operand of parent, needs parentheses to parse back to the same tree:
 * the parser joins left to right and `and` binds tighter than `or`, so only an `or` under an
 * `and` and a right operand of the same junction need them. Printing no others keeps the
 * printed nesting no deeper than the query's, which the parser limits (a chain of 100
 * `,`-joined filters must not print as 100 nested parentheses). */
static int needs_parens(const struct cl_lq_label_filter *parent,
                        const struct cl_lq_label_filter *child, int is_right)
{
    if (!is_junction(child))
        return 0;
    if (parent->kind == CL_LQ_LF_AND && child->kind == CL_LQ_LF_OR)
        return 1;
    return is_right && child->kind == parent->kind;
}

static void put_operand(struct out *o, const struct cl_lq_label_filter *parent,
                        const struct cl_lq_label_filter *child, int is_right)
{
    int parens = needs_parens(parent, child, is_right);
    put(o, parens ? "(" : "");
    put_filter(o, child);
    put(o, parens ? ")" : "");
}

static void put_filter(struct out *o, const struct cl_lq_label_filter *f)
{
    if (is_junction(f)) {
        put_operand(o, f, f->left, 0);
        put(o, f->kind == CL_LQ_LF_AND ? " and " : " or ");
        put_operand(o, f, f->right, 1);
    } else if (f->kind == CL_LQ_LF_STRING) {
        put(o, "%s%s", f->name, match_ops[f->str_op]);
        put_string(o, f->str);
    } else {
        put(o, "%s %s ", f->name, cmp_ops[f->num_op]);
        put_number(o, f->number, f->unit);
    }
}

static void put_stage(struct out *o, const struct cl_lq_stage *st)
{
    switch (st->kind) {
    case CL_LQ_LINE_FILTER:
        for (size_t i = 0; i < st->line.n_values; i++) {
            put(o, i ? " or " : " %s ", line_ops[st->line.op]);
            put_string(o, st->line.values[i]);
        }
        break;
    case CL_LQ_JSON:
        put(o, " | json");
        for (size_t i = 0; i < st->n_extract; i++) {
            put(o, "%s%s=", i ? ", " : " ", st->extract[i].name);
            put_string(o, st->extract[i].path ? st->extract[i].path : st->extract[i].name);
        }
        break;
    case CL_LQ_LOGFMT:
        put(o, " | logfmt");
        break;
    case CL_LQ_LABEL_FILTER:
        put(o, " | ");
        put_filter(o, st->filter);
        break;
    case CL_LQ_LINE_FORMAT:
        put(o, " | line_format ");
        put_string(o, st->format);
        break;
    case CL_LQ_DROP:
        for (size_t i = 0; i < st->n_extract; i++)
            put(o, "%s%s", i ? ", " : " | drop ", st->extract[i].name);
        break;
    }
}

static void put_log(struct out *o, const struct cl_lq_log *log)
{
    put(o, "{");
    for (size_t i = 0; i < log->n_matchers; i++) {
        put(o, "%s%s%s", i ? ", " : "", log->matchers[i].name, match_ops[log->matchers[i].op]);
        put_string(o, log->matchers[i].value);
    }
    put(o, "}");
    for (size_t i = 0; i < log->n_stages; i++)
        put_stage(o, &log->stages[i]);
}

static void put_range(struct out *o, int64_t ms)
{
    if (ms % 3600000 == 0)
        put(o, "[%lldh]", (long long)(ms / 3600000));
    else if (ms % 60000 == 0)
        put(o, "[%lldm]", (long long)(ms / 60000));
    else if (ms % 1000 == 0)
        put(o, "[%llds]", (long long)(ms / 1000));
    else
        put(o, "[%lldms]", (long long)ms);
}

static const char *const range_names[] = {"count_over_time", "rate",          "bytes_over_time",
                                          "bytes_rate",      "sum_over_time", "avg_over_time",
                                          "max_over_time",   "min_over_time", "quantile_over_time"};
static const char *const vector_names[] = {"sum", "avg", "min", "max", "count", "topk", "bottomk"};

static void put_expr(struct out *o, const struct cl_lq_expr *e)
{
    if (e->kind == CL_LQ_LOG_QUERY) {
        put_log(o, &e->log);
        return;
    }
    if (e->kind == CL_LQ_RANGE_AGG) {
        put(o, "%s(", range_names[e->range_fn]);
        if (e->range_fn == CL_LQ_QUANTILE_OVER_TIME)
            put(o, "%.17g, ", e->quantile);
        put_log(o, &e->log);
        if (e->unwrap)
            put(o, " | unwrap %s", e->unwrap);
        put(o, " ");
        put_range(o, e->range_ms);
        put(o, ")");
        return;
    }
    put(o, "%s", vector_names[e->vector_op]);
    if (e->has_grouping) {
        put(o, " %s (", e->without ? "without" : "by");
        for (size_t i = 0; i < e->n_labels; i++)
            put(o, "%s%s", i ? ", " : "", e->labels[i]);
        put(o, ") ");
    }
    put(o, "(");
    if (e->vector_op == CL_LQ_TOPK || e->vector_op == CL_LQ_BOTTOMK)
        put(o, "%lld, ", (long long)e->k);
    put_expr(o, e->inner);
    put(o, ")");
}

size_t cl_logql_print(const struct cl_lq_expr *e, char *buf, size_t len)
{
    struct out o = {buf, len, 0};
    if (len)
        buf[0] = '\0';
    put_expr(&o, e);
    return o.used;
}
