/* test_core_json.c - unit and JSONTestSuite conformance tests for the strict JSON scanner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "json.h"
#include "readfile.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Scans buf[0..len) as one complete value with the given depth limit. */
static int accepts_n(const char *buf, size_t len, int depth)
{
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, buf, len, depth);
    return cl_json_scan_value(&r, &v) == 0 && cl_json_at_end(&r);
}

static int accepts(const char *s)
{
    return accepts_n(s, strlen(s), 0);
}

static struct cl_json_value scan_ok(const char *s)
{
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, s, strlen(s), 0);
    assert_int_equal(cl_json_scan_value(&r, &v), 0);
    assert_true(cl_json_at_end(&r));
    return v;
}

static void test_literals(void **state)
{
    assert_true(accepts("true"));
    assert_true(accepts("false"));
    assert_true(accepts(" null "));
    assert_false(accepts("tru"));
    assert_false(accepts("True"));
    assert_false(accepts("nul"));
    assert_false(accepts("truex"));
    assert_false(accepts("nulll"));
    assert_false(accepts(""));
    assert_false(accepts("   "));
    assert_int_equal(scan_ok("false").type, CL_JSON_FALSE);
    assert_int_equal(scan_ok("null").type, CL_JSON_NULL);
}

static void test_numbers(void **state)
{
    const char *good[] = {"0",   "-0",   "1",    "-1",    "123", "0.5",     "-0.5", "1e5",
                          "1E5", "1e+5", "1e-5", "1.5e3", "0e0", "-0.0e-0", "1e00", "10.01"};
    const char *bad[] = {"01",        "-01",  "+1",  ".5",    "1.",  "1.e5", "1e",
                         "1e+",       "-",    "--1", "0x1",   "1 2", "Inf",  "NaN",
                         "-Infinity", "1.5.", "00",  "1e5.0", "0.e1"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_true(accepts(good[i]));
        assert_int_equal(scan_ok(good[i]).type, CL_JSON_NUMBER);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(accepts(bad[i]));
}

static void test_huge_numbers_kept_as_text(void **state)
{
    const char *s = "123456789012345678901234567890123456789e999999";
    struct cl_json_value v = scan_ok(s);
    assert_int_equal(v.type, CL_JSON_NUMBER);
    assert_int_equal(v.len, strlen(s));
    assert_true(accepts("-1e-999999"));
}

static void test_strings(void **state)
{
    assert_true(accepts("\"\""));
    assert_true(accepts("\"hello world, a longer ASCII run of text\""));
    assert_true(accepts("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\""));
    assert_true(accepts("\"\\u0041\\u00e9\\uFFFF\\u0000\""));
    assert_false(accepts("\"abc"));
    assert_false(accepts("\"abc\\"));
    assert_false(accepts("\"\\x41\""));
    assert_false(accepts("\"\\a\""));
    assert_false(accepts("\"\\'\""));
    assert_false(accepts("\"\\u12\""));
    assert_false(accepts("\"\\u12G4\""));
    assert_false(accepts("'single'"));
    struct cl_json_value v = scan_ok("\"plain\"");
    assert_int_equal(v.type, CL_JSON_STRING);
    assert_int_equal(v.flags, 0);
    assert_int_equal(v.len, 7);
    assert_int_equal(scan_ok("\"a\\nb\"").flags, CL_JSON_F_ESCAPED);
}

static void test_control_chars(void **state)
{
    char s[40];
    for (int c = 0; c < 0x20; c++) {
        /* control byte at varying offsets so both the SWAR and the byte loop see it */
        for (int at = 0; at < 20; at++) {
            memset(s, 'a', sizeof(s));
            s[0] = '"';
            s[1 + at] = (char)c;
            s[30] = '"';
            assert_false(accepts_n(s, 31, 0));
        }
    }
    assert_true(accepts("\"\x7f\""));
}

static void test_surrogate_escapes(void **state)
{
    assert_true(accepts("\"\\uD83D\\uDE00\""));
    assert_true(accepts("\"\\udbff\\udfff\""));
    assert_false(accepts("\"\\uD83D\""));         /* lone high */
    assert_false(accepts("\"\\uDE00\""));         /* lone low */
    assert_false(accepts("\"\\uDE00\\uD83D\""));  /* reversed */
    assert_false(accepts("\"\\uD83D\\uD83D\""));  /* high + high */
    assert_false(accepts("\"\\uD83Dx\\uDE00\"")); /* not adjacent */
    assert_false(accepts("\"\\uD83D\\n\""));      /* high + other escape */
    assert_false(accepts("\"\\uD83D\\u0041\""));  /* high + non-surrogate */
}

static void test_utf8(void **state)
{
    assert_true(accepts("\"\xc3\xa9\""));          /* é */
    assert_true(accepts("\"\xe2\x82\xac\""));      /* € */
    assert_true(accepts("\"\xf0\x9f\x98\x80\""));  /* U+1F600 */
    assert_true(accepts("\"\xf4\x8f\xbf\xbf\""));  /* U+10FFFF */
    assert_true(accepts("\"\xef\xbf\xbf\""));      /* U+FFFF noncharacter */
    assert_true(accepts("\"\xed\x9f\xbf\""));      /* U+D7FF */
    assert_false(accepts("\"\xc0\xaf\""));         /* overlong '/' */
    assert_false(accepts("\"\xc1\xbf\""));         /* overlong */
    assert_false(accepts("\"\xe0\x80\xaf\""));     /* overlong 3-byte */
    assert_false(accepts("\"\xf0\x80\x80\xaf\"")); /* overlong 4-byte */
    assert_false(accepts("\"\xed\xa0\x80\""));     /* U+D800 */
    assert_false(accepts("\"\xed\xbf\xbf\""));     /* U+DFFF */
    assert_false(accepts("\"\xf4\x90\x80\x80\"")); /* U+110000 */
    assert_false(accepts("\"\xf5\x80\x80\x80\"")); /* F5 lead */
    assert_false(accepts("\"\xff\""));
    assert_false(accepts("\"\x80\""));               /* lone continuation */
    assert_false(accepts("\"\xc3\""));               /* truncated before quote */
    assert_false(accepts("\"\xe2\x82\""));           /* truncated 3-byte */
    assert_false(accepts("\"\xf0\x9f\x98\""));       /* truncated 4-byte */
    assert_false(accepts_n("\"\xf0\x9f\x98", 4, 0)); /* truncated at end of input */
    assert_false(accepts("\"\xc3\x28\""));           /* bad continuation */
    assert_false(accepts("\xc3\xa9"));               /* non-ASCII outside a string */
    assert_false(accepts("\xef\xbb\xbf{}"));         /* BOM */
}

static void test_grammar(void **state)
{
    assert_true(accepts("[]"));
    assert_true(accepts("{}"));
    assert_true(accepts("[1,\"a\",true,null,{},[]]"));
    assert_true(accepts("{\"a\":{\"b\":[1,{\"c\":null}]}}"));
    assert_true(accepts(" \t\r\n[ 1 , 2 ]\n"));
    const char *bad[] = {"[",     "]",          "[1,]",       "[,1]",       "[1 2]",
                         "{",     "}",          "{\"a\"}",    "{\"a\":}",   "{\"a\" 1}",
                         "{a:1}", "{1:1}",      "{\"a\":1,}", "{,}",        "[1]]",
                         "[1]x",  "{\"a\":1}}", "[\f]",       "[1;2]",      "{\"a\":1 \"b\":2}",
                         "[}",    "{]",         "[1,,2]",     "\"a\" \"b\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(accepts(bad[i]));
}

static void test_flags(void **state)
{
    assert_int_equal(scan_ok("{\"a\":[1,2]}").flags, 0);
    assert_int_equal(scan_ok("  {\"a\":1}  ").flags, 0); /* outer whitespace is not inside */
    assert_int_equal(scan_ok("{ \"a\":1}").flags, CL_JSON_F_SPACE);
    assert_int_equal(scan_ok("[1 ]").flags, CL_JSON_F_SPACE);
    assert_int_equal(scan_ok("{\"a\\u0041\":1}").flags, CL_JSON_F_ESCAPED);
    assert_int_equal(scan_ok("[\"\\n\", 1]").flags, CL_JSON_F_ESCAPED | CL_JSON_F_SPACE);
    assert_int_equal(scan_ok("[\" spaces in a string \"]").flags, 0);
    struct cl_json_value v = scan_ok(" [1] ");
    assert_int_equal(v.type, CL_JSON_ARRAY);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.ptr, "[1]", 3);
}

static void test_scan_value_sequence(void **state)
{
    const char *s = "{\"a\":1} [2] \"x\"";
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, s, strlen(s), 0);
    assert_int_equal(cl_json_scan_value(&r, &v), 0);
    assert_int_equal(v.type, CL_JSON_OBJECT);
    assert_false(cl_json_at_end(&r));
    assert_int_equal(cl_json_scan_value(&r, &v), 0);
    assert_int_equal(v.type, CL_JSON_ARRAY);
    assert_int_equal(cl_json_scan_value(&r, &v), 0);
    assert_int_equal(v.type, CL_JSON_STRING);
    assert_true(cl_json_at_end(&r));
}

