/* logql_eval.c - a LogQL log query over records: pushdown into cl_query, then the
 * selector's remaining matchers and the pipeline per record (logql_eval.h). */
#include "logql_eval.h"
#include "logql_int.h"
#include "logql_labels.h"

#include "buf.h"
#include "common.h"
#include "json.h"
#include "record.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Alternatives of a service=~"a|b|c" pushed into the engine's service filter. */
#define LQ_MAX_SERVICES 32

struct cl_lq_eval {
    const struct cl_lq_log *log;
    unsigned char *matcher_pushed; /* per matcher */
    unsigned char *stage_pushed;   /* per stage */
    pcre2_code **matcher_re;       /* per matcher: anchored, for =~ and !~ */
    pcre2_code ***stage_re;        /* per stage, per value: for |~ and !~ */
    pcre2_match_data *md;
    pcre2_match_context *mctx; /* the query's regex limits (docs/query.md "Query budgets") */
    /* Regexes of =~ and !~ label filters, by node (the AST stays const). */
    const struct cl_lq_label_filter **lf_node;
    pcre2_code **lf_re;
    size_t n_lf;
    const char *services[LQ_MAX_SERVICES]; /* pushed into q->services */
    size_t n_services;
    char *service_names; /* the split copy services[] of a service=~"a|b" point into */
    int needed;
    /* The record's top-level fields are labels someone reads: a matcher or a stage
     * evaluated here, or a caller (cl_lq_eval_want_fields). Else only service and level
     * are set, and no record is parsed for labels nobody reads. */
    int fields;
    struct lq_labels labels;
    size_t n_stream;    /* labels[0, n_stream): the record's fields, service and level */
    struct cl_buf line; /* line_format's output */
};

/* Compiles re (anchored at both ends when whole); caller frees with pcre2_code_free. */
static pcre2_code *compile(const char *re, int whole, char *err, size_t err_len)
{
    struct cl_buf b;
    cl_buf_init(&b, SIZE_MAX);
    cl_buf_printf(&b, whole ? "(?:%s)\\z" : "%s", re);
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)b.data, b.len,
                                  PCRE2_UTF | (whole ? PCRE2_ANCHORED : 0), &code, &off, NULL);
    cl_buf_free(&b);
    if (!c) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(err, err_len, "bad regex %s: %s", re, (const char *)msg);
    }
    return c;
}

static int re_match(struct cl_lq_eval *ev, const pcre2_code *re, const char *s, size_t n)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, ev->md, ev->mctx);
    return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

static int match_value(struct cl_lq_eval *ev, enum cl_lq_match op, const char *want,
                       const pcre2_code *re, const char *v)
{
    if (op == CL_LQ_EQ || op == CL_LQ_NE)
        return (strcmp(v, want) == 0) == (op == CL_LQ_EQ);
    int m = re_match(ev, re, v, strlen(v));
    return m < 0 ? -1 : m == (op == CL_LQ_RE);
}

/* The levels a level matcher accepts, as a level_mask. */
static unsigned level_mask(struct cl_lq_eval *ev, size_t i)
{
    const struct cl_lq_matcher *m = &ev->log->matchers[i];
    unsigned mask = 0;
    for (int l = 0; l < CL_LEVEL_COUNT; l++)
        if (match_value(ev, m->op, m->value, ev->matcher_re[i], cl_level_name((enum cl_level)l)) ==
            1)
            mask |= 1u << l;
    return mask;
}

/* service="a" (no glob characters) or service=~"a|b" (names of letters, digits, '_'
 * and '-'): the engine's services filter (OR of exact names) says the same. Returns 1
 * when pushed. */
