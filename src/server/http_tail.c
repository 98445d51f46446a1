/* http_tail.c - GET /loki/api/v1/tail: the WebSocket handshake, Loki's parameters, the
 * --max-tails slots, and the registry that ends every tail before the HTTP server stops.
 *
 * libmicrohttpd (MHD_ALLOW_UPGRADE) sends our 101 answer and then hands the socket to
 * on_upgrade, which starts the tail's own thread (tail_run.c); from there the bytes are
 * ours (RFC 6455 framing in websocket.c). A tail holds a slot from its accepted handshake
 * until it is freed, so at most --max-tails run; more get 503. A browser opens WebSockets
 * to any origin without CORS, so a handshake whose Origin names another host than its
 * Host is refused (403): otherwise any web page could read a key-less daemon's logs. */
#include "http_tail.h"

#include "http_loki.h"

#include "common.h"
#include "http_queue.h"
#include "log.h"
#include "loki_int.h" /* lk_parse_time: the Loki routes' time forms */
#include "loki_read.h"
#include "query.h"
#include "tail_int.h"
#include "websocket.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAIL_DEFAULT_LIMIT 100        /* Loki's default */
#define TAIL_MAX_LIMIT 5000           /* Loki's default max_entries_limit_per_query */
#define TAIL_MAX_DELAY_S 5            /* Loki: delay_for can't be greater than 5 */
#define TAIL_DEFAULT_START_MS 3600000 /* Loki: start defaults to one hour ago */
#define KEY_PROTOCOL "cloudlog-key."  /* Sec-WebSocket-Protocol carrying a base64url key */

struct cl_http_tails *cl_http_tails_new(void)
{
    struct cl_http_tails *t = cl_calloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->ended, NULL);
    return t;
}

void cl_http_tails_stop(struct cl_http_tails *reg)
{
    if (!reg)
        return;
    atomic_store(&reg->stopping, 1);
    pthread_mutex_lock(&reg->mu);
    while (reg->running > 0) /* each sees stopping within its poll step and closes */
        pthread_cond_wait(&reg->ended, &reg->mu);
    pthread_mutex_unlock(&reg->mu);
}

void cl_http_tails_free(struct cl_http_tails *reg)
{
    if (!reg)
        return;
    pthread_cond_destroy(&reg->ended);
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

void cl_tail_unref(struct tail *t)
{
    struct cl_http_tails *reg = t->reg;
    pthread_mutex_lock(&reg->mu);
    int last = --t->refs == 0;
    if (last)
        reg->slots--;
    pthread_mutex_unlock(&reg->mu);
    if (!last)
        return;
    for (size_t i = 0; i < t->n_pending; i++)
        free(t->pending[i].line);
    free(t->pending);
    free(t->drops);
    cl_lq_eval_free(t->eval);
    cl_logql_free(t->expr);
    free(t);
}

void cl_http_tail_done(void *state)
{
    if (state)
        cl_tail_unref(state);
}

/* -- the handshake ------------------------------------------------------------------ */

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* 1 if the comma-separated header value holds token (any case). */
static int has_token(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = value; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *end = e;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - p) == n && strncasecmp(p, token, n) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* The host[:port] of an Origin ("scheme://host[:port]"), compared with Host. */
static int same_origin(const char *origin, const char *host)
{
    const char *p = origin ? strstr(origin, "://") : NULL;
    return p && host && strcasecmp(p + 3, host) == 0;
}

/* A key sent as Sec-WebSocket-Protocol "cloudlog-key.<base64url of the key>" (browsers
 * cannot set Authorization on a WebSocket) as "Bearer <key>" into out; 0 or -1. */
static int protocol_key(const char *protocols, char *out, size_t out_len)
{
    const char *p = protocols ? strstr(protocols, KEY_PROTOCOL) : NULL;
    if (!p)
        return -1;
    p += strlen(KEY_PROTOCOL);
    size_t n = strcspn(p, ", \t");
    if (n == 0 || n > 2048)
        return -1;
    unsigned char b64[2056], raw[1600];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        b64[m++] = p[i] == '-' ? '+' : p[i] == '_' ? '/' : (unsigned char)p[i];
    while (m % 4)
        b64[m++] = '=';
    int len = EVP_DecodeBlock(raw, b64, (int)m);
    if (len < 0)
        return -1;
    for (size_t i = m; i > 0 && b64[i - 1] == '='; i--)
        len--; /* EVP_DecodeBlock counts the pad bytes */
    if (len <= 0 || (size_t)len + 8 > out_len)
        return -1;
    snprintf(out, out_len, "Bearer %.*s", len, (const char *)raw);
    return memchr(raw, '\0', (size_t)len) ? -1 : 0;
}

static int authorized(struct cl_daemon *d, struct MHD_Connection *c)
{
    if (!d->keys || cl_api_keys_check(d->keys, header(c, "Authorization")))
        return 1;
    char auth[1600];
    return protocol_key(header(c, "Sec-WebSocket-Protocol"), auth, sizeof auth) == 0 &&
           cl_api_keys_check(d->keys, auth);
}

/* Checks the request is a WebSocket handshake; 0, or an HTTP status with msg set. */
static int check_handshake(struct cl_daemon *d, struct MHD_Connection *c, const char *method,
                           char *msg, size_t msg_len)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
        snprintf(msg, msg_len, "method not allowed; use GET with a WebSocket upgrade");
        return 405;
    }
    if (!authorized(d, c)) {
        snprintf(msg, msg_len,
                 "missing or invalid API key (send Authorization: Bearer <key>, or from a "
                 "browser the WebSocket protocol " KEY_PROTOCOL "<base64url key>)");
        return 401;
    }
    const char *origin = header(c, "Origin");
    if (origin && !same_origin(origin, header(c, MHD_HTTP_HEADER_HOST))) {
        snprintf(msg, msg_len, "cross-origin WebSocket refused (Origin %.100s)", origin);
        return 403;
    }
    const char *version = header(c, "Sec-WebSocket-Version");
    if (!has_token(header(c, MHD_HTTP_HEADER_UPGRADE), "websocket") ||
        !has_token(header(c, MHD_HTTP_HEADER_CONNECTION), "upgrade") || !version ||
        strcmp(version, "13") != 0) {
        snprintf(msg, msg_len,
                 "this endpoint is a WebSocket (RFC 6455, Sec-WebSocket-Version "
                 "13): send Connection: Upgrade and Upgrade: websocket");
        return 400;
    }
    return 0;
}

