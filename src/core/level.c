/* level.c - log level names, aliases and pino/bunyan numbers. */
#include "record.h"

#include <string.h>

static const char *const level_names[CL_LEVEL_COUNT] = {"trace", "debug", "info",
                                                        "warn",  "error", "fatal"};

const char *cl_level_name(enum cl_level l)
{
    return (unsigned)l < CL_LEVEL_COUNT ? level_names[l] : "info";
}

struct level_alias {
    const char *name;
    enum cl_level level;
};

/* Lower-case spellings; the table in docs/ingest.md mirrors this one. Most frequent
 * names first, since lookup is linear. */
static const struct level_alias level_aliases[] = {
    {"info", CL_LEVEL_INFO},       {"error", CL_LEVEL_ERROR},      {"warn", CL_LEVEL_WARN},
    {"debug", CL_LEVEL_DEBUG},     {"warning", CL_LEVEL_WARN},     {"trace", CL_LEVEL_TRACE},
    {"fatal", CL_LEVEL_FATAL},     {"err", CL_LEVEL_ERROR},        {"eror", CL_LEVEL_ERROR},
    {"wrn", CL_LEVEL_WARN},        {"information", CL_LEVEL_INFO}, {"informational", CL_LEVEL_INFO},
    {"notice", CL_LEVEL_INFO},     {"inf", CL_LEVEL_INFO},         {"dbg", CL_LEVEL_DEBUG},
    {"fine", CL_LEVEL_DEBUG},      {"finer", CL_LEVEL_DEBUG},      {"trc", CL_LEVEL_TRACE},
    {"verbose", CL_LEVEL_TRACE},   {"finest", CL_LEVEL_TRACE},     {"critical", CL_LEVEL_FATAL},
    {"crit", CL_LEVEL_FATAL},      {"alert", CL_LEVEL_FATAL},      {"emerg", CL_LEVEL_FATAL},
    {"emergency", CL_LEVEL_FATAL}, {"panic", CL_LEVEL_FATAL},      {"ftl", CL_LEVEL_FATAL},
};

#define CL_LEVEL_NAME_MAX 16

int cl_parse_level_text(const char *s, size_t len, enum cl_level *l)
{
    char low[CL_LEVEL_NAME_MAX];
    if (len == 0 || len >= sizeof low)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        low[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    for (size_t i = 0; i < CL_ARRAY_LEN(level_aliases); i++) {
        const char *n = level_aliases[i].name;
        if (strlen(n) == len && memcmp(n, low, len) == 0) {
            *l = level_aliases[i].level;
            return 0;
        }
    }
    return -1;
}

/* pino/bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal; values in
 * between round down to the level below, 60..100 are fatal. Integers only. */
int cl_parse_level_number(const char *s, size_t len, enum cl_level *l)
{
    if (len == 0 || len > 3)
        return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (s[0] == '0' || v < 10 || v > 100)
        return -1;
    *l = v >= 60 ? CL_LEVEL_FATAL : (enum cl_level)(v / 10 - 1);
    return 0;
}
