/* syslog_parse.c - single-thread cost of the syslog path, per CPU-second of the thread.
 *
 * Usage: bench_syslog_parse [messages=1000000]
 * Builds RFC 5424 messages with structured data (~170 bytes, the shape
 * bench/syslog_bench.py sends), then measures: framing (octet counting) + parsing +
 * writing the input record (what a connection thread does), and cl_ingest_parse of
 * those records (normalization + gzip packing, what an ingest worker does).
 */
#include "common.h"
#include "ingest.h"
#include "syslog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* n octet-counted messages stamped within the hour before now (the normalizer refuses
 * records outside its age window: a fixed date made every record a rejection, which
 * skips the packing). Caller frees with cl_buf_free. */
static void make_stream(struct cl_buf *b, long n)
{
    char m[512], hour[32];
    time_t t = time(NULL) - 3600;
    struct tm tm;
    strftime(hour, sizeof hour, "%Y-%m-%dT%H", gmtime_r(&t, &tm));
    for (long i = 0; i < n; i++) {
        int len = snprintf(m, sizeof m,
                           "<165>1 %s:%02ld:%02ld.%03ldZ web-%ld shop %ld ORD%ld "
                           "[order@32473 id=\"A-%ld\" amount=\"%ld.%02ld\"] order %ld placed by "
                           "user u%ld from 10.0.%ld.%ld",
                           hour, i % 60, i % 60, i % 1000, i % 7, 1000 + i % 50, i % 100, i,
                           i % 500, i % 100, i, i % 997, i % 256, (i * 7) % 256);
        cl_buf_printf(b, "%d %s", len, m);
    }
}

static double frame_and_parse(const struct cl_buf *in, struct cl_buf *records)
{
    struct cl_syslog_framer f;
    cl_syslog_framer_init(&f, CL_SYSLOG_DEFAULT_MAX_MESSAGE);
    double t0 = cpu_s();
    size_t pos = 0, used, len;
    const char *msg;
    int trunc;
    int64_t now = cl_now_ms(); /* once, as a connection does per read */
    while (cl_syslog_frame_next(&f, in->data + pos, in->len - pos, &used, &msg, &len, &trunc) ==
           CL_SYSLOG_FRAME_MSG) {
        struct cl_syslog_msg m;
        cl_syslog_parse(msg, len, now, &m);
        cl_syslog_record(&m, now, records);
        pos += used;
    }
    return cpu_s() - t0;
}

static double ingest(const struct cl_buf *records, uint32_t *accepted)
{
    struct cl_ingest_limits lim;
    cl_ingest_limits_default(&lim);
    double t0 = cpu_s();
    const size_t step = 4u << 20; /* the listener's batch size */
    for (size_t pos = 0; pos < records->len;) {
        size_t end = pos + step < records->len ? pos + step : records->len;
        const char *nl =
            end < records->len ? memchr(records->data + end, '\n', records->len - end) : NULL;
        end = nl ? (size_t)(nl - records->data) + 1 : records->len;
        struct cl_ingest_batch b;
        struct cl_ingest_parse_result r;
        cl_ingest_batch_init(&b);
        cl_ingest_parse_result_init(&r);
        cl_ingest_parse(records->data + pos, end - pos, NULL, cl_now_ms(), &lim, &b, &r);
        *accepted += r.accepted;
        cl_ingest_batch_free(&b);
        cl_ingest_parse_result_free(&r);
        pos = end;
    }
    return cpu_s() - t0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    struct cl_buf in, records;
    cl_buf_init(&in, SIZE_MAX / 2);
    cl_buf_init(&records, SIZE_MAX / 2);
    make_stream(&in, n);
    double t1 = frame_and_parse(&in, &records);
    uint32_t accepted = 0;
    double t2 = ingest(&records, &accepted);
    printf("%ld messages, %.1f MB on the wire, %.1f MB of input records, %u accepted\n", n,
           in.len / 1e6, records.len / 1e6, accepted);
    printf("frame + parse + record:    %9.0f messages/s per core\n", n / t1);
    printf("normalize + gzip packing:  %9.0f records/s per core\n", n / t2);
    printf("both (one core):           %9.0f records/s\n", n / (t1 + t2));
    cl_buf_free(&in);
    cl_buf_free(&records);
    return accepted == (uint32_t)n ? 0 : 1;
}
