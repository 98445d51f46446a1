/* analytics_line.c - reads what analytics needs from one normalized line (time, level,
 * service, message).
 *
 * The processor has parsed every line's head already; the hook's interface takes the
 * lines only, so analytics parses them again, on a fast path for the layout
 * cl_record_normalize writes ({"timestamp":"<24>","level":"L","service":"S","message":"...)
 * that falls back to cl_line_head_parse for anything else. The fast path gives what
 * cl_line_head_parse gives (unit test test_line_fast_path_matches_head_parse). */
#include "analytics_int.h"

#include "common.h"
#include "json.h"
#include "mask.h"

#include <string.h>

#define TS_LEN 24 /* YYYY-MM-DDTHH:MM:SS.mmmZ */

static const char ts_prefix[] = "{\"timestamp\":\"";
static const char level_prefix[] = "\",\"level\":\"";
static const char service_prefix[] = "\",\"service\":\"";
static const char message_prefix[] = "\",\"message\":\"";

static int digits2(const char *p, int *v)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return -1;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return 0;
}

/* The milliseconds since midnight of "HH:MM:SS.mmmZ" (from the 'T'), or -1 when the text
 * is not that shape or a field is out of range (those go to the full parser). */
static int64_t time_of_day(const char *t)
{
    int hh, mm, ss, ms1, ms2;
    if (t[0] != 'T' || t[3] != ':' || t[6] != ':' || t[9] != '.' || t[13] != 'Z' ||
        digits2(t + 1, &hh) || digits2(t + 4, &mm) || digits2(t + 7, &ss) ||
        digits2(t + 10, &ms1) || t[12] < '0' || t[12] > '9')
        return -1;
    ms2 = t[12] - '0';
    if (hh > 23 || mm > 59 || ss > 59)
        return -1;
    return ((int64_t)hh * 3600 + mm * 60 + ss) * 1000 + ms1 * 10 + ms2;
}

/* The timestamp of a normalized line: a day seen just before costs a comparison and the
 * time of day (cl_parse_timestamp_text was 10% of the hook); another day is parsed in
 * full and becomes the day remembered. A UTC timestamp of that shape is the day's
 * midnight plus the time of day, so both paths give the same value. */
static int line_time(struct cl_analytics *a, const char *p, int64_t *ts)
{
    int64_t tod = time_of_day(p + 10);
    if (tod >= 0 && a->ts_day_ms_valid && memcmp(p, a->ts_day, 10) == 0) {
        *ts = a->ts_day_ms + tod;
        return 0;
    }
    if (cl_parse_timestamp_text(p, TS_LEN, ts) != 0)
        return -1;
    if (tod >= 0) {
        memcpy(a->ts_day, p, 10);
        a->ts_day_ms = *ts - tod;
        a->ts_day_ms_valid = 1;
    }
    return 0;
}

/* The level named by exactly its canonical name, or -1. */
static int level_of(const char *p, size_t n)
{
    static const struct {
        char name[6];
        size_t len;
    } levels[] = {{"trace", 5}, {"debug", 5}, {"info", 4}, {"warn", 4}, {"error", 5}, {"fatal", 5}};
    _Static_assert(sizeof levels / sizeof *levels == CL_LEVEL_COUNT, "one name per level");
    for (int l = 0; l < CL_LEVEL_COUNT; l++) /* cl_level_name's names (a unit test checks) */
        if (levels[l].len == n && memcmp(levels[l].name, p, n) == 0)
            return l;
    return -1;
}

/* The fast path over the normalized layout; -1 sends the line to the general one. */
static int head_fast(struct cl_analytics *a, const char *line, size_t len, struct cl_an_line *o)
{
    const char *p = line, *end = line + len;
    if (len < sizeof ts_prefix - 1 + TS_LEN + sizeof level_prefix - 1 ||
        memcmp(p, ts_prefix, sizeof ts_prefix - 1) != 0)
        return -1;
    p += sizeof ts_prefix - 1;
    if (p[TS_LEN - 1] != 'Z' || line_time(a, p, &o->ts_ms) != 0)
        return -1;
    p += TS_LEN;
    if (memcmp(p, level_prefix, sizeof level_prefix - 1) != 0)
        return -1;
    p += sizeof level_prefix - 1;
    const char *q = memchr(p, '"', (size_t)(end - p));
    int level = q ? level_of(p, (size_t)(q - p)) : -1;
    if (level < 0 || (size_t)(end - q) < sizeof service_prefix - 1 + 1 ||
        memcmp(q, service_prefix, sizeof service_prefix - 1) != 0)
        return -1;
    o->level = (enum cl_level)level;
    p = q + sizeof service_prefix - 1;
    q = memchr(p, '"', (size_t)(end - p));
    if (!q || q == p || q - p > 64)
        return -1;
    o->service = p;
    o->service_len = (size_t)(q - p);
    o->service_checked = 0; /* cl_service_valid runs once per new service (svc_get) */
    o->rest = q;
    return 0;
}

