/* test_core_apikeys.c - named keys with limits (apikeys.h) and per-key token buckets
 * (keylimit.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apikeys.h"
#include "keylimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes content to a new temporary file; returns its path (caller frees and unlinks). */
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

static struct cl_api_keys *load_text(const char *content, char *err, size_t err_len)
{
    char *path = write_temp(content);
    struct cl_api_keys *k = cl_api_keys_load(path, err, err_len);
    unlink(path);
    free(path);
    return k;
}

static void test_named_keys(void **state)
{
    (void)state;
    /* Two keys on one line (the second with base64 padding): neither is echoed. */
    static const char *const two_keys[] = {"first-key second-key\n", "first-key c2Vjb25k==\n"};
    for (size_t i = 0; i < sizeof two_keys / sizeof two_keys[0]; i++) {
        char err[512] = "";
        assert_null(load_text(two_keys[i], err, sizeof err));
        assert_non_null(strstr(err, "an unknown field after the key"));
        assert_null(strstr(err, "second"));
        assert_null(strstr(err, "c2Vjb25k"));
        assert_null(strstr(err, "first-key"));
    }
    char err[512] = "";
    struct cl_api_keys *k = load_text("# keys\nold-style-secret\n"
                                      "s3cret-a name=team-a records_per_s=100 bytes_per_s=1MiB\n"
                                      "\ts3cret-b\tname=team-b\n"
                                      "s3cret-c records_per_s=0.5\n",
                                      err, sizeof err);
    assert_non_null(k);
    assert_int_equal(cl_api_keys_count(k), 4);
    assert_string_equal(cl_api_keys_at(k, 0)->name, "key1");
    assert_string_equal(cl_api_keys_at(k, 1)->name, "team-a");
    assert_true(cl_api_keys_at(k, 1)->records_per_s == 100);
    assert_true(cl_api_keys_at(k, 1)->bytes_per_s == 1048576);
    assert_string_equal(cl_api_keys_at(k, 2)->name, "team-b");
    assert_true(cl_api_keys_at(k, 2)->records_per_s == 0);
    assert_string_equal(cl_api_keys_at(k, 3)->name, "key4");
    assert_true(cl_api_keys_at(k, 3)->records_per_s == 0.5);
    assert_null(cl_api_keys_at(k, 4));
    assert_int_equal(cl_api_keys_match(k, "Bearer old-style-secret"), 0);
    assert_int_equal(cl_api_keys_match(k, "Bearer s3cret-a"), 1);
    assert_int_equal(cl_api_keys_match(k, "Splunk s3cret-b"), 2);
    /* Basic base64("user:s3cret-c") */
    assert_int_equal(cl_api_keys_match(k, "Basic dXNlcjpzM2NyZXQtYw=="), 3);
    assert_int_equal(cl_api_keys_match(k, "Bearer team-a"), -1); /* a name is no key */
    assert_int_equal(cl_api_keys_match(k, "Bearer s3cret-a name=team-a"), -1);
    assert_int_equal(cl_api_keys_match(k, NULL), -1);
    assert_int_equal(cl_api_keys_match(NULL, "Bearer s3cret-a"), -1);
    /* reference counting: a holder keeps the keys after the owner lets go */
    struct cl_api_keys *held = cl_api_keys_ref(k);
    cl_api_keys_free(k);
    assert_int_equal(cl_api_keys_match(held, "Bearer s3cret-b"), 2);
    cl_api_keys_free(held);
}

static void test_named_key_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"a name=x\nb name=x\n", "line 2: the name 'x' is given to two keys"},
        {"a name=\n", "line 1: invalid field 'name='"},
        {"a name=has/slash\n", "invalid field 'name=has/slash'"},
        {"a colour=blue\n", "line 1: an unknown field after the key"},
        {"a stray\n", "line 1: an unknown field after the key"},
        {"a records_per_s=0\n", "invalid field 'records_per_s=0'"},
        {"a records_per_s=-3\n", "invalid field"},
        {"a records_per_s=fast\n", "invalid field"},
        {"ok\na bytes_per_s=0\n", "line 2: invalid field 'bytes_per_s=0'"},
        {"a bytes_per_s=10XB\n", "invalid field"},
        {"# only a comment\n", "holds no key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        assert_null(load_text(cases[i].text, err, sizeof err));
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: '%s' does not contain '%s'", i, err, cases[i].want);
    }
    char err[512] = "";
    struct cl_api_keys *k =
        cl_api_keys_parse("a name=one, b name=two records_per_s=5", err, sizeof err);
    assert_non_null(k);
    assert_string_equal(cl_api_keys_at(k, 1)->name, "two");
    assert_int_equal(cl_api_keys_match(k, "Bearer b"), 1);
    cl_api_keys_free(k);
    assert_null(cl_api_keys_parse("a name=one,b name=one", err, sizeof err));
    assert_non_null(strstr(err, "API key number 2 of the list: the name 'one'"));
}

