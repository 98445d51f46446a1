/* test_aws_credentials.c - credential chain (environment, shared files) and region lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "credentials.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[4096];

static const char *const VARS[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                   "AWS_SESSION_TOKEN", "AWS_PROFILE",
                                   "AWS_REGION",        "AWS_DEFAULT_REGION",
                                   "AWS_CONFIG_FILE",   "AWS_SHARED_CREDENTIALS_FILE"};

/* Writes text to <tmp>/<name>; the path goes into path[size] and is returned. */
static const char *write_file(const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Each test starts with no AWS variables and HOME pointing at an empty temp dir. */
static int setup(void **state)
{
    const char *base = getenv("CL_TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/cl_aws_cred_XXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(g_dir));
    for (size_t i = 0; i < CL_ARRAY_LEN(VARS); i++)
        unsetenv(VARS[i]);
    setenv("HOME", g_dir, 1);
    return 0;
}

static int teardown(void **state)
{
    const char *names[] = {"credentials", "config", ".aws/credentials", ".aws/config"};
    char path[8192];
    for (size_t i = 0; i < CL_ARRAY_LEN(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", g_dir, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/.aws", g_dir);
    rmdir(path);
    rmdir(g_dir);
    return 0;
}

static const char CREDENTIALS[] = "# comment\n"
                                  "[default]\n"
                                  "aws_access_key_id = AKIDDEFAULT\n"
                                  "aws_secret_access_key = secretdefault\n"
                                  "\n"
                                  "[dev]\n"
                                  "; another comment\n"
                                  "AWS_Access_Key_Id=AKIDDEV\n"
                                  "aws_secret_access_key =  secret/dev+x= \n"
                                  "aws_session_token = tokdev\n"
                                  "s3 =\n"
                                  "  aws_access_key_id = NESTED\n";

static const char CONFIG[] = "[default]\n"
                             "region = eu-west-1\n"
                             "[profile   ops]\n"
                             "region = ap-southeast-2\n"
                             "aws_access_key_id = AKIDOPS\n"
                             "aws_secret_access_key = secretops\n";

static void test_environment_first(void **state)
{
    char path[8192];
    setenv("AWS_SHARED_CREDENTIALS_FILE", write_file("credentials", CREDENTIALS, path, 8192), 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    setenv("AWS_SESSION_TOKEN", "tokenv", 1);
    struct cl_aws_credentials c;
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_string_equal(c.secret_access_key, "secretenv");
    assert_string_equal(c.session_token, "tokenv");
    assert_string_equal(c.source, "environment");
    cl_aws_credentials_free(&c);
    unsetenv("AWS_SECRET_ACCESS_KEY"); /* half-configured: an error, not a fallthrough */
    char err[256];
    assert_int_equal(cl_aws_credentials_resolve(&c, err, sizeof(err)), CL_ERR_INVAL);
    assert_non_null(strstr(err, "environment"));
}

static void test_credentials_file_profile(void **state)
{
    char path[8192];
    setenv("AWS_SHARED_CREDENTIALS_FILE", write_file("credentials", CREDENTIALS, path, 8192), 1);
    struct cl_aws_credentials c;
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    assert_null(c.session_token);
    cl_aws_credentials_free(&c);
    setenv("AWS_PROFILE", "dev", 1);
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDDEV"); /* not the nested s3 value */
    assert_string_equal(c.secret_access_key, "secret/dev+x=");
    assert_string_equal(c.session_token, "tokdev");
    assert_string_equal(c.source, "shared credentials file");
    cl_aws_credentials_free(&c);
}

static void test_default_paths_under_home(void **state)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/.aws", g_dir);
    assert_int_equal(mkdir(path, 0700), 0);
    write_file(".aws/credentials", CREDENTIALS, path, sizeof(path));
    struct cl_aws_credentials c;
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    cl_aws_credentials_free(&c);
}

static void test_config_file_fallback_and_region(void **state)
{
    char path[8192];
    setenv("AWS_CONFIG_FILE", write_file("config", CONFIG, path, 8192), 1);
    setenv("AWS_PROFILE", "ops", 1);
    struct cl_aws_credentials c;
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDOPS");
    assert_string_equal(c.source, "config file");
    cl_aws_credentials_free(&c);
    char *r = cl_aws_region_resolve();
    assert_string_equal(r, "ap-southeast-2");
    free(r);
    unsetenv("AWS_PROFILE");
    r = cl_aws_region_resolve();
    assert_string_equal(r, "eu-west-1"); /* [default], no "profile " prefix */
    free(r);
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    r = cl_aws_region_resolve();
    assert_string_equal(r, "us-west-2");
    free(r);
    setenv("AWS_REGION", "us-east-2", 1); /* AWS_REGION beats AWS_DEFAULT_REGION */
    r = cl_aws_region_resolve();
    assert_string_equal(r, "us-east-2");
    free(r);
}

static void test_nothing_configured(void **state)
{
    struct cl_aws_credentials c;
    char err[256];
    assert_int_equal(cl_aws_credentials_resolve(&c, err, sizeof(err)), CL_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "no AWS credentials"));
    assert_null(c.access_key_id);
    assert_null(cl_aws_region_resolve());
    setenv("AWS_PROFILE", "missing", 1);
    char path[8192];
    setenv("AWS_SHARED_CREDENTIALS_FILE", write_file("credentials", CREDENTIALS, path, 8192), 1);
    assert_int_equal(cl_aws_credentials_resolve(&c, NULL, 0), CL_ERR_NOT_FOUND);
}

static void test_provider_static_sources(void **state)
{
    char path[8192], err[512];
    setenv("AWS_SHARED_CREDENTIALS_FILE", write_file("credentials", CREDENTIALS, path, 8192), 1);
    struct cl_aws_cred_provider *p = cl_aws_cred_provider_new(err, sizeof(err));
    assert_non_null(p);
    struct cl_aws_credentials c;
    for (int i = 0; i < 2; i++) { /* long-term keys: every get returns the same copy */
        assert_int_equal(cl_aws_cred_provider_get(p, &c, err, sizeof(err)), CL_OK);
        assert_string_equal(c.access_key_id, "AKIDDEFAULT");
        assert_string_equal(c.secret_access_key, "secretdefault");
        assert_null(c.session_token);
        assert_int_equal(c.expiration, 0);
        assert_string_equal(c.source, "shared credentials file");
        cl_aws_credentials_free(&c);
    }
    cl_aws_cred_provider_free(p);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1); /* the environment wins over the files */
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    p = cl_aws_cred_provider_new(err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(cl_aws_cred_provider_get(p, &c, err, sizeof(err)), CL_OK);
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_string_equal(c.source, "environment");
    cl_aws_credentials_free(&c);
    cl_aws_cred_provider_free(p);
}

static void test_provider_errors(void **state)
{
    char err[512];
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    assert_null(cl_aws_cred_provider_new(err, sizeof(err)));
    assert_non_null(strstr(err, "no AWS credentials"));
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1); /* half-configured: the reason, no fallthrough */
    assert_null(cl_aws_cred_provider_new(err, sizeof(err)));
    assert_non_null(strstr(err, "environment"));
    unsetenv("AWS_EC2_METADATA_DISABLED");
}

static void test_ini_get(void **state)
{
    char path[8192];
    write_file("config", CONFIG, path, sizeof(path));
    char *v = cl_aws_ini_get(path, "profile ops", "REGION");
    assert_string_equal(v, "ap-southeast-2");
    free(v);
    assert_null(cl_aws_ini_get(path, "ops", "region"));
    assert_null(cl_aws_ini_get(path, "default", "nope"));
    assert_null(cl_aws_ini_get("/nonexistent/cl_aws_config", "default", "region"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_environment_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credentials_file_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_paths_under_home, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_file_fallback_and_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_configured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_static_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ini_get, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
