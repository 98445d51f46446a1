/* logql.c - the LogQL subset's recursive-descent parser (grammar: docs/query.md "LogQL").
 *
 * One token of lookahead (p->tok). Every function returns 0 or -1 with p->err set; the
 * partly built AST hangs off the root, so cl_logql_free cleans up after any error.
 */
#include "logql.h"
#include "logql_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const char *text;
    struct lq_token tok;
    char *err;
    size_t err_len;
    int failed;
    int depth; /* open parentheses and nested aggregations */
};

/* Parentheses and aggregations nest at most this deep: the parser recurses on them. */
#define LQ_MAX_DEPTH 64

static int fail_at(struct parser *p, size_t pos, const char *kind, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int line, col;
    lq_line_col(p->text, pos, &line, &col);
    snprintf(p->err, p->err_len, "%s: %s at %d:%d", kind, what, line, col);
    p->failed = 1;
    return -1;
}

#define SYNTAX(p, ...) fail_at((p), (p)->tok.pos, "syntax error", __VA_ARGS__)
#define UNSUPPORTED(p, ...) fail_at((p), (p)->tok.pos, "unsupported", __VA_ARGS__)

static int advance(struct parser *p)
{
    free(p->tok.str);
    size_t next = p->tok.pos + p->tok.len;
    if (lq_lex(p->text, next, &p->tok, p->err, p->err_len) != 0) {
        p->failed = 1;
        return -1;
    }
    return 0;
}

static int is_punct(const struct parser *p, const char *op)
{
    return p->tok.kind == LQ_PUNCT && strcmp(p->tok.text, op) == 0;
}

static int is_word(const struct parser *p, const char *word)
{
    return p->tok.kind == LQ_IDENT && strlen(word) == p->tok.len &&
           strncmp(p->text + p->tok.pos, word, p->tok.len) == 0;
}

static int accept(struct parser *p, const char *op)
{
    if (!is_punct(p, op))
        return 0;
    return advance(p) == 0 ? 1 : -1;
}

static int expect(struct parser *p, const char *op)
{
    if (!is_punct(p, op))
        return SYNTAX(p, "expected `%s`", op);
    return advance(p);
}

/* Takes the current string token's value (malloc'd, caller owns it) and advances. */
static int take_string(struct parser *p, char **out, const char *what)
{
    if (p->tok.kind != LQ_STRING)
        return SYNTAX(p, "expected %s (a string)", what);
    *out = p->tok.str;
    p->tok.str = NULL;
    return advance(p);
}

/* Takes the current identifier (malloc'd, caller owns it) and advances. */
static int take_ident(struct parser *p, char **out, const char *what)
{
    if (p->tok.kind != LQ_IDENT)
        return SYNTAX(p, "expected %s", what);
    *out = strndup(p->text + p->tok.pos, p->tok.len);
    if (!*out)
        return SYNTAX(p, "out of memory");
    return advance(p);
}

/* Grows *arr (of *n elements of size sz) by one zeroed element; returns it or NULL. */
static void *push(struct parser *p, void *arr, size_t *n, size_t sz)
{
    void **a = arr;
    char *grown = realloc(*a, (*n + 1) * sz);
    if (!grown) {
        SYNTAX(p, "out of memory");
        return NULL;
    }
    *a = grown;
    memset(grown + *n * sz, 0, sz);
    return grown + (*n)++ * sz;
}

static int match_op(struct parser *p, enum cl_lq_match *op)
{
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    for (int i = 0; i < 4; i++) {
        if (is_punct(p, ops[i])) {
            *op = (enum cl_lq_match)i;
            return advance(p);
        }
    }
    return SYNTAX(p, "expected `=`, `!=`, `=~` or `!~`");
}

static int parse_selector(struct parser *p, struct cl_lq_log *log)
{
    if (expect(p, "{") != 0)
        return -1;
    do {
        struct cl_lq_matcher *m = push(p, &log->matchers, &log->n_matchers, sizeof *m);
        if (!m || take_ident(p, &m->name, "a label name") != 0 || match_op(p, &m->op) != 0 ||
            take_string(p, &m->value, "a label value") != 0)
            return -1;
    } while (accept(p, ",") == 1);
    return p->failed ? -1 : expect(p, "}");
}

