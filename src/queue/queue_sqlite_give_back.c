/* queue_sqlite_give_back.c - undoing receives the queue itself could not complete: a
 * body it could not read after the lease committed, or a stored message whose delete
 * failed. Such a message must not pay a receive for the queue's failure (at the receive
 * limit it would go to the DLQ, delivered or stored). */
#include "queue_sqlite_int.h"

#include "common.h"
#include "log.h"

#include <stdlib.h>

/* Gives one lease back inside the caller's transaction: 1 if it was still this
 * receive's, 0 if not, or -cl_err. */
static int give_back_one(struct sq_queue *s, int64_t id, int64_t count, int64_t now)
{
    sqlite3_stmt *st = s->st[SQ_GIVE_BACK];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, count);
    sqlite3_bind_int64(st, 3, now);
    int rc = sq_exec(s, SQ_GIVE_BACK);
    return rc != CL_OK ? -rc : sqlite3_changes(s->db) > 0;
}

int sq_give_back(struct sq_queue *s, const int64_t *ids, const int64_t *counts, size_t n,
                 const char *why)
{
    if (n == 0)
        return CL_OK;
    sq_yield_to_send(s);
    sq_lock(s);
    /* Not synced: a give-back lost on power loss is the receive of a dead holder, which
     * start-up recovery gives back the same way (SQ_OWNER_RELEASE). */
    sq_lazy_sync(s, 1);
    int64_t now = sq_now(s);
    int rc = sq_begin(s);
    for (size_t i = 0; rc == CL_OK && i < n; i++) {
        int r = give_back_one(s, ids[i], counts[i], now);
        rc = r < 0 ? -r : CL_OK;
    }
    rc = sq_end(s, rc, NULL);
    sq_lazy_sync(s, 0);
    pthread_mutex_unlock(&s->db_mu);
    sq_invalidate_stats(s); /* in flight changed; takes mu after db_mu is given up */
    if (rc != CL_OK)
        cl_log(CL_LOG_ERROR,
               "queue: giving back %zu message(s) after %s failed (%s): they come back after "
               "their visibility timeout, counted",
               n, why, cl_strerror(rc));
    return rc;
}

int sq_give_back_receipts(struct sq_queue *s, const char *const *receipts, size_t n,
                          const char *why)
{
    int64_t *ids = cl_malloc((n ? n : 1) * sizeof *ids);
    int64_t *counts = cl_malloc((n ? n : 1) * sizeof *counts);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += sq_parse_receipt(receipts[i], &ids[k], &counts[k]) == 0; /* malformed: none */
    int rc = sq_give_back(s, ids, counts, k, why);
    free(ids);
    free(counts);
    return rc;
}
