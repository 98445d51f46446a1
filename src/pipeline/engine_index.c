/* engine_index.c - the engine's receive side for a message with a member index
 * (message.h, "MEMBER INDEX"): each gzip member is routed to its partition by its index
 * entry and appended as it is, so nothing is inflated unless analytics reads the text.
 *
 * Integrity without inflating: the index is only used when its own CRC-32 and the CRC-32
 * of every member's compressed bytes match (cl_msg_index_read), so a message damaged in
 * the queue is inflated instead and fails as poison there, as before. The gzip CRC of the
 * content is not checked here: that would mean inflating, which is the cost removed. What
 * it would add is a check of ingest's own compressor, whose output the bytes' CRC already
 * pins from the moment it was sealed; `cloudlog verify` and the query still inflate every
 * stored object and report a bad one. */
#include "engine_int.h"

#include "codec.h"
#include "common.h"
#include "message.h"

#include <stdlib.h>
#include <string.h>

/* Inflates in's members for analytics into e->decoded: 0 when they are those of the
 * index (the text of index member i at raw[i]), -1 when not (then in goes the way of a
 * message without an index, which reports why). */
static int inflate_for_analytics(struct cl_engine *e, const struct cl_engine_in *in,
                                 const struct cl_msg_member *mm, size_t n, size_t *raw)
{
    char err[200];
    struct cl_gzip_member *gm;
    size_t k;
    if (cl_msg_decode_members(&in->attrs, in->body, in->len, &e->decoded, &gm, &k, err,
                              sizeof err) != 0)
        return -1;
    int ok = k == n + 1 && gm[0].raw_len == 0; /* the index member, then the data members */
    for (size_t i = 0; ok && i < n; i++) {
        ok = gm[i + 1].gz_off == mm[i].gz_off && gm[i + 1].raw_len == mm[i].raw_len;
        raw[i] = gm[i + 1].raw_off;
    }
    free(gm);
    return ok ? 0 : -1;
}

/* Routes, appends and counts each member; analytics observes the routed ones' text. */
static int buffer_members(struct cl_engine *e, const struct cl_engine_in *in,
                          const struct cl_msg_member *mm, size_t n, const size_t *raw)
{
    int has_progress, err = 0;
    if (cl_engine_has_progress(e, in->id, &has_progress) != 0)
        return -1;
    struct cl_line_head *heads = cl_malloc(n * sizeof *heads);
    struct cl_engine_route *routes = cl_malloc(n * sizeof *routes);
    struct cl_part **parts = cl_malloc(n * sizeof *parts);
    size_t n_routes = 0;
    for (size_t i = 0; i < n && !err; i++) {
        cl_msg_member_head(&mm[i], &heads[i]);
        parts[i] = cl_engine_route(e, in->id, has_progress, &heads[i], routes, &n_routes, &err);
    }
    if (!err) {
        struct cl_engine_msg *m = cl_engine_hold(e, in);
        struct cl_observed_run run = {NULL, NULL};
        for (size_t i = 0; i < n; i++) {
            if (!parts[i])
                continue; /* stored by an earlier delivery */
            cl_part_acc_append_gz(&e->acc, parts[i], (const char *)in->body + mm[i].gz_off,
                                  mm[i].gz_len);
            cl_part_acc_count_member(&e->acc, parts[i], &mm[i], &m->acc);
            /* Every record enters a partition here or in engine.c's buffer_lines, and
             * analytics observes it there (a member's lines as one run). */
            if (raw)
                cl_engine_observe(e, &run, e->decoded.data + raw[i], (size_t)mm[i].raw_len - 1);
        }
        cl_engine_observe_end(e, &run);
        cl_engine_taken(e, m);
    }
    free(heads);
    free(routes);
    free(parts);
    return err ? -1 : 0;
}

int cl_engine_take_indexed(struct cl_engine *e, const struct cl_engine_in *in)
{
    struct cl_msg_member *mm;
    /* over the bound on a decoded message: the inflate path refuses it, with its reason */
    int usable = in->body && in->attrs.raw_bytes <= e->o.max_message_raw;
    size_t n = usable ? cl_msg_index_read(&in->attrs, in->body, in->len, &mm) : 0;
    if (n == 0)
        return CL_ENGINE_NO_INDEX;
    size_t *raw = e->o.analytics ? cl_malloc(n * sizeof *raw) : NULL;
    if (raw && inflate_for_analytics(e, in, mm, n, raw) != 0) {
        free(raw);
        free(mm);
        return CL_ENGINE_NO_INDEX;
    }
    int rc = buffer_members(e, in, mm, n, raw);
    free(raw);
    free(mm);
    return rc == 0 ? CL_OK : cl_engine_progress_failed(e, in);
}
