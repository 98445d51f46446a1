/* http_query.c - GET /v1/query: the query engine's matches streamed as NDJSON.
 *
 * A query runs on a query worker and writes lines into a bounded buffer; the
 * connection's content reader drains it. The status is chosen late: the first call
 * suspends the connection, and the worker resumes it once the first line exists (200,
 * streamed) or the query ended without one, so a query that fails before any output
 * gets its own status (400 regex failure, 408 deadline, 503 byte budget or shutdown).
 * A failure after lines were sent ends the stream with an {"error":...} line.
 *
 * When the buffer is empty the reader suspends the connection and the producer resumes
 * it with the next lines; when it is full the producer waits. So memory per query is
 * bounded whatever it matches. A client that disconnects stops the scan: the response's
 * free callback cancels it, and while the connection is suspended (where libmicrohttpd
 * cannot see a close) the scan's cancellation check peeks at the socket. At most
 * cfg->max_queries queries scan at once; more get 503 with Retry-After. */
#include "http_query.h"

#include "common.h"
#include "http_queue.h"
#include "json_write.h"
#include "log.h"
#include "query_params.h"
#include "workers.h"

#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STREAM_HIGH_WATER (1u << 20) /* producer waits above this many unread bytes */
#define MAX_PARAMS 128
#define PEER_CHECK_MS 100 /* how often a suspended connection's socket is looked at */
#define QUERY_NICE 10     /* CPU priority of query threads below ingest's */

struct stream {
    pthread_mutex_t mu;
    pthread_cond_t drained;
    struct cl_buf buf;
    size_t rd;
    int done, cancelled, suspended, answered, refs;
    int status;            /* with done and no answer yet: the error status */
    int retry_after_s;     /* ... and its Retry-After */
    int64_t deadline;      /* cl_mono_ms(); 0: none. A stalled reader cannot outlive it */
    int overdue;           /* the deadline passed while waiting for the reader */
    int64_t peer_check_ms; /* last look at the socket */
    int fd;                /* the connection's socket, looked at only while suspended */
    struct MHD_Connection *conn;
    struct cl_daemon *d;
    struct cl_query_source src;
    struct cl_query_params params;
    char *values[MAX_PARAMS]; /* owned copies of the request's parameter values */
    size_t n_values;
    char err[512];
};

static void stream_unref(struct stream *s)
{
    pthread_mutex_lock(&s->mu);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last)
        return;
    cl_query_params_free(&s->params);
    for (size_t i = 0; i < s->n_values; i++)
        free(s->values[i]);
    cl_buf_free(&s->buf);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->drained);
    free(s);
}

/* Resumes the connection if it waits for us (caller holds s->mu). */
static void wake_reader(struct stream *s)
{
    if (s->suspended) {
        s->suspended = 0;
        MHD_resume_connection(s->conn);
    }
}

/* 1 if the client closed its end, seen without consuming anything it sent. */
static int peer_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (fd < 0 || poll(&p, 1, 0) <= 0)
        return 0;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        return 1;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* The engine's cancellation check (any scan thread): shutdown, or the client gone. */
static int query_cancelled(void *arg)
{
    struct stream *s = arg;
    if (atomic_load(&s->d->shutting_down))
        return 1;
    pthread_mutex_lock(&s->mu);
    int64_t now = cl_mono_ms();
    if (!s->cancelled && s->suspended && now - s->peer_check_ms >= PEER_CHECK_MS) {
        s->peer_check_ms = now;
        s->cancelled = peer_gone(s->fd);
    }
    int gone = s->cancelled;
    pthread_mutex_unlock(&s->mu);
    return gone;
}

/* Appends text for the reader; waits while the buffer is full. Returns non-zero once
 * the client is gone, the daemon stops or the deadline passed (the query then stops).
 * Caller holds no lock. */