static int parse_line_filter(struct parser *p, struct cl_lq_stage *st)
{
    static const char *const ops[] = {"|=", "!=", "|~", "!~"};
    for (int i = 0; i < 4; i++)
        if (is_punct(p, ops[i]))
            st->line.op = (enum cl_lq_match)i;
    if (advance(p) != 0)
        return -1;
    if (is_word(p, "ip"))
        return UNSUPPORTED(p, "IP line filter `ip(...)`");
    do {
        char **v = push(p, &st->line.values, &st->line.n_values, sizeof *v);
        if (!v || take_string(p, v, "a line filter value") != 0)
            return -1;
    } while (is_word(p, "or") && advance(p) == 0);
    return p->failed ? -1 : 0;
}

static int parse_json(struct parser *p, struct cl_lq_stage *st)
{
    st->kind = CL_LQ_JSON;
    if (advance(p) != 0)
        return -1;
    if (p->tok.kind != LQ_IDENT)
        return 0;
    do {
        struct cl_lq_extract *x = push(p, &st->extract, &st->n_extract, sizeof *x);
        if (!x || take_ident(p, &x->name, "a label name to extract") != 0)
            return -1;
        if (accept(p, "=") == 1 && take_string(p, &x->path, "a JSON path") != 0)
            return -1;
    } while (accept(p, ",") == 1);
    return p->failed ? -1 : 0;
}

static int parse_or(struct parser *p, struct cl_lq_label_filter **out);

static int number_value(struct parser *p, struct cl_lq_label_filter *f)
{
    int neg = 0;
    if (is_punct(p, "-")) {
        neg = 1;
        if (advance(p) != 0)
            return -1;
    }
    if (p->tok.kind != LQ_NUMBER && p->tok.kind != LQ_DURATION && p->tok.kind != LQ_BYTES)
        return SYNTAX(p, "expected a number, duration or byte size");
    f->unit = p->tok.kind == LQ_DURATION ? CL_LQ_DURATION
              : p->tok.kind == LQ_BYTES  ? CL_LQ_BYTES
                                         : CL_LQ_PLAIN;
    f->number = neg ? -p->tok.number : p->tok.number;
    return advance(p);
}

/* name OP value: a string comparison for a string value, else a numeric one. */
static int parse_comparison(struct parser *p, struct cl_lq_label_filter *f)
{
    static const char *const num_ops[] = {">", ">=", "<", "<=", "=="};
    if (is_word(p, "ip") || is_word(p, "label_replace"))
        return UNSUPPORTED(p, "label filter function `%.*s`", (int)p->tok.len,
                           p->text + p->tok.pos);
    if (take_ident(p, &f->name, "a label filter") != 0)
        return -1;
    for (int i = 0; i < 5; i++) {
        if (is_punct(p, num_ops[i])) {
            f->kind = CL_LQ_LF_NUMBER;
            f->num_op = (enum cl_lq_cmp)i;
            return advance(p) != 0 ? -1 : number_value(p, f);
        }
    }
    enum cl_lq_match op = CL_LQ_EQ;
    if (match_op(p, &op) != 0)
        return -1;
    if (p->tok.kind == LQ_STRING) {
        f->kind = CL_LQ_LF_STRING;
        f->str_op = op;
        return take_string(p, &f->str, "a value");
    }
    if (op == CL_LQ_RE || op == CL_LQ_NRE)
        return SYNTAX(p, "expected a regular expression (a string)");
    if (is_word(p, "ip"))
        return UNSUPPORTED(p, "label filter function `ip(...)`");
    f->kind = CL_LQ_LF_NUMBER;
    f->num_op = op == CL_LQ_EQ ? CL_LQ_EQEQ : CL_LQ_NEQ;
    return number_value(p, f);
}

static int enter(struct parser *p)
{
    if (++p->depth > LQ_MAX_DEPTH)
        return SYNTAX(p, "nested deeper than %d", LQ_MAX_DEPTH);
    return 0;
}

static int parse_primary(struct parser *p, struct cl_lq_label_filter **out)
{
    if (is_punct(p, "(")) {
        if (enter(p) != 0 || advance(p) != 0 || parse_or(p, out) != 0)
            return -1;
        p->depth--;
        return expect(p, ")");
    }
    *out = calloc(1, sizeof **out);
    if (!*out)
        return SYNTAX(p, "out of memory");
    return parse_comparison(p, *out);
}

/* Joins *left and the next operand into an AND/OR node in *left. */
static int join(struct parser *p, struct cl_lq_label_filter **left, enum cl_lq_lf_kind kind,
                int (*operand)(struct parser *, struct cl_lq_label_filter **))
{
    struct cl_lq_label_filter *n = calloc(1, sizeof *n);
    if (!n)
        return SYNTAX(p, "out of memory");
    n->kind = kind;
    n->left = *left;
    *left = n;
    return operand(p, &n->right);
}

