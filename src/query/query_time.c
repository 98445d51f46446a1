/* query_time.c - time bounds and level filters as people type them. */
#include "query.h"

#include "common.h"
#include "query_int.h"
#include "record.h"
#include "units.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* The times a record can have (timestamp.c): 0001-01-01 .. 9999-12-31, UTC. */
#define CQ_TIME_MIN_MS (-62135596800000LL)
#define CQ_TIME_MAX_MS 253402300799999LL

/* Digits and a unit of letters: a duration, even when too large to parse. */
static int looks_like_duration(const char *s)
{
    size_t d = strspn(s, "0123456789"), i = d;
    while (isalpha((unsigned char)s[i]))
        i++;
    return d > 0 && s[i] == '\0' && i - d <= 2;
}

int cl_query_parse_time(const char *s, int64_t now_ms, int64_t *out_ms)
{
    int64_t ago;
    if (looks_like_duration(s)) {
        if (cl_parse_duration_ms(s, &ago) != 0) /* a bad unit, or more than 2^63 ms */
            return strspn(s, "0123456789") > 18 ? -2 : -1;
        /* now - ago must stay a time records can have; it cannot overflow below that */
        if (ago > now_ms - CQ_TIME_MIN_MS)
            return -2;
        *out_ms = now_ms - ago;
        return 0;
    }
    if (cl_parse_timestamp_text(s, strlen(s), out_ms) != 0)
        return -1;
    return *out_ms < CQ_TIME_MIN_MS || *out_ms > CQ_TIME_MAX_MS ? -2 : 0;
}

void cl_query_time_error(int rc, const char *name, const char *s, char *out, size_t out_len)
{
    if (rc == -2)
        snprintf(out, out_len,
                 "%s '%s' is out of range (times must lie between 0001-01-01T00:00:00Z and "
                 "9999-12-31T23:59:59Z)",
                 name, s);
    else
        snprintf(out, out_len, "invalid %s '%s' (RFC 3339 time or a duration like 15m, 2h, 3d)",
                 name, s);
}

int cl_query_parse_level(const char *s, unsigned *mask)
{
    size_t len = strlen(s);
    int and_above = len > 0 && s[len - 1] == '+';
    enum cl_level l;
    if (cl_parse_level_text(s, len - (size_t)and_above, &l) != 0)
        return -1;
    *mask = 0;
    for (int i = (int)l; i < (and_above ? CL_LEVEL_COUNT : (int)l + 1); i++)
        *mask |= 1u << i;
    return 0;
}

int cl_query_validate(const struct cl_query *q, char *err, size_t err_len)
{
    struct cq_filter f;
    int rc = cq_filter_init(&f, q, err, err_len);
    cq_filter_free(&f); /* also after a failure, as cq_filter_init asks */
    return rc;
}
