/* loki_const.c - constant LogQL expressions (numbers, vector(N), + - * / % ^), which
 * Grafana's Loki data source sends as its health check (vector(1)+vector(1)). The
 * LogQL parser refuses binary operators; these need no store, so they are evaluated
 * here, before a query reaches it. */
#include "loki_int.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CONST_MAX_DEPTH 32

struct cx {
    const char *s;
    int vector, depth, bad;
};

static void blanks(struct cx *c)
{
    while (isspace((unsigned char)*c->s))
        c->s++;
}

static int take(struct cx *c, const char *tok)
{
    blanks(c);
    size_t n = strlen(tok);
    if (strncmp(c->s, tok, n) != 0)
        return 0;
    c->s += n;
    return 1;
}

static double expr(struct cx *c);

static double primary(struct cx *c)
{
    blanks(c);
    if (++c->depth > CONST_MAX_DEPTH) {
        c->bad = 1;
        return 0;
    }
    double v = 0;
    if (take(c, "(")) {
        v = expr(c);
        c->bad |= !take(c, ")");
    } else if (take(c, "vector")) {
        c->vector = 1;
        c->bad |= !take(c, "(");
        v = expr(c);
        c->bad |= !take(c, ")");
    } else {
        char *end;
        v = strtod(c->s, &end);
        c->bad |= end == c->s || !(isdigit((unsigned char)*c->s) || *c->s == '.');
        c->s = end;
    }
    c->depth--;
    return v;
}

static double unary(struct cx *c)
{
    if (take(c, "-"))
        return -unary(c);
    if (take(c, "+"))
        return unary(c);
    double v = primary(c);
    return take(c, "^") ? pow(v, unary(c)) : v;
}

static double term(struct cx *c)
{
    double v = unary(c);
    for (;;) {
        if (take(c, "*"))
            v *= unary(c);
        else if (take(c, "/"))
            v /= unary(c);
        else if (take(c, "%"))
            v = fmod(v, unary(c));
        else
            return v;
    }
}

static double expr(struct cx *c)
{
    double v = term(c);
    for (;;) {
        if (take(c, "+"))
            v += term(c);
        else if (take(c, "-"))
            v -= term(c);
        else
            return v;
    }
}

int lk_const_eval(const char *text, double *value, int *has_vector)
{
    struct cx c = {.s = text};
    double v = expr(&c);
    blanks(&c);
    if (c.bad || *c.s)
        return -1;
    *value = v;
    *has_vector = c.vector;
    return 0;
}

int lk_parse_query(const char *text, struct cl_lq_expr **out, int *is_const, double *value,
                   int *has_vector, char *err, size_t err_len)
{
    *is_const = 0;
    *out = NULL;
    if (cl_logql_parse(text, out, err, err_len) == 0)
        return 0;
    if (lk_const_eval(text, value, has_vector) != 0)
        return -1; /* err: the parser's message */
    *is_const = 1;
    return 0;
}