static void test_error_offset(void **state)
{
    const char *s = "{\"a\":[1,2,x]}";
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, s, strlen(s), 0);
    assert_int_equal(cl_json_scan_value(&r, &v), -1);
    assert_int_equal(r.err.offset, 10);
    assert_non_null(r.err.msg);
    assert_int_equal(v.type, CL_JSON_INVALID);
}

static char *nested(int n, char open, char close)
{
    char *s = malloc((size_t)n * 2 + 1);
    memset(s, open, (size_t)n);
    memset(s + n, close, (size_t)n);
    s[2 * n] = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    char *s = nested(64, '[', ']');
    assert_true(accepts_n(s, strlen(s), 64));
    assert_false(accepts_n(s, strlen(s), 63));
    free(s);
    s = nested(3, '[', ']');
    assert_true(accepts_n(s, strlen(s), 3));
    assert_false(accepts_n(s, strlen(s), 2));
    free(s);
    assert_true(accepts_n("{\"a\":{\"b\":{}}}", 14, 3));
    assert_false(accepts_n("{\"a\":{\"b\":{}}}", 14, 2));

    /* 100000 opening brackets: rejected cleanly, at any limit, with no recursion */
    size_t n = 100000;
    char *deep = malloc(n);
    memset(deep, '[', n);
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, deep, n, 0);
    assert_int_equal(cl_json_scan_value(&r, &v), -1);
    assert_string_equal(r.err.msg, "nesting too deep");
    assert_int_equal(r.err.offset, CL_JSON_DEFAULT_MAX_DEPTH);
    cl_json_reader_init(&r, deep, n, 1000000);
    assert_int_equal(r.max_depth, CL_JSON_MAX_DEPTH_LIMIT);
    assert_int_equal(cl_json_scan_value(&r, &v), -1);
    assert_int_equal(r.err.offset, CL_JSON_MAX_DEPTH_LIMIT);
    free(deep);

    s = nested(CL_JSON_MAX_DEPTH_LIMIT, '[', ']');
    assert_true(accepts_n(s, strlen(s), CL_JSON_MAX_DEPTH_LIMIT));
    free(s);
}

