/* test_core_metrics.c - metrics registry math, concurrency, buckets, Prometheus and EMF text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emf.h"
#include "json.h"
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const colors[] = {"red", "blue", NULL};

static void test_counter_math(void **state)
{
    struct cl_metrics *r = cl_metrics_new();
    struct cl_metric *c = cl_metrics_counter(r, "Things", CL_UNIT_COUNT, "h", NULL, NULL);
    struct cl_metric *l = cl_metrics_counter(r, "Colored", CL_UNIT_COUNT, "h", "color", colors);
    struct cl_metric *g = cl_metrics_gauge(r, "Level", CL_UNIT_COUNT, "h");
    cl_counter_add(c, 3);
    cl_counter_add(c, 4);
    cl_counter_add_at(l, 1, 5);
    cl_counter_add_at(l, 0, 2);
    cl_counter_add_at(l, 7, 100); /* out of range: ignored */
    cl_counter_add(NULL, 1);      /* NULL handles are no-ops */
    cl_gauge_set(NULL, 1);
    cl_histogram_observe(NULL, 1);
    cl_gauge_set(g, 2.5);
    assert_int_equal(cl_counter_get(c, 0), 7);
    assert_int_equal(l->n_series, 2);
    assert_int_equal(cl_counter_get(l, 0), 2);
    assert_int_equal(cl_counter_get(l, 1), 5);
    assert_int_equal(cl_counter_total(l), 7);
    assert_true(cl_gauge_get(g) == 2.5);
    assert_int_equal(cl_metrics_len(r), 3);
    cl_metrics_free(r);
}

struct hammer {
    struct cl_metric *c, *h;
};

static void *hammer_main(void *arg)
{
    struct hammer *hm = arg;
    for (int i = 0; i < 100000; i++) {
        cl_counter_add_at(hm->c, (size_t)(i & 1), 1);
        cl_histogram_observe(hm->h, (uint64_t)(i % 3000) * 1000);
    }
    return NULL;
}

static void test_concurrent_exact(void **state)
{
    struct cl_metrics *r = cl_metrics_new();
    struct hammer hm = {cl_metrics_counter(r, "C", CL_UNIT_COUNT, "h", "color", colors),
                        cl_metrics_histogram(r, "H", CL_UNIT_MICROSECONDS, "h")};
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &hm), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(cl_counter_get(hm.c, 0), 400000);
    assert_int_equal(cl_counter_get(hm.c, 1), 400000);
    struct cl_hist_snapshot s;
    cl_histogram_snapshot(hm.h, &s);
    assert_int_equal(s.count, 800000);
    /* sum over i < 100000 of (i % 3000) * 1000, times 8 threads */
    uint64_t per = 0;
    for (int i = 0; i < 100000; i++)
        per += (uint64_t)(i % 3000) * 1000;
    assert_int_equal(s.sum, per * 8);
    cl_metrics_free(r);
}

static void test_histogram_buckets(void **state)
{
    assert_int_equal(cl_hist_bounds[0], 100);
    assert_int_equal(cl_hist_bounds[3], 1000);
    assert_int_equal(cl_hist_bounds[CL_HIST_BOUNDS - 1], 1000000000);
    for (size_t i = 1; i < CL_HIST_BOUNDS; i++)
        assert_true(cl_hist_bounds[i] > cl_hist_bounds[i - 1]);
    struct cl_metrics *r = cl_metrics_new();
    struct cl_metric *h = cl_metrics_histogram(r, "H", CL_UNIT_MICROSECONDS, "h");
    cl_histogram_observe(h, 0);          /* bucket 0 */
    cl_histogram_observe(h, 100);        /* le is inclusive: bucket 0 */
    cl_histogram_observe(h, 101);        /* bucket 1 (le 200) */
    cl_histogram_observe(h, 1000000000); /* last finite */
    cl_histogram_observe(h, 1000000001); /* +Inf */
    cl_histogram_observe(h, UINT32_MAX); /* +Inf */
    struct cl_hist_snapshot s;
    cl_histogram_snapshot(h, &s);
    assert_int_equal(s.buckets[0], 2);
    assert_int_equal(s.buckets[1], 1);
    assert_int_equal(s.buckets[CL_HIST_BOUNDS - 1], 1);
    assert_int_equal(s.buckets[CL_HIST_BOUNDS], 2);
    assert_int_equal(s.count, 6);
    assert_int_equal(s.sum, 0 + 100 + 101 + 1000000000ull + 1000000001ull + UINT32_MAX);
    cl_metrics_free(r);
}

