/* syslog_conn.c - the syslog threads: one accept loop per TCP listener, one thread per
 * TCP connection (bounded by --syslog-max-connections), one thread per UDP socket.
 *
 * A connection thread reads, frames and parses, and commits its batch itself (so
 * it stops reading while a commit waits: TCP flow control pushes back on the sender).
 * Threads poll with a timeout and look at the stop flag in between, so shutdown needs
 * no signal: they commit what they have read and exit.
 */
#include "syslog_int.h"

#include "common.h"
#include "log.h"
#include "syslog.h"
#include "tls.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Bytes read per recv on TCP (the buffer also holds one whole message). */
#define TCP_READ_CHUNK ((size_t)64 << 10)

struct tcp_conn {
    struct cl_syslog_server *s;
    int fd;
    int use_tls;          /* accepted on a tls:// listener */
    gnutls_session_t tls; /* after the handshake; NULL on plain TCP */
    struct cl_syslog_framer framer;
    char *buf; /* owned; max_msg + prefix + TCP_READ_CHUNK */
    size_t have, cap;
    struct syslog_sink sink;
};

/* Cuts every complete message out of the buffer. Returns -1 on a framing error. */
static int drain_frames(struct tcp_conn *c, int64_t now_ms)
{
    size_t pos = 0;
    for (;;) {
        size_t used, len;
        const char *msg;
        int trunc;
        enum cl_syslog_frame_rc rc = cl_syslog_frame_next(&c->framer, c->buf + pos, c->have - pos,
                                                          &used, &msg, &len, &trunc);
        pos += used;
        if (rc == CL_SYSLOG_FRAME_ERROR)
            return -1;
        if (rc == CL_SYSLOG_FRAME_NEED)
            break;
        syslog_sink_add(&c->sink, msg, len, trunc, now_ms);
        if (syslog_sink_due(&c->sink))
            syslog_sink_flush(&c->sink);
    }
    memmove(c->buf, c->buf + pos, c->have - pos);
    c->have -= pos;
    return 0;
}

/* A last message without its LF when the sender closes (LF framing only). */
static void take_unterminated(struct tcp_conn *c, int64_t now_ms)
{
    if (c->framer.mode == CL_SYSLOG_FRAMING_LF && c->have && !c->framer.skip_to_lf)
        syslog_sink_add(&c->sink, c->buf, c->have, 0, now_ms);
}

/* gnutls_record_recv as recv: bytes, 0 at the end, -1 with errno EAGAIN when no whole
 * record came within the socket's receive timeout, -1 with EIO on a TLS error. */
static ssize_t tls_recv(struct tcp_conn *c)
{
    ssize_t got = gnutls_record_recv(c->tls, c->buf + c->have, c->cap - c->have);
    if (got == GNUTLS_E_AGAIN || got == GNUTLS_E_INTERRUPTED)
        errno = EAGAIN;
    else if (got < 0)
        errno = EIO;
    return got < 0 ? -1 : got;
}

/* Returns 0 to go on, 1 at end of stream, -1 on an error. */
static int read_some(struct tcp_conn *c)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    /* TLS may hold decrypted bytes already read from the socket: poll would not see them. */
    int n = c->tls && gnutls_record_check_pending(c->tls)
                ? 1
                : poll(&p, 1, syslog_sink_wait_ms(&c->sink));
    if (n <= 0)
        return n < 0 && errno != EINTR ? -1 : 0;
    ssize_t got = c->tls ? tls_recv(c) : recv(c->fd, c->buf + c->have, c->cap - c->have, 0);
    if (got == 0)
        return 1;
    if (got < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -1;
    c->have += (size_t)got;
    return 0;
}

static void conn_run(struct tcp_conn *c)
{
    struct cl_syslog_metrics *sm = &c->s->d->syslog_m;
    int rc = 0;
    while (rc == 0 && !atomic_load(&c->s->stopping)) {
        rc = read_some(c);
        int64_t now = cl_now_ms();
        if (rc == 1)
            take_unterminated(c, now);
        if (rc == 0 && drain_frames(c, now) != 0) {
            cl_counter_add_at(sm->dropped, CL_SYSLOG_DROP_FRAMING, 1);
            cl_log(CL_LOG_WARN, "syslog: closing a TCP connection: invalid octet-count frame");
            rc = -1;
        }
        if (syslog_sink_due(&c->sink))
            syslog_sink_flush(&c->sink);
    }
    syslog_sink_drain(&c->sink);
}

