/* partition.c - reading a normalized line's head, partition keys and object ids. */
#include "partition.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char ts_prefix[] = "{\"timestamp\":\"";
static const char level_prefix[] = "\",\"level\":\"";
static const char service_prefix[] = "\",\"service\":\"";

#define TS_LEN 24 /* YYYY-MM-DDTHH:MM:SS.mmmZ */

/* Copies the string value starting at p up to the next '"' (no escapes can occur in
 * levels or services) into out; returns the position of the quote or NULL. */
static const char *take_until_quote(const char *p, const char *end, char *out, size_t cap)
{
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q || (size_t)(q - p) >= cap || q == p)
        return NULL;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return q;
}

static int starts_with(const char *p, const char *end, const char *lit, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

int cl_line_head_parse(const char *line, size_t len, struct cl_line_head *h)
{
    const char *p = line, *end = line + len;
    char level[16];
    if (!starts_with(p, end, ts_prefix, sizeof ts_prefix - 1))
        return -1;
    p += sizeof ts_prefix - 1;
    if (end - p < TS_LEN || p[TS_LEN - 1] != 'Z' ||
        cl_parse_timestamp_text(p, TS_LEN, &h->ts_ms) != 0)
        return -1;
    memcpy(h->dt, p, 10);
    h->dt[10] = '\0';
    h->hour = (p[11] - '0') * 10 + (p[12] - '0');
    p += TS_LEN;
    if (!starts_with(p, end, level_prefix, sizeof level_prefix - 1))
        return -1;
    p += sizeof level_prefix - 1;
    if (!(p = take_until_quote(p, end, level, sizeof level)) ||
        cl_parse_level_text(level, strlen(level), &h->level) != 0)
        return -1;
    if (!starts_with(p, end, service_prefix, sizeof service_prefix - 1))
        return -1;
    p += sizeof service_prefix - 1;
    if (!(p = take_until_quote(p, end, h->service, sizeof h->service)) ||
        !cl_service_valid(h->service, strlen(h->service)))
        return -1;
    return 0;
}

void cl_partition_key(const struct cl_line_head *h, char *out)
{
    snprintf(out, CL_PARTITION_MAX, "service=%s/dt=%s/hour=%02d", h->service, h->dt, h->hour);
}

void cl_object_id_new(int64_t now_ms, char *out)
{
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        /* getrandom cannot fail for 8 bytes once the pool is ready; mix clocks anyway. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)now_ms;
        memcpy(rnd, &v, sizeof rnd);
    }
    int n = snprintf(out, CL_OBJECT_ID_LEN + 1, "%04d%02d%02dT%02d%02d%02dZ-", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    for (size_t i = 0; i < sizeof rnd && n + 2 <= CL_OBJECT_ID_LEN; i++, n += 2)
        snprintf(out + n, 3, "%02x", rnd[i]);
}

int cl_object_key_parse(const char *key, char service[65], char dt[11], int *hour)
{
    static const char suffix[] = ".ndjson.gz";
    if (strncmp(key, "service=", 8) != 0)
        return -1;
    const char *svc = key + 8, *slash = strchr(svc, '/');
    if (!slash || slash == svc || slash - svc > 64 || strncmp(slash, "/dt=", 4) != 0)
        return -1;
    const char *d = slash + 4;
    if (strlen(d) < 19 || strncmp(d + 10, "/hour=", 6) != 0 || d[18] != '/' || d[16] < '0' ||
        d[16] > '2' || d[17] < '0' || d[17] > '9')
        return -1;
    const char *name = d + 19;
    size_t nl = strlen(name);
    if (strchr(name, '/') || nl <= sizeof suffix - 1 ||
        strcmp(name + nl - (sizeof suffix - 1), suffix) != 0)
        return -1;
    int h = (d[16] - '0') * 10 + (d[17] - '0');
    if (h > 23)
        return -1;
    snprintf(service, 65, "%.*s", (int)(slash - svc), svc);
    snprintf(dt, 11, "%.10s", d);
    *hour = h;
    return 0;
}
