/* metrics.c - the metrics registry: registration, lock-free updates, reads, and the
 * metric set shared by every runtime. */
#include "metrics.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const uint64_t cl_hist_bounds[CL_HIST_BOUNDS] = {
    100,      200,      500,       1000,      2000,      5000,      10000,   20000,
    50000,    100000,   200000,    500000,    1000000,   2000000,   5000000, 10000000,
    20000000, 50000000, 100000000, 200000000, 500000000, 1000000000};

const struct cl_std_metrics cl_std_metrics_none;

struct collector {
    void (*fn)(void *arg);
    void *arg;
};

struct cl_metrics {
    struct cl_metric **m;
    size_t n, cap;
    struct collector *coll;
    size_t n_coll;
};

struct cl_metrics *cl_metrics_new(void)
{
    return cl_calloc(1, sizeof(struct cl_metrics));
}

void cl_metrics_free(struct cl_metrics *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->m[i]);
    free(r->m);
    free(r->coll);
    free(r);
}

static struct cl_metric *add(struct cl_metrics *r, const char *name, enum cl_metric_type type,
                             enum cl_metric_unit unit, const char *help)
{
    struct cl_metric *m = cl_calloc(1, sizeof *m);
    m->name = name;
    m->help = help;
    m->type = type;
    m->unit = unit;
    m->n_series = 1;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->m = cl_realloc(r->m, r->cap * sizeof *r->m);
    }
    r->m[r->n++] = m;
    return m;
}

struct cl_metric *cl_metrics_counter(struct cl_metrics *r, const char *name,
                                     enum cl_metric_unit unit, const char *help, const char *label,
                                     const char *const *label_values)
{
    struct cl_metric *m = add(r, name, CL_METRIC_COUNTER, unit, help);
    if (label && label_values) {
        size_t n = 0;
        while (label_values[n] && n < CL_METRIC_MAX_LABELS) {
            m->label_values[n] = label_values[n];
            n++;
        }
        m->label = label;
        m->n_series = CL_MAX(n, (size_t)1);
    }
    return m;
}

struct cl_metric *cl_metrics_gauge(struct cl_metrics *r, const char *name, enum cl_metric_unit unit,
                                   const char *help)
{
    return add(r, name, CL_METRIC_GAUGE, unit, help);
}

struct cl_metric *cl_metrics_histogram(struct cl_metrics *r, const char *name,
                                       enum cl_metric_unit unit, const char *help)
{
    return add(r, name, CL_METRIC_HISTOGRAM, unit, help);
}

void cl_metrics_on_collect(struct cl_metrics *r, void (*fn)(void *arg), void *arg)
{
    r->coll = cl_realloc(r->coll, (r->n_coll + 1) * sizeof *r->coll);
    r->coll[r->n_coll++] = (struct collector){fn, arg};
}

void cl_metrics_collect(struct cl_metrics *r)
{
    for (size_t i = 0; i < r->n_coll; i++)
        r->coll[i].fn(r->coll[i].arg);
}

size_t cl_metrics_len(const struct cl_metrics *r)
{
    return r->n;
}

const struct cl_metric *cl_metrics_at(const struct cl_metrics *r, size_t i)
{
    return r->m[i];
}

void cl_counter_add(struct cl_metric *m, uint64_t n)
{
    if (m)
        atomic_fetch_add_explicit(&m->v[0], n, memory_order_relaxed);
}

void cl_counter_add_at(struct cl_metric *m, size_t series, uint64_t n)
{
    if (m && series < m->n_series)
        atomic_fetch_add_explicit(&m->v[series], n, memory_order_relaxed);
}

void cl_gauge_set(struct cl_metric *m, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if (m)
        atomic_store_explicit(&m->v[0], bits, memory_order_relaxed);
}

void cl_histogram_observe(struct cl_metric *m, uint64_t v)
{
    if (!m)
        return;
    size_t b = 0;
    while (b < CL_HIST_BOUNDS && v > cl_hist_bounds[b])
        b++;
    atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum, v, memory_order_relaxed);
}

uint64_t cl_counter_get(const struct cl_metric *m, size_t series)
{
    return series < m->n_series ? atomic_load_explicit(&m->v[series], memory_order_relaxed) : 0;
}

uint64_t cl_counter_total(const struct cl_metric *m)
{
    uint64_t t = 0;
    for (size_t i = 0; i < m->n_series; i++)
        t += cl_counter_get(m, i);
    return t;
}