static int push_services(struct cl_lq_eval *ev, const struct cl_lq_matcher *m)
{
    if (ev->n_services || strcmp(m->name, "service") != 0)
        return 0;
    /* service=~".+" (Grafana's "any service"): every record has a non-empty service */
    if (m->op == CL_LQ_RE && (strcmp(m->value, ".+") == 0 || strcmp(m->value, ".*") == 0))
        return 1;
    if (m->op == CL_LQ_EQ && !strpbrk(m->value, "*?[\\")) {
        ev->services[ev->n_services++] = m->value;
        return 1;
    }
    const char *v = m->value;
    size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-|");
    if (m->op != CL_LQ_RE || n != strlen(v) || !v[0] || v[0] == '|' || v[n - 1] == '|' ||
        strstr(v, "||"))
        return 0;
    size_t alts = 1;
    for (const char *c = v; *c; c++)
        alts += *c == '|';
    if (alts > LQ_MAX_SERVICES)
        return 0;
    ev->service_names = cl_strdup(v);
    for (char *save = NULL, *t = strtok_r(ev->service_names, "|", &save); t;
         t = strtok_r(NULL, "|", &save))
        ev->services[ev->n_services++] = t;
    return 1;
}

static int prepare_matchers(struct cl_lq_eval *ev, struct cl_query *q, char *err, size_t err_len)
{
    const struct cl_lq_log *log = ev->log;
    unsigned levels = 0;
    int any_level = 0;
    for (size_t i = 0; i < log->n_matchers; i++) {
        const struct cl_lq_matcher *m = &log->matchers[i];
        if (m->op >= CL_LQ_RE && !(ev->matcher_re[i] = compile(m->value, 1, err, err_len)))
            return -1;
        if (push_services(ev, m)) {
            ev->matcher_pushed[i] = 1;
        } else if (strcmp(m->name, "level") == 0) {
            unsigned mask = level_mask(ev, i);
            levels = any_level ? levels & mask : mask;
            any_level = 1;
            ev->matcher_pushed[i] = 1;
        }
    }
    if (ev->n_services) {
        q->services = ev->services;
        q->n_services = ev->n_services;
    }
    if (any_level && levels == 0) /* no level passes: 0 would mean all, so per record */
        for (size_t i = 0; i < log->n_matchers; i++)
            if (strcmp(log->matchers[i].name, "level") == 0)
                ev->matcher_pushed[i] = 0;
    if (any_level && levels)
        q->level_mask = levels;
    return 0;
}

/* Compiles the regexes of a label filter tree into ev->lf_re. */
static int prepare_filter(struct cl_lq_eval *ev, const struct cl_lq_label_filter *f, char *err,
                          size_t err_len)
{
    if (f->kind == CL_LQ_LF_AND || f->kind == CL_LQ_LF_OR)
        return prepare_filter(ev, f->left, err, err_len) != 0
                   ? -1
                   : prepare_filter(ev, f->right, err, err_len);
    if (f->kind != CL_LQ_LF_STRING || f->str_op < CL_LQ_RE)
        return 0;
    ev->lf_node = cl_realloc(ev->lf_node, (ev->n_lf + 1) * sizeof *ev->lf_node);
    ev->lf_re = cl_realloc(ev->lf_re, (ev->n_lf + 1) * sizeof *ev->lf_re);
    ev->lf_node[ev->n_lf] = f;
    ev->lf_re[ev->n_lf] = compile(f->str, 1, err, err_len);
    return ev->lf_re[ev->n_lf++] ? 0 : -1;
}

