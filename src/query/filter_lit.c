/* filter_lit.c - the longest literal every match of a --regex must contain.
 *
 * The scan searches the decompressed text for it (cq_find) and runs the regex only on
 * the lines that hold it. The reading is deliberately partial: it understands a subset of
 * PCRE2's syntax and gives up (no literal: the regex runs on every line) on anything
 * that could change what the rest means. Only the top level is read for literals:
 * - a top-level '|' gives up (each branch has its own literals);
 * - '(?' other than '(?:' gives up: inline options ((?i) folds case, (?x) makes spaces and
 *   '#' comments), lookarounds, conditionals, comments, named groups; so do '(*' (verbs,
 *   start-of-pattern options such as (*UCP)), \Q and \E;
 * - a group, a class, '.', '^', '$', a non-literal escape, a control or non-ASCII byte
 *   ends the current run of literal characters;
 * - a character followed by '?', '*' or '{' (a possible {n,m} quantifier, in any PCRE2
 *   version's syntax) is left out of the run, one followed by '+' ends it.
 * The pattern was compiled before (it is valid) and with PCRE2_UTF as the only option. */
#include "query_int.h"

#include <string.h>

/* The reading position and the literal runs found at the top level. */
struct lit_scan {
    const char *re;
    size_t i, n;
    int depth; /* group nesting at i */
    char *run; /* the current run of literal characters (n + 1 bytes) */
    size_t run_len;
    char *best; /* the longest run ended so far (n + 1 bytes, the caller's) */
    size_t best_len;
};

static int is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Ends the current run, keeping it if it is the longest yet. */
static void end_run(struct lit_scan *s)
{
    if (s->run_len > s->best_len) {
        memcpy(s->best, s->run, s->run_len);
        s->best_len = s->run_len;
    }
    s->run_len = 0;
}

/* Skips from s->i (just past an opening delimiter) to after the closing byte; -1 if the
 * pattern ends first or a byte that structures the pattern comes before it. */
static int skip_to(struct lit_scan *s, char close)
{
    for (; s->i < s->n; s->i++) {
        char c = s->re[s->i];
        if (c == close) {
            s->i++;
            return 0;
        }
        if (strchr("\\()[]|", c))
            return -1;
    }
    return -1;
}

/* Skips the argument of an escape whose letter was e (s->i just past it): \cX takes one
 * byte, the letters below a delimited {..} (<..>, '..' after \g and \k) or else a run of
 * digits (a back reference, an octal code), of signed digits (\g), of hex digits (\x)
 * or of letters and digits (\p, \N, ...): at times more than PCRE2 reads as the
 * argument, and the bytes after are then only not read as literals. Returns -1 to give
 * up, on an escape not known here. */
static int skip_escape_arg(struct lit_scan *s, unsigned char e)
{
    if (strchr("dDhHsSvVwWRXbBAZzGKCaefnrt", e))
        return 0;
    if (e == 'c') {
        if (s->i >= s->n || (unsigned char)s->re[s->i] < 0x20 || (unsigned char)s->re[s->i] > 0x7e)
            return -1;
        s->i++;
        return 0;
    }
    if (!strchr("xoNpPgk0123456789", e))
        return -1; /* \Q, \E, \u, \L ... */
    char c = s->i < s->n ? s->re[s->i] : '\0';
    if (c == '{' || ((e == 'g' || e == 'k') && (c == '<' || c == '\''))) {
        s->i++;
        return skip_to(s, c == '{' ? '}' : c == '<' ? '>' : '\'');
    }
    const char *arg = e >= '0' && e <= '9' ? "0123456789"
                      : e == 'g'           ? "+-0123456789"
                      : e == 'x'           ? "0123456789abcdefABCDEF"
                                           : NULL; /* any letter or digit */
    while (s->i < s->n &&
           (arg ? strchr(arg, s->re[s->i]) != NULL : is_alnum((unsigned char)s->re[s->i])))
        s->i++;
    return 0;
}

/* Reads the escape at s->i ('\\'): returns its literal byte (a non-alphanumeric printable
 * ASCII byte stands for itself), 0 for any other escape (its argument skipped), or -1
 * to give up. */
static int read_escape(struct lit_scan *s)
{
    if (s->i + 1 >= s->n)
        return -1;
    unsigned char e = (unsigned char)s->re[s->i + 1];
    s->i += 2;
    if (is_alnum(e))
        return skip_escape_arg(s, e) == 0 ? 0 : -1;
    return e >= 0x20 && e <= 0x7e ? e : 0; /* a control or non-ASCII byte: not a literal */
}

/* Skips the class at s->i ('['); -1 to give up. A ']' first (after an optional '^') is a
 * member; '[:name:]' is a POSIX class inside it; any other '[:', '[.' or '[=' gives up. */
