/* log.h - the daemon's diagnostic log: one line per event on stderr. */
#ifndef CL_LOG_H
#define CL_LOG_H

enum cl_log_level { CL_LOG_DEBUG = 0, CL_LOG_INFO, CL_LOG_WARN, CL_LOG_ERROR };
enum cl_log_format { CL_LOG_TEXT = 0, CL_LOG_JSON };

void cl_log_set_level(enum cl_log_level l);
/* Parses "debug", "info", "warn" or "error"; returns 0 or -1. */
int cl_log_parse_level(const char *s, enum cl_log_level *l);
/* Text (the default) or one JSON object per line (--log-format json). */
void cl_log_set_format(enum cl_log_format f);
/* Parses "text" or "json"; returns 0 or -1. */
int cl_log_parse_format(const char *s, enum cl_log_format *f);
/* Writes "2026-11-25T15:04:05.123Z info  msg..." (text) or
 * {"time":"2026-11-25T15:04:05.123Z","level":"info","msg":"..."} (json) to stderr in one
 * write(2). Messages longer than 1000 bytes are cut. */
void cl_log(enum cl_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
