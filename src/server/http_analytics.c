/* http_analytics.c - GET /v1/patterns, GET /v1/anomalies and Loki's GET
 * /loki/api/v1/patterns (Grafana's patterns tab), read from DATA/analytics.db on a
 * connection of their own (docs/analytics.md, "Surfaces"). */
#include "http_analytics.h"

#include "analytics_db.h"
#include "buf.h"
#include "cl_limits.h"
#include "common.h"
#include "daemon_analytics.h"
#include "json_write.h"
#include "query.h"
#include "units.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIMIT 1000
#define LOKI_PATTERNS 50 /* patterns in a Loki answer */
#define MAX_SAMPLES 10000

static const char *arg(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, struct cl_buf *b)
{
    return cl_http_respond_no_store(c, (int)status, b, "application/json");
}

static enum MHD_Result fail(struct MHD_Connection *c, unsigned status, const char *msg)
{
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_ERROR_RESPONSE);
    cl_buf_append_str(&b, "{\"error\":");
    cl_json_write_string(&b, msg, strlen(msg));
    cl_buf_append_str(&b, "}\n");
    return reply(c, status, &b);
}

/* The analytics database, read-only (caller closes); NULL after answering why: 503 when
 * analytics is off, 500 when its database cannot be opened. */
static struct cl_analytics_db *open_db(struct cl_daemon *d, struct MHD_Connection *c,
                                       enum MHD_Result *answer)
{
    char path[4200], err[256], msg[512];
    struct cl_analytics_db *db = NULL;
    if (!cl_daemon_analytics(d)) {
        *answer = fail(c, MHD_HTTP_SERVICE_UNAVAILABLE, "analytics is off (--analytics on)");
        return NULL;
    }
    cl_daemon_analytics_path(d, path, sizeof path);
    if (cl_analytics_db_open(path, 1, &db, err, sizeof err) == 0)
        return db;
    snprintf(msg, sizeof msg, "cannot open the analytics database: %s", err);
    *answer = fail(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
    return NULL;
}

/* since/until/service/level/limit into q; returns 0 or -1 with msg set. */
static int read_params(struct MHD_Connection *c, const char *default_since,
                       struct cl_pattern_query *q, char *msg, size_t n)
{
    int64_t now = cl_now_ms();
    const char *since = arg(c, "since") ? arg(c, "since") : default_since;
    const char *until = arg(c, "until"), *level = arg(c, "level"), *limit = arg(c, "limit");
    int rc;
    memset(q, 0, sizeof *q);
    q->service = arg(c, "service");
    q->to_ms = now;
    q->level_max = CL_LEVEL_COUNT - 1;
    if ((rc = cl_query_parse_time(since, now, &q->from_ms)) != 0) {
        cl_query_time_error(rc, "since", since, msg, n);
        return -1;
    }
    if (until && (rc = cl_query_parse_time(until, now, &q->to_ms)) != 0) {
        cl_query_time_error(rc, "until", until, msg, n);
        return -1;
    }
    unsigned mask = 0;
    if (level && cl_query_parse_level(level, &mask) != 0) {
        snprintf(msg, n, "invalid level '%s' (trace..fatal, or e.g. error+)", level);
        return -1;
    }
    if (mask) { /* the patterns' counts keep levels apart: a range covers exact and L+ */
        q->level_min = __builtin_ctz(mask);
        q->level_max = 31 - __builtin_clz(mask);
    }
    char *end = NULL;
    long lim = limit ? strtol(limit, &end, 10) : 20;
    if (limit && (*end || lim < 1 || lim > MAX_LIMIT)) {
        snprintf(msg, n, "limit must be 1..%d", MAX_LIMIT);
        return -1;
    }
    q->limit = (size_t)lim;
    q->new_only = arg(c, "new") && strcmp(arg(c, "new"), "1") == 0;
    return 0;
}

enum MHD_Result cl_http_patterns(struct cl_daemon *d, struct MHD_Connection *c)
{
    struct cl_pattern_query q;
    char msg[256];
    if (read_params(c, "1h", &q, msg, sizeof msg) != 0)
        return fail(c, MHD_HTTP_BAD_REQUEST, msg);
    enum MHD_Result answer;
    struct cl_analytics_db *db = open_db(d, c, &answer);
    if (!db)
        return answer;
    struct cl_pattern_row *rows;
    size_t n;
    int rc = cl_analytics_db_patterns(db, &q, &rows, &n);
    cl_analytics_db_close(db);
    if (rc != 0)
        return fail(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the analytics database");
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_ALARMS_RESPONSE);
    cl_patterns_render_json(rows, n, &q, &b);
    cl_pattern_rows_free(rows, n);
    return reply(c, MHD_HTTP_OK, &b);
}

enum MHD_Result cl_http_anomalies(struct cl_daemon *d, struct MHD_Connection *c)
{
    struct cl_pattern_query q;
    char msg[256];
    if (read_params(c, "24h", &q, msg, sizeof msg) != 0)
        return fail(c, MHD_HTTP_BAD_REQUEST, msg);
    enum MHD_Result answer;
    struct cl_analytics_db *db = open_db(d, c, &answer);
    if (!db)
        return answer;
    struct cl_anomaly_event *rows;
    size_t n;
    int rc = cl_analytics_db_anomalies(db, q.from_ms, q.service, arg(c, "limit") ? q.limit : 100,
                                       &rows, &n);
    cl_analytics_db_close(db);
    if (rc != 0)
        return fail(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the analytics database");
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_ALARMS_RESPONSE);
    cl_anomalies_render_json(rows, n, &b);
    free(rows);
    return reply(c, MHD_HTTP_OK, &b);
}

/* ---- Loki ---- */

/* A Loki time: nanoseconds (or any epoch unit, by magnitude), fractional seconds, or RFC
 * 3339. Returns 0 or -1 (also for inf, nan and numbers past year 2262 in nanoseconds,
 * which would not fit the int64 milliseconds). */
static int loki_time(const char *s, int64_t *ms)
{
    char *end;
    double v = strtod(s, &end);
    if (*end == '\0' && end != s) {
        double a = v < 0 ? -v : v;
        if (!isfinite(v) || a > 9.2e18)
            return -1;
        *ms = (int64_t)(a > 1e17 ? v / 1e6 : a > 1e14 ? v / 1e3 : a > 1e11 ? v : v * 1e3);
        return 0;
    }
    return cl_parse_timestamp_text(s, strlen(s), ms) == 0 ? 0 : -1;
}

/* A step in seconds ("60", "0.5"), all of s a finite number above 0 and at most 10^9 s.
 * Returns 0 or -1. */
static int loki_step_seconds(const char *s, int64_t *step_ms)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v <= 0 || v > 1e9)
        return -1;
    *step_ms = (int64_t)(v * 1000);
    return 0;
}