static void *conn_main(void *arg)
{
    struct tcp_conn *c = arg;
    struct cl_syslog_server *s = c->s;
    /* The handshake runs here, not in the accept loop, so a slow client delays only itself. */
    if (c->use_tls)
        c->tls = cl_tls_accept(s->d->tls, c->fd, SYSLOG_TLS_HANDSHAKE_MS);
    if (!c->use_tls || c->tls)
        conn_run(c);
    cl_tls_session_end(c->tls);
    close(c->fd);
    syslog_sink_free(&c->sink);
    free(c->buf);
    free(c);
    pthread_mutex_lock(&s->mu);
    s->conns--;
    cl_gauge_set(s->d->syslog_m.connections, s->conns);
    if (s->conns == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Starts a detached connection thread, or refuses the connection over the limit. */
static void start_conn(struct cl_syslog_server *s, int fd, int use_tls)
{
    pthread_mutex_lock(&s->mu);
    int ok = s->conns < s->max_conns;
    s->conns += ok;
    cl_gauge_set(s->d->syslog_m.connections, s->conns);
    pthread_mutex_unlock(&s->mu);
    if (!ok) {
        cl_counter_add(s->d->syslog_m.refused, 1);
        close(fd);
        return;
    }
    struct tcp_conn *c = cl_calloc(1, sizeof *c); /* owned by conn_main, which frees it */
    c->s = s;
    c->fd = fd;
    c->use_tls = use_tls;
    if (use_tls) {
        /* TLS reads block until a whole record arrives: bound each wait like poll's, so
         * the thread still sees the stop flag. */
        struct timeval tv = {0, SYSLOG_POLL_MS * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    c->cap = s->max_msg + 32 + TCP_READ_CHUNK;
    c->buf = cl_malloc(c->cap);
    cl_syslog_framer_init(&c->framer, s->max_msg);
    syslog_sink_init(&c->sink, s, SYSLOG_TCP);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, conn_main, c) != 0) {
        cl_log(CL_LOG_WARN, "syslog: cannot start a connection thread");
        syslog_sink_free(&c->sink);
        free(c->buf);
        free(c);
        close(fd);
        pthread_mutex_lock(&s->mu);
        if (--s->conns == 0)
            pthread_cond_broadcast(&s->idle);
        pthread_mutex_unlock(&s->mu);
    }
    pthread_attr_destroy(&attr);
}

void *syslog_accept_main(void *arg)
{
    struct syslog_listener *l = arg;
    struct cl_syslog_server *s = l->s;
    while (!atomic_load(&s->stopping)) {
        struct pollfd p = {l->fd, POLLIN, 0};
        if (poll(&p, 1, SYSLOG_POLL_MS) <= 0)
            continue;
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            start_conn(s, fd, l->tls);
        } else if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
            /* out of descriptors or memory: back off rather than spin on poll */
            struct timespec pause = {0, 50 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    return NULL;
}

/* Reads every datagram waiting (up to a full batch) into the sink. */
static void udp_read(struct syslog_listener *l, struct syslog_sink *k, char *buf)
{
    size_t max = l->s->max_msg;
    int64_t now = cl_now_ms();
    while (!syslog_sink_due(k)) {
        ssize_t n = recv(l->fd, buf, max + 1, MSG_DONTWAIT | MSG_TRUNC);
        if (n <= 0)
            return;
        syslog_sink_add(k, buf, CL_MIN((size_t)n, max), (size_t)n > max, now);
    }
}

void *syslog_udp_main(void *arg)
{
    struct syslog_listener *l = arg;
    struct cl_syslog_server *s = l->s;
    struct syslog_sink sink;
    syslog_sink_init(&sink, s, SYSLOG_UDP);
    char *buf = cl_malloc(s->max_msg + 1); /* one byte more tells a truncated datagram */
    while (!atomic_load(&s->stopping)) {
        struct pollfd p = {l->fd, POLLIN, 0};
        if (poll(&p, 1, syslog_sink_wait_ms(&sink)) > 0)
            udp_read(l, &sink, buf);
        if (syslog_sink_due(&sink))
            syslog_sink_flush(&sink);
    }
    syslog_sink_drain(&sink);
    free(buf);
    syslog_sink_free(&sink);
    return NULL;
}
