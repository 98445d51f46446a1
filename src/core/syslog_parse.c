/* syslog_parse.c - one syslog message -> struct cl_syslog_msg (borrowed slices).
 *
 * "<PRI>1 " starts an RFC 5424 message: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG],
 * each a space-separated token, "-" for nil. Anything else after PRI is read as RFC 3164
 * (BSD): an optional timestamp ("Mmm dd hh:mm:ss", or RFC 3339 as rsyslog's forwarding
 * templates send it), an optional hostname, an optional "tag[pid]:" and the message.
 * Parsing is lenient, like the receivers shippers are tested against: a header that
 * breaks off keeps the fields read so far and the rest becomes the message.
 */
#include "syslog.h"

#include "record.h"

#include <stdio.h>
#include <string.h>

struct cursor {
    const char *p, *end;
};

static int at_end(const struct cursor *c)
{
    return c->p >= c->end;
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* "<N>" with N in 0..191 (1-3 digits). Returns 0 and advances, or -1 (cursor kept). */
static int parse_pri(struct cursor *c, int *pri)
{
    const char *p = c->p;
    if (p >= c->end || *p != '<')
        return -1;
    int v = 0, n = 0;
    for (p++; p < c->end && is_digit(*p) && n < 3; p++, n++)
        v = v * 10 + (*p - '0');
    if (n == 0 || p >= c->end || *p != '>' || v > 191)
        return -1;
    *pri = v;
    c->p = p + 1;
    return 0;
}

/* The token up to the next space (or the end); skips that one space. */
static struct cl_slice token(struct cursor *c)
{
    const char *start = c->p;
    const char *sp = memchr(start, ' ', (size_t)(c->end - start));
    const char *stop = sp ? sp : c->end;
    c->p = sp ? sp + 1 : c->end;
    return (struct cl_slice){start, (size_t)(stop - start)};
}

/* A 5424 header field: NILVALUE becomes an absent slice. */
static struct cl_slice field(struct cursor *c)
{
    struct cl_slice s = token(c);
    if (s.len == 0 || (s.len == 1 && s.ptr[0] == '-'))
        return (struct cl_slice){NULL, 0};
    return s;
}

/* The rest as the message, without a UTF-8 BOM and trailing CR, LF and NUL bytes. */
static struct cl_slice rest_msg(struct cursor *c)
{
    const char *p = c->p, *e = c->end;
    if (e - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\0'))
        e--;
    return (struct cl_slice){p, (size_t)(e - p)};
}

static void parse_timestamp_field(struct cl_slice ts, struct cl_syslog_msg *m)
{
    if (ts.ptr && cl_parse_timestamp_text(ts.ptr, ts.len, &m->ts_ms) == 0)
        m->has_ts = 1;
}

/* STRUCTURED-DATA: "-" or one or more elements, validated with the shared lexer. */
static int parse_sd(struct cursor *c, struct cl_syslog_msg *m)
{
    if (c->end - c->p >= 1 && c->p[0] == '-' && (c->end - c->p == 1 || c->p[1] == ' ')) {
        c->p += c->end - c->p == 1 ? 1 : 2;
        return 0;
    }
    struct cl_syslog_sd_cursor sd = {c->p, c->end};
    struct cl_slice id, name, value;
    int elements = 0, rc;
    while ((rc = cl_syslog_sd_element(&sd, &id)) == 1) {
        elements++;
        while ((rc = cl_syslog_sd_param(&sd, &name, &value)) == 1)
            ;
        if (rc < 0)
            return -1;
    }
    if (rc < 0 || elements == 0)
        return -1;
    m->sd = (struct cl_slice){c->p, (size_t)(sd.p - c->p)};
    c->p = sd.p;
    if (!at_end(c) && *c->p == ' ')
        c->p++;
    else if (!at_end(c))
        return -1; /* SD must be followed by SP MSG or nothing */
    return 0;
}

static void parse_5424(struct cursor *c, struct cl_syslog_msg *m)
{
    m->version = 1;
    parse_timestamp_field(field(c), m);
    m->hostname = field(c);
    m->app_name = field(c);
    m->procid = field(c);
    m->msgid = field(c);
    if (!at_end(c) && parse_sd(c, m) != 0)
        m->sd = (struct cl_slice){NULL, 0}; /* not SD: it is kept as the message */
    m->msg = rest_msg(c);
}

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* "Mmm dd hh:mm:ss" (dd may be " 7" or "07") followed by a space or the end. */
static int bsd_time_fields(const char *p, size_t n, int *mon, int *day, int *hms)
{
    if (n < 15 || (n > 15 && p[15] != ' ') || p[3] != ' ')
        return -1;
    const char *hit = NULL;
    for (int i = 0; i < 12 && !hit; i++)
        if (memcmp(months + 3 * i, p, 3) == 0)
            hit = months + 3 * i;
    if (!hit || !(p[4] == ' ' || is_digit(p[4])) || !is_digit(p[5]))
        return -1;
    if (p[6] != ' ' || p[9] != ':' || p[12] != ':')
        return -1;
    const int at[6] = {7, 8, 10, 11, 13, 14};
    for (int i = 0; i < 6; i++)
        if (!is_digit(p[at[i]]))
            return -1;
    *mon = (int)(hit - months) / 3 + 1;
    *day = (p[4] == ' ' ? 0 : p[4] - '0') * 10 + (p[5] - '0');
    *hms = ((p[7] - '0') * 10 + p[8] - '0') * 3600 + ((p[10] - '0') * 10 + p[11] - '0') * 60 +
           (p[13] - '0') * 10 + (p[14] - '0');
    return *day >= 1 && *day <= 31 && *hms < 86400 ? 0 : -1;
}

/* ms of the given date in year y, or -1 if the date does not exist (Feb 29). */
static int64_t bsd_ms_in_year(int y, int mon, int day, int hms)
{
    char iso[40];
    int64_t ms;
    snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mon, day, hms / 3600,
             hms / 60 % 60, hms % 60);
    return cl_parse_timestamp_text(iso, strlen(iso), &ms) == 0 ? ms : -1;
}

/* A BSD timestamp has no year (and no zone: we take UTC): of the receive year and the
 * years around it, the one that puts the time closest to the receive time wins, so
 * "Dec 31 23:59:59" received on Jan 1 is last year's. */
static int bsd_timestamp(const char *p, size_t n, int64_t now_ms, int64_t *ms)
{
    int mon, day, hms;
    if (bsd_time_fields(p, n, &mon, &day, &hms) != 0)
        return -1;
    char now_iso[25];
    cl_format_timestamp(now_ms, now_iso);
    int year = (now_iso[0] - '0') * 1000 + (now_iso[1] - '0') * 100 + (now_iso[2] - '0') * 10 +
               (now_iso[3] - '0');
    int64_t best = -1, best_dist = INT64_MAX;
    for (int y = year - 1; y <= year + 1; y++) {
        int64_t t = bsd_ms_in_year(y, mon, day, hms);
        int64_t dist = t < 0 ? INT64_MAX : (t > now_ms ? t - now_ms : now_ms - t);
        if (dist < best_dist) {
            best = t;
            best_dist = dist;
        }
    }
    if (best < 0)
        return -1;
    *ms = best;
    return 0;
}

/* Timestamp at the cursor: BSD "Mmm dd hh:mm:ss " or an RFC 3339 token. */
static void bsd_parse_time(struct cursor *c, int64_t now_ms, struct cl_syslog_msg *m)
{
    size_t n = (size_t)(c->end - c->p);
    if (bsd_timestamp(c->p, n, now_ms, &m->ts_ms) == 0) {
        m->has_ts = 1;
        c->p += n > 15 ? 16 : 15;
        return;
    }
    if (n >= 19 && is_digit(c->p[0]) && c->p[4] == '-' && c->p[10] == 'T') {
        struct cursor save = *c;
        struct cl_slice t = token(c);
        if (cl_parse_timestamp_text(t.ptr, t.len, &m->ts_ms) == 0)
            m->has_ts = 1;
        else
            *c = save;
    }
}

/* "tag:" or "tag[pid]:" at the cursor (tag: printable, no space, ':' or '['). */
static int bsd_tag(struct cursor *c, struct cl_syslog_msg *m)
{
    const char *p = c->p, *start = p;
    while (p<c->end && * p> ' ' && *p < 127 && *p != ':' && *p != '[' && p - start < 128)
        p++;
    if (p == start || p >= c->end)
        return -1;
    struct cl_slice tag = {start, (size_t)(p - start)}, pid = {NULL, 0};
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(c->end - p));
        if (!close || close + 1 >= c->end || close[1] != ':' || close - p > 129)
            return -1;
        pid = (struct cl_slice){p + 1, (size_t)(close - p - 1)};
        p = close + 1;
    }
    if (*p != ':')
        return -1;
    p++;
    if (p < c->end && *p == ' ')
        p++;
    m->app_name = tag;
    m->procid = pid.len ? pid : (struct cl_slice){NULL, 0};
    c->p = p;
    return 0;
}

