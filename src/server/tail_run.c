/* tail_run.c - a live tail's thread: the newest `limit` matches since `start`, then every
 * second the matches of newly published objects (src/query/query_follow.c, as `cloudlog tail
 * -f`), sent as Loki's frames {"streams":[{"stream":{labels},"values":[["ns","line"]]}]}
 * with "dropped_entries" when some were dropped. Between polls it answers pings and a
 * close; it ends on the client's close, a send that cannot complete within
 * SEND_TIMEOUT_MS, a query error (close 1011 with the reason) or the daemon stopping
 * (close 1001).
 *
 * delay_for holds each found record that long before it is sent, sorted by time with
 * what else arrived meanwhile (Loki: slow loggers catch up). At most MAX_PENDING records
 * wait; further ones are dropped and reported, like Loki's dropped_entries.
 *
 * cl_query_follow runs the loop; its callbacks do the rest: emit puts matches through the
 * LogQL pipeline into the pending list, flush sends what is due, and stop (polled between
 * records and while it waits) looks at the socket every STEP_MS: pings, a close, the
 * daemon stopping, and pending records whose delay_for passed. */
#include "common.h"
#include "query_follow.h"
#include "json_write.h"
#include "log.h"
#include "record.h"
#include "tail_int.h"
#include "websocket.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define POLL_MS 1000                   /* how often new objects are looked for */
#define STEP_MS 100                    /* how often the stop flags are looked at */
#define SEND_TIMEOUT_MS 10000          /* a client that reads nothing this long is closed */
#define WINDOW_MS (2 * 3600 * 1000LL)  /* follow window, as `cloudlog tail --window` */
#define MAX_PENDING 10000              /* records found and not yet sent */
#define MAX_DROPS 1000                 /* dropped records reported in one frame */
#define FRAME_BYTES (1u << 20)         /* a frame is closed after this much JSON */
#define FRAME_MAX (FRAME_BYTES + 4096) /* ... plus one record's worth of slack */

static int stopping(struct tail *t)
{
    return atomic_load(&t->d->shutting_down) || atomic_load(&t->reg->stopping);
}

static int tail_cancelled(void *arg)
{
    struct tail *t = arg;
    return stopping(t) || atomic_load(&t->peer_closed);
}

/* -- sending ------------------------------------------------------------------------ */

/* Writes all of data; -1 (and peer_closed) when the client is gone or reads nothing for
 * SEND_TIMEOUT_MS. */
static int send_all(struct tail *t, const void *data, size_t len)
{
    const char *p = data;
    int64_t deadline = cl_mono_ms() + SEND_TIMEOUT_MS;
    while (len > 0 && !atomic_load(&t->peer_closed)) {
        ssize_t n = send(t->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n, len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break;
        int64_t left = deadline - cl_mono_ms();
        if (left <= 0 || stopping(t))
            break;
        struct pollfd pf = {.fd = t->fd, .events = POLLOUT};
        poll(&pf, 1, (int)(left < STEP_MS ? left : STEP_MS));
    }
    if (len > 0)
        atomic_store(&t->peer_closed, 1);
    return len > 0 ? -1 : 0;
}

static int send_frame(struct tail *t, enum cl_ws_opcode op, const void *payload, size_t len)
{
    unsigned char hdr[10];
    size_t h = cl_ws_frame_header(op, len, hdr);
    return send_all(t, hdr, h) == 0 && send_all(t, payload, len) == 0 ? 0 : -1;
}

/* A close frame with code and reason (cut to fit a control frame's 125 bytes). */
static void send_close(struct tail *t, unsigned code, const char *reason)
{
    unsigned char p[125];
    size_t n = strlen(reason);
    if (n > sizeof p - 2)
        n = sizeof p - 2;
    p[0] = (unsigned char)(code >> 8);
    p[1] = (unsigned char)code;
    memcpy(p + 2, reason, n);
    send_frame(t, CL_WS_CLOSE, p, n + 2);
}

/* -- frames ------------------------------------------------------------------------- */

static void write_labels(struct cl_buf *b, const char *service, enum cl_level level)
{
    cl_buf_append_str(b, "{\"service\":");
    cl_json_write_string(b, service, strlen(service));
    cl_buf_append_str(b, ",\"level\":");
    const char *lv = cl_level_name(level);
    cl_json_write_string(b, lv, strlen(lv));
    cl_buf_append_char(b, '}');
}

static int same_stream(const struct tail_entry *a, const struct tail_entry *b)
{
    return a->level == b->level && strcmp(a->service, b->service) == 0;
}

/* Appends the entries v[0, n) as Loki's streams: one per label set, in order of first
 * appearance, values in time order. */
static void write_streams(struct cl_buf *b, const struct tail_entry *v, size_t n)
{
    char *done = cl_calloc(n ? n : 1, 1);
    cl_buf_append_str(b, "{\"streams\":[");
    int first_stream = 1;
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        cl_buf_append_str(b, first_stream ? "{\"stream\":" : ",{\"stream\":");
        first_stream = 0;
        write_labels(b, v[i].service, v[i].level);
        cl_buf_append_str(b, ",\"values\":[");
        for (size_t j = i; j < n; j++) {
            if (done[j] || !same_stream(&v[i], &v[j]))
                continue;
            done[j] = 1;
            cl_buf_printf(b, "%s[\"%lld000000\",", j == i ? "" : ",", (long long)v[j].ts_ms);
            cl_json_write_string(b, v[j].line, v[j].len);
            cl_buf_append_char(b, ']');
        }
        cl_buf_append_str(b, "]}");
    }
    cl_buf_append_char(b, ']');
    free(done);
}