static void test_depth_mixed_containers(void **state)
{
    /* past 64 levels the bitset spills into further words: types must still match */
    char s[400];
    size_t k = 0;
    for (int i = 0; i < 100; i++) {
        if (i % 3 == 0) {
            memcpy(s + k, "{\"k\":", 5);
            k += 5;
        } else {
            s[k++] = '[';
        }
    }
    s[k++] = '1';
    for (int i = 99; i >= 0; i--)
        s[k++] = i % 3 == 0 ? '}' : ']';
    assert_true(accepts_n(s, k, 100));
    assert_false(accepts_n(s, k, 99));
    s[k - 50] = s[k - 50] == '}' ? ']' : '}';
    assert_false(accepts_n(s, k, 100));
}

struct member {
    const char *key;
    const char *val;
    enum cl_json_type type;
};

static void check_members(const char *s, const struct member *want, size_t n)
{
    struct cl_json_reader r;
    struct cl_json_value k, v;
    cl_json_reader_init(&r, s, strlen(s), 0);
    assert_int_equal(cl_json_object_open(&r), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cl_json_object_next(&r, &k, &v), 1);
        assert_int_equal(k.type, CL_JSON_STRING);
        assert_int_equal(k.len, strlen(want[i].key));
        assert_memory_equal(k.ptr, want[i].key, k.len);
        assert_int_equal(v.type, want[i].type);
        assert_int_equal(v.len, strlen(want[i].val));
        assert_memory_equal(v.ptr, want[i].val, v.len);
    }
    assert_int_equal(cl_json_object_next(&r, &k, &v), 0);
    assert_true(cl_json_at_end(&r));
}

static void test_object_iteration(void **state)
{
    const struct member m[] = {{"\"a\"", "1", CL_JSON_NUMBER},
                               {"\"b\"", "\"x\"", CL_JSON_STRING},
                               {"\"c\"", "[1, {\"d\":2}]", CL_JSON_ARRAY},
                               {"\"a\"", "null", CL_JSON_NULL}}; /* duplicate: both reported */
    check_members("{\"a\":1,\"b\":\"x\",\"c\":[1, {\"d\":2}],\"a\":null}", m, 4);
    check_members(" { \"a\" : 1 , \"b\" :\"x\"\n,\"c\":[1, {\"d\":2}] ,\"a\":null } ", m, 4);
    check_members("{}", m, 0);
    check_members("{ \n }", m, 0);
}

