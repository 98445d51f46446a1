/* fuzz_ingest.c - fuzzes cl_ingest_parse and checks its invariants on every input. */
#include "fuzz_check.h"
#include "codec.h"
#include "fuzz_check.h"
#include "common.h"
#include "fuzz_check.h"
#include "ingest.h"
#include "json.h"
#include "record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_ERRORS 4

static void limits(struct cl_ingest_limits *l)
{
    cl_ingest_limits_default(l);
    l->max_record_bytes = 512;
    l->max_message_bytes = 256;
    l->max_errors = FUZZ_MAX_ERRORS;
    l->max_depth = 16;
}

/* A normalized line is a JSON object that normalizes to itself, with its timestamp
 * inside the message's [min, max]. */
static void check_line(const char *line, size_t len, const struct cl_msg_attrs *a,
                       const struct cl_ingest_limits *lim)
{
    struct cl_norm_opts o = {.default_service = CL_SLICE_LIT("default"),
                             .max_record_bytes = len,
                             .max_depth = lim->max_depth}; /* no time window: any ts re-reads */
    struct cl_buf again;
    struct cl_record_meta meta;
    char err[256];
    cl_buf_init(&again, SIZE_MAX / 2);
    if (cl_record_normalize(line, len, &o, &again, &meta, err, sizeof err) != CL_OK) {
        fprintf(stderr, "line does not re-normalize (%s): %.*s\n", err, (int)len, line);
        abort();
    }
    CHECK(again.len == len + 1 && memcmp(again.data, line, len) == 0);
    CHECK(meta.ts_ms >= a->min_ts_ms && meta.ts_ms <= a->max_ts_ms);
    cl_buf_free(&again);
}

/* Returns the number of lines in the message after checking each one. */
static uint32_t check_message(const struct cl_msg_out *m, const struct cl_ingest_limits *lim)
{
    struct cl_buf raw;
    cl_buf_init(&raw, SIZE_MAX / 2);
    CHECK(cl_gzip_decompress(m->body, m->len, &raw) == CL_OK);
    CHECK(raw.len == m->attrs.raw_bytes);
    CHECK(strcmp(m->attrs.encoding, "gzip") == 0);
    CHECK(m->attrs.record_count > 0);
    CHECK(raw.len > 0 && raw.data[raw.len - 1] == '\n');
    /* Full unless a single line is larger than the limit. */
    CHECK(raw.len <= lim->max_message_bytes || m->attrs.record_count == 1);
    uint32_t n = 0;
    for (size_t pos = 0; pos < raw.len;) {
        const char *nl = memchr(raw.data + pos, '\n', raw.len - pos);
        CHECK(nl != NULL);
        size_t len = (size_t)(nl - raw.data) - pos;
        check_line(raw.data + pos, len, &m->attrs, lim);
        pos += len + 1;
        n++;
    }
    CHECK(n == m->attrs.record_count);
    cl_buf_free(&raw);
    return n;
}

/* The errors text is a JSON array of min(rejected, max_errors) objects. */
static void check_errors(const struct cl_ingest_parse_result *res)
{
    struct cl_json_reader r;
    struct cl_json_value v;
    cl_json_reader_init(&r, res->errors.data, res->errors.len, 4);
    CHECK(cl_json_scan_value(&r, &v) == 0 && v.type == CL_JSON_ARRAY && cl_json_at_end(&r));
    size_t objects = 0;
    for (size_t i = 0; i + 9 <= res->errors.len; i++)
        objects += memcmp(res->errors.data + i, "{\"index\":", 9) == 0;
    CHECK(objects == CL_MIN(res->rejected, (uint32_t)FUZZ_MAX_ERRORS));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cl_ingest_limits lim;
    limits(&lim);
    struct cl_ingest_batch batch;
    struct cl_ingest_parse_result res;
    cl_ingest_batch_init(&batch);
    cl_ingest_parse_result_init(&res);
    int rc = cl_ingest_parse((const char *)data, size, NULL, 1795619045123LL, &lim, &batch, &res);
    CHECK(rc == CL_OK);
    check_errors(&res);
    if (res.body_error) {
        CHECK(res.accepted == 0 && batch.n_msgs == 0);
        CHECK(res.body_error_msg[0] != '\0');
    } else {
        CHECK(res.accepted + res.rejected > 0);
    }
    uint32_t lines = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < batch.n_msgs; i++) {
        lines += check_message(&batch.msgs[i], &lim);
        bytes += batch.msgs[i].attrs.raw_bytes;
    }
    CHECK(lines == res.accepted);
    CHECK(bytes == res.accepted_bytes);
    cl_ingest_batch_free(&batch);
    cl_ingest_parse_result_free(&res);
    return 0;
}
