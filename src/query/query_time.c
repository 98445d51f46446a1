/* query_time.c - time bounds and level filters as people type them. */
#include "query.h"

#include "common.h"
#include "query_int.h"
#include "record.h"
#include "units.h"

#include <string.h>

int cl_query_parse_time(const char *s, int64_t now_ms, int64_t *out_ms)
{
    int64_t ago;
    if (cl_parse_duration_ms(s, &ago) == 0 && strchr(s, '-') == NULL) {
        *out_ms = now_ms - ago;
        return 0;
    }
    return cl_parse_timestamp_text(s, strlen(s), out_ms);
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
    if (rc == CL_OK)
        cq_filter_free(&f);
    return rc;
}
