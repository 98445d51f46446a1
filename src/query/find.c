/* find.c - cq_find: memmem for the scan's --grep over whole decompressed objects.
 *
 * glibc 2.36's memmem costs ~1.5 instructions per byte here (13% of a `--count --grep`
 * scan, callgrind). This compares 32 bytes at a time (two 16-byte vectors: GCC vector
 * extensions, so SSE2 on x86-64 and NEON on arm64, no intrinsics) against the needle's
 * first and last byte, and only where both agree looks at the rest: rare in text for a
 * needle of 2 or more bytes. On x86-64 CPUs with AVX2 the same loop runs on 32-byte
 * vectors (GCC's and clang's target attribute, chosen at run time): half the
 * instructions per byte. */
#include "query_int.h"

#include <stdint.h>
#include <string.h>

typedef unsigned char cq_v16 __attribute__((vector_size(16)));

static cq_v16 load16(const char *p)
{
    cq_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static cq_v16 splat16(unsigned char c)
{
    cq_v16 v;
    memset(&v, c, sizeof v);
    return v;
}

static int any16(cq_v16 v)
{
    uint64_t w[2];
    memcpy(w, &v, sizeof w);
    return (w[0] | w[1]) != 0;
}

/* Positions i of p[0..16) where p[i] is needle[0] and p[i + m - 1] is needle[m - 1]. */
static cq_v16 candidates(const char *p, size_t m, cq_v16 first, cq_v16 last)
{
    return (cq_v16)(load16(p) == first) & (cq_v16)(load16(p + m - 1) == last);
}

/* The first i with eq[i] where p + i holds needle, or NULL. */
static const char *confirm(const char *p, cq_v16 eq, const char *needle, size_t m)
{
    for (int i = 0; i < 16; i++)
        if (eq[i] && memcmp(p + i + 1, needle + 1, m - 2) == 0)
            return p + i;
    return NULL;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CQ_FIND_AVX2 1
typedef char cq_v32 __attribute__((vector_size(32)));

/* The loop of cq_find on 32-byte vectors; a block's candidates as a bit mask
 * (vpmovmskb), each bit confirmed in turn. */
__attribute__((target("avx2"))) static const char *find_avx2(const char *hay, size_t n,
                                                             const char *needle, size_t m)
{
    cq_v32 first, last;
    memset(&first, needle[0], sizeof first);
    memset(&last, needle[m - 1], sizeof last);
    const char *p = hay, *stop = hay + n - (m - 1) - 32;
    for (; p <= stop; p += 32) {
        cq_v32 a, b;
        memcpy(&a, p, sizeof a);
        memcpy(&b, p + m - 1, sizeof b);
        uint32_t mask =
            (uint32_t)__builtin_ia32_pmovmskb256((cq_v32)(a == first) & (cq_v32)(b == last));
        for (; mask; mask &= mask - 1) {
            int i = __builtin_ctz(mask);
            if (memcmp(p + i + 1, needle + 1, m - 2) == 0)
                return p + i;
        }
    }
    return memmem(p, (size_t)(hay + n - p), needle, m);
}
#endif

const char *cq_find(const char *hay, size_t n, const char *needle, size_t m)
{
    if (m < 2 || n < m - 1 + 32)
        return memmem(hay, n, needle, m);
#ifdef CQ_FIND_AVX2
    if (__builtin_cpu_supports("avx2"))
        return find_avx2(hay, n, needle, m);
#endif
    const cq_v16 first = splat16((unsigned char)needle[0]);
    const cq_v16 last = splat16((unsigned char)needle[m - 1]);
    const char *p = hay, *stop = hay + n - (m - 1) - 32; /* the last 32-byte block's start */
    for (; p <= stop; p += 32) {
        cq_v16 a = candidates(p, m, first, last), b = candidates(p + 16, m, first, last);
        if (!any16(a | b))
            continue;
        const char *hit = confirm(p, a, needle, m);
        if (hit || (hit = confirm(p + 16, b, needle, m)))
            return hit;
    }
    return memmem(p, (size_t)(hay + n - p), needle, m);
}
