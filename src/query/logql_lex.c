/* logql_lex.c - LogQL tokens: identifiers, Go-style "strings" and `raw strings`,
 * numbers, durations (5m, 1h30m), byte sizes (10MB, 1KiB) and operators. */
#include "logql_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void lq_line_col(const char *text, size_t pos, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < pos && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int lex_fail(const char *text, size_t pos, struct lq_token *t, char *err, size_t err_len,
                    const char *what)
{
    int line, col;
    lq_line_col(text, pos, &line, &col);
    snprintf(err, err_len, "syntax error: %s at %d:%d", what, line, col);
    t->kind = LQ_BAD;
    t->pos = pos;
    return -1;
}

static void put_utf8(char *out, size_t *n, unsigned long cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* Reads `digits` digits of base `base` at s; returns the count read (all or fewer). */
static int read_digits(const char *s, int digits, int base, unsigned long *v)
{
    *v = 0;
    for (int i = 0; i < digits; i++) {
        int c = (unsigned char)s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && isxdigit(c))
            d = tolower(c) - 'a' + 10;
        else
            return i;
        if (d >= base)
            return i;
        *v = *v * (unsigned long)base + (unsigned long)d;
    }
    return digits;
}

/* One escape after the backslash at s (Go's rules); returns bytes consumed or 0. */
static size_t unescape(const char *s, char quote, char *out, size_t *n)
{
    static const char from[] = "abfnrtv\\", to[] = "\a\b\f\n\r\t\v\\";
    const char *p = strchr(from, s[0]);
    if (s[0] && p) {
        out[(*n)++] = to[p - from];
        return 1;
    }
    if (s[0] == quote) {
        out[(*n)++] = quote;
        return 1;
    }
    unsigned long v;
    int want = s[0] == 'x' ? 2 : s[0] == 'u' ? 4 : s[0] == 'U' ? 8 : 0;
    if (want) {
        if (read_digits(s + 1, want, 16, &v) != want || v > 0x10FFFF)
            return 0;
        if (s[0] == 'x')
            out[(*n)++] = (char)v;
        else
            put_utf8(out, n, v);
        return (size_t)want + 1;
    }
    if (read_digits(s, 3, 8, &v) == 3 && v < 256) {
        out[(*n)++] = (char)v;
        return 3;
    }
    return 0;
}

static int lex_string(const char *text, size_t pos, struct lq_token *t, char *err, size_t err_len)
{
    char quote = text[pos];
    size_t i = pos + 1, n = 0;
    char *out = malloc(strlen(text + pos) + 1); /* decoded is never longer than the source */
    if (!out)
        return lex_fail(text, pos, t, err, err_len, "out of memory");
    while (text[i] && text[i] != quote) {
        if (quote == '"' && text[i] == '\n')
            break;
        if (quote != '`' && text[i] == '\\') {
            size_t used = unescape(text + i + 1, quote, out, &n);
            if (!used) {
                free(out);
                return lex_fail(text, i, t, err, err_len, "invalid escape in string");
            }
            i += used + 1;
            continue;
        }
        out[n++] = text[i++];
    }
    if (text[i] != quote) {
        free(out);
        return lex_fail(text, pos, t, err, err_len, "unterminated string");
    }
    out[n] = '\0';
    t->kind = LQ_STRING;
    t->str = out;
    t->len = i + 1 - pos;
    return 0;
}

/* Seconds per duration unit, or 0 for none; *ulen is the unit's length. */
static double duration_unit(const char *s, size_t *ulen)
{
    static const struct {
        const char *u;
        double secs;
    } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3},  {"s", 1},
                 {"m", 60},    {"h", 3600},  {"d", 86400},        {"w", 604800}, {"y", 31536000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t l = strlen(units[i].u);
        if (strncmp(s, units[i].u, l) == 0 && !isalpha((unsigned char)s[l])) {
            *ulen = l;
            return units[i].secs;
        }
    }
    return 0;
}

