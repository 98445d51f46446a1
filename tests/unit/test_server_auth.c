/* test_server_auth.c - API key loading/checking and listen address rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apikeys.h"
#include "host_check.h"
#include "listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *write_temp(const char *content)
{
    char *path = strdup("/tmp/cl-keys-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(content, f);
    fclose(f);
    return path;
}

static void test_keys_check(void **state)
{
    char *path = write_temp("# ingest keys\n\n  key-one  \nsecond-key\n");
    char err[256];
    struct cl_api_keys *k = cl_api_keys_load(path, err, sizeof err);
    assert_non_null(k);
    assert_int_equal(cl_api_keys_count(k), 2);
    assert_true(cl_api_keys_check(k, "Bearer key-one"));
    assert_true(cl_api_keys_check(k, "bearer second-key"));
    assert_false(cl_api_keys_check(k, "Bearer key-on"));
    assert_false(cl_api_keys_check(k, "Bearer key-one-more"));
    assert_false(cl_api_keys_check(k, "Basic a2V5LW9uZQ=="));
    assert_false(cl_api_keys_check(k, "key-one"));
    assert_false(cl_api_keys_check(k, "Bearer "));
    assert_false(cl_api_keys_check(k, NULL));
    assert_false(cl_api_keys_check(k, "Bearer # ingest keys"));
    cl_api_keys_free(k);
    unlink(path);
    free(path);
}

/* The forms shippers send (issue 15): Splunk HEC, Basic (password = key), Elasticsearch's
 * ApiKey as sent or as base64(id:key). */
static void test_keys_shipper_schemes(void **state)
{
    char err[256];
    struct cl_api_keys *k = cl_api_keys_parse("key-one", err, sizeof err);
    assert_non_null(k);
    assert_true(cl_api_keys_check(k, "Splunk key-one"));
    assert_true(cl_api_keys_check(k, "splunk  key-one "));
    assert_false(cl_api_keys_check(k, "Splunk key-two"));
    assert_true(cl_api_keys_check(k, "Basic dXNlcjprZXktb25l"));   /* user:key-one */
    assert_true(cl_api_keys_check(k, "Basic OmtleS1vbmU="));       /* :key-one */
    assert_false(cl_api_keys_check(k, "Basic a2V5LW9uZTp4"));      /* key-one:x */
    assert_false(cl_api_keys_check(k, "Basic dXNlcjprZXktb25l!")); /* not base64 */
    assert_true(cl_api_keys_check(k, "ApiKey key-one"));
    assert_true(cl_api_keys_check(k, "ApiKey aWQ6a2V5LW9uZQ=="));  /* id:key-one */
    assert_false(cl_api_keys_check(k, "ApiKey aWQ6a2V5LXR3bw==")); /* id:key-two */
    assert_false(cl_api_keys_check(k, "Token key-one"));
    assert_false(cl_api_keys_check(k, "Splunkkey-one"));
    cl_api_keys_free(k);
}

static void test_keys_file_errors(void **state)
{
    char err[256];
    assert_null(cl_api_keys_load("/nonexistent/keys", err, sizeof err));
    assert_non_null(strstr(err, "cannot read"));
    char *path = write_temp("# only a comment\n\n");
    assert_null(cl_api_keys_load(path, err, sizeof err));
    assert_non_null(strstr(err, "no key"));
    unlink(path);
    free(path);
}

/* CLOUDLOG_API_KEYS for the Lambda ingestor: comma-separated, items trimmed, empty ones
 * skipped; the same constant-time check as keys from a file. */
static void test_keys_parse_list(void **state)
{
    char err[256] = "";
    struct cl_api_keys *k = cl_api_keys_parse(" k1 ,k2,, ", err, sizeof err);
    assert_non_null(k);
    assert_int_equal(cl_api_keys_count(k), 2);
    assert_true(cl_api_keys_check(k, "Bearer k1"));
    assert_true(cl_api_keys_check(k, "Bearer k2"));
    assert_false(cl_api_keys_check(k, "Bearer k1 ,k2"));
    assert_false(cl_api_keys_check(k, "Bearer "));
    cl_api_keys_free(k);
    assert_null(cl_api_keys_parse(" , ,", err, sizeof err));
    assert_non_null(strstr(err, "no key"));
    assert_null(cl_api_keys_parse(NULL, err, sizeof err));
}