double cl_gauge_get(const struct cl_metric *m)
{
    uint64_t bits = atomic_load_explicit(&m->v[0], memory_order_relaxed);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

void cl_histogram_snapshot(const struct cl_metric *m, struct cl_hist_snapshot *s)
{
    s->count = 0;
    for (size_t b = 0; b <= CL_HIST_BOUNDS; b++) {
        s->buckets[b] = atomic_load_explicit(&m->buckets[b], memory_order_relaxed);
        s->count += s->buckets[b];
    }
    s->sum = atomic_load_explicit(&m->sum, memory_order_relaxed);
}

double cl_hist_quantile(const struct cl_hist_snapshot *s, double q)
{
    if (s->count == 0)
        return 0;
    double rank = q * (double)s->count, below = 0;
    for (size_t b = 0; b <= CL_HIST_BOUNDS; b++) {
        double n = (double)s->buckets[b];
        if (n > 0 && below + n >= rank) {
            if (b == CL_HIST_BOUNDS)
                return (double)cl_hist_bounds[CL_HIST_BOUNDS - 1];
            double lo = b ? (double)cl_hist_bounds[b - 1] : 0, hi = (double)cl_hist_bounds[b];
            double frac = rank > below ? (rank - below) / n : 0;
            return lo + (hi - lo) * frac;
        }
        below += n;
    }
    return (double)cl_hist_bounds[CL_HIST_BOUNDS - 1];
}

int64_t cl_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

enum cl_status_class cl_status_class_of(int status)
{
    if (status < 300)
        return CL_STATUS_2XX;
    return status < 500 ? CL_STATUS_4XX : CL_STATUS_5XX;
}

static const char *const status_classes[] = {"2xx", "4xx", "5xx", NULL};
static const char *const error_reasons[] = {"receive", "decode",  "catalog",
                                            "store",   "publish", NULL};

static void register_ingest(struct cl_metrics *r, struct cl_std_metrics *m)
{
    m->ingested_log_count = cl_metrics_counter(
        r, "IngestedLogCount", CL_UNIT_COUNT,
        "Records accepted by ingest and durably queued (acknowledged with 202).", NULL, NULL);
    m->rejected_log_count = cl_metrics_counter(
        r, "RejectedLogCount", CL_UNIT_COUNT,
        "Records refused by ingest: invalid records, and every record of a parsed body "
        "answered with an error.",
        NULL, NULL);
    m->ingested_bytes = cl_metrics_counter(
        r, "IngestedBytes", CL_UNIT_BYTES,
        "Normalized NDJSON bytes of accepted records (newlines included).", NULL, NULL);
    m->ingest_requests = cl_metrics_counter(r, "IngestRequests", CL_UNIT_COUNT,
                                            "Ingest requests answered, by HTTP status class.",
                                            "status_class", status_classes);
    m->ingest_latency = cl_metrics_histogram(
        r, "IngestLatency", CL_UNIT_MICROSECONDS,
        "Time from an ingest request's arrival to its durable acknowledgement (2xx only).");
}

static void register_queue(struct cl_metrics *r, struct cl_std_metrics *m)
{
    m->queue_depth = cl_metrics_gauge(r, "QueueDepth", CL_UNIT_COUNT,
                                      "Messages in the queue ready to be received.");
    m->queue_in_flight = cl_metrics_gauge(r, "QueueInFlight", CL_UNIT_COUNT,
                                          "Messages received by a processor, not yet deleted.");
    m->oldest_message_age =
        cl_metrics_gauge(r, "OldestMessageAgeSeconds", CL_UNIT_SECONDS,
                         "Age of the oldest message in the queue (0 if empty).");
    m->dlq_depth =
        cl_metrics_gauge(r, "DLQDepth", CL_UNIT_COUNT, "Messages in the dead-letter queue.");
    m->queue_quarantined = cl_metrics_counter(
        r, "QueueQuarantined", CL_UNIT_COUNT,
        "Damaged queue files this process moved to DATA/quarantine at start-up.", NULL, NULL);
    m->queue_quarantine_pending =
        cl_metrics_gauge(r, "QueueQuarantinePending", CL_UNIT_COUNT,
                         "Quarantined queue files in DATA/quarantine not yet salvaged by "
                         "'cloudlog verify --repair'.");
    m->recent_unclean_restarts = cl_metrics_gauge(
        r, "RecentUncleanRestarts", CL_UNIT_COUNT,
        "Start-ups in the last 10 minutes that found the previous run had not stopped cleanly "
        "(crash, kill -9): a crash loop shows here (alarm CrashLoop).");
    m->catalog_objects_missing =
        cl_metrics_gauge(r, "CatalogObjectsMissing", CL_UNIT_COUNT,
                         "Catalog rows found at start-up whose object is gone from the store "
                         "(run `cloudlog verify`).");
}

static void register_process(struct cl_metrics *r, struct cl_std_metrics *m)
{
    m->processed_log_count = cl_metrics_counter(
        r, "ProcessedLogCount", CL_UNIT_COUNT, "Records written to committed objects.", NULL, NULL);
    m->processing_errors =
        cl_metrics_counter(r, "ProcessingErrors", CL_UNIT_COUNT, "Processor failures, by reason.",
                           "reason", error_reasons);
    m->objects_written = cl_metrics_counter(r, "ObjectsWritten", CL_UNIT_COUNT,
                                            "Objects committed to the store.", NULL, NULL);
    m->stored_bytes =
        cl_metrics_counter(r, "StoredBytes", CL_UNIT_BYTES,
                           "Compressed bytes of objects committed to the store.", NULL, NULL);
    m->end_to_end_latency = cl_metrics_histogram(
        r, "EndToEndLatency", CL_UNIT_MICROSECONDS,
        "Time from a queue message's send (its records' durable ingest) to the publication of "
        "an object holding its records; one observation per message and object.");
    m->retries = cl_metrics_counter(r, "Retries", CL_UNIT_COUNT,
                                    "Messages handed back to the queue for a retry after a "
                                    "processing failure.",
                                    NULL, NULL);
    m->redriven = cl_metrics_counter(
        r, "Redriven", CL_UNIT_COUNT,
        "Dead-letter messages moved back to the queue by this process.", NULL, NULL);
    m->store_circuit_open = cl_metrics_gauge(
        r, "StoreCircuitOpen", CL_UNIT_COUNT,
        "1 while the processor's circuit breaker is open: the store (or the queue file) fails "
        "as a whole, so nothing is received and no receive is counted; 0 otherwise.");
}

void cl_std_metrics_register(struct cl_metrics *r, struct cl_std_metrics *m)
{
    register_ingest(r, m);
    register_queue(r, m);
    register_process(r, m);
}

void cl_std_metrics_register_ingest(struct cl_metrics *r, struct cl_std_metrics *m)
{
    *m = cl_std_metrics_none;
    register_ingest(r, m);
}

void cl_std_metrics_register_process(struct cl_metrics *r, struct cl_std_metrics *m)
{
    *m = cl_std_metrics_none;
    register_process(r, m);
}
