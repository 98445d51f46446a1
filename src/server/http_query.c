/* http_query.c - GET /v1/query: the query engine's matches streamed as NDJSON.
 *
 * A query runs on a query worker and writes lines into a bounded buffer; the
 * connection's content reader drains it. When the buffer is empty the reader suspends
 * the connection and the producer resumes it with the next lines; when it is full the
 * producer waits. So memory per query is bounded whatever it matches, and a client
 * that disconnects stops the scan (the response's free callback cancels it). */
#include "http_query.h"

#include "common.h"
#include "json_write.h"
#include "log.h"
#include "query_params.h"
#include "workers.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_HIGH_WATER (1u << 20) /* producer waits above this many unread bytes */
#define MAX_PARAMS 128

struct stream {
    pthread_mutex_t mu;
    pthread_cond_t drained;
    struct cl_buf buf;
    size_t rd;
    int done, cancelled, waiting, refs;
    struct MHD_Connection *conn;
    atomic_int *shutting_down; /* the daemon's: ends the query early */
    struct cl_query_source src;
    struct cl_query_params params;
    char *values[MAX_PARAMS]; /* owned copies of the request's parameter values */
    size_t n_values;
    uint64_t matched;
};

static void stream_unref(struct stream *s)
{
    pthread_mutex_lock(&s->mu);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last)
        return;
    for (size_t i = 0; i < s->n_values; i++)
        free(s->values[i]);
    cl_buf_free(&s->buf);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->drained);
    free(s);
}

/* Appends text for the reader; waits while the buffer is full. Returns non-zero once
 * the client is gone (the query then stops). Caller holds no lock. */
static int stream_write(struct stream *s, const char *data, size_t len)
{
    pthread_mutex_lock(&s->mu);
    while (!s->cancelled && s->buf.len - s->rd > STREAM_HIGH_WATER) {
        if (atomic_load(s->shutting_down)) {
            s->cancelled = 1; /* a stalled reader must not hold up shutdown */
            break;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&s->drained, &s->mu, &until);
    }
    if (!s->cancelled) {
        if (s->rd > 0 && s->rd == s->buf.len) { /* all read: start over */
            cl_buf_reset(&s->buf);
            s->rd = 0;
        }
        cl_buf_append(&s->buf, data, len);
        if (s->waiting) {
            s->waiting = 0;
            MHD_resume_connection(s->conn);
        }
    }
    int stop = s->cancelled;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static int emit_line(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct stream *s = arg;
    s->matched++;
    struct cl_buf b;
    cl_buf_init(&b, len + 2);
    cl_buf_append(&b, line, len);
    cl_buf_append_char(&b, '\n');
    int stop = stream_write(s, b.data, b.len);
    cl_buf_free(&b);
    return stop;
}

static void warn_object(void *arg, const char *key, const char *reason)
{
    cl_log(CL_LOG_WARN, "query: skipped %s: %s", key, reason);
}

static void finish_stream(struct stream *s, int rc, const struct cl_query_stats *st,
                          const char *err)
{
    struct cl_buf tail;
    cl_buf_init(&tail, 4096);
    if (rc != CL_OK) {
        cl_buf_append_str(&tail, "{\"error\":");
        cl_json_write_string(&tail, err, strlen(err));
        cl_buf_append_str(&tail, "}\n");
    } else if (s->params.q.count_only) {
        cl_buf_printf(&tail, "{\"count\":%llu}\n", (unsigned long long)st->records_matched);
    }
    if (tail.len)
        stream_write(s, tail.data, tail.len);
    cl_buf_free(&tail);
    pthread_mutex_lock(&s->mu);
    s->done = 1;
    if (s->waiting) {
        s->waiting = 0;
        MHD_resume_connection(s->conn);
    }
    pthread_mutex_unlock(&s->mu);
}

static void run_query_job(void *arg)
{
    struct stream *s = arg;
    struct cl_query_stats st = {0};
    char err[256] = "";
    int rc = cl_query_run(&s->src, &s->params.q, emit_line, warn_object, s, &st, err, sizeof err);
    if (rc != CL_OK && !err[0])
        snprintf(err, sizeof err, "query failed: %s", cl_strerror(rc));
    finish_stream(s, rc, &st, err);
    stream_unref(s);
}

static ssize_t read_stream(void *cls, uint64_t pos, char *out, size_t max)
{
    struct stream *s = cls;
    pthread_mutex_lock(&s->mu);
    size_t avail = s->buf.len - s->rd;
    if (avail) {
        size_t n = CL_MIN(avail, max);
        memcpy(out, s->buf.data + s->rd, n);
        s->rd += n;
        pthread_cond_signal(&s->drained);
        pthread_mutex_unlock(&s->mu);
        return (ssize_t)n;
    }
    if (s->done) {
        pthread_mutex_unlock(&s->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    s->waiting = 1; /* the producer resumes us with the next lines */
    MHD_suspend_connection(s->conn);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void free_stream(void *cls)
{
    struct stream *s = cls;
    pthread_mutex_lock(&s->mu);
    s->cancelled = 1;
    pthread_cond_signal(&s->drained);
    pthread_mutex_unlock(&s->mu);
    stream_unref(s);
}

static enum MHD_Result take_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct stream *s = cls;
    if (s->params.err[0])
        return MHD_NO;
    if (s->n_values == MAX_PARAMS) {
        snprintf(s->params.err, sizeof s->params.err, "too many parameters");
        return MHD_NO;
    }
    char *copy = cl_strdup(value ? value : "");
    s->values[s->n_values++] = copy;
    if (cl_query_params_add(&s->params, key, copy) != 0)
        return MHD_NO;
    return MHD_YES;
}

static struct stream *stream_new(struct cl_daemon *d, struct MHD_Connection *c)
{
    struct stream *s = cl_calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->drained, NULL);
    cl_buf_init(&s->buf, SIZE_MAX);
    s->refs = 2; /* the response and the query job */
    s->conn = c;
    s->shutting_down = &d->shutting_down;
    s->src.store = &d->store;
    s->src.catalog = &d->queue;
    cl_query_params_init(&s->params);
    return s;
}

enum MHD_Result cl_http_query(struct cl_daemon *d, struct MHD_Connection *c,
                              enum MHD_Result (*respond_error)(struct MHD_Connection *, int,
                                                               const char *))
{
    struct stream *s = stream_new(d, c);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, take_param, s);
    if (s->params.err[0] ||
        cl_query_params_finish(&s->params, cl_now_ms(), CL_QUERY_MAX_LIMIT) != 0) {
        enum MHD_Result r = respond_error(c, 400, s->params.err);
        s->refs = 1;
        stream_unref(s);
        return r;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, read_stream, s, free_stream);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
    enum MHD_Result r = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    cl_workers_submit(d->query_workers, run_query_job, s);
    return r;
}