/* The table's Prometheus lines as a NUL-terminated string (caller frees). */
static char *render(struct cl_key_usage *u)
{
    struct cl_buf b;
    cl_buf_init(&b, 1 << 16);
    cl_key_usage_render_prom(u, &b);
    cl_buf_append_char(&b, '\0');
    size_t len;
    return cl_buf_take(&b, &len);
}

static void test_bucket_records(void **state)
{
    (void)state;
    struct cl_key_usage *u = cl_key_usage_new();
    struct cl_api_key_info key = {.name = "team-a", .records_per_s = 10};
    int64_t t = 1000000;
    /* full bucket: admitted; 25 records take it 15 into debt */
    assert_int_equal(cl_key_usage_admit(u, &key, t), 0);
    cl_key_usage_record(u, &key, 202, 25, 500, t);
    /* -15 tokens at 10/s: refused for 2 s */
    assert_int_equal(cl_key_usage_admit(u, &key, t), 2);
    assert_int_equal(cl_key_usage_admit(u, &key, t + 1000), 1); /* -5 left */
    assert_int_equal(cl_key_usage_admit(u, &key, t + 1499), 1);
    assert_int_equal(cl_key_usage_admit(u, &key, t + 1600), 0); /* +1 */
    cl_key_usage_record(u, &key, 429, 0, 99, t + 1600);
    /* refill never exceeds one second's worth */
    assert_int_equal(cl_key_usage_admit(u, &key, t + 3600 * 1000), 0);
    cl_key_usage_record(u, &key, 202, 10, 100, t + 3600 * 1000);
    assert_int_equal(cl_key_usage_admit(u, &key, t + 3600 * 1000), 1);
    char *text = render(u);
    assert_non_null(strstr(text, "cloudlog_key_requests_total{key=\"team-a\"} 2\n"));
    assert_non_null(strstr(text, "cloudlog_key_throttled_total{key=\"team-a\"} 4\n"));
    assert_non_null(strstr(text, "cloudlog_key_records_total{key=\"team-a\"} 35\n"));
    assert_non_null(strstr(text, "cloudlog_key_bytes_total{key=\"team-a\"} 600\n"));
    free(text);
    cl_key_usage_free(u);
}

static void test_bucket_bytes_and_unlimited(void **state)
{
    (void)state;
    struct cl_key_usage *u = cl_key_usage_new();
    struct cl_api_key_info bytes = {.name = "b", .bytes_per_s = 1000};
    struct cl_api_key_info free_key = {.name = "free"};
    int64_t t = 5000;
    assert_int_equal(cl_key_usage_admit(u, &bytes, t), 0);
    cl_key_usage_record(u, &bytes, 202, 1000000, 3500, t); /* records do not count */
    assert_int_equal(cl_key_usage_admit(u, &bytes, t), 3);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(cl_key_usage_admit(u, &free_key, t), 0);
        cl_key_usage_record(u, &free_key, 202, 1000, 1000000, t);
    }
    char *text = render(u);
    assert_non_null(strstr(text, "cloudlog_key_requests_total{key=\"free\"} 100\n"));
    assert_non_null(strstr(text, "cloudlog_key_throttled_total{key=\"b\"} 1\n"));
    free(text);
    /* an empty table renders nothing */
    struct cl_key_usage *empty = cl_key_usage_new();
    text = render(empty);
    assert_string_equal(text, "");
    free(text);
    cl_key_usage_free(empty);
    cl_key_usage_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_keys),
        cmocka_unit_test(test_named_key_errors),
        cmocka_unit_test(test_bucket_records),
        cmocka_unit_test(test_bucket_bytes_and_unlimited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
