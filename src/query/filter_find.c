/* filter_find.c - the scan's searches besides cq_find: -i's ASCII case-insensitive search
 * and the all-ASCII test that lets a regex match skip PCRE2's UTF-8 check.
 *
 * -i used to test every byte against the needle's first letter in both cases and call
 * strncasecmp at each (39% + 7% of a checkout `--count -i` scan's instructions,
 * callgrind). cq_find_icase is cq_find's loop (find.c) with each of the needle's first and
 * last byte compared in both cases: two more compares and ORs per vector, no per-line
 * copy. Folding is ASCII only, as tolower() does in the C locale the query runs in: a
 * byte >= 0x80 matches only itself. */
#include "query_int.h"

#include <stdint.h>
#include <string.h>

typedef unsigned char cq_u16 __attribute__((vector_size(16)));

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static unsigned char upper(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? (unsigned char)(c - ('a' - 'A')) : c;
}

/* 1 if a[0..n) folds to lower[0..n) (lower: already folded). */
static int eq_fold(const char *a, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fold((unsigned char)a[i]) != (unsigned char)lower[i])
            return 0;
    return 1;
}

/* The byte-at-a-time search, for short haystacks and the tail after the vector loop. */
static const char *find_icase_bytes(const char *hay, size_t n, const char *lower, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (fold((unsigned char)hay[i]) == (unsigned char)lower[0] &&
            eq_fold(hay + i + 1, lower + 1, m - 1))
            return hay + i;
    return NULL;
}

static cq_u16 load_u16(const char *p)
{
    cq_u16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static cq_u16 splat_u16(unsigned char c)
{
    cq_u16 v;
    memset(&v, c, sizeof v);
    return v;
}

/* Positions i of p[0..16) where p[i] folds to lower[0] and p[i + m - 1] to lower[m - 1]:
 * lo/up are those bytes in lowercase and uppercase (equal for a non-letter). */
static cq_u16 cands_icase(const char *p, size_t m, const cq_u16 lo[2], const cq_u16 up[2])
{
    cq_u16 a = load_u16(p), b = load_u16(p + m - 1);
    return (cq_u16)((a == lo[0]) | (a == up[0])) & (cq_u16)((b == lo[1]) | (b == up[1]));
}

/* The first i with eq[i] where p + i holds the needle, or NULL. */
static const char *confirm_icase(const char *p, cq_u16 eq, const char *lower, size_t m)
{
    for (int i = 0; i < 16; i++)
        if (eq[i] && eq_fold(p + i + 1, lower + 1, m - 1))
            return p + i;
    return NULL;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CQ_ICASE_AVX2 1
typedef char cq_c32 __attribute__((vector_size(32)));

/* The vector loop on 32-byte vectors (CPUs with AVX2, chosen at run time as cq_find does). */
__attribute__((target("avx2"))) static const char *find_icase_avx2(const char *hay, size_t n,
                                                                   const char *lower, size_t m)
{
    const unsigned char f = (unsigned char)lower[0], l = (unsigned char)lower[m - 1];
    cq_c32 flo, fup, llo, lup; /* set by memset: a function returning one changes the ABI */
    memset(&flo, f, sizeof flo);
    memset(&fup, upper(f), sizeof fup);
    memset(&llo, l, sizeof llo);
    memset(&lup, upper(l), sizeof lup);
    const char *p = hay, *stop = hay + n - (m - 1) - 32;
    for (; p <= stop; p += 32) {
        cq_c32 a, b;
        memcpy(&a, p, sizeof a);
        memcpy(&b, p + m - 1, sizeof b);
        cq_c32 eq = (cq_c32)((a == flo) | (a == fup)) & (cq_c32)((b == llo) | (b == lup));
        for (uint32_t mask = (uint32_t)__builtin_ia32_pmovmskb256(eq); mask; mask &= mask - 1) {
            int i = __builtin_ctz(mask);
            if (eq_fold(p + i + 1, lower + 1, m - 1))
                return p + i;
        }
    }
    return find_icase_bytes(p, (size_t)(hay + n - p), lower, m);
}
#endif

const char *cq_find_icase(const char *hay, size_t n, const char *lower, size_t m)
{
    if (m == 0)
        return hay;
    if (n < m - 1 + 32)
        return find_icase_bytes(hay, n, lower, m);
#ifdef CQ_ICASE_AVX2
    if (__builtin_cpu_supports("avx2"))
        return find_icase_avx2(hay, n, lower, m);
#endif
    const unsigned char f = (unsigned char)lower[0], l = (unsigned char)lower[m - 1];
    const cq_u16 lo[2] = {splat_u16(f), splat_u16(l)},
                 up[2] = {splat_u16(upper(f)), splat_u16(upper(l))};
    const char *p = hay, *stop = hay + n - (m - 1) - 32;
    for (; p <= stop; p += 32) {
        cq_u16 a = cands_icase(p, m, lo, up), b = cands_icase(p + 16, m, lo, up);
        uint64_t w[2];
        cq_u16 any = a | b;
        memcpy(w, &any, sizeof w);
        if (!(w[0] | w[1]))
            continue;
        const char *hit = confirm_icase(p, a, lower, m);
        if (hit || (hit = confirm_icase(p + 16, b, lower, m)))
            return hit;
    }
    return find_icase_bytes(p, (size_t)(hay + n - p), lower, m);
}

int cq_is_ascii(const char *p, size_t n)
{
    size_t i = 0;
    cq_u16 acc = splat_u16(0);
    for (; i + 32 <= n; i += 32) /* the OR of every 32 bytes, two vectors at a time */
        acc |= load_u16(p + i) | load_u16(p + i + 16);
    uint64_t w[2];
    memcpy(w, &acc, sizeof w);
    uint64_t high = w[0] | w[1];
    for (; i < n; i++)
        high |= (unsigned char)p[i];
    return (high & 0x8080808080808080ull) == 0;
}
