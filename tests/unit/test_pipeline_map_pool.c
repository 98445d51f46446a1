/* test_pipeline_map_pool.c - the partition buffers' pool and front room (map_buf.h): a
 * prepend goes into the front room without moving the data, which costs no resident page
 * until written; a released mapping is lent to the next buffer with its pages resident;
 * the pool keeps no more than the room it is given (pages over it given back, or the
 * mapping unmapped); an accumulator with a pool keeps its buffers' resident bytes within
 * its buffered bytes plus the room it is given, its objects intact in reused pages, and
 * gives its slack back when the room goes. */
#include "codec.h"
#include "common.h"
#include "map_buf.h"
#include "object_index.h"
#include "part_acc.h"
#include "record.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* Resident bytes of [p, p + len) (mincore, whole pages; p page-aligned). */
static size_t resident(const void *p, size_t len)
{
    size_t pages = (len + page() - 1) / page(), n = 0;
    unsigned char *vec = cl_malloc(pages ? pages : 1);
    assert_int_equal(mincore((void *)p, len, vec), 0);
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    free(vec);
    return n * page();
}

static int mapped(const void *p)
{
    unsigned char v;
    return mincore((void *)((uintptr_t)p / page() * page()), 1, &v) == 0;
}

static void fill(struct cl_map_buf *b, size_t n, char c)
{
    char chunk[4096];
    memset(chunk, c, sizeof chunk);
    while (n) {
        size_t k = CL_MIN(n, sizeof chunk);
        cl_map_buf_append(b, chunk, k);
        n -= k;
    }
}

/* The front room is address space only until a prepend writes its last bytes; the data
 * stays where it was and reads after the prepended bytes. */
static void test_prepend_into_front_room(void **state)
{
    (void)state;
    struct cl_map_buf b;
    cl_map_buf_init(&b, NULL);
    fill(&b, 100000, 'd');
    char *body = b.data;
    assert_ptr_equal(b.base + CL_MAP_BUF_FRONT, body);
    assert_int_equal(resident(b.base, CL_MAP_BUF_FRONT), 0);
    char head[5000];
    memset(head, 'h', sizeof head);
    cl_map_buf_prepend(&b, head, sizeof head);
    assert_ptr_equal(b.data + sizeof head, body); /* nothing moved */
    assert_int_equal(b.len, 100000 + sizeof head);
    assert_memory_equal(b.data, head, sizeof head);
    assert_int_equal(b.data[sizeof head], 'd');
    assert_int_equal(b.data[b.len - 1], 'd');
    assert_int_equal(b.data[b.len], '\0');
    assert_true(resident(b.base, CL_MAP_BUF_FRONT) <= 2 * page()); /* the pages written */
    cl_map_buf_append(&b, "x", 1); /* appends still go after the body */
    assert_int_equal(b.data[b.len - 1], 'x');
    cl_map_buf_free(&b);
    assert_null(b.data);
}

/* A prepend larger than the front room moves the data up instead. */
static void test_prepend_larger_than_front(void **state)
{
    (void)state;
    struct cl_map_buf b;
    cl_map_buf_init(&b, NULL);
    fill(&b, 3000, 'd');
    size_t n = CL_MAP_BUF_FRONT + 10;
    char *head = cl_malloc(n);
    memset(head, 'h', n);
    cl_map_buf_prepend(&b, head, n);
    assert_int_equal(b.len, n + 3000);
    assert_memory_equal(b.data, head, n);
    assert_int_equal(b.data[n], 'd');
    assert_int_equal(b.data[b.len - 1], 'd');
    assert_int_equal(b.data[b.len], '\0');
    free(head);
    cl_map_buf_free(&b);
}

/* Released with room, the mapping waits in the pool with its pages resident; the next
 * buffer starts in it (no fresh pages for what the first wrote) and, once it has
 * written as much, has no slack left. */
