/* Unit tests of the option tables (core/options.c): shared rows included into several
 * tables, precedence flags > env > file > defaults, where each value came from, errors
 * that name their source, and the setter HTTP parameters use. */
#include "common.h"
#include "options.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

struct shared {
    const char *dir;
    int n;
};

struct cfg {
    struct shared s;
    uint64_t size;
    int64_t ms;
    int flag;
    struct cl_opt_list list;
};

static const struct cl_option shared_rows[] = {
    {"dir", "CL_TEST_DIR", CL_OPT_STR, "./d", offsetof(struct shared, dir), "DIR", "a dir", NULL, 0,
     0},
    {"n", "CL_TEST_N", CL_OPT_INT, "3", offsetof(struct shared, n), "N", "a count", NULL, 1, 9},
    {0},
};

static const struct cl_option rows[] = {
    {"size", "CL_TEST_SIZE", CL_OPT_SIZE, "1KiB", offsetof(struct cfg, size), "SIZE", "a size",
     NULL, 0, 0},
    CL_OPT_INCLUDE_ROWS(shared_rows, offsetof(struct cfg, s)),
    {"ms", "CL_TEST_MS", CL_OPT_DURATION, "1s", offsetof(struct cfg, ms), "D", "a duration", NULL,
     0, 0},
    {"ignore-case", "CL_TEST_FLAG", CL_OPT_FLAG, "0", offsetof(struct cfg, flag), NULL, "a flag",
     NULL, 0, 0},
    {"item", "CL_TEST_ITEM", CL_OPT_LIST, NULL, offsetof(struct cfg, list), "X", "items", NULL, 0,
     0},
};

static void clear_env(void)
{
    const char *v[] = {"CL_TEST_DIR", "CL_TEST_N",    "CL_TEST_SIZE",
                       "CL_TEST_MS",  "CL_TEST_FLAG", "CL_TEST_ITEM"};
    for (size_t i = 0; i < CL_ARRAY_LEN(v); i++)
        unsetenv(v[i]);
}

static void test_include_flattens_in_order(void **state)
{
    (void)state;
    struct cl_opt_ref refs[CL_OPTS_MAX];
    size_t m = cl_options_flatten(rows, CL_ARRAY_LEN(rows), refs, CL_OPTS_MAX);
    assert_int_equal(m, 6);
    assert_string_equal(refs[1].o->name, "dir");
    assert_int_equal(refs[1].offset, offsetof(struct cfg, s) + offsetof(struct shared, dir));
    assert_string_equal(refs[2].o->name, "n");
    assert_int_equal(refs[2].offset, offsetof(struct cfg, s) + offsetof(struct shared, n));
    assert_string_equal(refs[3].o->name, "ms");
}

static void test_precedence_and_origins(void **state)
{
    (void)state;
    clear_env();
    const char *dir_v[] = {"/from/file"}, *n_v[] = {"5"}, *items[] = {"f1", "f2"};
    struct cl_conf_entry e[] = {{"dir", dir_v, 1, 2}, {"n", n_v, 1, 3}, {"item", items, 2, 4}};
    struct cl_conf conf = {"test.yaml", e, 3};
    setenv("CL_TEST_N", "7", 1);
    setenv("CL_TEST_ITEM", "e1", 1);
    char *argv[] = {"--ms", "2m"};
    struct cfg c = {0};
    enum cl_opt_origin origins[CL_OPTS_MAX];
    size_t n_pos;
    char err[256];
    assert_int_equal(cl_options_parse_ex(rows, CL_ARRAY_LEN(rows), &c, 2, argv, NULL, 0, &n_pos,
                                         &conf, origins, err, sizeof err),
                     CL_OPTS_OK);
    assert_int_equal(c.size, 1024); /* default */
    assert_int_equal(origins[0], CL_ORIGIN_DEFAULT);
    assert_string_equal(c.s.dir, "/from/file"); /* file over default */
    assert_int_equal(origins[1], CL_ORIGIN_FILE);
    assert_int_equal(c.s.n, 7); /* env over file */
    assert_int_equal(origins[2], CL_ORIGIN_ENV);
    assert_int_equal(c.ms, 120000); /* flag over default */
    assert_int_equal(origins[3], CL_ORIGIN_FLAG);
    assert_int_equal(c.list.n, 1); /* the env's value replaced the file's list */
    assert_string_equal(c.list.v[0], "e1");
    assert_int_equal(origins[5], CL_ORIGIN_ENV);
    cl_options_free(rows, CL_ARRAY_LEN(rows), &c);
    unsetenv("CL_TEST_ITEM");
    assert_int_equal(cl_options_parse_ex(rows, CL_ARRAY_LEN(rows), &c, 0, NULL, NULL, 0, &n_pos,
                                         &conf, origins, err, sizeof err),
                     CL_OPTS_OK);
    assert_int_equal(c.list.n, 2); /* a list from the file */
    assert_string_equal(c.list.v[1], "f2");
    cl_options_free(rows, CL_ARRAY_LEN(rows), &c);
    clear_env();
}

