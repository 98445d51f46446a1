/* engine_index.c - the engine's receive side for a message with a member index
 * (message.h, "MEMBER INDEX"): each gzip member is routed to its partition by its index
 * entry and appended as it is, so nothing is inflated here (analytics takes the members
 * compressed and inflates them in its own threads).
 *
 * Integrity without inflating: the index is only used when its own CRC-32 and the CRC-32
 * of every member's compressed bytes match (cl_msg_index_read), so a message damaged in
 * the queue is inflated instead and fails as poison there, as before. The gzip CRC of the
 * content is not checked here: that would mean inflating, which is the cost removed. What
 * it would add is a check of ingest's own compressor, whose output the bytes' CRC already
 * pins from the moment it was sealed; `cloudlog verify` and the query still inflate every
 * stored object and report a bad one. */
#include "engine_int.h"

#include "analytics.h"
#include "codec.h"
#include "common.h"
#include "message.h"

#include <stdlib.h>
#include <string.h>

/* Routes, appends and counts each member; analytics observes the routed ones, handed
 * over compressed (its observer threads inflate them, analytics.h). */
static int buffer_members(struct cl_engine *e, const struct cl_engine_in *in,
                          const struct cl_msg_member *mm, size_t n)
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
        for (size_t i = 0; i < n; i++) {
            if (!parts[i])
                continue; /* stored by an earlier delivery */
            cl_part_acc_append_gz(&e->acc, parts[i], (const char *)in->body + mm[i].gz_off,
                                  mm[i].gz_len);
            cl_part_acc_count_member(&e->acc, parts[i], &mm[i], &m->acc);
            /* Every record enters a partition here or in engine.c's buffer_lines, and
             * analytics observes it there (here a member at a time, all of one service). */
            cl_analytics_observe_member(e->o.analytics, mm[i].service,
                                        (const char *)in->body + mm[i].gz_off, mm[i].gz_len,
                                        mm[i].raw_len);
        }
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
    int rc = buffer_members(e, in, mm, n);
    free(mm);
    return rc == 0 ? CL_OK : cl_engine_progress_failed(e, in);
}