static int stream_write(struct stream *s, const char *data, size_t len)
{
    pthread_mutex_lock(&s->mu);
    while (!s->cancelled && !s->overdue && s->buf.len - s->rd > STREAM_HIGH_WATER) {
        if (atomic_load(&s->d->shutting_down)) {
            s->cancelled = 1; /* a stalled reader must not hold up shutdown */
            break;
        }
        if (s->deadline && cl_mono_ms() >= s->deadline) {
            s->overdue = 1;
            break;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&s->drained, &s->mu, &until);
    }
    int stop = s->cancelled || s->overdue;
    if (!stop) {
        if (s->rd > 0 && s->rd == s->buf.len) { /* all read: start over */
            cl_buf_reset(&s->buf);
            s->rd = 0;
        }
        cl_buf_append(&s->buf, data, len);
        wake_reader(s);
    }
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static int emit_line(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct stream *s = arg;
    (void)h;
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
    (void)arg;
    cl_log(CL_LOG_WARN, "query: skipped %s: %s", key, reason);
}

/* The status of a query that failed before its first line (docs/query.md "Query budgets"). */
static int failure_status(int rc, const struct cl_query_stats *st, int *retry_after_s)
{
    *retry_after_s = 0;
    switch (st->stopped) {
    case CL_QUERY_DEADLINE:
        return 408;
    case CL_QUERY_BUDGET:
        return 503;
    case CL_QUERY_CANCELLED:
        *retry_after_s = 1;
        return 503;
    default:
        return rc == CL_ERR_INVAL ? 400 : 500;
    }
}

/* Ends the stream: the count or, after lines were sent, the error as a last line;
 * before any line, the error becomes the answer's status. */
static void finish_stream(struct stream *s, int rc, const struct cl_query_stats *st)
{
    struct cl_buf tail;
    cl_buf_init(&tail, 4096);
    pthread_mutex_lock(&s->mu);
    int streamed = s->answered || s->buf.len > 0;
    pthread_mutex_unlock(&s->mu);
    if (rc != CL_OK && streamed) {
        cl_buf_append_str(&tail, "{\"error\":");
        cl_json_write_string(&tail, s->err, strlen(s->err));
        cl_buf_append_str(&tail, "}\n");
    } else if (rc == CL_OK && s->params.q.count_only) {
        cl_buf_printf(&tail, "{\"count\":%llu}\n", (unsigned long long)st->records_matched);
    }
    pthread_mutex_lock(&s->mu);
    if (tail.len && !s->cancelled) /* past the high-water mark: the stream ends here */
        cl_buf_append(&s->buf, tail.data, tail.len);
    if (rc != CL_OK && !streamed)
        s->status = failure_status(rc, st, &s->retry_after_s);
    s->done = 1;
    wake_reader(s);
    pthread_mutex_unlock(&s->mu);
    cl_buf_free(&tail);
}

/* Query threads give way to ingest when the CPU is short: the worker's nice value
 * (Linux: per thread) is inherited by the scan threads the engine starts. */
static void lower_priority(void)
{
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), QUERY_NICE);
}

static void run_query_job(void *arg)
{
    struct stream *s = arg;
    lower_priority();
    struct cl_query_stats st = {0};
    int rc =
        cl_query_run(&s->src, &s->params.q, emit_line, warn_object, s, &st, s->err, sizeof s->err);
    if (rc == CL_OK && s->overdue) { /* the reader was too slow: the scan stopped early */
        rc = CL_ERR_TOO_LARGE;
        st.stopped = CL_QUERY_DEADLINE;
        snprintf(s->err, sizeof s->err,
                 "query deadline exceeded while the client read the results slowly");
    }
    if (st.stopped == CL_QUERY_CANCELLED && atomic_load(&s->d->shutting_down))
        snprintf(s->err, sizeof s->err, "shutting down: the query was stopped; retry later");
    if (rc != CL_OK && !s->err[0])
        snprintf(s->err, sizeof s->err, "query failed: %s", cl_strerror(rc));
    if (rc != CL_OK && st.stopped != CL_QUERY_CANCELLED)
        cl_log(CL_LOG_INFO, "query: %s", s->err);
    atomic_fetch_sub(&s->d->queries_running, 1);
    finish_stream(s, rc, &st);
    stream_unref(s);
}

