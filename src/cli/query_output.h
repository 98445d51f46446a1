/* query_output.h - how `cloudlog query` prints records: json, text or csv. */
#ifndef CL_QUERY_OUTPUT_H
#define CL_QUERY_OUTPUT_H

#include "buf.h"
#include "options.h"
#include "partition.h"

#include <stddef.h>
#include <stdio.h>

enum cl_qout_format { CL_QOUT_JSON = 0, CL_QOUT_TEXT, CL_QOUT_CSV };

struct cl_qout {
    enum cl_qout_format format;
    int color; /* ANSI colors by level (text only) */
    FILE *f;
    struct cl_buf line; /* one formatted record (owned) */
    struct cl_buf tmp;  /* unescaped strings (owned) */
};

/* --format FMT (CLOUDLOG_FORMAT, default json) for a const char * field: the row query and
 * tail include. */
extern const struct cl_option cl_qout_format_options[];

/* The format named by --format's value ("json", "text", "csv"). */
enum cl_qout_format cl_qout_parse_format(const char *name);

/* Caller frees with cl_qout_free. */
void cl_qout_init(struct cl_qout *o, enum cl_qout_format format, int color, FILE *f);
/* Writes the csv header line (nothing for other formats). Returns 0 or -1 on write error. */
int cl_qout_header(struct cl_qout *o);
/* Writes one stored line (without its newline). Returns 0 or -1 on write error. */
int cl_qout_record(struct cl_qout *o, const char *line, size_t len, const struct cl_line_head *h);
void cl_qout_free(struct cl_qout *o);

#endif
