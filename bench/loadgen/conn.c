/* conn.c - bench_loadgen's keep-alive connection state machine (non-blocking, epoll). */
#include "loadgen.h"

#include "common.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

enum fail_kind { F_ERROR, F_TIMEOUT, F_CONNECT };

static void conn_start_request(struct conn *c, int64_t now);

static bool measuring(const struct conn *c, int64_t t)
{
    return t >= c->w->run->measure_ns;
}

static void set_events(struct conn *c, uint32_t ev)
{
    if (c->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(c->w->ep, EPOLL_CTL_MOD, c->fd, &e) != 0)
        die("epoll_ctl: %s", strerror(errno));
    c->events = ev;
}

void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    c->rlen = 0;
}

/* Counts a failure, drops the connection and schedules a reconnect. */
static void conn_fail(struct conn *c, int64_t now, enum fail_kind kind, const char *why)
{
    struct stats *s = &c->w->st;
    if (c->w->run->o->verbose)
        fprintf(stderr, "loadgen: connection %d: %s (%s)\n", c->fd, why,
                errno ? strerror(errno) : "no errno");
    if (measuring(c, now)) {
        if (kind == F_TIMEOUT)
            s->timeouts++;
        else if (kind == F_CONNECT)
            s->connect_errors++;
        else
            s->errors++;
    }
    conn_close(c);
    c->st = C_CLOSED;
    c->wake = now + (kind == F_CONNECT ? CONNECT_BACKOFF_NS : ERROR_BACKOFF_NS);
}

void conn_connect(struct conn *c, int64_t now)
{
    const struct opts *o = c->w->run->o;
    c->fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, c->fd, &e) != 0)
        die("epoll_ctl: %s", strerror(errno));
    c->events = EPOLLOUT;
    c->deadline = now + (int64_t)(o->timeout * NS_PER_S);
    if (connect(c->fd, (const struct sockaddr *)&o->addr, o->addr_len) == 0) {
        conn_start_request(c, now);
    } else if (errno == EINPROGRESS) {
        c->st = C_CONNECTING;
    } else {
        conn_fail(c, now, F_CONNECT, "connect");
    }
}

static void conn_send(struct conn *c, int64_t now)
{
    const struct body *b = c->body;
    size_t total = b->head_len + b->len;
    while (c->sent < total) {
        struct iovec iov[2];
        int n = 0;
        if (c->sent < b->head_len) {
            iov[n++] = (struct iovec){b->head + c->sent, b->head_len - c->sent};
            iov[n++] = (struct iovec){b->data, b->len};
        } else {
            size_t off = c->sent - b->head_len;
            iov[n++] = (struct iovec){b->data + off, b->len - off};
        }
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t k = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(c, EPOLLOUT | EPOLLIN);
            return;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            conn_fail(c, now, F_ERROR, "send");
            return;
        }
        c->sent += (size_t)k;
    }
    c->st = C_READING;
    set_events(c, EPOLLIN);
}

static void conn_start_request(struct conn *c, int64_t now)
{
    struct run *run = c->w->run;
    if (c->fd < 0) {
        conn_connect(c, now);
        return;
    }
    if (run->o->rate > 0) {
        if (now < c->next_due) { /* not due yet: idle until then (conn_timers wakes it) */
            c->st = C_WAIT;
            c->wake = c->next_due;
            set_events(c, EPOLLIN); /* notice the server closing the idle connection */
            return;
        }
        int64_t interval = (int64_t)(run->o->connections * NS_PER_S / run->o->rate);
        c->next_due = CL_MAX(c->next_due + interval, now - interval); /* no catch-up burst */
    }
    if (run->o->requests && atomic_fetch_add(&run->issued, 1) >= run->o->requests) {
        conn_close(c);
        c->st = C_DONE;
        return;
    }
    c->body = &run->pool[c->w->next_body++ % (unsigned)run->o->pool];
    c->sent = 0;
    c->rlen = 0;
    c->t_start = now;
    c->deadline = now + (int64_t)(run->o->timeout * NS_PER_S);
    c->st = C_SENDING;
    conn_send(c, now);
}