static void test_quantile(void **state)
{
    struct cl_hist_snapshot s = {0};
    assert_true(cl_hist_quantile(&s, 0.5) == 0);
    s.buckets[3] = 4; /* four values in (500, 1000] */
    s.count = 4;
    assert_true(cl_hist_quantile(&s, 0.5) == 750);
    assert_true(cl_hist_quantile(&s, 1.0) == 1000);
    assert_true(cl_hist_quantile(&s, 0.25) == 625);
    s.buckets[CL_HIST_BOUNDS] = 4; /* and four above every bound */
    s.count = 8;
    assert_true(cl_hist_quantile(&s, 0.99) == 1e9);
    assert_true(cl_hist_quantile(&s, 0.5) == 1000);
}

static void test_std_names(void **state)
{
    static const char *const want[] = {"cloudlog_ingested_log_count_total",
                                       "cloudlog_rejected_log_count_total",
                                       "cloudlog_ingested_bytes_total",
                                       "cloudlog_ingest_requests_total",
                                       "cloudlog_ingest_latency_seconds",
                                       "cloudlog_queue_depth",
                                       "cloudlog_queue_in_flight",
                                       "cloudlog_oldest_message_age_seconds",
                                       "cloudlog_dlq_depth",
                                       "cloudlog_queue_quarantined_total",
                                       "cloudlog_queue_quarantine_pending",
                                       "cloudlog_recent_unclean_restarts",
                                       "cloudlog_catalog_objects_missing",
                                       "cloudlog_processed_log_count_total",
                                       "cloudlog_processing_errors_total",
                                       "cloudlog_objects_written_total",
                                       "cloudlog_stored_bytes_total",
                                       "cloudlog_end_to_end_latency_seconds",
                                       "cloudlog_retries_total",
                                       "cloudlog_redriven_total",
                                       "cloudlog_store_circuit_open"};
    struct cl_metrics *r = cl_metrics_new();
    struct cl_std_metrics m;
    cl_std_metrics_register(r, &m);
    assert_int_equal(cl_metrics_len(r), (sizeof want / sizeof want[0]));
    for (size_t i = 0; i < (sizeof want / sizeof want[0]); i++) {
        char name[200];
        cl_metric_prom_name(cl_metrics_at(r, i), name, sizeof name);
        assert_string_equal(name, want[i]);
    }
    assert_int_equal(m.ingest_requests->n_series, 3);
    assert_string_equal(m.processing_errors->label_values[CL_PERR_PUBLISH], "publish");
    assert_int_equal(cl_status_class_of(202), CL_STATUS_2XX);
    assert_int_equal(cl_status_class_of(415), CL_STATUS_4XX);
    assert_int_equal(cl_status_class_of(503), CL_STATUS_5XX);
    cl_metrics_free(r);
}

static void set_depth(void *arg)
{
    cl_gauge_set(arg, 42);
}

/* A small registry with one metric of each kind and known values. */
static struct cl_metrics *known_registry(struct cl_metric **c, struct cl_metric **h)
{
    struct cl_metrics *r = cl_metrics_new();
    *c = cl_metrics_counter(r, "IngestRequests", CL_UNIT_COUNT, "Requests.\nBy \\class",
                            "status_class", (const char *const[]){"2xx", "5xx", NULL});
    struct cl_metric *g = cl_metrics_gauge(r, "QueueDepth", CL_UNIT_COUNT, "Depth.");
    cl_metrics_on_collect(r, set_depth, g);
    struct cl_metric *b = cl_metrics_counter(r, "StoredBytes", CL_UNIT_BYTES, "Bytes.", NULL, NULL);
    *h = cl_metrics_histogram(r, "IngestLatency", CL_UNIT_MICROSECONDS, "Latency.");
    cl_counter_add_at(*c, 0, 3);
    cl_counter_add_at(*c, 1, 1);
    cl_counter_add(b, 1024);
    cl_histogram_observe(*h, 150);  /* le 0.0002 s */
    cl_histogram_observe(*h, 3000); /* le 0.005 s */
    return r;
}

