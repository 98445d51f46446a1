/* processor.c - log_processor: decodes each SQS record with the SQS message contract
 * (message.h), hands the batch to cl_batch_process and reports per-message failures. */
#include "processor.h"

#include "common.h"
#include "log.h"
#include "pipeline_opts.h"
#include "sqs_event.h"
#include "message.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The objects' gzip level: serve's object-compression-level row; the template's
 * CLOUDLOG_COMPRESSION_LEVEL (the ingest row) stands in when only it is set. */
static int read_level(int *level, char *err, size_t err_len)
{
    struct levels {
        struct cl_object_opts object;
        struct cl_ingest_opts ingest;
    } v = {0};
    static const struct cl_option rows[] = {
        CL_OPT_INCLUDE_ROWS(cl_object_options, offsetof(struct levels, object)),
        CL_OPT_INCLUDE_ROWS(cl_ingest_options, offsetof(struct levels, ingest)),
    };
    enum cl_opt_origin origins[CL_OPTS_MAX];
    if (cl_env_options(rows, CL_ARRAY_LEN(rows), &v, origins, err, err_len) != 0)
        return -1;
    *level = v.object.compression_level;
    if (origins[0] != CL_ORIGIN_ENV && getenv("CLOUDLOG_COMPRESSION_LEVEL"))
        *level = v.ingest.compression_level;
    return 0;
}

int cl_lprocessor_init(void *ctx, char *err, size_t err_len)
{
    struct cl_lprocessor *p = ctx;
    memset(p, 0, sizeof *p);
    if (cl_lambda_metrics_init(&p->lm, CL_LAMBDA_PROCESS, err, err_len) != 0)
        return -1;
    p->metrics_ready = 1;
    cl_bp_opts_default(&p->opts);
    p->opts.metrics = &p->lm.m;
    if (read_level(&p->opts.compression_level, err, err_len) != 0)
        return -1;
    if (cl_lambda_open_store(&p->store, err, err_len) != 0)
        return -1;
    p->store_open = 1;
    return cl_lp_analytics_init(p, err, err_len);
}

void cl_lprocessor_free(void *ctx)
{
    struct cl_lprocessor *p = ctx;
    if (p->store_open)
        cl_store_close(&p->store);
    if (p->metrics_ready)
        cl_lambda_metrics_free(&p->lm);
    cl_analytics_free(p->analytics);
    memset(p, 0, sizeof *p);
}

/* Builds the batch_process input; bodies that are not valid base64 stay NULL (the
 * message then fails alone). Caller frees each body and the array. */
static struct cl_bp_message *to_messages(const struct cl_sqs_record *recs, size_t n)
{
    struct cl_bp_message *msgs = cl_calloc(n ? n : 1, sizeof *msgs);
    for (size_t i = 0; i < n; i++) {
        void *body = NULL;
        size_t len = 0;
        if (cl_msg_body_from_text(recs[i].body, recs[i].body_len, &body, &len) != CL_OK)
            body = NULL;
        if (recs[i].attrs_invalid)
            cl_log(CL_LOG_WARN, "processor: message %s has an invalid cloudlog attribute",
                   recs[i].message_id);
        msgs[i] = (struct cl_bp_message){.id = recs[i].message_id,
                                         .body = body,
                                         .len = len,
                                         .attrs = recs[i].attrs,
                                         .sent_ms = recs[i].sent_ms};
    }
    return msgs;
}

static void respond(const struct cl_bp_result *r, const struct cl_sqs_record *recs,
                    struct cl_buf *out)
{
    const char **failed = cl_malloc((r->n ? r->n : 1) * sizeof *failed);
    size_t n_failed = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->status[i] != CL_BP_STORED)
            failed[n_failed++] = recs[i].message_id;
    cl_sqs_batch_response(out, failed, n_failed);
    free(failed);
}

void cl_lprocessor_handle(void *ctx, const struct cl_lambda_invocation *inv,
                          struct cl_lambda_result *res)
{
    struct cl_lprocessor *p = ctx;
    struct cl_sqs_record *recs = NULL;
    size_t n = 0;
    char err[300];
    if (cl_sqs_event_parse(inv->event.data, inv->event.len, &recs, &n, err, sizeof err) != CL_OK) {
        /* Not an SQS event: fail the invocation, so the whole batch is retried. */
        cl_lambda_result_fail(res, "Function.InvalidEvent", "%s", err);
        cl_lambda_metrics_emit(&p->lm);
        return;
    }
    struct cl_bp_message *msgs = to_messages(recs, n);
    struct cl_bp_opts o = p->opts;
    o.deadline_ms = inv->deadline_ms;
    struct cl_bp_result r;
    cl_batch_process(&p->store, msgs, n, &o, &r);
    cl_log(CL_LOG_INFO,
           "processor: %zu message(s): %zu object(s), %llu record(s) stored, %zu failed", n,
           r.n_keys, (unsigned long long)r.records_stored, r.failed);
    respond(&r, recs, &res->body);
    cl_bp_result_free(&r);
    cl_lp_analytics_after(p);
    for (size_t i = 0; i < n; i++)
        free((void *)msgs[i].body);
    free(msgs);
    cl_sqs_records_free(recs, n);
    cl_lambda_metrics_emit(&p->lm);
}
