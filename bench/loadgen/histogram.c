/* histogram.c - log-linear latency histogram: 16 sub-buckets per power of two, < 7% error. */
#include "loadgen.h"

#include "common.h"

static int hist_index(uint64_t v)
{
    if (v < (1u << H_SUB_BITS))
        return (int)v;
    int shift = (63 - __builtin_clzll(v)) - (H_SUB_BITS - 1);
    return shift * H_HALF + (int)(v >> shift);
}

/* Highest value that falls into bucket idx. */
static uint64_t hist_upper(int idx)
{
    if (idx < (1 << H_SUB_BITS))
        return (uint64_t)idx;
    int shift = idx / H_HALF - 1;
    uint64_t mant = (uint64_t)(idx - shift * H_HALF);
    return ((mant + 1) << shift) - 1;
}

void hist_add(struct hist *h, uint64_t v)
{
    h->counts[hist_index(v)]++;
    h->total++;
    h->sum += (double)v;
    if (v > h->max)
        h->max = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (int i = 0; i < H_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t hist_percentile(const struct hist *h, double pct)
{
    if (!h->total)
        return 0;
    uint64_t rank = (uint64_t)((pct / 100.0) * (double)h->total + 0.999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < H_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            return CL_MIN(hist_upper(i), h->max);
    }
    return h->max;
}