static void write_drops(struct cl_buf *b, struct tail *t)
{
    if (t->n_drops == 0)
        return;
    cl_buf_append_str(b, ",\"dropped_entries\":[");
    for (size_t i = 0; i < t->n_drops; i++) {
        cl_buf_append_str(b, i ? ",{\"labels\":" : "{\"labels\":");
        write_labels(b, t->drops[i].service, t->drops[i].level);
        cl_buf_printf(b, ",\"timestamp\":\"%lld000000\"}", (long long)t->drops[i].ts_ms);
    }
    cl_buf_append_char(b, ']');
    t->n_drops = 0;
}

/* Sends v[0, n) in frames of about FRAME_BYTES (the first also carries the drops). */
static int send_entries(struct tail *t, const struct tail_entry *v, size_t n)
{
    struct cl_buf b;
    cl_buf_init(&b, FRAME_MAX + MAX_DROPS * 128);
    int rc = 0;
    for (size_t at = 0; rc == 0 && (at < n || t->n_drops);) {
        size_t end = at, bytes = 0;
        while (end < n && (end == at || bytes + v[end].len < FRAME_BYTES))
            bytes += v[end++].len + 64;
        cl_buf_reset(&b);
        write_streams(&b, v + at, end - at);
        write_drops(&b, t);
        cl_buf_append_char(&b, '}');
        rc = cl_buf_failed(&b) ? -1 : send_frame(t, CL_WS_TEXT, b.data, b.len);
        at = end;
    }
    cl_buf_free(&b);
    return rc;
}

/* -- pending records ---------------------------------------------------------------- */

static int by_time(const void *a, const void *b)
{
    const struct tail_entry *x = a, *y = b;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return x->arrived_ms < y->arrived_ms ? -1 : x->arrived_ms > y->arrived_ms;
}

/* Sends the pending records found at least delay_for ago (all: every one), in time
 * order; the others keep waiting. */
static int flush_pending(struct tail *t, int all)
{
    if (t->n_pending == 0 && t->n_drops == 0)
        return 0;
    int64_t cut = cl_mono_ms() - t->delay_ms;
    size_t ready = 0;
    for (size_t i = 0; i < t->n_pending; i++) { /* ready ones to the front, stable */
        if (all || t->pending[i].arrived_ms <= cut) {
            struct tail_entry x = t->pending[i];
            memmove(t->pending + ready + 1, t->pending + ready, (i - ready) * sizeof x);
            t->pending[ready++] = x;
        }
    }
    if (ready == 0 && t->n_drops == 0)
        return 0;
    if (t->delay_ms > 0)
        qsort(t->pending, ready, sizeof *t->pending, by_time);
    int rc = send_entries(t, t->pending, ready);
    for (size_t i = 0; i < ready; i++)
        free(t->pending[i].line);
    memmove(t->pending, t->pending + ready, (t->n_pending - ready) * sizeof *t->pending);
    t->n_pending -= ready;
    return rc;
}

