/* test_query_filter_lit.c - cq_regex_literal (src/query/filter_lit.c): the literal it
 * finds for known patterns (alternations, quantifiers, groups, classes, escapes, anchors,
 * inline options, non-ASCII and control bytes), and, over random patterns PCRE2 compiles,
 * that every subject a pattern matches holds the literal found for it. */
#include "query_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 1407;

static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

static pcre2_code *compile(const char *re)
{
    int code;
    PCRE2_SIZE off;
    return pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
}

static void expect(const char *re, const char *want)
{
    pcre2_code *c = compile(re);
    if (!c)
        fail_msg("pattern %s does not compile", re);
    pcre2_code_free(c);
    char *out = malloc(strlen(re) + 1);
    size_t n = cq_regex_literal(re, out);
    if (n != strlen(out) || strcmp(out, want) != 0)
        fail_msg("pattern %s: literal \"%s\" (%zu), want \"%s\"", re, out, n, want);
    free(out);
}

static void test_known_patterns(void **state)
{
    (void)state;
    expect("lock (acquired|contention)", "lock ");
    expect("contention", "contention");
    expect("", "");
    expect("a|b", "");
    expect("abc|defgh", "");
    expect("x(?:ab|cd)efgh", "efgh");
    expect("^error: (.*) failed$", "error: "); /* a tie: the first */
    expect("^error: (.*) failed!$", " failed!");
    expect("^$", "");
    expect("colou?r", "colo");
    expect("ab+cd", "ab");
    expect("abc*de", "ab");
    expect("xa{2}bcd", "bcd");
    expect("xa{2,}bcd", "bcd");
    expect("abc{,3}d", "ab");    /* a quantifier in newer PCRE2, literal in older: left out */
    expect("abc{ 2 }d", "ab");   /* the same */
    expect("abc{0,\t2}d", "ab"); /* any white space, in case a later PCRE2 reads tabs */
    expect("ab{x}c", "ab");      /* literal in any version, but '{' and '}' end runs */
    expect("\\.json\\b", ".json");
    expect("\\d+ms", "ms");
    expect("\\x41bc\\x{42}de", "de"); /* an escape's argument is not read as literals */
    expect("\\p{Lu}abc\\pLxyz", "abc");
    expect("(a)\\1bcd\\g{1}ef", "bcd");
    expect("(?<n>a)\\k<n>bcd", ""); /* '(?<' gives up */
    expect("\\cXabc", "abc");
    expect("\\c(abc", "abc"); /* \c takes any printable byte, '(' included */
    expect("\\(abc\\)\\|", "(abc)|");
    expect("\\Qa|b\\Ecd", "");
    expect("(?i)contention", "");
    expect("con(?i)tention", "");
    expect("a(?=bc)bcd", "");
    expect("(*UCP)abc", "");
    expect("(?#x)abc", "");
    expect("[|(]abcd", "abcd");
    expect("[]a]bcd", "bcd");
    expect("[^]a]bcd", "bcd");
    expect("[[:alpha:]]+xyz", "xyz");
    expect("[\\]]xy[a\\\\]z", "xy");
    expect("\xc3\xa9+abc", "abc"); /* a non-ASCII byte ends a run */
    expect("ab\xc3\xa9z", "ab");
    expect("ab\ncd", "ab"); /* a newline byte in the pattern: not a literal */
    expect("a\\ncd", "cd");
    expect("a.b.cde", "cde");
    expect("lock (acquired|contention) holder", " holder");
    expect("(lock) (a|b) x", " x");
    expect("((a|b)c|d)efg", "efg");
}

/* Random patterns from pieces of PCRE2 syntax: when one compiles, each random subject it
 * matches holds its literal. */
static void test_match_holds_literal(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "a",    "b",    "c",    "ab",   "ba",   "(",     ")",        "|",     "?",        "*",
        "+",    "{2}",  "{1,}", "{,2}", "{0}",  "{",     "}",        "[ab]",  "[^a]",     ".",
        "^",    "$",    "\\d",  "\\.",  "(?:",  "\\x61", "\\Qa|\\E", "(?i)",  "\\b",      "\\1",
        "[]a]", "\\c(", " ",    "1",    "\\\\", "\\|",   "a+?",      "(?=a)", "\xc3\xa9", "\\n"};
    static const char subj_chars[] = "abcAB .{}12|\\(";
    pcre2_match_data *md = pcre2_match_data_create(16, NULL);
    int compiled = 0, with_literal = 0, matched = 0;
    for (int round = 0; round < 4000; round++) {
        char re[200] = "";
        size_t k = 1 + next_rand() % 8;
        for (size_t i = 0; i < k; i++)
            strcat(re, pieces[next_rand() % CL_ARRAY_LEN(pieces)]);
        pcre2_code *c = compile(re);
        if (!c)
            continue;
        compiled++;
        char lit[200];
        size_t n = cq_regex_literal(re, lit);
        with_literal += n > 0;
        for (int s = 0; s < 60; s++) {
            char subj[24];
            size_t len = next_rand() % sizeof subj;
            for (size_t i = 0; i < len; i++)
                subj[i] = subj_chars[next_rand() % (sizeof subj_chars - 1)];
            if (s % 2 && len >= n) /* half the subjects hold the literal, to match more */
                memcpy(subj + next_rand() % (len - n + 1), lit, n);
            int rc = pcre2_match(c, (PCRE2_SPTR)subj, len, 0, 0, md, NULL);
            if (rc < 0)
                continue;
            matched++;
            if (n && !memmem(subj, len, lit, n))
                fail_msg("pattern %s matches \"%.*s\", which lacks its literal \"%s\"", re,
                         (int)len, subj, lit);
        }
        pcre2_code_free(c);
    }
    pcre2_match_data_free(md);
    assert_true(compiled > 1000 && with_literal > 300 && matched > 10000);
}

/* Patterns that do not compile never reach cq_regex_literal in the query, but it reads
 * them without going past their end either. */
static void test_invalid_patterns(void **state)
{
    (void)state;
    const char *bad[] = {"ab)?", "(ab", "[ab", "ab\\", "\\c", "[[:alpha", "\\x{41", "a{2"};
    for (size_t i = 0; i < CL_ARRAY_LEN(bad); i++) {
        char *out = malloc(strlen(bad[i]) + 1); /* exactly the size asked: ASan checks */
        size_t n = cq_regex_literal(bad[i], out);
        assert_int_equal(n, strlen(out));
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_patterns),
        cmocka_unit_test(test_match_holds_literal),
        cmocka_unit_test(test_invalid_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