static int skip_class(struct lit_scan *s)
{
    s->i++;
    if (s->i < s->n && s->re[s->i] == '^')
        s->i++;
    if (s->i < s->n && s->re[s->i] == ']')
        s->i++;
    while (s->i < s->n) {
        char c = s->re[s->i];
        if (c == ']') {
            s->i++;
            return 0;
        }
        if (c == '\\') {
            if (s->i + 1 >= s->n || s->re[s->i + 1] == 'Q' || s->re[s->i + 1] == 'E')
                return -1;
            s->i += s->re[s->i + 1] == 'c' ? 3 : 2;
        } else if (c == '[' && s->i + 1 < s->n && strchr(":.=", s->re[s->i + 1])) {
            size_t j = s->i + 2;
            j += j < s->n && s->re[j] == '^';
            while (j < s->n && s->re[j] >= 'a' && s->re[j] <= 'z')
                j++;
            if (s->re[s->i + 1] != ':' || j + 1 >= s->n || s->re[j] != ':' || s->re[j + 1] != ']')
                return -1;
            s->i = j + 2;
        } else {
            s->i++;
        }
    }
    return -1;
}

/* 1 if s->re[i..) starts a {..} of digits, commas and white space (a quantifier in some
 * PCRE2 version: 10.43 reads spaces in one; or a literal read as one, which only loses a
 * literal); its end in *end. Any white space, not only ' ', in case a later PCRE2 reads
 * tabs there too (review). */
static int is_brace_quant(const struct lit_scan *s, size_t i, size_t *end)
{
    if (i >= s->n || s->re[i] != '{')
        return 0;
    for (size_t j = i + 1; j < s->n; j++) {
        char c = s->re[j];
        if (c == '}') {
            *end = j + 1;
            return 1;
        }
        int space = c == ' ' || (c >= '\t' && c <= '\r'); /* \t \n \v \f \r */
        if (!(c >= '0' && c <= '9') && c != ',' && !space)
            return 0;
    }
    return 0;
}

/* Skips the quantifiers after an atom; returns 2 if one lets it occur zero times (or may:
 * every {..}, '?' after '+' too), 1 if only '+', 0 if none. */
static int read_quantifiers(struct lit_scan *s)
{
    int q = 0;
    for (;;) {
        size_t end;
        char c = s->i < s->n ? s->re[s->i] : '\0';
        if (c == '?' || c == '*') {
            q = 2;
            s->i++;
        } else if (c == '+') {
            q = q ? q : 1;
            s->i++;
        } else if (is_brace_quant(s, s->i, &end)) {
            q = 2;
            s->i = end;
        } else {
            return q;
        }
    }
}

/* Reads one atom at s->i and the quantifiers after it; at the top level, adds a literal
 * byte to the run or ends it. Returns -1 to give up. */
static int read_atom(struct lit_scan *s)
{
    unsigned char c = (unsigned char)s->re[s->i];
    int lit = 0; /* the literal byte, 0 for an atom that is not one */
    if (c == '\\') {
        if ((lit = read_escape(s)) < 0)
            return -1;
    } else if (c == '[') {
        if (skip_class(s) != 0)
            return -1;
    } else if (c == '(') {
        if (s->i + 1 < s->n &&
            (s->re[s->i + 1] == '*' ||
             (s->re[s->i + 1] == '?' && (s->i + 2 >= s->n || s->re[s->i + 2] != ':'))))
            return -1;
        s->i += s->re[s->i + 1] == '?' ? 3 : 1;
        if (s->depth++ == 0)
            end_run(s);
        return 0; /* its quantifiers are read after its ')' */
    } else if (c == ')') {
        if (s->depth-- == 0)
            return -1;
        s->i++;
    } else if (c == '|') {
        if (s->depth == 0)
            return -1;
        s->i++;
        return 0;
    } else {
        s->i++;
        if (c >= 0x20 && c <= 0x7e && !strchr("^$.?*+{}]", c))
            lit = c;
    }
    int q = read_quantifiers(s);
    if (s->depth > 0)
        return 0;
    if (!lit || q == 2) {
        end_run(s);
        return 0;
    }
    s->run[s->run_len++] = (char)lit;
    if (q == 1)
        end_run(s);
    return 0;
}

size_t cq_regex_literal(const char *re, char *out)
{
    size_t n = strlen(re);
    char *run = cl_malloc(n + 1); /* freed below */
    struct lit_scan s = {.re = re, .n = n, .run = run, .best = out};
    int rc = 0;
    while (rc == 0 && s.i < n)
        rc = read_atom(&s);
    end_run(&s);
    free(run);
    if (rc != 0 || s.depth != 0)
        s.best_len = 0;
    out[s.best_len] = '\0';
    return s.best_len;
}