static void record_response(struct conn *c, const struct resp *r, int64_t now)
{
    struct stats *s = &c->w->st;
    c->w->last_done = now;
    if (!measuring(c, c->t_start)) {
        s->warmup++;
        return;
    }
    hist_add(&s->lat, (uint64_t)(now - c->t_start) / 1000);
    s->wire_bytes += c->body->head_len + c->body->len;
    if (r->status / 100 != 2) {
        s->non2xx++;
        s->st503 += r->status == 503;
        s->st429 += r->status == 429;
        s->status_other += r->status != 503 && r->status != 429;
        return;
    }
    s->ok++;
    s->raw_bytes += c->body->raw_len;
    const char *b = c->rbuf + r->head_len;
    size_t n = r->end - r->head_len;
    long long v;
    if (json_int(b, n, "\"accepted\"", &v)) {
        s->accepted += (uint64_t)v;
    } else {
        s->no_accepted_field++;
    }
    if (json_int(b, n, "\"rejected\"", &v))
        s->rejected += (uint64_t)v;
}

static void conn_on_response(struct conn *c, const struct resp *r, int64_t now)
{
    record_response(c, r, now);
    bool reuse = !r->close && c->sent == c->body->head_len + c->body->len && r->end == c->rlen;
    if (!reuse) {
        if (measuring(c, now))
            c->w->st.reconnects++;
        conn_close(c);
    }
    c->rlen = 0;
    if (r->status == 503 || r->status == 429) {
        c->st = reuse ? C_WAIT : C_CLOSED;
        c->wake = now + (r->retry_after >= 0 ? r->retry_after * NS_PER_S : THROTTLE_BACKOFF_NS);
        if (reuse)
            set_events(c, EPOLLIN); /* notice the server closing the idle connection */
        return;
    }
    conn_start_request(c, now);
}

/* Reads what is available; returns true if the peer closed (EOF), false otherwise. */
static bool conn_fill(struct conn *c, bool *failed)
{
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            if (c->rcap >= RESP_MAX + HEAD_MAX) {
                *failed = true;
                return false;
            }
            c->rcap *= 2;
            c->rbuf = cl_realloc(c->rbuf, c->rcap);
        }
        size_t room = c->rcap - c->rlen;
        ssize_t k = recv(c->fd, c->rbuf + c->rlen, room, 0);
        if (k > 0) {
            c->rlen += (size_t)k;
            if ((size_t)k < room)
                return false; /* short read: the socket is drained */
            continue;
        }
        if (k == 0)
            return true;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            *failed = true;
        return false;
    }
}

static void conn_read(struct conn *c, int64_t now)
{
    bool failed = false;
    bool eof = conn_fill(c, &failed);
    if (c->st == C_WAIT) { /* idle connection closed or sent junk: reconnect at wake */
        if (eof || failed || c->rlen) {
            conn_close(c);
            c->st = C_CLOSED;
            if (measuring(c, now))
                c->w->st.reconnects++;
        }
        return;
    }
    if (failed) {
        conn_fail(c, now, F_ERROR, "recv");
        return;
    }
    struct resp r;
    int rc = parse_response(c->rbuf, c->rlen, eof, &r);
    if (rc == 1)
        conn_on_response(c, &r, now);
    else if (rc < 0 || eof) {
        errno = 0;
        conn_fail(c, now, F_ERROR, rc < 0 ? "malformed response" : "closed by server");
    }
}

void conn_on_event(struct conn *c, uint32_t ev, int64_t now)
{
    if (c->st == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        errno = err;
        if (err)
            conn_fail(c, now, F_CONNECT, "connect");
        else
            conn_start_request(c, now);
        return;
    }
    if (c->fd >= 0 && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        conn_read(c, now);
    if (c->st == C_SENDING && (ev & EPOLLOUT))
        conn_send(c, now);
}

int64_t conn_timers(struct conn *c, int64_t now)
{
    switch (c->st) {
    case C_CONNECTING:
    case C_SENDING:
    case C_READING:
        if (now >= c->deadline) {
            errno = 0;
            conn_fail(c, now, c->st == C_CONNECTING ? F_CONNECT : F_TIMEOUT, "timeout");
        }
        break;
    case C_CLOSED:
        if (now >= c->wake)
            conn_connect(c, now);
        break;
    case C_WAIT:
        if (now >= c->wake)
            conn_start_request(c, now);
        break;
    case C_DONE:
        return INT64_MAX;
    }
    if (c->st == C_CLOSED || c->st == C_WAIT)
        return c->wake;
    return c->st == C_DONE ? INT64_MAX : c->deadline;
}
