/* log.c - timestamped single-write log lines on stderr. */
#include "log.h"

#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum cl_log_level min_level = CL_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void cl_log_set_level(enum cl_log_level l)
{
    min_level = l;
}

int cl_log_parse_level(const char *s, enum cl_log_level *l)
{
    for (size_t i = 0; i < CL_ARRAY_LEN(level_names); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *l = (enum cl_log_level)i;
            return 0;
        }
    }
    return -1;
}

void cl_log(enum cl_log_level l, const char *fmt, ...)
{
    if (l < min_level)
        return;
    char line[1024];
    int64_t ms = cl_now_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(ms % 1000), level_names[l]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : CL_MIN((size_t)m, sizeof line - (size_t)n - 2));
    line[len++] = '\n';
    /* One write so concurrent threads never interleave within a line. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