static void test_released_mapping_is_lent_resident(void **state)
{
    (void)state;
    struct cl_map_pool pool;
    cl_map_pool_init(&pool);
    struct cl_map_buf a, b;
    cl_map_buf_init(&a, &pool);
    fill(&a, 1u << 20, 'a');
    char *base = a.base;
    cl_map_buf_release(&a, 4u << 20);
    assert_null(a.data);
    assert_int_equal(pool.n, 1);
    assert_int_equal(pool.released, 1);
    assert_true(pool.kept >= (1u << 20) && pool.kept <= (1u << 20) + page());
    assert_true(mapped(base));
    cl_map_buf_init(&b, &pool);
    cl_map_buf_append(&b, "b", 1);
    assert_ptr_equal(b.base, base); /* lent */
    assert_int_equal(pool.n, 0);
    assert_int_equal(pool.kept, 0);
    assert_int_equal(pool.lent, 1);
    assert_int_equal(pool.lent_live, 1);
    assert_true(resident(b.data, 1u << 20) >= (1u << 20) - page()); /* faulted in already */
    assert_true(cl_map_buf_slack(&b) >= (1u << 20) - page());
    fill(&b, (1u << 20) + 10, 'b');
    assert_true(cl_map_buf_slack(&b) < page()); /* the rest of its last page */
    assert_int_equal(b.data[0], 'b');
    assert_int_equal(b.data[b.len], '\0');
    cl_map_buf_release(&b, 0); /* no room: unmapped */
    assert_int_equal(pool.lent_live, 0);
    assert_false(mapped(base));
    assert_int_equal(pool.unmapped, 1);
    cl_map_pool_free(&pool);
}

/* A release keeps at most its room resident: the pages over it are given back; with
 * less room than a mapping is worth, the mapping is unmapped. */
static void test_release_keeps_within_room(void **state)
{
    (void)state;
    struct cl_map_pool pool;
    cl_map_pool_init(&pool);
    struct cl_map_buf a;
    cl_map_buf_init(&a, &pool);
    fill(&a, 1u << 20, 'a');
    char *base = a.base;
    size_t map_len = a.map_len;
    cl_map_buf_release(&a, 256u << 10);
    assert_int_equal(pool.n, 1);
    assert_int_equal(pool.trimmed, 1);
    assert_int_equal(pool.kept, 256u << 10);
    assert_true(resident(base, map_len) <= 256u << 10);
    cl_map_buf_init(&a, &pool);
    fill(&a, 10, 'a');
    assert_ptr_equal(a.base, base);
    cl_map_buf_release(&a, 1000); /* below what a mapping is worth keeping */
    assert_int_equal(pool.n, 0);
    assert_false(mapped(base));
    cl_map_pool_free(&pool);
}

static struct cl_line_head head_of(const char *service)
{
    struct cl_line_head h = {.ts_ms = 1764039600000, .level = CL_LEVEL_INFO, .hour = 3};
    snprintf(h.service, sizeof h.service, "%s", service);
    snprintf(h.dt, sizeof h.dt, "2026-11-25");
    return h;
}

/* Resident bytes of a's buffers and of its pool's idle mappings. */
static size_t acc_resident(const struct cl_part_acc *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct cl_part *pt = a->parts[i];
        n += pt->gz.base ? resident(pt->gz.base, pt->gz.map_len) : 0;
        n += pt->data.base ? resident(pt->data.base, pt->data.map_len) : 0;
    }
    for (size_t i = 0; i < a->pool.n; i++)
        n += resident(a->pool.idle[i].base, a->pool.idle[i].map_len);
    return n;
}

#define POOL_MAX (1u << 20)

/* 8 partitions take gzip members of uneven sizes; every few steps the largest is sealed
 * and removed and comes back empty. Its mappings are reused (the pool lends), and at
 * every step the resident bytes stay within buffered + the pool's bound + two pages per
 * buffer (a partly written last page, a front-room page); each sealed object is the
 * members it was given, in order, behind a readable index. */