/* A hostname candidate: a token of letters, digits, '.', '-', '_' or ':' followed by a
 * space (so the tag "prog:" or "prog[1]:" is never taken for one). */
static int bsd_hostname(struct cursor *c, struct cl_syslog_msg *m)
{
    const char *p = c->p;
    while (p < c->end && *p != ' ') {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
                 ch == '.' || ch == '-' || ch == '_' || ch == ':';
        if (!ok || p - c->p >= 255)
            return -1;
        p++;
    }
    if (p == c->p || p >= c->end || p[-1] == ':')
        return -1;
    m->hostname = (struct cl_slice){c->p, (size_t)(p - c->p)};
    c->p = p + 1;
    return 0;
}

static void parse_3164(struct cursor *c, int64_t now_ms, struct cl_syslog_msg *m)
{
    bsd_parse_time(c, now_ms, m);
    /* A hostname only follows a timestamp (RFC 3164 4.1.2); without one the header is
     * "tag: msg" at most. */
    if (bsd_tag(c, m) != 0 && m->has_ts && bsd_hostname(c, m) == 0)
        bsd_tag(c, m);
    m->msg = rest_msg(c);
}

void cl_syslog_parse(const char *msg, size_t len, int64_t now_ms, struct cl_syslog_msg *m)
{
    memset(m, 0, sizeof *m);
    struct cursor c = {msg, msg + len};
    int pri;
    if (parse_pri(&c, &pri) != 0)
        pri = 13; /* user.notice */
    m->facility = pri >> 3;
    m->severity = pri & 7;
    if (c.end - c.p >= 2 && c.p[0] == '1' && c.p[1] == ' ') {
        c.p += 2;
        parse_5424(&c, m);
        return;
    }
    parse_3164(&c, now_ms, m);
}