static void test_prometheus_text(void **state)
{
    struct cl_metric *c, *h;
    struct cl_metrics *r = known_registry(&c, &h);
    struct cl_buf out;
    cl_buf_init(&out, SIZE_MAX);
    cl_metrics_render_prom(r, &out);
    cl_buf_append_char(&out, '\0');
    static const char *const le[] = {"0.0001", "0.0002", "0.0005", "0.001", "0.002", "0.005",
                                     "0.01",   "0.02",   "0.05",   "0.1",   "0.2",   "0.5",
                                     "1",      "2",      "5",      "10",    "20",    "50",
                                     "100",    "200",    "500",    "1000"};
    char want[8192];
    int n = snprintf(want, sizeof want,
                     "# HELP cloudlog_ingest_requests_total Requests.\\nBy \\\\class\n"
                     "# TYPE cloudlog_ingest_requests_total counter\n"
                     "cloudlog_ingest_requests_total{status_class=\"2xx\"} 3\n"
                     "cloudlog_ingest_requests_total{status_class=\"5xx\"} 1\n"
                     "# HELP cloudlog_queue_depth Depth.\n"
                     "# TYPE cloudlog_queue_depth gauge\n"
                     "cloudlog_queue_depth 42\n"
                     "# HELP cloudlog_stored_bytes_total Bytes.\n"
                     "# TYPE cloudlog_stored_bytes_total counter\n"
                     "cloudlog_stored_bytes_total 1024\n"
                     "# HELP cloudlog_ingest_latency_seconds Latency.\n"
                     "# TYPE cloudlog_ingest_latency_seconds histogram\n");
    for (size_t i = 0; i < CL_HIST_BOUNDS; i++)
        n += snprintf(want + n, sizeof want - (size_t)n,
                      "cloudlog_ingest_latency_seconds_bucket{le=\"%s\"} %d\n", le[i],
                      i == 0  ? 0
                      : i < 5 ? 1
                              : 2);
    snprintf(want + n, sizeof want - (size_t)n,
             "cloudlog_ingest_latency_seconds_bucket{le=\"+Inf\"} 2\n"
             "cloudlog_ingest_latency_seconds_sum 0.00315\n"
             "cloudlog_ingest_latency_seconds_count 2\n");
    assert_string_equal(out.data, want);
    cl_buf_free(&out);
    cl_metrics_free(r);
}

/* Checks that every line of text is exactly one valid JSON object. */
static void assert_json_lines(const char *text, size_t expect_lines)
{
    size_t lines = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        struct cl_json_reader rd;
        struct cl_json_value v;
        cl_json_reader_init(&rd, p, (size_t)(nl - p), 0);
        assert_int_equal(cl_json_scan_value(&rd, &v), 0);
        assert_int_equal(v.type, CL_JSON_OBJECT);
        assert_true(cl_json_at_end(&rd));
        lines++;
        p = nl + 1;
    }
    assert_int_equal(lines, expect_lines);
}

/* One write into a temporary file, read back (caller frees). */
static char *emf_text(struct cl_emf_writer *w, int64_t now)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(cl_emf_write(w, f, now), 0);
    long len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    char *text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return text;
}

