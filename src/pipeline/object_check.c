/* object_check.c - validates a stored object and re-derives its catalog row (verify). */
#include "object_check.h"

#include "codec.h"
#include "common.h"
#include "json.h"
#include "message.h"

#include <stdio.h>
#include <string.h>

struct check_ctx {
    struct cl_object_summary *s;
    char *err;
    size_t err_len;
};

/* One record: valid JSON, in the key's partition; counted into the summary. */
static int check_line(void *arg, const char *line, size_t len, const struct cl_line_head *h)
{
    struct check_ctx *c = arg;
    struct cl_object_summary *s = c->s;
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, line, len, 0);
    if (cl_json_scan_value(&r, &v) != 0 || !cl_json_at_end(&r)) {
        snprintf(c->err, c->err_len, "record %llu is not valid JSON",
                 (unsigned long long)s->records);
        return -1;
    }
    if (strcmp(h->service, s->service) != 0 || strcmp(h->dt, s->dt) != 0 || h->hour != s->hour) {
        snprintf(c->err, c->err_len, "record %llu belongs to service=%s/dt=%s/hour=%02d",
                 (unsigned long long)s->records, h->service, h->dt, h->hour);
        return -1;
    }
    s->min_ts_ms = s->records ? CL_MIN(s->min_ts_ms, h->ts_ms) : h->ts_ms;
    s->max_ts_ms = s->records ? CL_MAX(s->max_ts_ms, h->ts_ms) : h->ts_ms;
    if ((int)h->level >= 0 && (int)h->level < CL_CATALOG_LEVELS)
        s->level_counts[h->level]++;
    s->records++;
    return 0;
}

int cl_object_check(const char *key, const void *gz, size_t len, struct cl_object_summary *s,
                    char *err, size_t err_len)
{
    memset(s, 0, sizeof *s);
    if (cl_object_key_parse(key, s->service, s->dt, &s->hour) != 0) {
        snprintf(err, err_len, "not an object key (service=S/dt=D/hour=HH/ID.ndjson.gz)");
        return -1;
    }
    struct cl_buf raw;
    cl_buf_init(&raw, CL_OBJECT_CHECK_MAX_RAW);
    int rc = cl_gzip_decompress(gz, len, &raw);
    if (rc != CL_OK) {
        snprintf(err, err_len, "cannot decompress: %s", cl_strerror(rc));
        cl_buf_free(&raw);
        return -1;
    }
    s->raw_bytes = raw.len;
    struct check_ctx c = {s, err, err_len};
    if (raw.len == 0 || raw.data[raw.len - 1] != '\n') {
        snprintf(err, err_len, "does not end with a complete line");
        rc = -1;
    } else {
        rc = cl_msg_lines(&raw, check_line, &c, err, err_len) != 0 ? -1 : 0;
    }
    cl_buf_free(&raw);
    return rc;
}

void cl_object_catalog_row(const char *key, uint64_t bytes, const struct cl_object_summary *s,
                           struct cl_catalog_object *o)
{
    memset(o, 0, sizeof *o);
    o->key = key;
    o->service = s->service;
    o->dt = s->dt;
    o->hour = s->hour;
    o->records = s->records;
    o->bytes = bytes;
    o->raw_bytes = s->raw_bytes;
    o->min_ts_ms = s->min_ts_ms;
    o->max_ts_ms = s->max_ts_ms;
    memcpy(o->level_counts, s->level_counts, sizeof o->level_counts);
}