static int object_fails(const char *s, int depth)
{
    struct cl_json_reader r;
    struct cl_json_value k, v;
    int rc;
    cl_json_reader_init(&r, s, strlen(s), depth);
    if (cl_json_object_open(&r))
        return 1;
    while ((rc = cl_json_object_next(&r, &k, &v)) == 1)
        ;
    return rc < 0 || !cl_json_at_end(&r);
}

static void test_object_errors(void **state)
{
    assert_true(object_fails("[1]", 0));
    assert_true(object_fails("{\"a\":1,}", 0));
    assert_true(object_fails("{,\"a\":1}", 0));
    assert_true(object_fails("{\"a\":1 \"b\":2}", 0));
    assert_true(object_fails("{\"a\":1", 0));
    assert_true(object_fails("{\"a\"1}", 0));
    assert_true(object_fails("{\"a\":01}", 0));
    assert_true(object_fails("{\"a\":1}x", 0));
    assert_true(object_fails("{\"a\":\"\\uD800\"}", 0));
    assert_false(object_fails("{\"a\":[[1]]}", 3));
    assert_true(object_fails("{\"a\":[[1]]}", 2));
    assert_false(object_fails("{\"a\":1}", 1));
    assert_true(object_fails("{\"a\":[]}", 1));
}

static size_t compact_str(const char *s, char *out)
{
    struct cl_json_value v = scan_ok(s);
    return cl_json_compact(&v, out);
}

static void test_compact(void **state)
{
    char out[256];
    size_t n = compact_str(" { \"a b\" : [ 1 , \"x \\\" y\" , { } ] ,\n\t\"c\\\\\" : null } ", out);
    const char *want = "{\"a b\":[1,\"x \\\" y\",{}],\"c\\\\\":null}";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    n = compact_str("\"  keep  \"", out);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "\"  keep  \"", n);
    n = compact_str("[1,2]", out);
    assert_memory_equal(out, "[1,2]", n);
    assert_true(accepts_n(out, n, 0));
}

static size_t unescape_str(const char *s, char *out)
{
    struct cl_json_value v = scan_ok(s);
    return cl_json_unescape(&v, out);
}

static void test_unescape(void **state)
{
    char out[128];
    size_t n = unescape_str("\"plain\"", out);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "plain", 5);
    n = unescape_str("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"", out);
    assert_int_equal(n, 17);
    assert_memory_equal(out, "a\"b\\c/d\be\ff\ng\rh\ti", n);
    n = unescape_str("\"\\u0041\\u00e9\\u20AC\"", out);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "A\xc3\xa9\xe2\x82\xac", n);
    n = unescape_str("\"x\\uD83D\\uDE00y\"", out);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "x\xf0\x9f\x98\x80y", n);
    n = unescape_str("\"\\uDBFF\\uDFFF\"", out);
    assert_memory_equal(out, "\xf4\x8f\xbf\xbf", n);
    n = unescape_str("\"\\u0000\"", out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 0);
    n = unescape_str("\"\"", out);
    assert_int_equal(n, 0);
    n = unescape_str("\"caf\xc3\xa9 \\u0063af\\u00e9\"", out);
    assert_memory_equal(out, "caf\xc3\xa9 caf\xc3\xa9", n);
}

struct split_ctx {
    size_t n;
    char elems[16][64];
};

static int collect(void *arg, const char *elem, size_t len)
{
    struct split_ctx *c = arg;
    if (c->n == 16 || len >= 64)
        return 42;
    memcpy(c->elems[c->n], elem, len);
    c->elems[c->n][len] = '\0';
    c->n++;
    return 0;
}

static int split(const char *s, struct split_ctx *c, struct cl_json_error *err)
{
    memset(c, 0, sizeof(*c));
    return cl_json_split_array(s, strlen(s), collect, c, err);
}