/* -- Loki's parameters --------------------------------------------------------------- */

static const char *arg(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* Parses a non-negative integer parameter; 0 or -1. */
static int parse_count(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* limit, delay_for and start into t; 0, or -1 with msg set (Loki's words where it has
 * them). */
static int parse_params(struct MHD_Connection *c, struct tail *t, char *msg, size_t msg_len)
{
    const char *limit = arg(c, "limit"), *delay = arg(c, "delay_for"), *start = arg(c, "start");
    long long v = TAIL_DEFAULT_LIMIT;
    if (limit && parse_count(limit, &v) != 0) {
        snprintf(msg, msg_len, "invalid limit '%.40s': expected a non-negative integer", limit);
        return -1;
    }
    if (v > TAIL_MAX_LIMIT) {
        snprintf(msg, msg_len,
                 "max entries limit per query exceeded, limit > max_entries_limit (%lld > %d)", v,
                 TAIL_MAX_LIMIT);
        return -1;
    }
    t->limit = (size_t)v;
    v = 0;
    if (delay && parse_count(delay, &v) != 0) {
        snprintf(msg, msg_len, "invalid delay_for '%.40s': expected whole seconds", delay);
        return -1;
    }
    if (v > TAIL_MAX_DELAY_S) {
        snprintf(msg, msg_len, "delay_for can't be greater than %d", TAIL_MAX_DELAY_S);
        return -1;
    }
    t->delay_ms = v * 1000;
    int64_t now = cl_now_ms();
    t->start_ms = now - TAIL_DEFAULT_START_MS;
    if (start && lk_parse_time(start, now, 0, &t->start_ms) != 0) {
        snprintf(msg, msg_len,
                 "invalid start '%.60s': expected Unix nanoseconds, seconds, RFC 3339 or an "
                 "age (15m)",
                 start);
        return -1;
    }
    return 0;
}

/* The LogQL log query into t (its filters in t->q); 0, or -1 with msg set. */
static int parse_query(struct MHD_Connection *c, struct tail *t, char *msg, size_t msg_len)
{
    const char *text = arg(c, "query");
    char err[400] = "";
    if (!text || !*text) {
        snprintf(msg, msg_len, "query is required: a LogQL log query such as {service=\"api\"}");
        return -1;
    }
    if (cl_logql_parse(text, &t->expr, err, sizeof err) != 0) {
        snprintf(msg, msg_len, "parse error: %s", err);
        return -1;
    }
    if (t->expr->kind != CL_LQ_LOG_QUERY) {
        snprintf(msg, msg_len, "tail needs a log query; metric queries cannot be tailed");
        return -1;
    }
    int rc = cl_lq_eval_new(&t->expr->log, &t->q, &t->eval, err, sizeof err);
    t->q.from_ms = t->start_ms; /* any valid range: the filters are what is checked */
    t->q.to_ms = t->start_ms + 1;
    if (rc != 0 || cl_query_validate(&t->q, err, sizeof err) != CL_OK) {
        snprintf(msg, msg_len, "%s", err);
        return -1;
    }
    return 0;
}

/* -- admission and upgrade ----------------------------------------------------------- */

static int take_slot(struct cl_daemon *d, struct cl_http_tails *reg)
{
    pthread_mutex_lock(&reg->mu);
    int ok = reg->slots < d->cfg->max_tails && !atomic_load(&reg->stopping);
    if (ok)
        reg->slots++;
    pthread_mutex_unlock(&reg->mu);
    return ok ? 0 : -1;
}

/* libmicrohttpd sent the 101: the socket is ours. Starts the tail's thread. */
static void on_upgrade(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct tail *t = cls;
    (void)c, (void)con_cls;
    t->urh = urh;
    t->fd = sock;
    if (extra_in_size > TAIL_IN_MAX)
        extra_in_size = TAIL_IN_MAX; /* more than a client sends before our first frame */
    memcpy(t->in, extra_in, extra_in_size);
    t->in_len = extra_in_size;
    struct cl_http_tails *reg = t->reg;
    pthread_mutex_lock(&reg->mu);
    t->refs++; /* the thread's */
    reg->running++;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED); /* stop waits on running */
    pthread_t th;
    int started = pthread_create(&th, &attr, cl_tail_run, t) == 0;
    pthread_attr_destroy(&attr);
    if (!started)
        t->refs--, reg->running--;
    pthread_mutex_unlock(&reg->mu);
    if (!started) {
        cl_log(CL_LOG_WARN, "tail: cannot start a thread; closing the WebSocket");
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    }
}

static enum MHD_Result switch_protocols(struct MHD_Connection *c, struct tail *t)
{
    char accept[CL_WS_ACCEPT_LEN + 1];
    cl_ws_accept_key(header(c, "Sec-WebSocket-Key"), accept);
    struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, t);
    if (!resp) /* the request's reference to t is dropped when it completes */
        return cl_http_queue(c, MHD_HTTP_SWITCHING_PROTOCOLS, NULL);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
    /* A client that offers protocols (a browser sending its key) needs one chosen. */
    if (has_token(header(c, "Sec-WebSocket-Protocol"), "cloudlog"))
        MHD_add_response_header(resp, "Sec-WebSocket-Protocol", "cloudlog");
    return cl_http_queue(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
}

enum MHD_Result cl_http_tail(struct cl_daemon *d, struct MHD_Connection *c, const char *method,
                             void **state)
{
    char msg[512] = "";
    char accept[CL_WS_ACCEPT_LEN + 1];
    int status = check_handshake(d, c, method, msg, sizeof msg);
    if (!status && cl_ws_accept_key(header(c, "Sec-WebSocket-Key"), accept) != 0) {
        snprintf(msg, sizeof msg, "Sec-WebSocket-Key must be the base64 of 16 bytes");
        status = 400;
    }
    if (status)
        return cl_http_loki_error(c, status, msg, 0);
    if (atomic_load(&d->shutting_down))
        return cl_http_loki_error(c, 503, "shutting down", 1);
    struct tail *t = cl_calloc(1, sizeof *t);
    t->d = d;
    t->reg = d->tails;
    t->fd = -1;
    if (parse_params(c, t, msg, sizeof msg) != 0 || parse_query(c, t, msg, sizeof msg) != 0) {
        cl_lq_eval_free(t->eval);
        cl_logql_free(t->expr);
        free(t);
        return cl_http_loki_error(c, 400, msg, 0);
    }
    if (take_slot(d, d->tails) != 0) {
        cl_lq_eval_free(t->eval);
        cl_logql_free(t->expr);
        free(t);
        snprintf(msg, sizeof msg, "too many live tails (%d, --max-tails); retry later",
                 d->cfg->max_tails);
        return cl_http_loki_error(c, 503, msg, 5);
    }
    t->refs = 1; /* the request's */
    *state = t;
    return switch_protocols(c, t);
}