static void drop(struct tail *t, const struct cl_line_head *h)
{
    t->dropped_total++;
    if (t->n_drops == MAX_DROPS)
        return;
    if (!t->drops)
        t->drops = cl_calloc(MAX_DROPS, sizeof *t->drops);
    struct tail_drop *x = &t->drops[t->n_drops++];
    x->ts_ms = h->ts_ms;
    x->level = h->level;
    snprintf(x->service, sizeof x->service, "%s", h->service);
}

/* The engine's matches through the LogQL pipeline into the pending list. */
static int on_match(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct tail *t = arg;
    if (tail_cancelled(t))
        return 1;
    const char *out;
    size_t out_len;
    int keep = cl_lq_eval_record(t->eval, line, len, h, &out, &out_len, t->err, sizeof t->err);
    if (keep <= 0)
        return keep < 0;
    if (t->n_pending == MAX_PENDING) {
        drop(t, h);
        return 0;
    }
    if (t->n_pending == t->cap_pending) {
        t->cap_pending = t->cap_pending ? t->cap_pending * 2 : 64;
        t->pending = cl_realloc(t->pending, t->cap_pending * sizeof *t->pending);
    }
    struct tail_entry *e = &t->pending[t->n_pending++];
    e->ts_ms = h->ts_ms;
    e->arrived_ms = cl_mono_ms();
    e->line = cl_malloc(out_len + 1);
    memcpy(e->line, out, out_len);
    e->line[out_len] = '\0';
    e->len = out_len;
    e->level = h->level;
    snprintf(e->service, sizeof e->service, "%s", h->service);
    return 0;
}

/* The LogQL pipeline as a filter, for the first `limit` records. */
static int keep_record(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct tail *t = arg;
    const char *out;
    size_t out_len;
    return cl_lq_eval_record(t->eval, line, len, h, &out, &out_len, t->err, sizeof t->err) > 0;
}

static void on_warn(void *arg, const char *key, const char *reason)
{
    (void)arg;
    cl_log(CL_LOG_WARN, "tail: skipping %s: %s", key, reason);
}

/* -- reading the client ------------------------------------------------------------- */

/* Answers the complete frames in t->in: 0, or -1 once a close was sent. */
static int handle_some_frames(struct tail *t)
{
    for (;;) {
        struct cl_ws_frame f;
        ssize_t n = cl_ws_parse(t->in, t->in_len, TAIL_IN_MAX, &f);
        if (n == 0)
            return 0;
        if (n < 0) {
            send_close(t, n == -2 ? CL_WS_CLOSE_TOO_BIG : CL_WS_CLOSE_PROTOCOL,
                       n == -2 ? "message too big" : "protocol error");
            return -1;
        }
        if (f.opcode == CL_WS_PING)
            send_frame(t, CL_WS_PONG, f.payload, f.len);
        if (f.opcode == CL_WS_CLOSE) { /* echo the client's code, as RFC 6455 5.5.1 asks */
            send_frame(t, CL_WS_CLOSE, f.payload, f.len >= 2 ? 2 : 0);
            return -1;
        }
        /* text, binary, continuation, pong: Loki's tail reads nothing from the client */
        memmove(t->in, t->in + n, t->in_len - (size_t)n);
        t->in_len -= (size_t)n;
    }
}

/* Handles the complete frames in t->in. Returns 0, or -1 once the tail must end (a close
 * was answered, or a protocol error closed it: then peer_closed is set, nothing more is
 * sent). */
static int handle_frames(struct tail *t)
{
    int rc = handle_some_frames(t);
    if (rc != 0)
        atomic_store(&t->peer_closed, 1);
    return rc;
}

/* Reads what the client sent, without waiting (the socket is non-blocking), and answers
 * it. Returns 0, or -1 once the tail ends (client closed or gone, or the daemon stops). */
