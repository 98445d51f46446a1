/* syslog_listen.c - --syslog-listen: address parsing, sockets, thread start and stop,
 * and the syslog metrics. */
#include "syslog_int.h"

#include "common.h"
#include "listen.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Kernel receive buffer asked for on UDP sockets: bursts wait there while a batch
 * commits (the kernel may grant less; drops there show in /proc/net/udp). */
#define UDP_RCVBUF (8 << 20)

static const char *const transport_values[] = {"tcp", "udp", NULL};
static const char *const drop_values[] = {"queue_full", "queue_error", "invalid", "framing", NULL};

void cl_syslog_metrics_register(struct cl_metrics *r, struct cl_syslog_metrics *m)
{
    m->messages =
        cl_metrics_counter(r, "SyslogMessages", CL_UNIT_COUNT,
                           "syslog messages received, by transport", "transport", transport_values);
    m->dropped = cl_metrics_counter(r, "SyslogDropped", CL_UNIT_COUNT,
                                    "syslog messages (or TCP connections, for framing) not stored",
                                    "reason", drop_values);
    m->truncated = cl_metrics_counter(r, "SyslogTruncated", CL_UNIT_COUNT,
                                      "syslog messages cut to --syslog-max-message", NULL, NULL);
    m->refused = cl_metrics_counter(r, "SyslogConnectionsRefused", CL_UNIT_COUNT,
                                    "TCP connections closed at once: --syslog-max-connections "
                                    "reached",
                                    NULL, NULL);
    m->connections =
        cl_metrics_gauge(r, "SyslogConnections", CL_UNIT_COUNT, "open syslog TCP connections");
}

/* Calls fn on every "scheme://host:port" of the --syslog-listen values (each may be a
 * comma-separated list). Stops at and returns fn's first non-zero result. */
static int for_each_address(const struct cl_server_config *cfg,
                            int (*fn)(void *arg, enum syslog_transport t, const char *hostport,
                                      const char *spec),
                            void *arg)
{
    for (size_t i = 0; i < cfg->n_syslog_listen; i++) {
        const char *p = cfg->syslog_listen[i];
        while (*p) {
            size_t n = strcspn(p, ",");
            char spec[300];
            snprintf(spec, sizeof spec, "%.*s", (int)n, p);
            p += n + (p[n] == ',');
            if (!*spec)
                continue;
            /* tls:// is TCP with TLS: the listener tells them apart by the spec */
            int t = strncmp(spec, "tcp://", 6) == 0 || strncmp(spec, "tls://", 6) == 0 ? SYSLOG_TCP
                    : strncmp(spec, "udp://", 6) == 0                                  ? SYSLOG_UDP
                                                                                       : -1;
            int rc = fn(arg, (enum syslog_transport)t, t < 0 ? spec : spec + 6, spec);
            if (rc)
                return rc;
        }
    }
    return 0;
}

struct check_ctx {
    const struct cl_daemon *d;
    char *err;
    size_t err_len;
};

static int check_one(void *arg, enum syslog_transport t, const char *hostport, const char *spec)
{
    struct check_ctx *c = arg;
    struct sockaddr_storage ss;
    socklen_t len;
    if ((int)t < 0) {
        snprintf(c->err, c->err_len,
                 "invalid --syslog-listen '%s' (expected tcp://HOST:PORT, tls://HOST:PORT or "
                 "udp://HOST:PORT)",
                 spec);
        return -1;
    }
    if (strncmp(spec, "tls://", 6) == 0 && !c->d->cfg->tls_cert) {
        snprintf(c->err, c->err_len, "syslog on %s needs --tls-cert and --tls-key", spec);
        return -1;
    }
    if (cl_listen_parse(hostport, &ss, &len, c->err, c->err_len) != 0)
        return -1;
    if (!cl_addr_is_loopback(&ss) && !c->d->cfg->insecure) {
        snprintf(c->err, c->err_len,
                 "refusing syslog on non-loopback address %s: syslog has no authentication; "
                 "give --insecure to accept it",
                 spec);
        return -1;
    }
    return 0;
}

