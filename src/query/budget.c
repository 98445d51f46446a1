/* budget.c - when a query must stop: deadline, byte budget, cancellation, regex error. */
#include "query_int.h"

#include "common.h"

void cq_budget_init(struct cq_budget *b, const struct cl_query *q, int64_t t0)
{
    b->q = q;
    b->deadline = q->timeout_ms > 0 ? t0 + q->timeout_ms : 0;
    atomic_init(&b->bytes, 0);
    atomic_init(&b->stop, CL_QUERY_COMPLETE);
    b->match_error = 0;
}

void cq_budget_stop(struct cq_budget *b, enum cl_query_stop why, int match_error)
{
    int none = CL_QUERY_COMPLETE;
    /* Only the winner writes match_error; it is read after the scan threads are joined. */
    if (atomic_compare_exchange_strong(&b->stop, &none, (int)why) && why == CL_QUERY_REGEX)
        b->match_error = match_error;
}

int cq_budget_check(struct cq_budget *b)
{
    if (atomic_load_explicit(&b->stop, memory_order_relaxed) != CL_QUERY_COMPLETE)
        return 1;
    if (b->deadline && cl_mono_ms() >= b->deadline)
        cq_budget_stop(b, CL_QUERY_DEADLINE, 0);
    else if (b->q->cancelled && b->q->cancelled(b->q->cancel_arg))
        cq_budget_stop(b, CL_QUERY_CANCELLED, 0);
    return atomic_load(&b->stop) != CL_QUERY_COMPLETE;
}

int cq_budget_take(struct cq_budget *b, uint64_t n)
{
    uint64_t before = atomic_fetch_add(&b->bytes, n);
    if (b->q->max_bytes && before + n > b->q->max_bytes) {
        cq_budget_stop(b, CL_QUERY_BUDGET, 0);
        return 1;
    }
    return 0;
}
