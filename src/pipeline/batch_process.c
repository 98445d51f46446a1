/* batch_process.c - one handed-over batch through the engine (batch_process.h): the
 * conditional commit strategy, every partition flushed in key order while the deadline
 * allows; the engine's outcomes become the per-message statuses. */
#include "batch_process.h"

#include "common.h"
#include "engine.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

void cl_bp_opts_default(struct cl_bp_opts *o)
{
    o->compression_level = 1;
    o->max_message_raw = 64u << 20;
    o->deadline_ms = 0;
    o->reserve_ms = 1000;
    o->metrics = NULL;
    o->analytics = NULL;
}

static void on_stored(void *arg, struct cl_engine_msg *const *m, size_t n, int acked)
{
    (void)arg, (void)m, (void)n, (void)acked; /* CL_BP_STORED is every status's start */
}

static void on_failed(void *arg, const struct cl_engine_msg *m, enum cl_engine_outcome why,
                      const char *error)
{
    struct cl_bp_result *res = arg;
    (void)error; /* logged by the engine */
    res->status[m->index] = why == CL_ENGINE_POISON     ? CL_BP_UNDECODABLE
                            : why == CL_ENGINE_DEADLINE ? CL_BP_DEADLINE
                                                        : CL_BP_STORE_FAILED;
}

static void on_committed(void *arg, const char *key)
{
    struct cl_bp_result *res = arg;
    res->keys = cl_realloc(res->keys, (res->n_keys + 1) * sizeof *res->keys);
    res->keys[res->n_keys++] = cl_strdup(key);
}

int cl_batch_process(struct cl_store *st, const struct cl_bp_message *msgs, size_t n,
                     const struct cl_bp_opts *o, struct cl_bp_result *res)
{
    memset(res, 0, sizeof *res);
    if (!st || (n && !msgs) || !o)
        return CL_ERR_INVAL;
    res->n = n;
    res->status = cl_calloc(n ? n : 1, sizeof *res->status);
    struct cl_commit *commit = cl_commit_conditional_new(st);
    struct cl_engine_opts eo = {.flush_size = SIZE_MAX,
                                .flush_age_ms = INT64_MAX,
                                .buffer_max = SIZE_MAX,
                                .compression_level = o->compression_level,
                                .max_message_raw = o->max_message_raw,
                                .metrics = o->metrics,
                                .analytics = o->analytics};
    struct cl_engine_sink sink = {
        .arg = res, .stored = on_stored, .failed = on_failed, .committed = on_committed};
    struct cl_engine *e = cl_engine_new(&eo, commit, &sink);
    cl_engine_set_deadline(e, o->deadline_ms, o->reserve_ms);
    struct cl_engine_in *in = cl_calloc(n ? n : 1, sizeof *in);
    for (size_t i = 0; i < n; i++)
        in[i] = (struct cl_engine_in){.id = msgs[i].id,
                                      .body = msgs[i].body,
                                      .len = msgs[i].len,
                                      .attrs = msgs[i].attrs,
                                      .sent_ms = msgs[i].sent_ms,
                                      .index = i};
    cl_engine_take(e, in, n);
    cl_engine_flush_all(e);
    struct cl_engine_counters c;
    cl_engine_counters(e, &c);
    res->records_stored = c.records_stored;
    res->bytes_stored = c.bytes_stored;
    for (size_t i = 0; i < n; i++)
        res->failed += res->status[i] != CL_BP_STORED;
    free(in);
    cl_engine_free(e);
    cl_commit_free(commit);
    return CL_OK;
}

void cl_bp_result_free(struct cl_bp_result *res)
{
    for (size_t i = 0; i < res->n_keys; i++)
        free(res->keys[i]);
    free(res->keys);
    free(res->status);
    memset(res, 0, sizeof *res);
}