static int parse_and(struct parser *p, struct cl_lq_label_filter **out)
{
    if (parse_primary(p, out) != 0)
        return -1;
    while (is_word(p, "and") || is_punct(p, ",")) {
        if (advance(p) != 0 || join(p, out, CL_LQ_LF_AND, parse_primary) != 0)
            return -1;
    }
    return 0;
}

static int parse_or(struct parser *p, struct cl_lq_label_filter **out)
{
    if (parse_and(p, out) != 0)
        return -1;
    while (is_word(p, "or")) {
        if (advance(p) != 0 || join(p, out, CL_LQ_LF_OR, parse_and) != 0)
            return -1;
    }
    return 0;
}

static const char *const unsupported_stages[][2] = {
    {"pattern", "pattern parser `| pattern`"},
    {"regexp", "regexp parser `| regexp`"},
    {"unpack", "unpack parser `| unpack`"},
    {"label_format", "`| label_format`"},
    {"keep", "`| keep`"},
    {"decolorize", "`| decolorize`"},
    {"distinct", "`| distinct`"},
};

/* `| drop a, b` of plain names (Grafana's logs volume sends `| drop __error__`). */
static int parse_drop(struct parser *p, struct cl_lq_stage *st)
{
    st->kind = CL_LQ_DROP;
    if (advance(p) != 0)
        return -1;
    do {
        struct cl_lq_extract *x = push(p, &st->extract, &st->n_extract, sizeof *x);
        if (!x || take_ident(p, &x->name, "a label name to drop") != 0)
            return -1;
        if (is_punct(p, "=") || is_punct(p, "!=") || is_punct(p, "=~") || is_punct(p, "!~"))
            return UNSUPPORTED(p, "`| drop` with a label matcher");
    } while (accept(p, ",") == 1);
    return p->failed ? -1 : 0;
}

/* `| unwrap field` (only where the caller allows it: *unwrap non-NULL). */
static int parse_unwrap(struct parser *p, char **unwrap)
{
    if (!unwrap)
        return UNSUPPORTED(p, "`| unwrap` outside an unwrapped range aggregation");
    if (advance(p) != 0)
        return -1;
    if (is_word(p, "duration") || is_word(p, "duration_seconds") || is_word(p, "bytes"))
        return UNSUPPORTED(p, "unwrap conversion `%.*s(...)`", (int)p->tok.len,
                           p->text + p->tok.pos);
    if (take_ident(p, unwrap, "a label to unwrap") != 0)
        return -1;
    if (is_punct(p, "|") || is_punct(p, "|=") || is_punct(p, "!=") || is_punct(p, "|~") ||
        is_punct(p, "!~"))
        return UNSUPPORTED(p, "pipeline stages after `| unwrap`");
    return 0;
}

/* The stage after `|`; p->tok is the token after the bar. */
static int parse_bar_stage(struct parser *p, struct cl_lq_log *log, char **unwrap)
{
    for (size_t i = 0; i < sizeof unsupported_stages / sizeof unsupported_stages[0]; i++)
        if (is_word(p, unsupported_stages[i][0]))
            return UNSUPPORTED(p, "%s", unsupported_stages[i][1]);
    if (is_word(p, "unwrap"))
        return parse_unwrap(p, unwrap);
    struct cl_lq_stage *st = push(p, &log->stages, &log->n_stages, sizeof *st);
    if (!st)
        return -1;
    if (is_word(p, "json"))
        return parse_json(p, st);
    if (is_word(p, "drop"))
        return parse_drop(p, st);
    if (is_word(p, "logfmt")) {
        st->kind = CL_LQ_LOGFMT;
        if (advance(p) != 0)
            return -1;
        if (is_punct(p, "-") || p->tok.kind == LQ_IDENT)
            return UNSUPPORTED(p, "`| logfmt` flags or extraction");
        return 0;
    }
    if (is_word(p, "line_format")) {
        st->kind = CL_LQ_LINE_FORMAT;
        return advance(p) != 0 ? -1 : take_string(p, &st->format, "a template");
    }
    st->kind = CL_LQ_LABEL_FILTER;
    if (p->tok.kind != LQ_IDENT && !is_punct(p, "("))
        return SYNTAX(p, "expected a parser, a label filter or `line_format` after `|`");
    return parse_or(p, &st->filter);
}

