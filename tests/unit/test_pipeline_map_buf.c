/* test_pipeline_map_buf.c - the partition buffers in mappings of their own (map_buf.h):
 * bytes kept in order across every growth (mremap), a NUL after them, freed to empty; and
 * the partition accumulator built on them: members appended as they are, copied lines
 * sealed into one more gzip member that decompresses back to the lines. */
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

static void test_grows_in_order(void **state)
{
    (void)state;
    struct cl_map_buf b;
    cl_map_buf_init(&b, NULL);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    /* 40,000 appends of 97 bytes: ~3.9 MB, through two doublings from 1 MiB */
    char chunk[97];
    for (size_t i = 0; i < 40000; i++) {
        memset(chunk, 'a' + (int)(i % 26), sizeof chunk);
        cl_map_buf_append(&b, chunk, sizeof chunk);
    }
    assert_int_equal(b.len, 40000 * sizeof chunk);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    for (size_t i = 0; i < 40000; i += 997)
        assert_int_equal(b.data[i * sizeof chunk + 50], 'a' + (int)(i % 26));
    cl_map_buf_append(&b, "", 0); /* nothing appended: still terminated */
    assert_int_equal(b.data[b.len], '\0');
    cl_map_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    cl_map_buf_free(&b); /* freeing an empty buffer is a no-op */
}

static struct cl_line_head head_of(const char *service, int64_t ts)
{
    struct cl_line_head h = {.ts_ms = ts, .level = CL_LEVEL_INFO, .hour = 3};
    snprintf(h.service, sizeof h.service, "%s", service);
    snprintf(h.dt, sizeof h.dt, "2026-11-25");
    return h;
}

static void test_part_acc_seals_lines_into_members(void **state)
{
    (void)state;
    struct cl_part_acc a;
    cl_part_acc_init(&a);
    struct cl_line_head h = head_of("api", 1764039600000);
    struct cl_part *pt = cl_part_acc_add(&a, "service=api/dt=2026-11-25/hour=03", &h, 0);
    struct cl_acc_member m = {0};
    /* a gzip member as ingest packs it, then copied lines */
    struct cl_buf member, want, raw;
    cl_buf_init(&member, SIZE_MAX);
    cl_buf_init(&want, SIZE_MAX);
    cl_buf_init(&raw, SIZE_MAX);
    const char *first = "{\"n\":0}\n";
    assert_int_equal(cl_gzip_compress(first, strlen(first), 1, &member), CL_OK);
    cl_part_acc_append_gz(&a, pt, member.data, member.len);
    cl_buf_append_str(&want, first);
    char line[64];
    for (int i = 1; i <= 5000; i++) {
        int n = snprintf(line, sizeof line, "{\"n\":%d,\"pad\":\"%040d\"}", i, i);
        cl_part_acc_append(&a, pt, line, (size_t)n, &h, &m);
        cl_buf_append(&want, line, (size_t)n);
        cl_buf_append_str(&want, "\n");
    }
    assert_int_equal(a.buffered, member.len + want.len - strlen(first));
    assert_int_equal(cl_part_acc_seal(&a, pt, 1), CL_OK);
    assert_int_equal(pt->data.len, 0);
    assert_int_equal(a.buffered, pt->gz.len);
    /* the object index first (object_index.h), then the member kept as it came */
    struct cl_obj_seg *segs = NULL;
    size_t n_segs = 0, data_off = 0;
    assert_int_equal(cl_obj_index_read(pt->gz.data, pt->gz.len, 1, &segs, &n_segs, &data_off),
                     CL_OBJ_INDEX_OK);
    assert_int_equal(n_segs, 2);
    assert_int_equal(segs[0].gz_len, member.len);
    assert_int_equal(segs[1].records, 5000);
    free(segs);
    assert_memory_equal(pt->gz.data + data_off, member.data, member.len);
    assert_int_equal(cl_gzip_decompress(pt->gz.data, pt->gz.len, &raw), CL_OK);
    assert_int_equal(raw.len, want.len);
    assert_memory_equal(raw.data, want.data, want.len);
    cl_part_acc_free(&a);
    cl_buf_free(&member);
    cl_buf_free(&want);
    cl_buf_free(&raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_in_order),
        cmocka_unit_test(test_part_acc_seals_lines_into_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