/* The service of a selector: service_name="x" or service="x"; "" when absent. */
static void loki_service(const char *query, char out[65])
{
    static const char *const keys[] = {"service_name=\"", "service=\""};
    out[0] = '\0';
    for (size_t k = 0; query && k < CL_ARRAY_LEN(keys); k++) {
        const char *p = strstr(query, keys[k]);
        if (!p)
            continue;
        p += strlen(keys[k]);
        size_t len = strcspn(p, "\"");
        if (len < 65 && p[len] == '"') {
            memcpy(out, p, len);
            out[len] = '\0';
            return;
        }
    }
}

static void add_sample(void *arg, int64_t ts_ms, uint64_t count)
{
    struct cl_buf *b = arg;
    size_t len = b->len;
    cl_buf_printf(b, "%s[%lld,%llu]", b->data[len - 1] == '[' ? "" : ",", (long long)(ts_ms / 1000),
                  (unsigned long long)count);
}

/* One pattern of the answer: Loki writes its wildcards as "<_>". */
static void loki_pattern(struct cl_analytics_db *db, const struct cl_pattern_row *r,
                         const struct cl_pattern_query *q, int64_t step_ms, struct cl_buf *b)
{
    struct cl_buf t;
    cl_buf_init(&t, SIZE_MAX);
    for (const char *p = r->tmpl; *p;)
        if (strncmp(p, "<*>", 3) == 0) {
            cl_buf_append_str(&t, "<_>");
            p += 3;
        } else {
            cl_buf_append_char(&t, *p++);
        }
    cl_buf_append_str(b, "{\"pattern\":");
    cl_json_write_string(b, t.data ? t.data : "", t.len);
    cl_buf_printf(b, ",\"level\":\"%s\",\"samples\":[",
                  r->errors * 2 > r->count ? "error" : "info");
    cl_analytics_db_samples(db, r->service, r->id, q->level_min, q->from_ms, q->to_ms, step_ms,
                            add_sample, b);
    cl_buf_append_str(b, "]}");
    cl_buf_free(&t);
}