static int parse_pipeline(struct parser *p, struct cl_lq_log *log, char **unwrap)
{
    for (;;) {
        if (is_punct(p, "|>") || is_punct(p, "!>"))
            return UNSUPPORTED(p, "pattern line filter `%s`", p->tok.text);
        if (is_punct(p, "|=") || is_punct(p, "!=") || is_punct(p, "|~") || is_punct(p, "!~")) {
            struct cl_lq_stage *st = push(p, &log->stages, &log->n_stages, sizeof *st);
            if (!st || parse_line_filter(p, st) != 0)
                return -1;
        } else if (is_punct(p, "|")) {
            if (advance(p) != 0 || parse_bar_stage(p, log, unwrap) != 0)
                return -1;
            if (unwrap && *unwrap)
                return 0;
        } else {
            return 0;
        }
    }
}

static int parse_log(struct parser *p, struct cl_lq_log *log)
{
    return parse_selector(p, log) != 0 ? -1 : parse_pipeline(p, log, NULL);
}

static int parse_expr(struct parser *p, struct cl_lq_expr **out);
static int parse_expr_at(struct parser *p, struct cl_lq_expr **out);

static const char *const range_fns[] = {"count_over_time", "rate",          "bytes_over_time",
                                        "bytes_rate",      "sum_over_time", "avg_over_time",
                                        "max_over_time",   "min_over_time", "quantile_over_time"};
static const char *const vector_ops[] = {"sum", "avg", "min", "max", "count", "topk", "bottomk"};
static const char *const unsupported_fns[] = {
    "absent_over_time", "first_over_time",  "last_over_time",
    "stddev_over_time", "stdvar_over_time", "rate_counter",
    "stddev",           "stdvar",           "sort",
    "sort_desc",        "label_replace",    "vector"};

static int word_index(const struct parser *p, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (is_word(p, words[i]))
            return (int)i;
    return -1;
}

/* [5m]: a whole number of milliseconds, at least one. */
static int parse_range(struct parser *p, int64_t *range_ms)
{
    if (expect(p, "[") != 0)
        return -1;
    if (p->tok.kind != LQ_DURATION)
        return SYNTAX(p, "expected a duration such as 5m");
    double ms = p->tok.number * 1000;
    if (ms < 1 || ms > 1e15)
        return SYNTAX(p, "range out of bounds");
    *range_ms = (int64_t)llround(ms);
    if (advance(p) != 0 || expect(p, "]") != 0)
        return -1;
    if (is_word(p, "offset"))
        return UNSUPPORTED(p, "`offset`");
    return 0;
}

static int parse_range_agg(struct parser *p, struct cl_lq_expr *e, int fn)
{
    e->kind = CL_LQ_RANGE_AGG;
    e->range_fn = (enum cl_lq_range_fn)fn;
    int unwrapped = fn >= CL_LQ_SUM_OVER_TIME;
    if (advance(p) != 0 || expect(p, "(") != 0)
        return -1;
    if (fn == CL_LQ_QUANTILE_OVER_TIME) {
        if (p->tok.kind != LQ_NUMBER)
            return SYNTAX(p, "expected the quantile (a number)");
        e->quantile = p->tok.number;
        if (advance(p) != 0 || expect(p, ",") != 0)
            return -1;
    }
    if (parse_selector(p, &e->log) != 0)
        return -1;
    if (is_punct(p, "[")) { /* Loki also accepts the range right after the selector */
        if (parse_range(p, &e->range_ms) != 0 ||
            parse_pipeline(p, &e->log, unwrapped ? &e->unwrap : NULL) != 0)
            return -1;
    } else if (parse_pipeline(p, &e->log, unwrapped ? &e->unwrap : NULL) != 0 ||
               parse_range(p, &e->range_ms) != 0) {
        return -1;
    }
    if (unwrapped && !e->unwrap)
        return SYNTAX(p, "`%s` needs `| unwrap field`", range_fns[fn]);
    if (expect(p, ")") != 0)
        return -1;
    if (is_word(p, "by") || is_word(p, "without"))
        return UNSUPPORTED(p, "grouping on a range aggregation");
    return 0;
}

static int parse_grouping(struct parser *p, struct cl_lq_expr *e)
{
    if (e->has_grouping)
        return SYNTAX(p, "grouping given twice");
    e->has_grouping = 1;
    e->without = is_word(p, "without");
    if (advance(p) != 0 || expect(p, "(") != 0)
        return -1;
    if (accept(p, ")") == 1)
        return 0;
    do {
        char **l = push(p, &e->labels, &e->n_labels, sizeof *l);
        if (!l || take_ident(p, l, "a label name") != 0)
            return -1;
    } while (accept(p, ",") == 1);
    return p->failed ? -1 : expect(p, ")");
}