int cl_syslog_check_config(const struct cl_daemon *d, char *err, size_t err_len)
{
    uint64_t max = d->cfg->syslog_max_message;
    if (d->cfg->n_syslog_listen == 0)
        return 0;
    if (max < 480 || max > ((uint64_t)64 << 20)) {
        snprintf(err, err_len,
                 "--syslog-max-message must be between 480 bytes (RFC 3164 and "
                 "5424 minimum) and 64MiB");
        return -1;
    }
    struct check_ctx c = {d, err, err_len};
    return for_each_address(d->cfg, check_one, &c);
}

/* Opens, binds (and for TCP, listens on) one socket; fills l. Returns 0 or -1. */
static int bind_one(struct syslog_listener *l, enum syslog_transport t, const char *hostport,
                    char *err, size_t err_len)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (cl_listen_parse(hostport, &ss, &len, err, err_len) != 0)
        return -1;
    l->transport = t;
    l->fd = socket(ss.ss_family, (t == SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    int one = 1, rcvbuf = UDP_RCVBUF;
    if (l->fd >= 0 && t == SYSLOG_TCP)
        setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l->fd >= 0 && t == SYSLOG_UDP)
        setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&ss, len) != 0 ||
        (t == SYSLOG_TCP && listen(l->fd, 128) != 0)) {
        snprintf(err, err_len, "cannot listen for syslog on %s://%s: %s",
                 t == SYSLOG_TCP ? "tcp" : "udp", hostport, strerror(errno));
        return -1;
    }
    char host[INET6_ADDRSTRLEN] = "?";
    len = sizeof ss;
    getsockname(l->fd, (struct sockaddr *)&ss, &len);
    const void *a = ss.ss_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
    inet_ntop(ss.ss_family, a, host, sizeof host);
    unsigned port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    snprintf(l->addr, sizeof l->addr, ss.ss_family == AF_INET6 ? "%s://[%s]:%u" : "%s://%s:%u",
             l->tls            ? "tls"
             : t == SYSLOG_TCP ? "tcp"
                               : "udp",
             host, port);
    return 0;
}

struct bind_ctx {
    struct cl_syslog_server *s;
    char *err;
    size_t err_len;
};

static int bind_next(void *arg, enum syslog_transport t, const char *hostport, const char *spec)
{
    struct bind_ctx *c = arg;
    struct cl_syslog_server *s = c->s;
    s->ls = cl_realloc(s->ls, (s->n_ls + 1) * sizeof *s->ls);
    struct syslog_listener *l = &s->ls[s->n_ls];
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->s = s;
    s->n_ls++;
    l->tls = strncmp(spec, "tls://", 6) == 0;
    return bind_one(l, t, hostport, c->err, c->err_len);
}

static void start_threads(struct cl_syslog_server *s)
{
    for (size_t i = 0; i < s->n_ls; i++) {
        struct syslog_listener *l = &s->ls[i];
        void *(*fn)(void *) = l->transport == SYSLOG_TCP ? syslog_accept_main : syslog_udp_main;
        l->started = pthread_create(&l->thread, NULL, fn, l) == 0;
        if (l->started)
            cl_log(CL_LOG_INFO, "syslog: listening on %s", l->addr);
        else
            cl_log(CL_LOG_ERROR, "syslog: cannot start the thread for %s", l->addr);
    }
}

struct cl_syslog_server *cl_syslog_start(struct cl_daemon *d, char *err, size_t err_len)
{
    err[0] = '\0';
    if (d->cfg->n_syslog_listen == 0)
        return NULL;
    struct cl_syslog_server *s = cl_calloc(1, sizeof *s); /* freed by cl_syslog_stop */
    s->d = d;
    s->max_msg = (size_t)d->cfg->syslog_max_message;
    s->max_conns = d->cfg->syslog_max_connections;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    struct bind_ctx c = {s, err, err_len};
    if (for_each_address(d->cfg, bind_next, &c) != 0) {
        cl_syslog_stop(s);
        return NULL;
    }
    start_threads(s);
    return s;
}

void cl_syslog_stop(struct cl_syslog_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    for (size_t i = 0; i < s->n_ls; i++)
        if (s->ls[i].started)
            pthread_join(s->ls[i].thread, NULL); /* UDP threads commit their batch first */
    pthread_mutex_lock(&s->mu);
    while (s->conns > 0) /* each sees `stopping` within SYSLOG_POLL_MS and commits */
        pthread_cond_wait(&s->idle, &s->mu);
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < s->n_ls; i++)
        if (s->ls[i].fd >= 0)
            close(s->ls[i].fd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->idle);
    free(s->ls);
    free(s);
}