static void test_split_array(void **state)
{
    struct split_ctx c;
    struct cl_json_error err;
    assert_int_equal(split(" [ {\"a\":\"],[\\\"\"} , [1,[2]] ,\"x\",3 , null ]\n", &c, &err), 0);
    assert_int_equal(c.n, 5);
    assert_string_equal(c.elems[0], "{\"a\":\"],[\\\"\"}");
    assert_string_equal(c.elems[1], "[1,[2]]");
    assert_string_equal(c.elems[2], "\"x\"");
    assert_string_equal(c.elems[3], "3");
    assert_string_equal(c.elems[4], "null");
    assert_int_equal(split("[]", &c, &err), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(split(" [ \n ] ", &c, &err), 0);
    assert_int_equal(c.n, 0);
    /* elements are not validated: a bad one is delivered for the caller to reject */
    assert_int_equal(split("[{\"a\":1},{bad},{\"b\":2}]", &c, &err), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.elems[1], "{bad}");
}

static void test_split_array_errors(void **state)
{
    struct split_ctx c;
    struct cl_json_error err;
    const char *bad[] = {"",          "{}",      "[",     "[1",        "[1,,2]", "[,1]",
                         "[1,]",      "[1]]",    "[1]x",  "[[1]",      "[1}",    "[\"a]",
                         "[\"a\\\"]", "[1] [2]", "[ , ]", "[{\"a\":1}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg = NULL;
        assert_int_equal(split(bad[i], &c, &err), -1);
        assert_non_null(err.msg);
    }
    assert_int_equal(split("[1,,2]", &c, &err), -1);
    assert_string_equal(err.msg, "empty array element");
    assert_int_equal(err.offset, 3);
    assert_int_equal(split("[1,2,]", &c, &err), -1);
    assert_string_equal(err.msg, "trailing comma");
    /* a non-zero callback result stops the split and is returned */
    assert_int_equal(
        split("[\"this element is far too long for the 64-byte buffer of this test, so\"]", &c,
              &err),
        42);
    assert_int_equal(split("[1,2]", &c, NULL), 0);
    assert_int_equal(split("[1,", &c, NULL), -1);
}

/* ---- JSONTestSuite conformance ---- */

static int split_elem_valid(void *arg, const char *elem, size_t len)
{
    (void)arg;
    return accepts_n(elem, len, 1024) ? 0 : 1;
}

/* A y_ array must also split cleanly, into elements that are each valid on their own. */
static int split_agrees(const char *buf, size_t len)
{
    size_t p = 0;
    while (p < len && strchr(" \t\r\n", buf[p]))
        p++;
    if (p == len || buf[p] != '[')
        return 1;
    return cl_json_split_array(buf, len, split_elem_valid, NULL, NULL) == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t list_dir(const char *dir, char ***names)
{
    DIR *d = opendir(dir);
    size_t n = 0, cap = 512;
    *names = malloc(cap * sizeof(char *));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != 'y' && e->d_name[0] != 'n' && e->d_name[0] != 'i')
            continue;
        if (n == cap)
            *names = realloc(*names, (cap *= 2) * sizeof(char *));
        (*names)[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(*names, n, sizeof(char *), cmp_names);
    return n;
}

static void test_jsontestsuite(void **state)
{
    const char *base = getenv("CL_TESTDATA_DIR");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/jsontestsuite/test_parsing",
             base ? base : "(CL_TESTDATA_DIR unset)");
    DIR *probe = base ? opendir(dir) : NULL;
    if (!probe) {
        const char *ci = getenv("CI");
        if (ci && strcmp(ci, "true") == 0)
            fail_msg("JSONTestSuite not found at %s (required when CI=true)", dir);
        print_message("SKIPPED: JSONTestSuite not found at %s\n", dir);
        skip();
    }
    closedir(probe);
    char **names;
    size_t n = list_dir(dir, &names), failures = 0, counts[3] = {0};
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        char *buf = NULL;
        assert_int_equal(cl_read_file(path, 1 << 20, &buf, &len), CL_OK);
        int ok = accepts_n(buf, len, 1024);
        char kind = names[i][0];
        if (kind == 'i') {
            print_message("i_outcome | %s | %s |\n", names[i], ok ? "accepted" : "rejected");
            counts[2] += 1;
        } else if ((kind == 'y') != ok || (kind == 'y' && !split_agrees(buf, len))) {
            print_message("FAIL: %s was %s\n", names[i], ok ? "accepted" : "rejected");
            failures++;
        } else {
            counts[kind == 'y' ? 0 : 1] += 1;
        }
        free(buf);
        free(names[i]);
    }
    free(names);
    print_message("JSONTestSuite: %zu y_ accepted, %zu n_ rejected, %zu i_ ran, %zu failures\n",
                  counts[0], counts[1], counts[2], failures);
    assert_int_equal(failures, 0);
    assert_true(counts[0] > 50 && counts[1] > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_huge_numbers_kept_as_text),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_control_chars),
        cmocka_unit_test(test_surrogate_escapes),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_grammar),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_scan_value_sequence),
        cmocka_unit_test(test_error_offset),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_depth_mixed_containers),
        cmocka_unit_test(test_object_iteration),
        cmocka_unit_test(test_object_errors),
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_split_array),
        cmocka_unit_test(test_split_array_errors),
        cmocka_unit_test(test_jsontestsuite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