static void test_acc_pool_bounds_resident(void **state)
{
    (void)state;
    struct cl_part_acc a;
    cl_part_acc_init(&a);
    cl_part_acc_set_pool(&a, POOL_MAX);
    assert_int_equal(a.pool_max, 0); /* no room until given */
    cl_part_acc_pool_room(&a, SIZE_MAX);
    assert_int_equal(a.pool_max, POOL_MAX); /* capped */
    struct cl_acc_member m = {0};
    struct cl_buf member;
    cl_buf_init(&member, SIZE_MAX);
    const char *line = "{\"message\":\"x\"}\n";
    assert_int_equal(cl_gzip_compress(line, strlen(line), 1, &member), CL_OK);
    struct cl_msg_member mb = {.raw_len = strlen(line),
                               .records = 1,
                               .min_ts_ms = 1764039600000,
                               .max_ts_ms = 1764039600000};
    char names[8][8];
    struct cl_line_head h[8];
    for (int i = 0; i < 8; i++) {
        snprintf(names[i], sizeof names[i], "s%d", i);
        h[i] = head_of(names[i]);
        cl_part_acc_add(&a, names[i], &h[i], 0);
    }
    unsigned x = 777;
    size_t sealed = 0;
    for (int step = 0; step < 3000; step++) {
        x = x * 1103515245u + 12345u;
        struct cl_part *pt = a.parts[x % a.n];
        size_t copies = 1 + (x >> 8) % 40;
        for (size_t c = 0; c < copies; c++) {
            cl_part_acc_append_gz(&a, pt, member.data, member.len);
            cl_part_acc_count_member(&a, pt, &mb, &m);
        }
        if (step % 25 == 24) {
            size_t i = cl_part_acc_largest(&a);
            struct cl_part *big = a.parts[i];
            uint64_t records = big->records;
            assert_int_equal(cl_part_acc_seal(&a, big, 1), CL_OK);
            struct cl_obj_seg *segs = NULL;
            size_t n_segs = 0, data_off = 0;
            assert_int_equal(
                cl_obj_index_read(big->gz.data, big->gz.len, 1, &segs, &n_segs, &data_off),
                CL_OBJ_INDEX_OK);
            uint64_t indexed = 0;
            for (size_t k = 0; k < n_segs; k++)
                indexed += segs[k].records;
            free(segs);
            assert_int_equal(indexed, records);
            assert_memory_equal(big->gz.data + data_off, member.data, member.len);
            assert_memory_equal(big->gz.data + data_off + (records - 1) * member.len, member.data,
                                member.len);
            char key[CL_PARTITION_MAX];
            snprintf(key, sizeof key, "%s", big->key);
            struct cl_line_head hh = big->head;
            cl_part_acc_remove(&a, i);
            cl_part_acc_add(&a, key, &hh, 0);
            sealed++;
        }
        assert_true(cl_part_acc_slack(&a) <= POOL_MAX);
        assert_true(acc_resident(&a) <= a.buffered + POOL_MAX + 2 * 16 * page());
    }
    assert_true(sealed >= 100);
    assert_true(a.pool.lent >= sealed / 2); /* the mappings went round */
    /* no room left (the budget's partitions took it): every page of slack given back */
    cl_part_acc_pool_room(&a, 0);
    assert_int_equal(cl_part_acc_slack(&a), 0);
    assert_int_equal(a.pool.n, 0);
    assert_int_equal(a.pool.lent_live, 0);
    assert_true(acc_resident(&a) <= a.buffered + 2 * 16 * page());
    cl_part_acc_free(&a);
    cl_buf_free(&member);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepend_into_front_room),
        cmocka_unit_test(test_prepend_larger_than_front),
        cmocka_unit_test(test_released_mapping_is_lent_resident),
        cmocka_unit_test(test_release_keeps_within_room),
        cmocka_unit_test(test_acc_pool_bounds_resident),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