static int serve_client(struct tail *t)
{
    for (int i = 0; i < 16; i++) { /* bounded: a chatty client cannot hold the tail here */
        if (stopping(t) || atomic_load(&t->peer_closed))
            return -1;
        ssize_t n = recv(t->fd, t->in + t->in_len, sizeof t->in - t->in_len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return 0;
        if (n <= 0) {
            atomic_store(&t->peer_closed, 1);
            return -1;
        }
        t->in_len += (size_t)n;
        if (handle_frames(t) != 0)
            return -1;
    }
    return 0;
}

/* -- the thread --------------------------------------------------------------------- */

/* cl_query_follow's flush: after the history (sent at once, delay_for or not) and after
 * each poll (what is due). */
static void on_flush(void *arg)
{
    struct tail *t = arg;
    if (flush_pending(t, !t->history_sent) != 0)
        atomic_store(&t->peer_closed, 1);
    t->history_sent = 1;
}

/* cl_query_follow's stop: non-zero once the tail must end. Every STEP_MS it also serves
 * the client (without waiting) and sends the records whose delay passed. */
static int on_stop(void *arg)
{
    struct tail *t = arg;
    if (tail_cancelled(t) || t->err[0])
        return 1;
    int64_t now = cl_mono_ms();
    if (now - t->served_ms < STEP_MS)
        return 0;
    t->served_ms = now;
    if (serve_client(t) != 0 || (t->history_sent && flush_pending(t, 0) != 0))
        atomic_store(&t->peer_closed, 1);
    return tail_cancelled(t);
}

/* Follows until the client leaves, the daemon stops or a query fails. */
static void follow(struct tail *t, const struct cl_query_source *src, const struct cl_query *q)
{
    char err[512] = "";
    struct cl_query_follow o = {
        .lines = (int)t->limit,
        .interval_ms = POLL_MS,
        .window_ms = WINDOW_MS,
        .emit = on_match,
        .warn = on_warn,
        .flush = on_flush,
        .stop = on_stop,
        .arg = t,
        .keep = cl_lq_eval_needed(t->eval) ? keep_record : NULL,
    };
    int rc = handle_frames(t) == 0 ? cl_query_follow(src, q, &o, err, sizeof err) : CL_OK;
    if (atomic_load(&t->peer_closed))
        return;
    if (stopping(t)) {
        send_close(t, CL_WS_CLOSE_GOING_AWAY, "daemon stopping");
    } else if (rc != CL_OK || t->err[0]) {
        const char *why = t->err[0] ? t->err : err[0] ? err : cl_strerror(rc);
        cl_log(CL_LOG_WARN, "tail: ending: %s", why);
        send_close(t, CL_WS_CLOSE_INTERNAL, why);
    }
}

void *cl_tail_run(void *arg)
{
    struct tail *t = arg;
    int fl = fcntl(t->fd, F_GETFL);
    if (fl >= 0)
        fcntl(t->fd, F_SETFL, fl | O_NONBLOCK);
    struct cl_query q = t->q;
    q.from_ms = t->start_ms;
    q.to_ms = cl_now_ms() + 1;
    q.cancelled = tail_cancelled;
    q.cancel_arg = t;
    q.timeout_ms = t->d->cfg->query_timeout_ms; /* per run: the history, then each poll */
    q.max_bytes = t->d->cfg->query_max_bytes;
    q.regex_match_limit = (uint32_t)t->d->cfg->regex_match_limit;
    q.regex_depth_limit = (uint32_t)t->d->cfg->regex_depth_limit;
    q.regex_heap_limit = t->d->cfg->regex_heap_limit;
    if (q.from_ms >= q.to_ms) { /* start in the future: no history, live records only */
        q.from_ms = q.to_ms - 1;
        t->limit = 0;
    }
    struct cl_query_source src = {&t->d->store, cl_queue_catalog(&t->d->queue)};
    follow(t, &src, &q);
    MHD_upgrade_action(t->urh, MHD_UPGRADE_ACTION_CLOSE);
    struct cl_http_tails *reg = t->reg;
    cl_tail_unref(t); /* the thread's reference */
    pthread_mutex_lock(&reg->mu);
    reg->running--; /* last: cl_http_tails_stop may free reg once this is 0 */
    pthread_cond_broadcast(&reg->ended);
    pthread_mutex_unlock(&reg->mu);
    return NULL;
}