static void test_file_errors_name_file_line_and_key(void **state)
{
    (void)state;
    clear_env();
    const char *bad[] = {"12"};
    struct cl_conf_entry e[] = {{"n", bad, 1, 9}};
    struct cl_conf conf = {"cloudlog.yaml", e, 1};
    struct cfg c = {0};
    size_t n_pos;
    char err[256];
    assert_int_equal(cl_options_parse_ex(rows, CL_ARRAY_LEN(rows), &c, 0, NULL, NULL, 0, &n_pos,
                                         &conf, NULL, err, sizeof err),
                     CL_OPTS_ERROR);
    assert_non_null(strstr(err, "key 'n' in cloudlog.yaml line 9"));
    assert_non_null(strstr(err, "an integer from 1 to 9"));
    cl_options_free(rows, CL_ARRAY_LEN(rows), &c);
}

static void test_empty_variable_means_unset_when_there_is_a_default(void **state)
{
    (void)state;
    clear_env();
    setenv("CL_TEST_N", "", 1);    /* has a default: stays 3 */
    setenv("CL_TEST_DIR", "", 1);  /* has a default: stays ./d */
    setenv("CL_TEST_ITEM", "", 1); /* no default: one empty value */
    struct cfg c = {0};
    size_t n_pos;
    char err[256];
    assert_int_equal(
        cl_options_parse(rows, CL_ARRAY_LEN(rows), &c, 0, NULL, NULL, 0, &n_pos, err, sizeof err),
        CL_OPTS_OK);
    assert_int_equal(c.s.n, 3);
    assert_string_equal(c.s.dir, "./d");
    assert_int_equal(c.list.n, 1);
    assert_string_equal(c.list.v[0], "");
    cl_options_free(rows, CL_ARRAY_LEN(rows), &c);
    setenv("CL_TEST_N", "10", 1); /* out of bounds: the variable is named */
    assert_int_equal(
        cl_options_parse(rows, CL_ARRAY_LEN(rows), &c, 0, NULL, NULL, 0, &n_pos, err, sizeof err),
        CL_OPTS_ERROR);
    assert_string_equal(err, "invalid value '10' for CL_TEST_N (expected an integer from 1 to 9)");
    cl_options_free(rows, CL_ARRAY_LEN(rows), &c);
    clear_env();
}

static void test_set_by_parameter_name(void **state)
{
    (void)state;
    struct cfg c = {0};
    char err[256];
    assert_int_equal(cl_options_defaults(rows, CL_ARRAY_LEN(rows), &c, err, sizeof err), 0);
    assert_int_equal(c.s.n, 3);
    /* '_' spells '-' in parameters; an empty value sets a flag as the bare flag does */
    assert_int_equal(cl_options_set(rows, CL_ARRAY_LEN(rows), &c, "ignore_case", "", "ignore_case",
                                    err, sizeof err),
                     0);
    assert_int_equal(c.flag, 1);
    assert_int_equal(
        cl_options_set(rows, CL_ARRAY_LEN(rows), &c, "nope", "1", "nope", err, sizeof err), 1);
    assert_int_equal(
        cl_options_set(rows, CL_ARRAY_LEN(rows), &c, "size", "big", "size", err, sizeof err), -1);
    assert_string_equal(err, "invalid value 'big' for size (expected a size like 10MiB)");
    /* flags are spelled with '-' only */
    char *argv[] = {"--ignore_case"};
    size_t n_pos;
    assert_int_equal(
        cl_options_parse(rows, CL_ARRAY_LEN(rows), &c, 1, argv, NULL, 0, &n_pos, err, sizeof err),
        CL_OPTS_ERROR);
    cl_options_free(rows, CL_ARRAY_LEN(rows), &c);
}

static void test_format_value_round_trips(void **state)
{
    (void)state;
    struct cfg c = {0};
    char err[256], out[64];
    assert_int_equal(cl_options_defaults(rows, CL_ARRAY_LEN(rows), &c, err, sizeof err), 0);
    struct cl_opt_ref refs[CL_OPTS_MAX];
    cl_options_flatten(rows, CL_ARRAY_LEN(rows), refs, CL_OPTS_MAX);
    cl_options_format_value(&refs[0], &c, out, sizeof out);
    assert_string_equal(out, "1KiB");
    cl_options_format_value(&refs[3], &c, out, sizeof out);
    assert_string_equal(out, "1s");
    cl_options_format_value(&refs[4], &c, out, sizeof out);
    assert_string_equal(out, "false");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_include_flattens_in_order),
        cmocka_unit_test(test_precedence_and_origins),
        cmocka_unit_test(test_file_errors_name_file_line_and_key),
        cmocka_unit_test(test_empty_variable_means_unset_when_there_is_a_default),
        cmocka_unit_test(test_set_by_parameter_name),
        cmocka_unit_test(test_format_value_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
