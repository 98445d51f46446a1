/* test_query_find.c - cq_find (src/query/find.c) returns what memmem returns: random text
 * over a small alphabet (many partial matches), every needle length up to 40, haystacks
 * around the 32-byte blocks, each in a buffer of exactly its size (ASan sees overreads). */
#include "query_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 2026;

static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

/* Checks cq_find against memmem on hay[0..n) for the needle, from every start. */
static void check(const char *hay, size_t n, const char *needle, size_t m)
{
    for (size_t off = 0; off <= n; off++) {
        const char *want = memmem(hay + off, n - off, needle, m);
        const char *got = cq_find(hay + off, n - off, needle, m);
        if (got != want)
            fail_msg("n %zu off %zu m %zu: got %td, want %td", n, off, m,
                     got ? got - hay : (ptrdiff_t)-1, want ? want - hay : (ptrdiff_t)-1);
    }
}

static void test_random_text(void **state)
{
    (void)state;
    static const char alphabet[] = "abc\n";
    for (int round = 0; round < 300; round++) {
        size_t n = next_rand() % 200, m = 1 + next_rand() % 40;
        char *hay = malloc(n ? n : 1), needle[41];
        for (size_t i = 0; i < n; i++)
            hay[i] = alphabet[next_rand() % 4];
        for (size_t i = 0; i < m; i++)
            needle[i] = alphabet[next_rand() % (m < 6 ? 4 : 2)];
        check(hay, n, needle, m);
        free(hay);
    }
}

static void test_needle_at_the_edges(void **state)
{
    (void)state;
    static const char needle[] = "contention";
    const size_t m = sizeof needle - 1;
    for (size_t n = m; n < 3 * 32 + m; n++) {
        for (size_t at = 0; at + m <= n; at += n - m > 7 ? 7 : 1) {
            char *hay = malloc(n);
            memset(hay, 'c', n); /* the first byte everywhere: every block has candidates */
            memcpy(hay + at, needle, m);
            check(hay, n, needle, m);
            free(hay);
        }
        char *hay = malloc(n);
        memset(hay, 'n', n);
        memcpy(hay + n - m, needle, m); /* at the very end */
        check(hay, n, needle, m);
        free(hay);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_text),
        cmocka_unit_test(test_needle_at_the_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