static void test_emf_documents(void **state)
{
    struct cl_metric *c, *h;
    char err[200];
    struct cl_metrics *r = known_registry(&c, &h);
    struct cl_emf_writer *w =
        cl_emf_writer_new(r, "cloudlog", "Service=api,Env=prod", err, sizeof err);
    assert_non_null(w);
    /* Values before the writer existed are its baseline: the first interval adds these. */
    cl_counter_add_at(c, 0, 2);
    cl_histogram_observe(h, 750);
    char *text = emf_text(w, 1574109732004);
    assert_json_lines(text, 3);
    const char *want =
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{\"Namespace\":"
        "\"cloudlog\",\"Dimensions\":[[\"Service\",\"Env\"]],\"Metrics\":[{\"Name\":"
        "\"IngestRequests\",\"Unit\":\"Count\"},{\"Name\":\"QueueDepth\",\"Unit\":\"Count\"},"
        "{\"Name\":\"StoredBytes\",\"Unit\":\"Bytes\"},{\"Name\":\"IngestLatency\",\"Unit\":"
        "\"Milliseconds\"}]}]},\"Service\":\"api\",\"Env\":\"prod\",\"IngestRequests\":2,"
        "\"QueueDepth\":42,\"StoredBytes\":0,\"IngestLatency\":[0.75]}\n"
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{\"Namespace\":"
        "\"cloudlog\",\"Dimensions\":[[\"Service\",\"Env\",\"StatusClass\"]],\"Metrics\":[{"
        "\"Name\":\"IngestRequests\",\"Unit\":\"Count\"}]}]},\"Service\":\"api\",\"Env\":"
        "\"prod\",\"StatusClass\":\"2xx\",\"IngestRequests\":2}\n"
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{\"Namespace\":"
        "\"cloudlog\",\"Dimensions\":[[\"Service\",\"Env\",\"StatusClass\"]],\"Metrics\":[{"
        "\"Name\":\"IngestRequests\",\"Unit\":\"Count\"}]}]},\"Service\":\"api\",\"Env\":"
        "\"prod\",\"StatusClass\":\"5xx\",\"IngestRequests\":0}\n";
    assert_string_equal(text, want);
    free(text);
    /* An idle interval: deltas 0, the histogram left out. */
    text = emf_text(w, 1574109792004);
    assert_json_lines(text, 3);
    assert_non_null(strstr(text, "\"IngestRequests\":0,\"QueueDepth\":42,\"StoredBytes\":0}"));
    assert_null(strstr(text, "IngestLatency"));
    free(text);
    cl_emf_writer_free(w);
    cl_metrics_free(r);
}

static void test_emf_histogram_cap(void **state)
{
    struct cl_metrics *r = cl_metrics_new();
    struct cl_metric *h = cl_metrics_histogram(r, "Lat", CL_UNIT_MICROSECONDS, "h");
    char err[200];
    struct cl_emf_writer *w = cl_emf_writer_new(r, "ns", NULL, err, sizeof err);
    assert_non_null(w);
    for (int i = 0; i < 1000; i++)
        cl_histogram_observe(h, 4000); /* (2000, 5000] */
    char *text = emf_text(w, 1);
    assert_json_lines(text, 1);
    assert_non_null(strstr(text, "\"Dimensions\":[[]]"));
    const char *arr = strstr(text, "\"Lat\":[");
    assert_non_null(arr);
    size_t commas = 0;
    for (const char *p = arr; *p != ']'; p++)
        commas += *p == ',';
    assert_int_equal(commas + 1, CL_EMF_MAX_VALUES);
    assert_non_null(strstr(arr, "[2.015,2.045,")); /* quantiles 0.005, 0.015 in 2-5 ms */
    free(text);
    cl_emf_writer_free(w);
    cl_metrics_free(r);
}

static void test_emf_options(void **state)
{
    struct cl_metrics *r = cl_metrics_new();
    struct cl_std_metrics m;
    cl_std_metrics_register(r, &m);
    char err[200];
    assert_null(cl_emf_writer_new(r, "", NULL, err, sizeof err));
    assert_null(cl_emf_writer_new(r, "ns", "novalue", err, sizeof err));
    assert_null(cl_emf_writer_new(r, "ns", "a=1,a=2", err, sizeof err));
    assert_null(cl_emf_writer_new(r, "ns", "=x", err, sizeof err));
    assert_null(cl_emf_writer_new(r, "ns", "k=", err, sizeof err));
    assert_null(cl_emf_writer_new(r, "ns", "_aws=1", err, sizeof err));
    assert_null(cl_emf_writer_new(r, "ns", "QueueDepth=1", err, sizeof err));
    assert_null(cl_emf_writer_new(r, "ns", "StatusClass=1", err, sizeof err));
    char many[400] = "";
    for (int i = 0; i < 30; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sk%d=v", i ? "," : "", i);
    assert_null(cl_emf_writer_new(r, "ns", many, err, sizeof err));
    assert_non_null(strstr(err, "too many"));
    struct cl_emf_writer *w =
        cl_emf_writer_new(r, "ns", "service=cloudlog,env=prod", err, sizeof err);
    assert_non_null(w);
    cl_emf_writer_free(w);
    char dim[64];
    cl_emf_label_dimension("status_class", dim, sizeof dim);
    assert_string_equal(dim, "StatusClass");
    cl_metrics_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_math),      cmocka_unit_test(test_concurrent_exact),
        cmocka_unit_test(test_histogram_buckets), cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_std_names),         cmocka_unit_test(test_prometheus_text),
        cmocka_unit_test(test_emf_documents),     cmocka_unit_test(test_emf_histogram_cap),
        cmocka_unit_test(test_emf_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