static void test_listen_loopback(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char err[256];
    assert_int_equal(cl_listen_parse("127.0.0.1:8080", &ss, &len, err, sizeof err), 0);
    assert_true(cl_addr_is_loopback(&ss));
    assert_int_equal(cl_listen_parse("127.9.9.9:0", &ss, &len, err, sizeof err), 0);
    assert_true(cl_addr_is_loopback(&ss));
    assert_int_equal(cl_listen_parse("[::1]:8080", &ss, &len, err, sizeof err), 0);
    assert_true(cl_addr_is_loopback(&ss));
    assert_int_equal(cl_listen_parse("0.0.0.0:8080", &ss, &len, err, sizeof err), 0);
    assert_false(cl_addr_is_loopback(&ss));
    assert_int_equal(cl_listen_parse(":8080", &ss, &len, err, sizeof err), 0);
    assert_false(cl_addr_is_loopback(&ss));
    assert_int_equal(cl_listen_parse("[::]:8080", &ss, &len, err, sizeof err), 0);
    assert_false(cl_addr_is_loopback(&ss));
    assert_int_equal(cl_listen_parse("10.1.2.3:80", &ss, &len, err, sizeof err), 0);
    assert_false(cl_addr_is_loopback(&ss));
}

static void test_listen_invalid(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char err[256];
    assert_int_equal(cl_listen_parse("8080", &ss, &len, err, sizeof err), -1);
    assert_int_equal(cl_listen_parse("127.0.0.1:", &ss, &len, err, sizeof err), -1);
    assert_int_equal(cl_listen_parse("[::1]8080", &ss, &len, err, sizeof err), -1);
    assert_int_equal(cl_listen_parse("127.0.0.1:http", &ss, &len, err, sizeof err), -1);
}

/* A key longer than 1 KiB was read in 1 KiB pieces: its tail alone became a key. Now
 * the whole line is one key, and a key over CL_MAX_API_KEY (1024) is a load error. */
static void test_keys_too_long(void **state)
{
    char key[1100], content[1200], err[256];
    memset(key, 'k', 1024);
    key[1024] = '\0';
    snprintf(content, sizeof content, "%s\nshort\n", key);
    char *path = write_temp(content);
    struct cl_api_keys *k = cl_api_keys_load(path, err, sizeof err);
    assert_non_null(k); /* exactly 1024 bytes: accepted, whole */
    char auth[1200];
    snprintf(auth, sizeof auth, "Bearer %s", key);
    assert_true(cl_api_keys_check(k, auth));
    assert_false(cl_api_keys_check(k, "Bearer k"));
    cl_api_keys_free(k);
    unlink(path);
    free(path);

    memset(key, 'k', 1030);
    memcpy(key + 1024, "TAILXY", 6);
    key[1030] = '\0';
    snprintf(content, sizeof content, "short\n%s\n", key);
    path = write_temp(content);
    assert_null(cl_api_keys_load(path, err, sizeof err));
    assert_non_null(strstr(err, "line 2 is longer than 1024 bytes"));
    unlink(path);
    free(path);
    snprintf(content, sizeof content, "a,%s", key);
    assert_null(cl_api_keys_parse(content, err, sizeof err));
    assert_non_null(strstr(err, "key number 2 of the list is longer than 1024 bytes"));
}

/* DNS rebinding: a keyless daemon answers only names a web page cannot rebind. */
static void test_host_allowed(void **state)
{
    static const char *const ok[] = {NULL,
                                     "localhost",
                                     "LOCALHOST:8080",
                                     "localhost.:1",
                                     "127.0.0.1",
                                     "127.0.0.1:8080",
                                     "127.9.8.7:1",
                                     "[::1]",
                                     "[::1]:8080",
                                     "[::ffff:127.0.0.1]:80"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_true(cl_host_allowed(ok[i], "127.0.0.1:8080"));
    static const char *const bad[] = {"rebind.evil.example",
                                      "rebind.evil.example:8080",
                                      "localhost.evil.example",
                                      "10.0.0.5:8080",
                                      "[::2]:80",
                                      "",
                                      ":8080",
                                      "::1",
                                      "[::1",
                                      "127.0.0.1.evil.example"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(cl_host_allowed(bad[i], "127.0.0.1:8080"));
    /* its own --listen host */
    assert_true(cl_host_allowed("logs.internal:8080", "logs.internal:8080"));
    assert_true(cl_host_allowed("10.0.0.5:8080", "10.0.0.5:8080"));
    assert_false(cl_host_allowed("10.0.0.6:8080", "10.0.0.5:8080"));
    /* every interface: any address literal (rebinding needs a name), never a name */
    assert_true(cl_host_allowed("10.0.0.5:8080", "0.0.0.0:8080"));
    assert_true(cl_host_allowed("[fd00::5]:8080", "[::]:8080"));
    assert_true(cl_host_allowed("192.168.1.9", ":8080"));
    assert_false(cl_host_allowed("rebind.evil.example", "0.0.0.0:8080"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_too_long),    cmocka_unit_test(test_host_allowed),
        cmocka_unit_test(test_keys_check),       cmocka_unit_test(test_keys_shipper_schemes),
        cmocka_unit_test(test_keys_file_errors), cmocka_unit_test(test_keys_parse_list),
        cmocka_unit_test(test_listen_loopback),  cmocka_unit_test(test_listen_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