enum MHD_Result cl_http_loki_patterns(struct cl_daemon *d, struct MHD_Connection *c)
{
    struct cl_pattern_query q = {.level_max = CL_LEVEL_COUNT - 1, .limit = LOKI_PATTERNS};
    char service[65];
    int64_t step_ms = 60000;
    q.to_ms = cl_now_ms();
    if (arg(c, "end") && loki_time(arg(c, "end"), &q.to_ms) != 0)
        return fail(c, MHD_HTTP_BAD_REQUEST, "invalid end (epoch or RFC 3339)");
    q.from_ms = q.to_ms - 3600000;
    if (arg(c, "start") && loki_time(arg(c, "start"), &q.from_ms) != 0)
        return fail(c, MHD_HTTP_BAD_REQUEST, "invalid start (epoch or RFC 3339)");
    if (arg(c, "step") && ((cl_parse_duration_ms(arg(c, "step"), &step_ms) != 0 &&
                            loki_step_seconds(arg(c, "step"), &step_ms) != 0) ||
                           step_ms <= 0))
        return fail(c, MHD_HTTP_BAD_REQUEST, "invalid step (a duration like 60s, or seconds)");
    if (q.to_ms <= q.from_ms ||
        (q.to_ms - q.from_ms) / CL_MAX(step_ms, (int64_t)60000) > MAX_SAMPLES)
        return fail(c, MHD_HTTP_BAD_REQUEST, "start must be before end, with at most 10000 steps");
    loki_service(arg(c, "query"), service);
    q.service = service[0] ? service : NULL;
    enum MHD_Result answer;
    struct cl_analytics_db *db = open_db(d, c, &answer);
    if (!db)
        return answer;
    struct cl_pattern_row *rows;
    size_t n;
    struct cl_buf b;
    cl_buf_init(&b, CL_MAX_ALARMS_RESPONSE);
    if (cl_analytics_db_patterns(db, &q, &rows, &n) != 0) {
        cl_analytics_db_close(db);
        cl_buf_free(&b);
        return fail(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the analytics database");
    }
    cl_buf_append_str(&b, "{\"status\":\"success\",\"data\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            cl_buf_append_char(&b, ',');
        loki_pattern(db, &rows[i], &q, step_ms, &b);
    }
    cl_buf_append_str(&b, "]}\n");
    cl_pattern_rows_free(rows, n);
    cl_analytics_db_close(db);
    return reply(c, MHD_HTTP_OK, &b);
}

int cl_http_analytics_route(const char *url)
{
    if (strcmp(url, "/v1/patterns") == 0)
        return 1;
    if (strcmp(url, "/v1/anomalies") == 0)
        return 2;
    return strcmp(url, "/loki/api/v1/patterns") == 0 ? 3 : 0;
}
