/* test_pipeline_ingest_paths.c - which ingest route a request path names
 * (cl_ingest_path_of), with the default and a configured --es-prefix, and which prefixes
 * cl_ingest_check_es_prefix refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ingest.h"

#include <string.h>

static void test_default_prefix(void **state)
{
    (void)state;
    enum cl_ingest_route r;
    char index[64];
    assert_int_equal(cl_ingest_path_of("/es", NULL, &r), CL_PATH_ES_INFO);
    assert_int_equal(cl_ingest_path_of("/es/", "/es", &r), CL_PATH_ES_INFO);
    assert_int_equal(cl_ingest_path_of("/es/_bulk", NULL, &r), CL_PATH_INGEST);
    assert_int_equal(r, CL_ROUTE_ES_BULK);
    assert_int_equal(cl_ingest_path_of("/v1/logs", NULL, &r), CL_PATH_INGEST);
    assert_int_equal(r, CL_ROUTE_LOGS);
    assert_int_equal(cl_ingest_path_of("/loki/api/v1/push", "/es", &r), CL_PATH_INGEST);
    assert_int_equal(r, CL_ROUTE_LOKI);
    assert_int_equal(cl_ingest_path_of("/esx/_bulk", NULL, &r), CL_PATH_OTHER);
    assert_int_equal(cl_ingest_path_of("/esx", NULL, &r), CL_PATH_OTHER);
    assert_int_equal(cl_ingest_es_index("/es/web-app/_bulk", NULL, index, sizeof index), 0);
    assert_string_equal(index, "web-app");
}

/* A configured prefix moves every ES path and leaves /es to the 404s. */
static void test_configured_prefix(void **state)
{
    (void)state;
    enum cl_ingest_route r;
    char index[64];
    const char *p = "/search/elastic";
    assert_int_equal(cl_ingest_path_of("/search/elastic", p, &r), CL_PATH_ES_INFO);
    assert_int_equal(cl_ingest_path_of("/search/elastic/", p, &r), CL_PATH_ES_INFO);
    assert_int_equal(cl_ingest_path_of("/search/elastic/_bulk", p, &r), CL_PATH_INGEST);
    assert_int_equal(r, CL_ROUTE_ES_BULK);
    assert_int_equal(cl_ingest_es_index("/search/elastic/idx/_bulk", p, index, sizeof index), 0);
    assert_string_equal(index, "idx");
    assert_int_equal(cl_ingest_es_index("/search/elastic/_bulk", p, index, sizeof index), 0);
    assert_string_equal(index, "");
    assert_int_equal(cl_ingest_path_of("/es", p, &r), CL_PATH_OTHER);
    assert_int_equal(cl_ingest_path_of("/es/_bulk", p, &r), CL_PATH_OTHER);
    assert_int_equal(cl_ingest_path_of("/search/elasticx/_bulk", p, &r), CL_PATH_OTHER);
    assert_int_equal(cl_ingest_path_of("/search", p, &r), CL_PATH_OTHER);
    assert_int_equal(cl_ingest_es_index("/search/elastic/a/b/_bulk", p, index, sizeof index), -1);
    assert_int_equal(cl_ingest_path_of("/v1/logs", p, &r), CL_PATH_INGEST);
}

static void test_check_prefix(void **state)
{
    (void)state;
    char why[300];
    static const char *const good[] = {"/es", "/a", "/search/elastic", "/x.y_z~-1/2"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(cl_ingest_check_es_prefix(good[i], why, sizeof why), 0);
    static const char *const bad[] = {"",      "/",        "es",          "/es/", "//es",
                                      "/a//b", "/a b",     "/a?b",        "/v1",  "/v1/es",
                                      "/loki", "/healthz", "/services/es"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cl_ingest_check_es_prefix(bad[i], why, sizeof why), -1);
    assert_string_equal(why, "'/services/es' is under /services, which cloudlog's own routes use");
    char longer[80];
    memset(longer, 'a', sizeof longer);
    longer[0] = '/';
    longer[65] = '\0';
    assert_int_equal(cl_ingest_check_es_prefix(longer, why, sizeof why), -1);
    longer[64] = '\0';
    assert_int_equal(cl_ingest_check_es_prefix(longer, why, sizeof why), 0);

    struct cl_ingest_limits l;
    cl_ingest_limits_default(&l);
    char err[400];
    assert_int_equal(
        cl_ingest_check_protocols(&l, "--es-prefix", "--loki-service-labels", err, sizeof err), 0);
    l.loki_service_labels = "app,";
    assert_int_equal(
        cl_ingest_check_protocols(&l, "--es-prefix", "--loki-service-labels", err, sizeof err), -1);
    assert_string_equal(err, "invalid --loki-service-labels: a trailing comma");
    l.es_prefix = "/v1";
    assert_int_equal(cl_ingest_check_protocols(&l, "CLOUDLOG_ES_PREFIX", "x", err, sizeof err), -1);
    assert_string_equal(
        err, "invalid CLOUDLOG_ES_PREFIX: '/v1' is under /v1, which cloudlog's own routes use");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_prefix),
        cmocka_unit_test(test_configured_prefix),
        cmocka_unit_test(test_check_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