int cl_an_line_head(struct cl_analytics *a, const char *line, size_t len, struct cl_an_line *o)
{
    if (head_fast(a, line, len, o) == 0)
        return 0;
    if (cl_line_head_parse(line, len, &o->head) != 0)
        return -1;
    o->ts_ms = o->head.ts_ms;
    o->level = o->head.level;
    o->service = o->head.service;
    o->service_len = strlen(o->head.service);
    o->service_checked = 1;
    o->rest = NULL;
    return 0;
}

/* The service of a normalized line, found by its layout without reading the time (the
 * shard's own parse reads the rest); any other line through the general parse. 0, or -1
 * when the line has no service (the shard skips it: any shard will do). */
int cl_an_line_service(const char *line, size_t len, struct cl_line_head *h, const char **name,
                       size_t *name_len)
{
    const char *end = line + len, *p = line + sizeof ts_prefix - 1 + TS_LEN;
    if (len > sizeof ts_prefix - 1 + TS_LEN + sizeof level_prefix - 1 &&
        memcmp(line, ts_prefix, sizeof ts_prefix - 1) == 0 &&
        memcmp(p, level_prefix, sizeof level_prefix - 1) == 0) {
        p += sizeof level_prefix - 1;
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (q && (size_t)(end - q) > sizeof service_prefix - 1 &&
            memcmp(q, service_prefix, sizeof service_prefix - 1) == 0) {
            p = q + sizeof service_prefix - 1;
            q = memchr(p, '"', (size_t)(end - p));
            if (q && q > p && q - p <= 64) {
                *name = p;
                *name_len = (size_t)(q - p);
                return 0;
            }
        }
    }
    if (cl_line_head_parse(line, len, h) != 0)
        return -1;
    *name = h->service;
    *name_len = strlen(h->service);
    return 0;
}

/* Where "message":" starts: right after the service in the normalized layout (memmem
 * only when the line is not laid out so). */
static const char *message_key(const char *line, size_t len, const struct cl_an_line *h)
{
    static const char key[] = "\"message\":\"";
    const char *end = line + len;
    if (h->rest && (size_t)(end - h->rest) >= sizeof message_prefix - 1 &&
        memcmp(h->rest, message_prefix, sizeof message_prefix - 1) == 0)
        return h->rest + 2;
    return memmem(line, len, key, sizeof key - 1);
}

int cl_an_line_message(struct cl_analytics *a, const char *line, size_t len,
                       const struct cl_an_line *h, const char **msg, size_t *msg_len)
{
    static const char key[] = "\"message\":\"";
    const char *p = message_key(line, len, h);
    if (!p)
        return -1;
    const char *s = p + sizeof key - 1, *end = line + len, *q = memchr(s, '"', (size_t)(end - s));
    if (q && !memchr(s, '\\', (size_t)(q - s))) { /* no escape: the message is in place */
        *msg = s;
        *msg_len = (size_t)(q - s);
        return 0;
    }
    q = s;
    int escaped = 0;
    while (q < end && *q != '"') {
        if (*q == '\\') {
            escaped = 1;
            q++;
        }
        q++;
    }
    if (q >= end)
        return -1;
    if (!escaped) {
        *msg = s;
        *msg_len = (size_t)(q - s);
        return 0;
    }
    struct cl_json_value v = {CL_JSON_STRING, CL_JSON_F_ESCAPED, s - 1, (size_t)(q - s) + 2};
    if (a->scratch_cap < v.len) {
        a->scratch_cap = v.len * 2;
        a->scratch = cl_realloc(a->scratch, a->scratch_cap);
    }
    *msg_len = cl_json_unescape(&v, a->scratch);
    *msg = a->scratch;
    return 0;
}