/* Only {{.name}} actions (blanks allowed inside the braces) are supported. */
static int check_template(const char *t, char *err, size_t err_len)
{
    for (const char *p = strstr(t, "{{"); p; p = strstr(p, "{{")) {
        const char *a = p + 2;
        a += strspn(a, " ");
        size_t name =
            *a == '.'
                ? strspn(a + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
                : 0;
        const char *e = a + 1 + name;
        e += strspn(e, " ");
        if (!name || strncmp(e, "}}", 2) != 0) {
            size_t shown = strcspn(p + 2, "}") + 2;
            shown += strncmp(p + shown, "}}", 2) == 0 ? 2 : 0;
            snprintf(err, err_len, "unsupported: line_format action `%.*s` (only {{.field}})",
                     (int)shown, p);
            return -1;
        }
        p = e + 2;
    }
    return 0;
}

static int prepare_stages(struct cl_lq_eval *ev, struct cl_query *q, char *err, size_t err_len)
{
    int formatted = 0;
    for (size_t i = 0; i < ev->log->n_stages; i++) {
        const struct cl_lq_stage *st = &ev->log->stages[i];
        if (st->kind == CL_LQ_LINE_FORMAT) {
            formatted = 1;
            if (check_template(st->format, err, err_len) != 0)
                return -1;
        }
        if (st->kind == CL_LQ_LABEL_FILTER && prepare_filter(ev, st->filter, err, err_len) != 0)
            return -1;
        if (st->kind != CL_LQ_LINE_FILTER)
            continue;
        ev->stage_re[i] = cl_calloc(st->line.n_values, sizeof *ev->stage_re[i]);
        for (size_t v = 0; st->line.op >= CL_LQ_RE && v < st->line.n_values; v++)
            if (!(ev->stage_re[i][v] = compile(st->line.values[v], 0, err, err_len)))
                return -1;
        /* The engine's grep and regex see the stored line, as these do before any
         * line_format; one value only (an `or` list is evaluated here). */
        if (formatted || st->line.n_values != 1)
            continue;
        if (st->line.op == CL_LQ_EQ && !q->grep) {
            q->grep = st->line.values[0];
            ev->stage_pushed[i] = 1;
        } else if (st->line.op == CL_LQ_RE && !q->regex) {
            q->regex = st->line.values[0];
            ev->stage_pushed[i] = 1;
        }
    }
    return 0;
}

int cl_lq_eval_new(const struct cl_lq_log *log, struct cl_query *q, struct cl_lq_eval **out,
                   char *err, size_t err_len)
{
    struct cl_lq_eval *ev = cl_calloc(1, sizeof *ev);
    ev->log = log;
    ev->matcher_pushed = cl_calloc(log->n_matchers + 1, 1);
    ev->matcher_re = cl_calloc(log->n_matchers + 1, sizeof *ev->matcher_re);
    ev->stage_pushed = cl_calloc(log->n_stages + 1, 1);
    ev->stage_re = cl_calloc(log->n_stages + 1, sizeof *ev->stage_re);
    ev->md = pcre2_match_data_create(1, NULL);
    ev->mctx = pcre2_match_context_create(NULL);
    if (!ev->md || !ev->mctx)
        abort(); /* out of memory: see common.h's policy */
    uint64_t heap = q->regex_heap_limit ? q->regex_heap_limit : CL_QUERY_REGEX_HEAP_LIMIT;
    pcre2_set_match_limit(ev->mctx,
                          q->regex_match_limit ? q->regex_match_limit : CL_QUERY_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(ev->mctx,
                          q->regex_depth_limit ? q->regex_depth_limit : CL_QUERY_REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(ev->mctx, (uint32_t)CL_MIN(CL_MAX(heap / 1024, 1), UINT32_MAX)); /* KiB */
    cl_buf_init(&ev->line, SIZE_MAX);
    *out = NULL;
    if (prepare_matchers(ev, q, err, err_len) != 0 || prepare_stages(ev, q, err, err_len) != 0) {
        cl_lq_eval_free(ev);
        return -1;
    }
    for (size_t i = 0; i < log->n_matchers; i++)
        ev->needed |= !ev->matcher_pushed[i];
    for (size_t i = 0; i < log->n_stages; i++) {
        ev->needed |= !ev->stage_pushed[i];
        ev->fields |= log->stages[i].kind == CL_LQ_LABEL_FILTER ||
                      log->stages[i].kind == CL_LQ_LINE_FORMAT ||
                      log->stages[i].kind == CL_LQ_LOGFMT;
    }
    for (size_t i = 0; i < log->n_matchers; i++) /* service and level come from the head */
        ev->fields |= !ev->matcher_pushed[i] && strcmp(log->matchers[i].name, "service") != 0 &&
                      strcmp(log->matchers[i].name, "level") != 0;
    *out = ev;
    return 0;
}

void cl_lq_eval_want_fields(struct cl_lq_eval *ev)
{
    ev->fields = 1;
}

int cl_lq_eval_needed(const struct cl_lq_eval *ev)
{
    return ev->needed;
}

void cl_lq_eval_free(struct cl_lq_eval *ev)
{
    if (!ev)
        return;
    for (size_t i = 0; i < ev->log->n_matchers; i++)
        pcre2_code_free(ev->matcher_re[i]);
    for (size_t i = 0; i < ev->log->n_stages; i++) {
        for (size_t v = 0; ev->stage_re[i] && v < ev->log->stages[i].line.n_values; v++)
            pcre2_code_free(ev->stage_re[i][v]);
        free(ev->stage_re[i]);
    }
    for (size_t i = 0; i < ev->n_lf; i++)
        pcre2_code_free(ev->lf_re[i]);
    free(ev->lf_re);
    free(ev->lf_node);
    free(ev->service_names);
    free(ev->matcher_re);
    free(ev->stage_re);
    free(ev->matcher_pushed);
    free(ev->stage_pushed);
    pcre2_match_data_free(ev->md);
    pcre2_match_context_free(ev->mctx);
    lq_labels_free(&ev->labels);
    cl_buf_free(&ev->line);
    free(ev);
}

/* ---- Per record ---- */

/* A label's value: extracted, stream (service, level) or top-level field; "" if none. */
static const char *label(const struct cl_lq_eval *ev, const char *name)
{
    const char *v = lq_labels_get(&ev->labels, name);
    return v ? v : "";
}

static void stream_labels(struct cl_lq_eval *ev, const char *line, size_t len,
                          const struct cl_line_head *h)
{
    lq_labels_reset(&ev->labels);
    if (ev->fields)
        (void)lq_extract_json_all(&ev->labels, line, len, 0);
    lq_labels_add(&ev->labels, "service", h->service, strlen(h->service));
    const char *lv = cl_level_name(h->level);
    lq_labels_add(&ev->labels, "level", lv, strlen(lv));
    ev->n_stream = ev->labels.n;
}

static const pcre2_code *filter_re(const struct cl_lq_eval *ev, const struct cl_lq_label_filter *f)
{
    for (size_t i = 0; i < ev->n_lf; i++)
        if (ev->lf_node[i] == f)
            return ev->lf_re[i];
    return NULL;
}

/* The label's value as a number in f's unit; 0 when it is not one. */
static int label_number(const char *v, enum cl_lq_unit unit, double *out)
{
    struct lq_token t;
    char err[8];
    if (unit == CL_LQ_PLAIN) {
        char *end;
        *out = strtod(v, &end);
        return end != v && *end == '\0';
    }
    if (lq_lex(v, 0, &t, err, sizeof err) != 0 || t.pos != 0 || t.len != strlen(v))
        return 0;
    *out = t.number;
    return unit == CL_LQ_DURATION ? t.kind == LQ_DURATION
                                  : t.kind == LQ_BYTES || t.kind == LQ_NUMBER;
}

static int compare(enum cl_lq_cmp op, double a, double b)
{
    switch (op) {
    case CL_LQ_GT:
        return a > b;
    case CL_LQ_GE:
        return a >= b;
    case CL_LQ_LT:
        return a < b;
    case CL_LQ_LE:
        return a <= b;
    case CL_LQ_EQEQ:
        return a == b;
    default:
        return a != b;
    }
}

/* 1 holds, 0 not, -1 a regex error. A value that is not a number fails a numeric test. */
static int filter_holds(struct cl_lq_eval *ev, const struct cl_lq_label_filter *f)
{
    if (f->kind == CL_LQ_LF_AND || f->kind == CL_LQ_LF_OR) {
        int l = filter_holds(ev, f->left);
        if (l < 0 || l == (f->kind == CL_LQ_LF_OR))
            return l;
        return filter_holds(ev, f->right);
    }
    const char *v = label(ev, f->name);
    if (f->kind == CL_LQ_LF_STRING)
        return match_value(ev, f->str_op, f->str, filter_re(ev, f), v);
    double x;
    return label_number(v, f->unit, &x) && compare(f->num_op, x, f->number);
}

static int line_holds(struct cl_lq_eval *ev, size_t stage, const char *line, size_t len)
{
    const struct cl_lq_line_filter *lf = &ev->log->stages[stage].line;
    int want_any = lf->op == CL_LQ_EQ || lf->op == CL_LQ_RE;
    for (size_t i = 0; i < lf->n_values; i++) {
        int m = lf->op == CL_LQ_EQ || lf->op == CL_LQ_NE
                    ? memmem(line, len, lf->values[i], strlen(lf->values[i])) != NULL
                    : re_match(ev, ev->stage_re[stage][i], line, len);
        if (m < 0)
            return -1;
        if (m)
            return want_any;
    }
    return !want_any;
}

static void line_format(struct cl_lq_eval *ev, const char *t)
{
    cl_buf_reset(&ev->line);
    for (const char *p = strstr(t, "{{"); p; p = strstr(t, "{{")) {
        cl_buf_append(&ev->line, t, (size_t)(p - t));
        const char *a = p + 2 + strspn(p + 2, " ") + 1; /* past the '.' */
        size_t n = strcspn(a, " }");
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)n, a);
        cl_buf_append_str(&ev->line, label(ev, name));
        t = strstr(a, "}}") + 2; /* checked by check_template */
    }
    cl_buf_append_str(&ev->line, t);
    cl_buf_append_char(&ev->line, '\0');
    ev->line.len--;
}

/* Runs stage i over *line; 1 pass, 0 drop, -1 regex error. */
static int run_stage(struct cl_lq_eval *ev, size_t i, const char **line, size_t *len, int formatted)
{
    const struct cl_lq_stage *st = &ev->log->stages[i];
    switch (st->kind) {
    case CL_LQ_LINE_FILTER:
        return ev->stage_pushed[i] ? 1 : line_holds(ev, i, *line, *len);
    case CL_LQ_JSON: {
        int rc = st->n_extract
                     ? lq_extract_json_paths(&ev->labels, *line, *len, st->extract, st->n_extract)
                     : lq_extract_json_all(&ev->labels, *line, *len, 1);
        if (rc != 0)
            lq_labels_add(&ev->labels, "__error__", "JSONParserErr", 13);
        return 1;
    }
    case CL_LQ_LOGFMT: {
        /* The stored line is JSON: logfmt reads its message (or line_format's output). */
        const char *text = formatted ? *line : label(ev, "message");
        lq_extract_logfmt(&ev->labels, text, formatted ? *len : strlen(text));
        return 1;
    }
    case CL_LQ_LABEL_FILTER:
        return filter_holds(ev, st->filter);
    case CL_LQ_DROP: /* an empty value is a missing label */
        for (size_t n = 0; n < st->n_extract; n++)
            lq_labels_add(&ev->labels, st->extract[n].name, "", 0);
        return 1;
    case CL_LQ_LINE_FORMAT:
        line_format(ev, st->format);
        *line = ev->line.data;
        *len = ev->line.len;
        return 1;
    }
    return 1;
}

int cl_lq_eval_record(struct cl_lq_eval *ev, const char *line, size_t len,
                      const struct cl_line_head *h, const char **out, size_t *out_len, char *err,
                      size_t err_len)
{
    stream_labels(ev, line, len, h);
    int ok = 1;
    for (size_t i = 0; ok == 1 && i < ev->log->n_matchers; i++) {
        const struct cl_lq_matcher *m = &ev->log->matchers[i];
        if (!ev->matcher_pushed[i])
            ok = match_value(ev, m->op, m->value, ev->matcher_re[i], label(ev, m->name));
    }
    int formatted = 0;
    for (size_t i = 0; ok == 1 && i < ev->log->n_stages; i++) {
        ok = run_stage(ev, i, &line, &len, formatted);
        formatted |= ev->log->stages[i].kind == CL_LQ_LINE_FORMAT;
    }
    if (ok < 0)
        snprintf(err, err_len,
                 "a regex of the LogQL query failed on a record (a PCRE2 limit: "
                 "--regex-match-limit, --regex-depth-limit, --regex-heap-limit); no count or "
                 "result is given rather than a wrong one");
    *out = line;
    *out_len = len;
    return ok;
}

void cl_lq_eval_labels(const struct cl_lq_eval *ev, const char *const **names,
                       const char *const **values, size_t *n, size_t *n_stream)
{
    *names = (const char *const *)ev->labels.names;
    *values = (const char *const *)ev->labels.values;
    *n = ev->labels.n;
    *n_stream = ev->n_stream;
}