static ssize_t read_stream(void *cls, uint64_t pos, char *out, size_t max)
{
    struct stream *s = cls;
    (void)pos;
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
    s->suspended = 1; /* the producer resumes us with the next lines */
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
    (void)kind;
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

/* The daemon's limits on q, and the stream's cancellation check. */
static void apply_limits(struct stream *s, const struct cl_server_config *cfg)
{
    struct cl_query *q = &s->params.q;
    q->timeout_ms = cfg->query_timeout_ms;
    q->max_bytes = cfg->query_max_bytes;
    q->regex_match_limit = (uint32_t)cfg->regex_match_limit;
    q->regex_depth_limit = (uint32_t)cfg->regex_depth_limit;
    q->regex_heap_limit = cfg->regex_heap_limit;
    q->cancelled = query_cancelled;
    q->cancel_arg = s;
    s->deadline = q->timeout_ms > 0 ? cl_mono_ms() + q->timeout_ms : 0;
}

/* Allocates the stream of c (freed by its last stream_unref). */
static struct stream *stream_new(struct cl_daemon *d, struct MHD_Connection *c)
{
    struct stream *s = cl_calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->drained, NULL);
    cl_buf_init(&s->buf, SIZE_MAX);
    s->refs = 1; /* the request's */
    s->conn = c;
    s->d = d;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    s->fd = ci ? ci->connect_fd : -1;
    s->src.store = &d->store;
    s->src.catalog = cl_queue_catalog(&d->queue); /* NULL where the backend keeps none */
    cl_query_params_init(&s->params);
    return s;
}

/* Takes a query slot; 0, or -1 if cfg->max_queries are running. */
static int take_slot(struct cl_daemon *d)
{
    int running = atomic_fetch_add(&d->queries_running, 1);
    if (running < d->cfg->max_queries)
        return 0;
    atomic_fetch_sub(&d->queries_running, 1);
    return -1;
}

enum MHD_Result cl_http_query_start(struct cl_daemon *d, struct MHD_Connection *c, void **state,
                                    cl_http_error_fn respond_error)
{
    struct stream *s = stream_new(d, c);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, take_param, s);
    if (s->params.err[0] ||
        cl_query_params_finish(&s->params, cl_now_ms(), CL_QUERY_MAX_LIMIT) != 0) {
        enum MHD_Result r = respond_error(c, 400, s->params.err, 0);
        stream_unref(s);
        return r;
    }
    if (take_slot(d) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "too many queries running (%d, --max-queries); retry later",
                 d->cfg->max_queries);
        stream_unref(s);
        return respond_error(c, 503, msg, 1);
    }
    apply_limits(s, d->cfg);
    s->refs = 2; /* the request's and the query job's */
    s->suspended = 1;
    *state = s;
    MHD_suspend_connection(c); /* until the first line or the end (wake_reader) */
    cl_workers_submit(d->query_workers, run_query_job, s);
    return MHD_YES;
}

enum MHD_Result cl_http_query_answer(struct MHD_Connection *c, void *state,
                                     cl_http_error_fn respond_error)
{
    struct stream *s = state;
    pthread_mutex_lock(&s->mu);
    int status = s->status, retry = s->retry_after_s;
    if (!status) {
        s->answered = 1;
        s->refs++; /* the response's, dropped by free_stream */
    }
    pthread_mutex_unlock(&s->mu);
    if (status)
        return respond_error(c, status, s->err, retry);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, read_stream, s, free_stream);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
    else
        free_stream(s); /* no response to drop its reference: cancel the scan here */
    return cl_http_queue(c, MHD_HTTP_OK, resp);
}

void cl_http_query_done(void *state)
{
    if (state)
        stream_unref(state);
}
