/* log.c - timestamped single-write log lines on stderr, as text or JSON. */
#include "log.h"

#include "buf.h"
#include "common.h"
#include "json_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longest message kept; longer ones are cut (a log line never allocates without bound). */
#define CL_LOG_MAX_MESSAGE 1000
/* A JSON line: the message escaped (at most 6 bytes per byte) plus time and level. */
#define CL_LOG_MAX_JSON_LINE (CL_LOG_MAX_MESSAGE * 6 + 128)

static enum cl_log_level min_level = CL_LOG_INFO;
static enum cl_log_format format = CL_LOG_TEXT;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"text", "json"};

void cl_log_set_level(enum cl_log_level l)
{
    min_level = l;
}

/* Index of s in names[0..n), or -1. */
static int find_name(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

int cl_log_parse_level(const char *s, enum cl_log_level *l)
{
    int i = find_name(level_names, CL_ARRAY_LEN(level_names), s);
    if (i >= 0)
        *l = (enum cl_log_level)i;
    return i >= 0 ? 0 : -1;
}

void cl_log_set_format(enum cl_log_format f)
{
    format = f;
}

int cl_log_parse_format(const char *s, enum cl_log_format *f)
{
    int i = find_name(format_names, CL_ARRAY_LEN(format_names), s);
    if (i >= 0)
        *f = (enum cl_log_format)i;
    return i >= 0 ? 0 : -1;
}

/* "2026-11-25T15:04:05.123Z" into out (64 bytes leave room for any int the compiler assumes). */
static void format_now(char *out, size_t n)
{
    int64_t ms = cl_now_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* One write so concurrent threads never interleave within a line. */
static void write_line(const char *line, size_t len)
{
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

/* {"time":"...","level":"info","msg":"..."}: the keys Go's slog and most shippers use.
 * The message is escaped by the record writer (invalid UTF-8 becomes U+FFFD). */
static void write_json(const char *when, enum cl_log_level l, const char *msg, size_t len)
{
    struct cl_buf b;
    cl_buf_init(&b, CL_LOG_MAX_JSON_LINE);
    cl_buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", when, level_names[l]);
    cl_json_write_string(&b, msg, len);
    cl_buf_append_str(&b, "}\n");
    if (!cl_buf_failed(&b))
        write_line(b.data, b.len);
    cl_buf_free(&b);
}

void cl_log(enum cl_log_level l, const char *fmt, ...)
{
    if (l < min_level)
        return;
    char when[64];
    format_now(when, sizeof when);
    char msg[CL_LOG_MAX_MESSAGE + 1];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len = m < 0 ? 0 : CL_MIN((size_t)m, sizeof msg - 1);
    if (format == CL_LOG_JSON) {
        write_json(when, l, msg, len);
        return;
    }
    char line[CL_LOG_MAX_MESSAGE + 64];
    int n = snprintf(line, sizeof line, "%s %-5s %.*s\n", when, level_names[l], (int)len, msg);
    write_line(line, CL_MIN((size_t)n, sizeof line - 1));
}
