/* syslog_record.c - a parsed syslog message -> the JSON input record, and the RFC 5424
 * STRUCTURED-DATA lexer the parser validates with and the writer walks again.
 *
 * Mapping (docs/syslog.md): severity -> level (0-2 fatal, 3 error, 4 warn, 5-6 info,
 * 7 debug), APP-NAME or BSD tag -> service (bytes outside [A-Za-z0-9._-] become '_',
 * cut to 64; the original then also goes to "appname"), facility, hostname, procid and
 * msgid -> fields of those names, structured data -> "sd": {SD-ID: {PARAM: VALUE}}.
 * Text is written with cl_json_write_string, which turns bytes that are not UTF-8 into
 * U+FFFD: BSD senders send any bytes, and a record must never fail for its encoding.
 */
#include "syslog.h"

#include "json_write.h"
#include "record.h"

#include <stdlib.h>
#include <string.h>

static const char *const facility_names[24] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog",   "lpr",     "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "security", "console", "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7"};

const char *cl_syslog_facility_name(int facility)
{
    return facility >= 0 && facility < 24 ? facility_names[facility] : "user";
}

static const char *level_of(int severity)
{
    static const enum cl_level map[8] = {CL_LEVEL_FATAL, CL_LEVEL_FATAL, CL_LEVEL_FATAL,
                                         CL_LEVEL_ERROR, CL_LEVEL_WARN,  CL_LEVEL_INFO,
                                         CL_LEVEL_INFO,  CL_LEVEL_DEBUG};
    return cl_level_name(map[severity & 7]);
}

/* SD-NAME: PRINTUSASCII except '=', SP, ']' and '"', 1 to 32 bytes. */
static size_t sd_name_len(const char *p, const char *end)
{
    size_t n = 0;
    while (p + n < end && n <= 32) {
        unsigned char c = (unsigned char)p[n];
        if (c <= ' ' || c >= 127 || c == '=' || c == ']' || c == '"')
            break;
        n++;
    }
    return n <= 32 ? n : 0;
}

int cl_syslog_sd_element(struct cl_syslog_sd_cursor *c, struct cl_slice *id)
{
    if (c->p >= c->end || *c->p == ' ')
        return 0;
    if (*c->p != '[')
        return -1;
    size_t n = sd_name_len(c->p + 1, c->end);
    if (n == 0)
        return -1;
    *id = (struct cl_slice){c->p + 1, n};
    c->p += 1 + n;
    return 1;
}

int cl_syslog_sd_param(struct cl_syslog_sd_cursor *c, struct cl_slice *name, struct cl_slice *value)
{
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return 0;
    }
    if (c->p >= c->end || *c->p != ' ')
        return -1;
    const char *p = c->p + 1;
    size_t n = sd_name_len(p, c->end);
    if (n == 0 || c->end - (p + n) < 2 || p[n] != '=' || p[n + 1] != '"')
        return -1;
    *name = (struct cl_slice){p, n};
    const char *v = p + n + 2, *q = v;
    while (q < c->end && *q != '"')
        q += *q == '\\' ? 2 : 1; /* an escaped '"' does not end the value */
    if (q >= c->end)
        return -1;
    *value = (struct cl_slice){v, (size_t)(q - v)};
    c->p = q + 1;
    return 1;
}

/* A PARAM-VALUE with its escapes undone: "\"", "\\" and "\]" lose the backslash; any
 * other backslash stays (RFC 5424 6.3.3). Written as a JSON string. */
static int write_sd_value(struct cl_buf *out, struct cl_slice v)
{
    char stack[256];
    char *tmp = v.len <= sizeof stack ? stack : cl_malloc(v.len);
    size_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] == '\\' && i + 1 < v.len &&
            (v.ptr[i + 1] == '"' || v.ptr[i + 1] == '\\' || v.ptr[i + 1] == ']'))
            i++;
        tmp[n++] = v.ptr[i];
    }
    int rc = cl_json_write_string(out, tmp, n);
    if (tmp != stack)
        free(tmp);
    return rc;
}

