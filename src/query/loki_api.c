/* loki_api.c - the Loki read API's routes, errors and JSON pieces (loki_read.h). */
#include "loki_int.h"

#include "common.h"
#include "json_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "label/NAME/values": NAME into name (bounded); 1 if path has that form. */
static int label_values_path(const char *path, char *name, size_t len)
{
    if (strncmp(path, "label/", 6) != 0)
        return 0;
    const char *n = path + 6, *slash = strchr(n, '/');
    if (!slash || slash == n || strcmp(slash, "/values") != 0 || (size_t)(slash - n) >= len)
        return 0;
    snprintf(name, len, "%.*s", (int)(slash - n), n);
    return 1;
}

enum cl_loki_kind cl_loki_kind_of(const char *path)
{
    static const char *const scanning[] = {
        "query_range",    "query",       "labels",       "label",
        "series",         "index/stats", "index/volume", "index/volume_range",
        "detected_fields"};
    char name[256];
    if (strcmp(path, "ready") == 0)
        return CL_LOKI_READY;
    if (strcmp(path, "status/buildinfo") == 0)
        return CL_LOKI_INSTANT;
    if (strcmp(path, "tail") == 0)
        return CL_LOKI_TAIL;
    if (label_values_path(path, name, sizeof name))
        return CL_LOKI_SCANNING;
    for (size_t i = 0; i < sizeof scanning / sizeof scanning[0]; i++)
        if (strcmp(path, scanning[i]) == 0)
            return CL_LOKI_SCANNING;
    return CL_LOKI_UNKNOWN;
}

void cl_loki_error(struct cl_loki_response *r, int status, const char *msg)
{
    cl_buf_reset(&r->body);
    r->status = status;
    r->content_type = "application/json; charset=utf-8";
    cl_buf_printf(&r->body, "{\"code\":%d,\"status\":\"error\",\"message\":", status);
    cl_json_write_string(&r->body, msg, strlen(msg));
    cl_buf_append_str(&r->body, "}\n");
}

void lk_run_error(struct cl_loki_response *r, int rc, const struct cl_query_stats *st,
                  const char *err)
{
    int status = rc == CL_ERR_INVAL ? 400 : 500;
    r->retry_after_s = 0;
    if (st->stopped == CL_QUERY_DEADLINE)
        status = 408;
    else if (st->stopped == CL_QUERY_BUDGET)
        status = 503;
    else if (st->stopped == CL_QUERY_CANCELLED) {
        status = 503;
        r->retry_after_s = 1;
    }
    cl_loki_error(r, status, err && err[0] ? err : cl_strerror(rc));
}

static void buildinfo(const struct cl_loki_ctx *ctx, struct cl_loki_response *r)
{
    struct cl_buf *b = &r->body;
    cl_buf_append_str(b, "{\"version\":");
    const char *v = ctx->version ? ctx->version : "";
    cl_json_write_string(b, v, strlen(v));
    cl_buf_append_str(b, ",\"revision\":");
    const char *rev = ctx->revision ? ctx->revision : "";
    cl_json_write_string(b, rev, strlen(rev));
    cl_buf_append_str(b, ",\"branch\":\"\",\"buildUser\":\"\",\"buildDate\":\"\","
                         "\"goVersion\":\"\"}\n");
}

void cl_loki_handle(const struct cl_loki_ctx *ctx, const char *path, const struct cl_loki_params *p,
                    struct cl_loki_response *r)
{
    size_t max = ctx->max_response ? ctx->max_response : CL_LOKI_MAX_RESPONSE;
    cl_buf_init(&r->body, max);
    r->status = 200;
    r->retry_after_s = 0;
    r->content_type = "application/json; charset=utf-8";
    char name[256];
    if (p->overflow)
        cl_loki_error(r, 400, "too many parameters");
    else if (strcmp(path, "ready") == 0) {
        r->content_type = "text/plain; charset=utf-8";
        cl_buf_append_str(&r->body, "ready\n");
    } else if (strcmp(path, "status/buildinfo") == 0)
        buildinfo(ctx, r);
    else if (strcmp(path, "query_range") == 0)
        lk_query_range(ctx, p, r);
    else if (strcmp(path, "query") == 0)
        lk_query_instant(ctx, p, r);
    else if (strcmp(path, "labels") == 0 || strcmp(path, "label") == 0)
        lk_labels(ctx, p, r);
    else if (label_values_path(path, name, sizeof name))
        lk_label_values(ctx, name, p, r);
    else if (strcmp(path, "series") == 0)
        lk_series(ctx, p, r);
    else if (strcmp(path, "index/stats") == 0)
        lk_index_stats(ctx, p, r);
    else if (strcmp(path, "index/volume") == 0)
        lk_index_volume(ctx, p, 0, r);
    else if (strcmp(path, "index/volume_range") == 0)
        lk_index_volume(ctx, p, 1, r);
    else if (strcmp(path, "detected_fields") == 0)
        lk_detected_fields(ctx, p, r);
    else
        cl_loki_error(r, 404, "404 page not found");
    if (cl_buf_failed(&r->body)) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "the answer exceeded its size limit (%zu bytes): narrow the query (a shorter "
                 "range, a lower limit, a larger step)",
                 max);
        cl_loki_error(r, 500, msg);
    }
}

