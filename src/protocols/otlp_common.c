/* otlp_common.c - OTLP log record mapping helpers (otlp_common.h). */
#include "otlp_common.h"

#include "common.h"
#include "json_write.h"
#include "record.h"

#include <stdlib.h>
#include <string.h>

const char *cl_otlp_level_of(int64_t n)
{
    /* OTLP's SeverityNumber: four numbers per level, TRACE=1..4 up to FATAL=21..24. */
    static const char *const names[] = {"trace", "debug", "info", "warn", "error", "fatal"};
    if (n < 1 || n > 24)
        return NULL;
    return names[(n - 1) / 4];
}

void cl_otlp_write_time(struct cl_proto_rec *r, uint64_t ns)
{
    char ts[25];
    if (ns == 0)
        return;
    cl_format_timestamp((int64_t)(ns / 1000000u), ts);
    cl_proto_rec_plain(r, "timestamp", ts, strlen(ts)); /* digits and "-:.TZ" */
}

int cl_otlp_write_level(struct cl_proto_rec *r, int64_t number, const char *text, size_t len)
{
    const char *name = cl_otlp_level_of(number);
    enum cl_level l;
    if (!name && len && cl_parse_level_text(text, len, &l) == 0)
        name = cl_level_name(l);
    if (name)
        cl_proto_rec_plain(r, "level", name, strlen(name));
    return name || len == 0;
}

void cl_otlp_write_service(struct cl_proto_rec *r, const char *name, size_t len)
{
    char clean[64];
    len = CL_MIN(len, sizeof clean);
    memcpy(clean, name, len);
    len = cl_proto_service_clean(clean, len);
    if (len)
        cl_proto_rec_plain(r, "service", clean, len); /* [A-Za-z0-9._-] once cleaned */
}

int cl_otlp_parse_u64(const char *s, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    if (n == 0 || n > 20)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        /* 19 digits never overflow: only the 20th needs the (dividing) check */
        if (i == 19 && x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}