/* Bytes per byte-size unit (case-insensitive, as Loki's humanize parser), or 0. */
static double bytes_unit(const char *s, size_t len)
{
    static const char *const names[] = {"b", "kb", "mb", "gb", "tb", "pb", "eb"};
    static const char *const inames[] = {"kib", "mib", "gib", "tib", "pib", "eib"};
    double f = 1;
    for (size_t i = 0; i < 7; i++, f *= 1000)
        if (strlen(names[i]) == len && strncasecmp(s, names[i], len) == 0)
            return f;
    f = 1024;
    for (size_t i = 0; i < 6; i++, f *= 1024)
        if (len == 3 && strncasecmp(s, inames[i], 3) == 0)
            return f;
    return 0;
}

static int lex_number(const char *text, size_t pos, struct lq_token *t, char *err, size_t err_len)
{
    char *end;
    double v = strtod(text + pos, &end);
    size_t i = (size_t)(end - text), alpha = i;
    while (isalpha((unsigned char)text[alpha]) || (unsigned char)text[alpha] >= 0x80)
        alpha++;
    t->kind = LQ_NUMBER;
    t->number = v;
    if (alpha == i) {
        t->len = i - pos;
        return 0;
    }
    double b = bytes_unit(text + i, alpha - i);
    if (b > 0) {
        t->kind = LQ_BYTES;
        t->number = v * b;
        t->len = alpha - pos;
        return 0;
    }
    /* A duration: one or more number+unit pairs (1h30m). */
    double secs = 0;
    size_t j = pos;
    for (;;) {
        v = strtod(text + j, &end);
        if (end == text + j)
            break;
        size_t ulen;
        double u = duration_unit(end, &ulen);
        if (u == 0)
            return lex_fail(text, (size_t)(end - text), t, err, err_len, "unknown unit");
        secs += v * u;
        j = (size_t)(end - text) + ulen;
        if (!isdigit((unsigned char)text[j]))
            break;
    }
    t->kind = LQ_DURATION;
    t->number = secs;
    t->len = j - pos;
    return 0;
}

static int lex_punct(const char *text, size_t pos, struct lq_token *t, char *err, size_t err_len)
{
    static const char *const two[] = {"|=", "!=", "|~", "!~", "=~", ">=", "<=", "==", "|>", "!>"};
    for (size_t i = 0; i < sizeof two / sizeof two[0]; i++) {
        if (strncmp(text + pos, two[i], 2) == 0) {
            memcpy(t->text, two[i], 3);
            t->len = 2;
            t->kind = LQ_PUNCT;
            return 0;
        }
    }
    if (!strchr("{}()[],|=<>+-*/%^!@:", text[pos]))
        return lex_fail(text, pos, t, err, err_len, "unexpected character");
    t->text[0] = text[pos];
    t->text[1] = '\0';
    t->len = 1;
    t->kind = LQ_PUNCT;
    return 0;
}

/* A number, duration or size token, refused when it does not fit a double. */
static int lex_finite(const char *text, size_t pos, struct lq_token *t, char *err, size_t err_len)
{
    if (lex_number(text, pos, t, err, err_len) != 0)
        return -1;
    return isfinite(t->number) ? 0 : lex_fail(text, pos, t, err, err_len, "number out of range");
}

int lq_lex(const char *text, size_t pos, struct lq_token *t, char *err, size_t err_len)
{
    while (isspace((unsigned char)text[pos]))
        pos++;
    memset(t, 0, sizeof *t);
    t->pos = pos;
    unsigned char c = (unsigned char)text[pos];
    if (c == '\0') {
        t->kind = LQ_EOF;
        return 0;
    }
    if (c == '"' || c == '`')
        return lex_string(text, pos, t, err, err_len);
    if (isdigit(c) || (c == '.' && isdigit((unsigned char)text[pos + 1])))
        return lex_finite(text, pos, t, err, err_len);
    if (isalpha(c) || c == '_') {
        size_t i = pos;
        while (isalnum((unsigned char)text[i]) || text[i] == '_')
            i++;
        t->kind = LQ_IDENT;
        t->len = i - pos;
        return 0;
    }
    return lex_punct(text, pos, t, err, err_len);
}