/* ---- JSON ---- */

void lk_open_result(struct cl_buf *b, const char *type)
{
    cl_buf_printf(b, "{\"status\":\"success\",\"data\":{\"resultType\":\"%s\",\"result\":", type);
}

void lk_close_result(struct cl_buf *b, const struct cl_query_stats *st, uint64_t returned)
{
    double secs = (double)st->elapsed_ms / 1000.0;
    double per_s = secs > 0 ? 1.0 / secs : 0;
    cl_buf_printf(b,
                  ",\"stats\":{\"summary\":{\"bytesProcessedPerSecond\":%llu,"
                  "\"linesProcessedPerSecond\":%llu,\"totalBytesProcessed\":%llu,"
                  "\"totalLinesProcessed\":%llu,\"execTime\":%.6f,\"queueTime\":0,"
                  "\"subqueries\":0,\"totalEntriesReturned\":%llu,\"splits\":0,\"shards\":0,"
                  "\"totalPostFilterLines\":%llu,\"totalStructuredMetadataBytesProcessed\":0},"
                  "\"querier\":{\"store\":{\"totalChunksRef\":%llu,\"totalChunksDownloaded\":%llu,"
                  "\"chunk\":{\"compressedBytes\":%llu,\"decompressedBytes\":%llu,"
                  "\"decompressedLines\":%llu,\"totalDuplicates\":0}}}}}}\n",
                  (unsigned long long)((double)st->bytes_scanned * per_s),
                  (unsigned long long)((double)st->records_scanned * per_s),
                  (unsigned long long)st->bytes_scanned, (unsigned long long)st->records_scanned,
                  secs, (unsigned long long)returned, (unsigned long long)st->records_matched,
                  (unsigned long long)st->objects_considered,
                  (unsigned long long)st->objects_opened, (unsigned long long)st->bytes_compressed,
                  (unsigned long long)st->bytes_scanned, (unsigned long long)st->records_scanned);
}

void lk_write_labels(struct cl_buf *b, const char *const *names, const char *const *values,
                     size_t n)
{
    cl_buf_append_char(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            cl_buf_append_char(b, ',');
        cl_json_write_string(b, names[i], strlen(names[i]));
        cl_buf_append_char(b, ':');
        cl_json_write_string(b, values[i], strlen(values[i]));
    }
    cl_buf_append_char(b, '}');
}

void lk_write_seconds(struct cl_buf *b, int64_t ms)
{
    int64_t s = ms / 1000, frac = ms % 1000;
    if (frac < 0)
        s -= 1, frac += 1000;
    if (!frac)
        cl_buf_printf(b, "%lld", (long long)s);
    else if (frac % 100 == 0)
        cl_buf_printf(b, "%lld.%lld", (long long)s, (long long)(frac / 100));
    else if (frac % 10 == 0)
        cl_buf_printf(b, "%lld.%02lld", (long long)s, (long long)(frac / 10));
    else
        cl_buf_printf(b, "%lld.%03lld", (long long)s, (long long)frac);
}

void lk_write_sample(struct cl_buf *b, int64_t ms, double v)
{
    char text[32];
    cl_lq_format_value(v, text);
    cl_buf_append_char(b, '[');
    lk_write_seconds(b, ms);
    cl_buf_printf(b, ",\"%s\"]", text);
}

void lk_write_series(struct cl_buf *b, const struct cl_lq_matrix *m, size_t limit, int matrix)
{
    cl_buf_append_char(b, '[');
    for (size_t i = 0, written = 0; i < m->n && written < limit; i++) {
        const struct cl_lq_series *s = &m->s[i];
        if (!matrix && !s->has[0])
            continue;
        cl_buf_append_str(b, written++ ? ",{\"metric\":" : "{\"metric\":");
        lk_write_labels(b, (const char *const *)s->names, (const char *const *)s->values,
                        s->n_labels);
        if (!matrix) {
            cl_buf_append_str(b, ",\"value\":");
            lk_write_sample(b, m->start_ms, s->v[0]);
            cl_buf_append_char(b, '}');
            continue;
        }
        cl_buf_append_str(b, ",\"values\":[");
        for (size_t p = 0, first = 1; p < m->n_points; p++) {
            if (!s->has[p])
                continue;
            cl_buf_append_str(b, first ? "" : ",");
            first = 0;
            lk_write_sample(b, m->start_ms + (int64_t)p * m->step_ms, s->v[p]);
        }
        cl_buf_append_str(b, "]}");
    }
    cl_buf_append_char(b, ']');
}

void lk_write_string_list(struct cl_buf *b, char **v, size_t n)
{
    cl_buf_append_str(b, "{\"status\":\"success\",\"data\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            cl_buf_append_char(b, ',');
        cl_json_write_string(b, v[i], strlen(v[i]));
    }
    cl_buf_append_str(b, "]}\n");
}

/* ---- String sets ---- */

void lk_strset_add(struct lk_strset *s, const char *v)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], v) == 0)
            return;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = cl_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = cl_strdup(v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void lk_strset_sort(struct lk_strset *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, cmp_str);
}

void lk_strset_free(struct lk_strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}