static int parse_vector_param(struct parser *p, struct cl_lq_expr *e)
{
    if (p->tok.kind != LQ_NUMBER || p->tok.number < 1 || p->tok.number != floor(p->tok.number) ||
        p->tok.number > 1e9)
        return SYNTAX(p, "expected k (a positive whole number)");
    e->k = (int64_t)p->tok.number;
    return advance(p) != 0 ? -1 : expect(p, ",");
}

static int parse_vector_agg(struct parser *p, struct cl_lq_expr *e, int op)
{
    e->kind = CL_LQ_VECTOR_AGG;
    e->vector_op = (enum cl_lq_vector_op)op;
    if (advance(p) != 0)
        return -1;
    if ((is_word(p, "by") || is_word(p, "without")) && parse_grouping(p, e) != 0)
        return -1;
    if (expect(p, "(") != 0)
        return -1;
    if (op >= CL_LQ_TOPK && parse_vector_param(p, e) != 0)
        return -1;
    size_t inner_pos = p->tok.pos;
    if (parse_expr(p, &e->inner) != 0)
        return -1;
    if (e->inner->kind == CL_LQ_LOG_QUERY)
        return fail_at(p, inner_pos, "syntax error", "`%s` needs a metric expression",
                       vector_ops[op]);
    if (expect(p, ")") != 0)
        return -1;
    if ((is_word(p, "by") || is_word(p, "without")) && parse_grouping(p, e) != 0)
        return -1;
    return 0;
}

static int parse_expr(struct parser *p, struct cl_lq_expr **out)
{
    if (enter(p) != 0)
        return -1;
    int rc = parse_expr_at(p, out);
    p->depth--;
    return rc;
}

static int parse_expr_at(struct parser *p, struct cl_lq_expr **out)
{
    struct cl_lq_expr *e = *out = calloc(1, sizeof *e);
    if (!e)
        return SYNTAX(p, "out of memory");
    if (is_punct(p, "{"))
        return parse_log(p, &e->log);
    int i = word_index(p, range_fns, sizeof range_fns / sizeof range_fns[0]);
    if (i >= 0)
        return parse_range_agg(p, e, i);
    i = word_index(p, vector_ops, sizeof vector_ops / sizeof vector_ops[0]);
    if (i >= 0)
        return parse_vector_agg(p, e, i);
    if (word_index(p, unsupported_fns, sizeof unsupported_fns / sizeof unsupported_fns[0]) >= 0)
        return UNSUPPORTED(p, "function `%.*s`", (int)p->tok.len, p->text + p->tok.pos);
    if (is_punct(p, "(")) {
        free(e);
        *out = NULL;
        return advance(p) != 0 || parse_expr(p, out) != 0 ? -1 : expect(p, ")");
    }
    if (p->tok.kind == LQ_NUMBER)
        return UNSUPPORTED(p, "literal expressions");
    return SYNTAX(p, "expected a stream selector `{...}` or a metric function");
}

static int parse_end(struct parser *p)
{
    static const char *const binops[] = {"+",  "-",  "*", "/",  "%", "^",
                                         "==", "!=", ">", ">=", "<", "<="};
    if (p->tok.kind == LQ_EOF)
        return 0;
    for (size_t i = 0; i < sizeof binops / sizeof binops[0]; i++)
        if (is_punct(p, binops[i]))
            return UNSUPPORTED(p, "binary operator `%s`", binops[i]);
    if (is_word(p, "and") || is_word(p, "or") || is_word(p, "unless"))
        return UNSUPPORTED(p, "binary operator `%.*s`", (int)p->tok.len, p->text + p->tok.pos);
    return SYNTAX(p, "unexpected input after the end of the query");
}

int cl_logql_parse(const char *text, struct cl_lq_expr **out, char *err, size_t err_len)
{
    struct parser p = {.text = text, .err = err, .err_len = err_len};
    *out = NULL;
    struct cl_lq_expr *e = NULL;
    int rc = lq_lex(text, 0, &p.tok, err, err_len);
    if (rc == 0)
        rc = parse_expr(&p, &e);
    if (rc == 0)
        rc = parse_end(&p);
    free(p.tok.str);
    if (rc != 0 || p.failed) {
        cl_logql_free(e);
        return -1;
    }
    *out = e;
    return 0;
}
