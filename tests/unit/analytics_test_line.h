/* analytics_test_line.h - one normalized line for the analytics unit tests. */
#ifndef CL_ANALYTICS_TEST_LINE_H
#define CL_ANALYTICS_TEST_LINE_H

#include "buf.h"
#include "record.h"

#include <stdint.h>

/* Appends one normalized line (cl_record_normalize's shape) to b. */
static inline void cl_test_line(struct cl_buf *b, int64_t ts, const char *level,
                                const char *service, const char *msg)
{
    char t[25];
    cl_format_timestamp(ts, t);
    cl_buf_printf(b,
                  "{\"timestamp\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"message\":\"%s\"}\n",
                  t, level, service, msg);
}

#endif