/* "sd":{"id":{"name":"value",...},...} from validated SD text. Repeated SD-IDs or
 * PARAM-NAMEs are written as they come (nested keys are not deduplicated). */
static int write_sd(struct cl_buf *out, struct cl_slice sd)
{
    struct cl_syslog_sd_cursor c = {sd.ptr, sd.ptr + sd.len};
    struct cl_slice id, name, value;
    int rc = cl_buf_append_str(out, ",\"sd\":{");
    for (int e = 0; rc == CL_OK && cl_syslog_sd_element(&c, &id) == 1; e++) {
        rc = e ? cl_buf_append_char(out, ',') : CL_OK;
        rc = rc ? rc : cl_json_write_string(out, id.ptr, id.len);
        rc = rc ? rc : cl_buf_append_str(out, ":{");
        for (int k = 0; rc == CL_OK && cl_syslog_sd_param(&c, &name, &value) == 1; k++) {
            rc = k ? cl_buf_append_char(out, ',') : CL_OK;
            rc = rc ? rc : cl_json_write_string(out, name.ptr, name.len);
            rc = rc ? rc : cl_buf_append_char(out, ':');
            rc = rc ? rc : write_sd_value(out, value);
        }
        rc = rc ? rc : cl_buf_append_char(out, '}');
    }
    return rc ? rc : cl_buf_append_char(out, '}');
}

/* ,"key":"value" when value is present. */
static int write_field(struct cl_buf *out, const char *key, struct cl_slice v)
{
    if (!v.ptr)
        return CL_OK;
    int rc = cl_buf_append_str(out, key);
    return rc ? rc : cl_json_write_string(out, v.ptr, v.len);
}

static int service_byte_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

/* ,"service":"..." sanitized from the APP-NAME (and ,"appname" when that changed it). */
static int write_service(struct cl_buf *out, struct cl_slice app)
{
    if (!app.ptr || app.len == 0)
        return CL_OK; /* the normalizer's default service */
    char svc[64];
    size_t n = CL_MIN(app.len, sizeof svc);
    int changed = app.len > n;
    for (size_t i = 0; i < n; i++) {
        svc[i] = service_byte_ok(app.ptr[i]) ? app.ptr[i] : '_';
        changed |= svc[i] != app.ptr[i];
    }
    int rc = write_field(out, ",\"service\":", (struct cl_slice){svc, n});
    if (rc == CL_OK && changed)
        rc = write_field(out, ",\"appname\":", app);
    return rc;
}

int cl_syslog_record(const struct cl_syslog_msg *m, int64_t received_ms, struct cl_buf *out)
{
    size_t mark = out->len;
    char ts[25];
    cl_format_timestamp(m->has_ts ? m->ts_ms : received_ms, ts);
    /* appends rather than printf: this runs once per message */
    int rc = cl_buf_append_str(out, "{\"timestamp\":\"");
    rc = rc ? rc : cl_buf_append(out, ts, 24);
    rc = rc ? rc : cl_buf_append_str(out, "\",\"level\":\"");
    rc = rc ? rc : cl_buf_append_str(out, level_of(m->severity));
    rc = rc ? rc : cl_buf_append_char(out, '"');
    rc = rc ? rc : write_service(out, m->app_name);
    rc = rc ? rc : write_field(out, ",\"message\":", m->msg);
    rc = rc ? rc : cl_buf_append_str(out, ",\"facility\":\"");
    rc = rc ? rc : cl_buf_append_str(out, cl_syslog_facility_name(m->facility));
    rc = rc ? rc : cl_buf_append_char(out, '"');
    rc = rc ? rc : write_field(out, ",\"hostname\":", m->hostname);
    rc = rc ? rc : write_field(out, ",\"procid\":", m->procid);
    rc = rc ? rc : write_field(out, ",\"msgid\":", m->msgid);
    if (rc == CL_OK && m->sd.ptr)
        rc = write_sd(out, m->sd);
    rc = rc ? rc : cl_buf_append_str(out, "}\n");
    if (rc != CL_OK)
        cl_buf_truncate(out, mark);
    return rc;
}
