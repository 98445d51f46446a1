/* report.c - bench_loadgen's summary output: text, or one JSON line with --json. */
#include "loadgen.h"

#include <inttypes.h>
#include <stdio.h>

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static double per_s(const struct summary *m, double v)
{
    return m->window_s > 0 ? v / m->window_s : 0;
}

void print_text(const struct opts *o, const struct summary *m)
{
    const struct stats *s = &m->st;
    const struct hist *h = &s->lat;
    printf("loadgen: %s  connections=%d threads=%d batch=%d gzip=%s window=%.2fs warmup=%.1fs\n",
           o->url, o->connections, o->threads, o->batch, o->gzip ? "yes" : "no", m->window_s,
           o->warmup);
    printf("requests:   %" PRIu64 " 2xx, %" PRIu64 " 503, %" PRIu64 " 429, %" PRIu64
           " other non-2xx; %" PRIu64 " errors, %" PRIu64 " timeouts, %" PRIu64
           " connect errors, %" PRIu64 " reconnects, %" PRIu64 " unfinished at end\n",
           s->ok, s->st503, s->st429, s->status_other, s->errors, s->timeouts, s->connect_errors,
           s->reconnects, s->unfinished);
    printf("throughput: %.1f req/s  %.0f accepted events/s  %.1f MB/s uncompressed  "
           "(%.1f MB/s on the wire; %" PRIu64 " accepted, %" PRIu64 " rejected)\n",
           per_s(m, (double)(s->ok + s->non2xx)), per_s(m, (double)s->accepted),
           per_s(m, (double)s->raw_bytes) / 1e6, per_s(m, (double)s->wire_bytes) / 1e6, s->accepted,
           s->rejected);
    printf("latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n",
           ms(hist_percentile(h, 50)), ms(hist_percentile(h, 90)), ms(hist_percentile(h, 99)),
           ms(hist_percentile(h, 99.9)), ms(h->max),
           h->total ? h->sum / (double)h->total / 1e3 : 0);
    printf("client cpu: %.1f%% of one core\n", m->client_cpu_pct);
    if (m->server_cpu_pct >= 0)
        printf("server cpu: %.1f%% of one core  peak RSS %.1f MiB  RSS %.1f MiB\n",
               m->server_cpu_pct, (double)m->server_hwm_kb / 1024, (double)m->server_rss_kb / 1024);
    else if (o->server_pid)
        printf("server cpu: n/a (pid %d not readable)\n", o->server_pid);
    if (s->no_accepted_field)
        printf("note: %" PRIu64 " 2xx responses had no \"accepted\" field\n", s->no_accepted_field);
}

void print_json(const struct opts *o, const struct summary *m)
{
    const struct stats *s = &m->st;
    const struct hist *h = &s->lat;
    printf("{\"url\":\"%s\",\"connections\":%d,\"threads\":%d,\"batch\":%d,\"gzip\":%s,"
           "\"window_s\":%.3f,\"ok\":%" PRIu64 ",\"status_503\":%" PRIu64 ",\"status_429\":%" PRIu64
           ",\"status_other\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"timeouts\":%" PRIu64
           ",\"connect_errors\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"unfinished\":%" PRIu64
           ",\"accepted\":%" PRIu64 ",\"rejected\":%" PRIu64 ",",
           o->url, o->connections, o->threads, o->batch, o->gzip ? "true" : "false", m->window_s,
           s->ok, s->st503, s->st429, s->status_other, s->errors, s->timeouts, s->connect_errors,
           s->reconnects, s->unfinished, s->accepted, s->rejected);
    printf("\"req_per_s\":%.1f,\"events_per_s\":%.0f,\"mb_per_s\":%.2f,\"wire_mb_per_s\":%.2f,",
           per_s(m, (double)(s->ok + s->non2xx)), per_s(m, (double)s->accepted),
           per_s(m, (double)s->raw_bytes) / 1e6, per_s(m, (double)s->wire_bytes) / 1e6);
    printf("\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,",
           ms(hist_percentile(h, 50)), ms(hist_percentile(h, 90)), ms(hist_percentile(h, 99)),
           ms(hist_percentile(h, 99.9)), ms(h->max));
    printf("\"client_cpu_pct\":%.1f", m->client_cpu_pct);
    if (m->server_cpu_pct >= 0)
        printf(",\"server_cpu_pct\":%.1f,\"server_peak_rss_mib\":%.1f,\"server_rss_mib\":%.1f",
               m->server_cpu_pct, (double)m->server_hwm_kb / 1024, (double)m->server_rss_kb / 1024);
    printf("}\n");
}
